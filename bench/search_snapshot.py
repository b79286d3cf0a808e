"""Print the search results of the first N questions of a file, one JSON line each (as `kgsearch query --json`).

Run it with one version of the code, then another, and diff the outputs: a refactoring must leave them equal.

    PYTHONPATH=CHECKOUT python bench/search_snapshot.py KG_DIR QUESTIONS.jsonl N [--where PATTERN] > before.jsonl
"""

import argparse
import json
from dataclasses import asdict

from kgsearch.search import Searcher


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("questions")
    parser.add_argument("count", type=int)
    parser.add_argument("--where", help="also search the first 3 questions under this --where pattern")
    args = parser.parse_args()
    searcher = Searcher.open(args.kg_dir, threads=1)
    with open(args.questions, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle][: args.count]
    for row in rows:
        print(json.dumps(asdict(searcher.search(row["question"], k=10)), ensure_ascii=False), flush=True)
    for row in rows[:3] if args.where else []:
        result = searcher.search(row["question"], k=10, where=args.where)
        print(json.dumps(asdict(result), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

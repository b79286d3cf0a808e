"""How many hits the app flags as reached only through very common entities, and whether any is a gold passage.

    python bench/app_flags.py kg --questions data/sample/questions.jsonl

Searches every question (top 5, as the app shows by default) and applies the app's flag
(`kgsearch.present.common_entities`) to each hit. Ranking is not touched: the flag is only shown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from kgsearch import Searcher
    from kgsearch.explore import GraphExplorer
    from kgsearch.present import common_entities, path_steps

    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--questions", required=True)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    searcher, explorer = Searcher.open(args.kg_dir, threads=1), GraphExplorer(args.kg_dir)
    questions = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines()]
    hits = flagged = gold = 0
    examples: list[tuple[str, int, str, tuple[str, ...]]] = []
    for question in questions:
        for hit in searcher.search(question["question"], k=args.k).hits:
            hits += 1
            steps = path_steps(hit, explorer.statement_subjects)
            common = common_entities(steps, explorer.passage_counts, len(explorer.documents))
            if common:
                flagged += 1
                gold += hit.passage.id in question["gold"]
                examples.append((question["question"], hit.rank, hit.passage.title, common))
    print(json.dumps({"questions": len(questions), "hits": hits, "flagged": flagged, "flagged_gold": gold}))
    for example in examples[:5]:
        print(example)


if __name__ == "__main__":
    main()

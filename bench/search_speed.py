"""Query latency of the whole search (linking, cues, walk, dense and BM25 scores, fusion, explanations)
next to BM25 alone (bm25s scoring plus top-k), in the same run; medians and p95 over the questions.

    python bench/search_speed.py runs/kg-2wiki --questions ../shared/data/2wiki/questions.jsonl --n 300 --json

With ``--settings NAME=FILE`` (repeatable), each question is searched under every named setting in turn
(interleaved, so the machine's noise falls on all alike), and each gets its own p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from kgsearch.evaluate import read_questions
from kgsearch.search import Searcher
from kgsearch.settings import SearchSettings
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
    parser.add_argument("--settings", action="append", default=[], help="NAME=FILE, search settings to time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    searcher = Searcher.open(args.kg_dir, threads=args.threads)
    load_seconds = time.monotonic() - started
    questions = [q.question for q in read_questions(args.questions)][200 : 200 + args.n]
    runs = {"index": searcher}
    if args.settings:
        runs = {}
        for spec in args.settings:
            name, path = spec.split("=", 1)
            chosen = SearchSettings.from_json(json.loads(Path(path).read_text()))
            runs[name] = searcher.with_settings(**chosen.to_json())
    for question in questions[:5]:  # warm-up: spaCy, torch and the explanation index load lazily
        for run in runs.values():
            run.search(question, k=args.k)
    times: dict[str, list[float]] = {name: [] for name in runs}
    bm25_ms = []
    for question in questions:
        for name, run in runs.items():
            tick = time.perf_counter()
            run.search(question, k=args.k)
            times[name].append(1000 * (time.perf_counter() - tick))
        tick = time.perf_counter()
        scores = searcher.index.bm25.get_scores(words(question))
        np.argpartition(-scores, args.k)[: args.k]
        bm25_ms.append(1000 * (time.perf_counter() - tick))
    search_ms = next(iter(times.values()))
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
    if args.settings:
        for name, values in times.items():
            report[f"{name}_p50_ms"] = round(statistics.median(values), 2)
            report[f"{name}_p95_ms"] = round(percentile(values, 0.95), 2)
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))


if __name__ == "__main__":
    main()

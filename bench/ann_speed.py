"""Dense passage scoring at corpus sizes past the 2Wiki index: exact (numpy) against HNSW (`kgsearch.ann`).

    python bench/ann_speed.py runs/kg-2wiki --questions ../shared/data/2wiki/questions.jsonl --sizes 100000,300000

The passages are the index's real vectors, each repeated with Gaussian noise and renormalised until
the corpus has the asked size (a synthetic corpus shaped like real sentence vectors, with near
duplicates, the hard case for an approximate index); the questions are real, encoded with the index's
encoder. For each size, in one process: the time to build the HNSW graph, the latency of
`SearchIndex.dense_scores` (the part of a search that grows with the corpus) both ways, their p50 ratio,
and the recall of the exact top 10 among HNSW's top 10.

With `--rank FILE` (a questions file of the index's own corpus), it also ranks those questions with the
whole search under the index's settings, once with exact dense scores and once with an HNSW graph over
the same passage vectors, and reports Recall@10 and nDCG@10 both ways:

    python bench/ann_speed.py runs/kg-scifact --questions runs/scifact/test.jsonl --sizes "" \
        --rank runs/scifact/test.jsonl --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from search_speed import percentile  # bench/ is the script's folder, so on the path

from kgsearch.ann import CANDIDATES, EF_SEARCH, NEIGHBOURS, HnswPassages
from kgsearch.encoder import load_encoder
from kgsearch.evaluate import evaluate_rankings, read_questions
from kgsearch.index import load_index
from kgsearch.search import Searcher


def corpus_of(vectors: np.ndarray, size: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = [vectors]
    while sum(len(r) for r in rows) < size:
        noisy = vectors + rng.normal(scale=noise, size=vectors.shape).astype(np.float32)
        rows.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return np.ascontiguousarray(np.concatenate(rows)[:size], dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--questions", required=True)
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.03, help="per-dimension noise of the copies")
    parser.add_argument("--rank", help="questions file to rank with exact and HNSW dense scores")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)  # as kgsearch query and the app serve
    index = load_index(args.kg_dir)
    encoder = load_encoder(index.manifest.encoder)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    questions = [q.question for q in read_questions(args.questions)][200 : 200 + args.n] if sizes else []
    queries = np.asarray(encoder.encode(questions, kind="query"), dtype=np.float32) if questions else []
    for size in sizes:
        passages = corpus_of(np.asarray(index.passage_vectors, dtype=np.float32), size, args.noise, seed=size)
        tick = time.monotonic()
        hnsw = HnswPassages.build(passages)
        build_s = time.monotonic() - tick
        exact_ms, hnsw_ms, recall = [], [], []
        for query in queries:
            tick = time.perf_counter()
            exact = passages @ query
            exact_ms.append(1000 * (time.perf_counter() - tick))
            tick = time.perf_counter()
            approximate = hnsw.scores(query)
            hnsw_ms.append(1000 * (time.perf_counter() - tick))
            top = set(np.argpartition(-exact, 10)[:10].tolist())
            found = set(np.argpartition(-approximate, 10)[:10].tolist())
            recall.append(len(top & found) / 10)
        report = {
            "passages": size,
            "hnsw_build_s": round(build_s, 1),
            "exact_p50_ms": round(statistics.median(exact_ms), 2),
            "exact_p95_ms": round(percentile(exact_ms, 0.95), 2),
            "hnsw_p50_ms": round(statistics.median(hnsw_ms), 2),
            "hnsw_p95_ms": round(percentile(hnsw_ms, 0.95), 2),
            "exact_over_hnsw_p50": round(statistics.median(exact_ms) / statistics.median(hnsw_ms), 1),
            "recall_at_10": round(float(np.mean(recall)), 4),
            "questions": len(queries),
            "neighbours": NEIGHBOURS,
            "ef_search": EF_SEARCH,
            "candidates": CANDIDATES,
        }
        print(json.dumps(report) if args.json else report, flush=True)
        del hnsw, passages
    if args.rank:
        from dataclasses import replace

        ranked = read_questions(args.rank)
        exact_index = replace(index, ann=None)
        approximate = replace(index, ann=HnswPassages.build(np.asarray(index.passage_vectors, dtype=np.float32)))
        report = {"questions": len(ranked)}
        for name, dense_index in (("exact", exact_index), ("hnsw", approximate)):
            searcher = Searcher(dense_index, encoder)

            def run(question, searcher=searcher):  # type: ignore[no-untyped-def]
                return [hit.passage.id for hit in searcher.search(question.question, k=10, explain=False).hits]

            scores = evaluate_rankings(ranked, run, (10,))["all"]
            report[f"{name}_R@10"], report[f"{name}_nDCG@10"] = scores["R@10"], scores["nDCG@10"]
        print(json.dumps(report) if args.json else report, flush=True)


if __name__ == "__main__":
    main()

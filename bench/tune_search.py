"""Choose search settings on development splits of questions (coordinate ascent), never on the reported ones.

    python bench/tune_search.py runs/kg-2wiki --questions ../shared/data/2wiki/questions.jsonl --dev 200 \
        --profile graph --out bench/settings-2wiki-graph.json

Several graphs at once (one setting for all; the objective is the mean over the sets), each set as
``KG QUESTIONS SKIP N`` (questions SKIP+1 to SKIP+N):

    python bench/tune_search.py --set runs/kg-2wiki ../shared/data/2wiki/questions.jsonl 0 200 \
        --set runs/kg-musique-dev ../shared/data/musique-dev/questions.jsonl 0 114 ... --out settings.json

Profiles: ``graph`` (the walk alone), ``graph-no-relations`` (the walk without relation edges), ``fused``
(walk, dense and BM25). Objective: R@2 + 0.5 R@5 (or nDCG@10 with --objective ndcg).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from kgsearch.evaluate import evaluate_rankings, read_questions
from kgsearch.search import Searcher
from kgsearch.settings import SearchSettings

GRID = {
    "damping": [0.5, 0.7, 0.8, 0.9, 0.95],
    "title_weight": [3.0, 10.0, 30.0, 100.0],
    "mention_weight": [0.3, 1.0, 3.0],
    "relation_weight": [0.3, 1.0, 3.0, 10.0, 30.0],
    "alias_weight": [0.0, 0.3, 1.0, 3.0],
    "name_weight": [0.0, 1.0, 3.0, 10.0, 30.0],
    "cue_boost": [1.0, 3.0, 10.0, 30.0, 100.0],
    "namesake_weight": [0.01, 0.03, 0.1, 0.3, 1.0],
    "namesake_prior": [0.0, 0.1, 0.3, 1.0],
    "cue_seed": [0.0, 0.1, 0.2, 0.3, 0.5, 0.7],
    "text_cue_weight": [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0],
    "dense_prior": [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    "titled_dense_prior": [0.0, 0.05, 0.1, 0.2, 0.3, 0.4],
    "prior_top": [3, 10, 30],
    "dense_weight": [0.0, 0.05, 0.1, 0.2, 0.4],
    "lexical_weight": [0.0, 0.05, 0.1, 0.2, 0.4],
}
PROFILES = {
    "graph": {"fixed": {"dense_weight": 0.0, "lexical_weight": 0.0}, "skip": ("dense_weight", "lexical_weight")},
    "graph-no-relations": {
        "fixed": {"dense_weight": 0.0, "lexical_weight": 0.0, "use_relations": False},
        "skip": ("dense_weight", "lexical_weight", "relation_weight", "cue_boost"),
    },
    "fused": {"fixed": {}, "skip": ()},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kg_dir", nargs="?")
    parser.add_argument("--questions")
    parser.add_argument("--set", nargs=4, action="append", default=[], metavar=("KG", "QUESTIONS", "SKIP", "N"))
    parser.add_argument("--dev", type=int, default=200, help="tune on the first N questions")
    parser.add_argument("--skip", type=int, default=0, help="questions before the dev split (BEIR: none)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="fused")
    parser.add_argument("--objective", choices=("recall", "ndcg"), default="recall")
    parser.add_argument("--start", help="JSON settings to start from")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", help="comma-separated settings to tune (default: all the profile allows)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    sets = [(kg, path, int(skip), int(n)) for kg, path, skip, n in args.set]
    if args.kg_dir:
        sets.insert(0, (args.kg_dir, args.questions, args.skip, args.dev))
    tuned = []
    for kg, path, skip, count in sets:
        searcher = Searcher.open(kg)
        questions = read_questions(path)[skip : skip + count]
        started = time.monotonic()
        reads = {q.id: searcher.read(q.question, dense=True) for q in questions}
        print(f"{kg}: read {len(questions)} questions in {time.monotonic() - started:.1f} s", flush=True)
        tuned.append((kg, searcher, questions, reads))
    profile = PROFILES[args.profile]
    settings = (
        SearchSettings.from_json(json.loads(Path(args.start).read_text())) if args.start else tuned[0][1].settings
    )
    settings = replace(settings, **profile["fixed"])

    def rank_ids(run: Searcher, reads: dict) -> Callable:
        return lambda q: [h.passage.id for h in run.rank(reads[q.id], 10, explain=False).hits]

    def score(candidate: SearchSettings) -> tuple[float, dict]:
        values, reports = [], {}
        for kg, searcher, questions, reads in tuned:
            run = searcher.with_settings(**candidate.to_json())
            report = evaluate_rankings(questions, rank_ids(run, reads), (2, 5))["all"]
            recall = report["R@2"] + 0.5 * report["R@5"]
            values.append(recall if args.objective == "recall" else 100 * report["nDCG@10"])
            reports[kg] = report
        return sum(values) / len(values), reports if len(reports) > 1 else reports[tuned[0][0]]

    best, best_report = score(settings)
    print("start", round(best, 3), best_report, flush=True)
    for round_ in range(args.rounds):
        changed = False
        for name, values in GRID.items():
            if name in profile["skip"] or (args.only and name not in args.only.split(",")):
                continue
            for value in values:
                if getattr(settings, name) == value:
                    continue
                candidate = replace(settings, **{name: value})
                result, report = score(candidate)
                if result > best + 1e-9:
                    best, best_report, settings, changed = result, report, candidate, True
                    print(f"round {round_ + 1}: {name}={value} -> {result:.3f} {report}", flush=True)
        if not changed:
            break
    print("best", best_report, json.dumps(settings.to_json()), flush=True)
    with open(args.out, "w") as handle:
        dev = {kg: len(questions) for kg, _, questions, _ in tuned}
        record = {"questions": dev, "objective": round(best, 3), "reports": best_report}
        json.dump({**settings.to_json(), "_dev": record}, handle, indent=2)


if __name__ == "__main__":
    main()

"""Evaluate several trained models (one per seed) on one test set; print each and the mean.

    python bench/evaluate_seeds.py runs/conll04-seed1 runs/conll04-seed2 runs/conll04-seed3 \
        --data ../shared/data/conll04/test.json --json

``--labels P22,P26`` adds those relations' gold-entity precision, recall and F1 for each model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

SECTIONS = ("entities", "relations_end_to_end", "relations_gold_entities")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--labels", default="", help="comma-separated relations to score apart (gold entities)")
    args = parser.parse_args()

    import torch

    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.evaluate import evaluate
    from kgbuild.extraction.extractor import RelationExtractor

    torch.set_num_threads(args.threads)
    examples = read_examples(args.data)
    per_model = {}
    for model in args.models:
        start = time.perf_counter()
        report = evaluate(RelationExtractor.load(model), examples)
        per_model[model] = {
            section: {"micro_f1": report[section]["micro"]["f1"], "macro_f1": report[section]["macro"]["f1"],
                      "micro_precision": report[section]["micro"]["precision"],
                      "micro_recall": report[section]["micro"]["recall"]}
            for section in SECTIONS
        }  # fmt: skip
        per_label = report["relations_gold_entities"]["per_label"]
        for label in filter(None, args.labels.split(",")):
            per_model[model][f"gold_entities {label}"] = per_label.get(label, {})
        per_model[model]["seconds"] = round(time.perf_counter() - start, 1)
    mean = {
        section: {
            key: round(statistics.mean(m[section][key] for m in per_model.values()), 2)
            for key in per_model[args.models[0]][section]
        }
        for section in SECTIONS
    }
    result = {"data": args.data, "examples": len(examples), "models": per_model, "mean": mean}
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

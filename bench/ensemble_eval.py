"""Relation F1 with gold entities of an ensemble that averages its members' calibrated relation margins.

Each member scores every ordered entity pair as `kgbuild evaluate` does (its own calibrated threshold,
argument-type signatures and converse pairs); the ensemble's margin for ``(head, tail, label)`` is the
mean of the members' margins, each read from its confidence (the margin's sigmoid) and clipped below at
the logit of ``--floor``. A triple holds where the mean margin is above the offset: 0, and the best of
``--offsets`` (fitted on the same documents, as `kgbuild calibrate` fits a model's own offset).

    python bench/ensemble_eval.py runs/wikidata-step2 runs/wikidata-step2-seed2 \
        --data runs/redocred-dev-last50.json --json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

KINSHIP = ("P22", "P25", "P26", "P40", "P3373")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--floor", type=float, default=1e-3, help="least confidence read from a member")
    parser.add_argument("--offsets", default="-1.5,-1,-0.75,-0.5,-0.25,0,0.25,0.5,0.75,1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 0.0 < args.floor < 1.0:
        parser.error(f"--floor must be in (0, 1), got {args.floor}")

    import torch

    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.evaluate import index_items, score
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.settings import resolve_model_dir

    torch.set_num_threads(args.threads)
    examples = read_examples(args.data)
    texts, golds = [x.text for x in examples], [x.entities for x in examples]
    gold_items = [index_items(x.relations) for x in examples]
    clip = math.log(args.floor / (1 - args.floor))
    reads: list[list[dict[tuple[int, int, str], float]]] = []  # per member, per document: margin by triple
    members = {}
    for model in args.models:
        extractor = RelationExtractor.load(resolve_model_dir(model))
        extractor.relation_floor = args.floor
        start = time.perf_counter()
        extractions = extractor.extract(texts, gold_entities=golds)
        seconds = time.perf_counter() - start
        margins_by_text = [
            {(r.head, r.tail, r.label): _logit(r.confidence) for r in found.relations} for found in extractions
        ]
        reads.append(margins_by_text)
        own = [{key for key, margin in text.items() if margin > 0} for text in margins_by_text]
        members[model] = {**_report(score(gold_items, own)), "seconds": round(seconds, 1)}
    mean = []
    for index in range(len(examples)):
        keys = set().union(*(member[index] for member in reads))
        mean.append({key: sum(member[index].get(key, clip) for member in reads) / len(reads) for key in keys})

    def ensemble(offset: float) -> dict[str, float]:
        predicted = [{key for key, margin in text.items() if margin > offset} for text in mean]
        return _report(score(gold_items, predicted))

    offsets = sorted({0.0, *(float(offset) for offset in args.offsets.split(","))})
    by_offset = {offset: ensemble(offset) for offset in offsets}
    best = max(offsets, key=lambda offset: (by_offset[offset]["f1"], -abs(offset)))
    result = {
        "data": args.data,
        "examples": len(examples),
        "members": members,
        "ensemble_offset_0": by_offset[0.0],
        "ensemble_best_offset": best,
        "ensemble_best": by_offset[best],
    }
    print(json.dumps(result, indent=None if args.json else 2))


def _logit(confidence: float) -> float:
    confidence = min(max(confidence, 1e-7), 1 - 1e-7)
    return math.log(confidence / (1 - confidence))


def _report(scored: dict[str, Any]) -> dict[str, float]:
    per_label = scored["per_label"]
    recalls = [per_label[label]["recall"] for label in KINSHIP if label in per_label]
    return {
        "f1": scored["micro"]["f1"],
        "precision": scored["micro"]["precision"],
        "recall": scored["micro"]["recall"],
        "macro_f1": scored["macro"]["f1"],
        "kinship_macro_recall": round(sum(recalls) / len(recalls), 2) if recalls else 0.0,
    }


if __name__ == "__main__":
    main()

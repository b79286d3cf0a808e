"""How often a model states an asymmetric relation the wrong way round, on held-out documents.

With gold entities given, each predicted kinship triple ``(h, r, t)`` is one of:
- right: the gold has ``(h, r, t)``;
- reversed: the gold has the same fact read the other way, ``(t, r, h)``, or, for a parent
  relation, ``(t, child, h)`` read as ``(h, father, t)``'s converse (``h father t`` states
  ``t child h``, so a predicted ``h child t`` where gold has ``h father t`` is reversed);
- wrong: anything else.
Recall per relation and what the model predicted for the gold pairs it missed are reported too.

    python bench/direction_check.py --model wikidata --data ../shared/data/redocred/test_revised.json --json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARENT = ("P22", "P25")  # father, mother: the parent is the tail
CHILD = "P40"  # child: the child is the tail
ASYMMETRIC = (*PARENT, CHILD)
KINSHIP = (*ASYMMETRIC, "P26", "P3373")


def converse(head: int, label: str, tail: int) -> set[tuple[int, str, int]]:
    """Triples that state the same fact as ``(head, label, tail)`` the other way round."""
    if label in PARENT:  # h's father is t: t's child is h
        return {(tail, CHILD, head)}
    if label == CHILD:  # h's child is t: t's father or mother is h
        return {(tail, parent, head) for parent in PARENT}
    return set()


def swapped(label: str) -> tuple[str, ...]:
    """Labels that give the same ordered pair the opposite roles: a father read as a child, and back."""
    return (CHILD,) if label in PARENT else PARENT


def classify(predicted: set[tuple[int, str, int]], gold: set[tuple[int, str, int]]) -> Counter[tuple[str, str]]:
    """Count ``(label, right|reversed|equivalent|wrong)`` over the predicted asymmetric kinship triples."""
    counts: Counter[tuple[str, str]] = Counter()
    for head, label, tail in predicted:
        if label not in ASYMMETRIC:
            continue
        if (head, label, tail) in gold:
            kind = "right"
        elif (tail, label, head) in gold or any((head, other, tail) in gold for other in swapped(label)):
            kind = "reversed"  # the pair's roles swapped: h is t's father, or a parent read as a child
        elif converse(head, label, tail) & gold:
            kind = "equivalent"  # the converse is the gold triple: the same fact, not an error of direction
        else:
            kind = "wrong"
        counts[label, kind] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="wikidata")
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/redocred/test_revised.json"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.settings import resolve_model_dir

    torch.set_num_threads(args.threads)
    examples = read_examples(args.data)
    if args.limit:
        examples = examples[: args.limit]
    extractor = RelationExtractor.load(resolve_model_dir(args.model))
    extractions = extractor.extract([x.text for x in examples], gold_entities=[x.entities for x in examples])
    kinds: Counter[tuple[str, str]] = Counter()
    support: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for example, extraction in zip(examples, extractions, strict=True):
        gold = {(r.head, r.label, r.tail) for r in example.relations}
        predicted = {(r.head, r.label, r.tail) for r in extraction.relations}
        kinds += classify(predicted, gold)
        for triple in gold:
            if triple[1] in KINSHIP:
                support[triple[1]] += 1
                found[triple[1]] += triple in predicted
    report = {
        "model": args.model,
        "documents": len(examples),
        "recall": {label: round(100 * found[label] / support[label], 1) for label in KINSHIP if support[label]},
        "support": dict(support),
        "predicted": {
            label: {kind: kinds[label, kind] for kind in ("right", "reversed", "equivalent", "wrong")}
            for label in ASYMMETRIC
        },
    }
    for label in ASYMMETRIC:
        counts = report["predicted"][label]
        total = sum(counts.values())
        counts["reversed_share"] = round(100 * counts["reversed"] / total, 1) if total else None
    kinship_recalls = [report["recall"][label] for label in KINSHIP if label in report["recall"]]
    report["kinship_macro_recall"] = round(sum(kinship_recalls) / len(kinship_recalls), 1)
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

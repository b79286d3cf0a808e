"""Fit a trained model's decision rules on data it was not trained on.

Three rules, all saved in the model's config: the relation type signatures seen in training (a
relation is predicted only between entity types it was seen between), the converses the training data
always states (a pair scored as "h father t" is scored at least as high as "t child h"), and a global
offset on the relation threshold, chosen on the dev set to maximise the model's dev metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from kgbuild.extraction.datasets import relation_converses, relation_signatures
from kgbuild.extraction.evaluate import score_extractions
from kgbuild.records import Example, Extraction

METRICS = ("auto", "end_to_end", "gold_entities", "mean")
OFFSETS = tuple(x / 4 for x in range(-12, 13))  # -3.0 .. 3.0 in logit units
_FLOOR = min(OFFSETS)


def calibrate(
    extractor: Any,
    train_examples: Sequence[Example],
    dev_examples: Sequence[Example],
    metric: str,
    type_constraints: bool = True,
) -> dict[str, Any]:
    """Set ``relation_signatures`` and ``relation_threshold`` on `extractor`'s config; report the choice.

    Args:
        extractor: a `RelationExtractor`; its model's config is replaced in place.
        metric: ``end_to_end``, ``gold_entities`` or ``mean`` (of the two), the dev figure to maximise.

    """
    if metric not in METRICS or metric == "auto":
        raise ValueError(f"metric must be end_to_end, gold_entities or mean, got {metric!r}")
    model = extractor.model
    constrained = constrain_types(extractor, train_examples, type_constraints)
    model.config = replace(model.config, relation_threshold=_FLOOR)
    texts = [example.text for example in dev_examples]
    loose = extractor.extract(texts) if metric != "gold_entities" else None
    loose_gold = None
    if metric != "end_to_end":
        loose_gold = extractor.extract(texts, gold_entities=[example.entities for example in dev_examples])
    scores = {}
    for offset in OFFSETS:
        gold_given = None if loose_gold is None else [_above(x, offset - _FLOOR) for x in loose_gold]
        end_to_end = gold_given if loose is None else [_above(x, offset - _FLOOR) for x in loose]
        assert end_to_end is not None
        report = score_extractions(dev_examples, end_to_end, gold_given)
        scores[offset] = dev_figure(report, metric)
    best = max(OFFSETS, key=lambda offset: (scores[offset], -abs(offset)))
    model.config = replace(model.config, relation_threshold=best)
    return {
        "relation_threshold": best,
        "dev_f1_at_0": scores[0.0],
        "dev_f1": scores[best],
        "relation_signatures": constrained["relation_signatures"],
        "relation_converses": constrained["relation_converses"],
    }


def constrain_types(extractor: Any, train_examples: Sequence[Example], type_constraints: bool = True) -> dict[str, Any]:
    """Set ``relation_signatures`` and ``relation_converses`` from `train_examples`, and offset 0.0.

    All a model trained without dev data gets; `calibrate` then fits the offset on dev.
    """
    signatures = relation_signatures(list(train_examples)) if type_constraints else ()
    converses = relation_converses(list(train_examples))
    model = extractor.model
    model.config = replace(
        model.config, relation_signatures=signatures, relation_converses=converses, relation_threshold=0.0
    )
    return {
        "relation_threshold": 0.0,
        "relation_signatures": len(signatures),
        "relation_converses": len(converses),
        "dev": None,
    }


def dev_figure(report: dict[str, Any], metric: str) -> float:
    """Return the figure `metric` names in an evaluation report.

    Relation micro F1 end to end, with gold entities, or their ``mean``: the figure for a model that
    serves both extraction from raw text and relations between entities a user gives.
    """
    gold = float(report["relations_gold_entities"]["micro"]["f1"]) if metric != "end_to_end" else 0.0
    if metric == "gold_entities":
        return gold
    end_to_end = float(report["relations_end_to_end"]["micro"]["f1"])
    return end_to_end if metric == "end_to_end" else (end_to_end + gold) / 2


def _above(extraction: Extraction, margin: float) -> Extraction:
    """Keep relations whose margin over the loose threshold exceeds `margin`."""
    limit = 1 / (1 + math.exp(-margin))
    relations = tuple(r for r in extraction.relations if r.confidence > limit)
    return replace(extraction, relations=relations)

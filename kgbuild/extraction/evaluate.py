"""Precision, recall and F1 for entities and relations, micro and macro, in percent.

Strict matching throughout. Entities are scored per mention: boundaries and type. Relations end
to end use predicted entities: both arguments (all their mentions and their type) and the label
must be right. Relations with gold entities take the gold entities as given and score
``(head, tail, label)``. Macro F1 averages per-label F1 over the labels seen in gold or predictions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from kgbuild.records import Example, Extraction, PredictedEntity, Span

Item = tuple[Hashable, ...]


def prf(true_positive: int, false_positive: int, false_negative: int) -> dict[str, float]:
    """Return precision, recall and F1 in percent (0 where undefined)."""
    predicted = true_positive + false_positive
    gold = true_positive + false_negative
    precision = 100.0 * true_positive / predicted if predicted else 0.0
    recall = 100.0 * true_positive / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 2), "recall": round(recall, 2), "f1": round(f1, 2)}


def score(gold: Iterable[set[Item]], predicted: Iterable[set[Item]]) -> dict[str, Any]:
    """Score per-example sets of items whose last element is their label."""
    counts: Counter[tuple[str, Hashable]] = Counter()
    for gold_items, predicted_items in zip(gold, predicted, strict=True):
        for item in gold_items & predicted_items:
            counts["tp", item[-1]] += 1
        for item in predicted_items - gold_items:
            counts["fp", item[-1]] += 1
        for item in gold_items - predicted_items:
            counts["fn", item[-1]] += 1
    labels = sorted({str(label) for _, label in counts})
    per_label = {label: prf(counts["tp", label], counts["fp", label], counts["fn", label]) for label in labels}
    for label in labels:
        per_label[label]["support"] = counts["tp", label] + counts["fn", label]
    micro = prf(*(sum(v for (kind, _), v in counts.items() if kind == k) for k in ("tp", "fp", "fn")))
    macro = {
        key: round(sum(per_label[label][key] for label in labels) / len(labels), 2) if labels else 0.0
        for key in ("precision", "recall", "f1")
    }
    return {"micro": micro, "macro": macro, "per_label": per_label}


def _entity_key(entity: PredictedEntity | Any) -> tuple[frozenset[Span], str]:
    return frozenset(entity.mentions), entity.type


def mention_items(entities: Sequence[Any]) -> set[Item]:
    """Mentions as ``(start, end, type)``."""
    return {(m.start, m.end, e.type) for e in entities for m in e.mentions}


def relation_items(entities: Sequence[Any], relations: Sequence[Any]) -> set[Item]:
    """Relations as ``(head entity, tail entity, label)`` with entities as mention sets and types."""
    return {(_entity_key(entities[r.head]), _entity_key(entities[r.tail]), r.label) for r in relations}


def index_items(relations: Sequence[Any]) -> set[Item]:
    """Relations as ``(head index, tail index, label)``, for gold-entity scoring."""
    return {(r.head, r.tail, r.label) for r in relations}


def score_extractions(
    examples: Sequence[Example], end_to_end: Sequence[Extraction], gold_given: Sequence[Extraction] | None
) -> dict[str, Any]:
    """Score end-to-end extractions (and, if given, gold-entity extractions) against `examples`."""
    report: dict[str, Any] = {
        "examples": len(examples),
        "entities": score(
            (mention_items(x.entities) for x in examples), (mention_items(p.entities) for p in end_to_end)
        ),
        "relations_end_to_end": score(
            (relation_items(x.entities, x.relations) for x in examples),
            (relation_items(p.entities, p.relations) for p in end_to_end),
        ),
    }
    if gold_given is not None:
        report["relations_gold_entities"] = score(
            (index_items(x.relations) for x in examples), (index_items(p.relations) for p in gold_given)
        )
    return report


def evaluate(extractor: Any, examples: Sequence[Example], batch_size: int = 32, gold: bool = True) -> dict[str, Any]:
    """Run `extractor` (a `RelationExtractor`) on `examples` and score it."""
    texts = [example.text for example in examples]
    end_to_end = extractor.extract(texts, batch_size=batch_size)
    gold_given = None
    if gold:
        gold_given = extractor.extract(texts, batch_size=batch_size, gold_entities=[x.entities for x in examples])
    return score_extractions(examples, end_to_end, gold_given)

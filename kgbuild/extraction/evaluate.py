"""Precision, recall and F1 for entities and relations, micro and macro, in percent.

Strict matching throughout. Entities are scored per mention: boundaries and type. Relations end
to end use predicted entities: both arguments (all their mentions and their type) and the label
must be right; for a document-level model they are scored twice, as the extractor gives them and as
the pipeline writes them into the graph, after resolution (`resolved_extractions`). Relations with
gold entities take the gold entities as given and score ``(head, tail, label)``. Macro F1 averages
per-label F1 over the labels seen in gold or predictions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from kgbuild.records import Document, Example, Extraction, ParsedDocument, PredictedEntity, Span
from kgbuild.resolution import resolve_document

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
    """Run `extractor` (a `RelationExtractor`) on `examples` and score it.

    A document-level model's report also has ``relations_end_to_end_resolved``: its end-to-end
    relations after the pipeline's per-document resolution, which is what a built graph holds.
    """
    texts = [example.text for example in examples]
    end_to_end = extractor.extract(texts, batch_size=batch_size)
    gold_given = None
    if gold:
        gold_given = extractor.extract(texts, batch_size=batch_size, gold_entities=[x.entities for x in examples])
    report = score_extractions(examples, end_to_end, gold_given)
    if extractor.config.document_level:
        report["relations_end_to_end_resolved"] = score(
            (relation_items(x.entities, x.relations) for x in examples),
            (relation_items(r.entities, r.relations) for r in resolved_extractions(end_to_end)),
        )
    return report


def resolved_extractions(extractions: Sequence[Extraction]) -> list[Extraction]:
    """Resolve each extraction as the pipeline does before writing a graph (`kgbuild.resolution.resolve_document`).

    Short forms join their long forms and one name's readings join, so the entities are the graph's nodes.
    The document is the words joined by spaces, titled by the text's id (Re-DocRED: the article title).
    """
    resolved = []
    for extraction in extractions:
        text = extraction.text
        starts, position = [], 0
        for token in text.tokens:
            starts.append(position)
            position += len(token) + 1
        ends = tuple(start + len(token) for start, token in zip(starts, text.tokens, strict=True))
        document = Document(text.id, " ".join(text.tokens), text.id)
        graph = resolve_document(ParsedDocument(document, text, tuple(starts), ends), extraction)
        entities = tuple(PredictedEntity(e.mentions, e.type, e.confidence) for e in graph.entities)
        resolved.append(Extraction(text, entities, graph.relations, extraction.warnings))
    return resolved

"""The one place that wires `kgbuild`'s stages: corpus -> spaCy parse -> extractor -> found facts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice
from typing import Any

from kgbuild.records import Document, Extraction, ParsedDocument
from kgbuild.settings import MODELS_DIR

RELATION_NAMES_FILE = MODELS_DIR.parent / "ontologies" / "wikidata-relations.json"


@dataclass(frozen=True, slots=True)
class DocumentExtraction:
    """A parsed document and what the extractor found in it."""

    parsed: ParsedDocument
    extraction: Extraction


@dataclass(frozen=True, slots=True)
class FoundRelation:
    """A relation as a reader sees it: surface forms, types, label, confidence and where it was read."""

    document_id: str
    head: str
    head_type: str
    label: str
    label_name: str
    tail: str
    tail_type: str
    confidence: float
    head_chars: tuple[int, int]
    tail_chars: tuple[int, int]


@cache
def relation_names() -> dict[str, str]:
    """Readable names of relation labels (Wikidata property ids); other labels name themselves."""
    if RELATION_NAMES_FILE.is_file():
        names: dict[str, str] = json.loads(RELATION_NAMES_FILE.read_text(encoding="utf-8"))
        return names
    return {}


def extract_documents(
    documents: Iterable[Document], extractor: Any, parser: Any, batch_size: int = 32
) -> Iterator[DocumentExtraction]:
    """Parse and extract documents in batches, in order.

    Args:
        extractor: a `RelationExtractor` (or any object with its `extract` method).
        parser: a `SpacyParser` (or any object with its `parse` method).

    """
    parsed_documents = parser.parse(documents)
    while batch := list(islice(parsed_documents, batch_size)):
        extractions = extractor.extract([p.text for p in batch], batch_size=batch_size)
        for parsed, extraction in zip(batch, extractions, strict=True):
            yield DocumentExtraction(parsed, extraction)


def found_relations(result: DocumentExtraction) -> list[FoundRelation]:
    """Describe the relations of one document with their surface forms, most confident first."""
    parsed, extraction = result.parsed, result.extraction
    names = relation_names()
    found = []
    for relation in extraction.relations:
        head, tail = extraction.entities[relation.head], extraction.entities[relation.tail]
        found.append(
            FoundRelation(
                parsed.document.id,
                parsed.surface(head.mentions[0]),
                head.type,
                relation.label,
                names.get(relation.label, relation.label),
                parsed.surface(tail.mentions[0]),
                tail.type,
                relation.confidence,
                parsed.char_span(head.mentions[0]),
                parsed.char_span(tail.mentions[0]),
            )
        )
    return sorted(found, key=lambda r: -r.confidence)


@dataclass(slots=True)
class BuildSummary:
    """Counts of one graph build, as the extract command reports them."""

    documents: int = 0
    entities: int = 0
    triples: int = 0
    rejected: int = 0
    confidence_sum: float = 0.0

    @property
    def mean_confidence(self) -> float:
        """Mean confidence of the triples written (0 when there are none)."""
        return self.confidence_sum / self.triples if self.triples else 0.0


def write_graph(
    results: Iterable[DocumentExtraction],
    dataset: Any,
    model_name: str,
    model_version: str,
    summary: BuildSummary,
    min_confidence: float = 0.5,
    base: str | None = None,
) -> Iterator[DocumentExtraction]:
    """Add each result's named graph to `dataset` (an rdflib `Dataset`), count it in `summary`, yield it."""
    from kgbuild.rdf.graph import ModelInfo, add_document
    from kgbuild.rdf.iris import DEFAULT_BASE, IriMinter

    minter = IriMinter(base or DEFAULT_BASE)
    model = ModelInfo(model_name, model_version)
    for result in results:
        stats = add_document(dataset, result, minter, model, min_confidence)
        summary.documents += 1
        summary.entities += stats.entities
        summary.triples += stats.triples
        summary.rejected += stats.rejected
        summary.confidence_sum += stats.confidence_sum
        yield result

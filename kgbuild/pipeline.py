"""The one place that wires `kgbuild`'s stages: corpus -> spaCy parse -> extractor -> found facts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from typing import Any

from kgbuild.records import Document, Extraction, ParsedDocument

WINDOW_BATCHES = 8  # extractor batches per window of documents


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
    """Readable names of relation labels (Wikidata property ids); other labels name themselves.

    Raises:
        PackageDataError: the ontologies are missing from the installed package.

    """
    from kgbuild.settings import ontology_file

    names: dict[str, str] = json.loads(ontology_file("wikidata-relations.json").read_text(encoding="utf-8"))
    return names


def extract_documents(
    documents: Iterable[Document], extractor: Any, parser: Any, batch_size: int = 32
) -> Iterator[DocumentExtraction]:
    """Parse and extract documents in batches, in order.

    Args:
        extractor: a `RelationExtractor` (or any object with its `extract` method).
        parser: a `SpacyParser` (or any object with its `parse` method).

    """
    parsed_documents = parser.parse(documents)
    # Several batches per window: the extractor sorts a window's texts by length, so each batch pads
    # to similar lengths (one batch per window padded every text to the longest of 32 at random).
    while batch := list(islice(parsed_documents, batch_size * WINDOW_BATCHES)):
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
class BuildReport:
    """What one build run did, as the extract command reports it."""

    documents: int = 0
    sentences: int = 0
    skipped_unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    triples: int = 0
    rejected: int = 0


@contextmanager
def _relation_floor(extractor: Any, min_confidence: float) -> Iterator[None]:
    """Below 0.5, ask the extractor for the candidates under its calibrated decision too; restore it after."""
    floor = getattr(extractor, "relation_floor", None)
    if floor is None:
        yield
        return
    extractor.relation_floor = min(max(min_confidence, 0.01), 0.5)
    try:
        yield
    finally:
        extractor.relation_floor = floor


def build_knowledge_graph(
    items: Iterable[Document | Any],
    kg: Any,
    extractor: Any,
    parser: Any,
    model_name: str,
    model_version: str,
    min_confidence: float = 0.5,
    batch_size: int = 32,
    base: str | None = None,
    on_document: Callable[[DocumentExtraction, BuildReport], None] | None = None,
    corpus: str = "",
) -> BuildReport:
    """Extract new and changed documents of a corpus into the knowledge-graph directory `kg`.

    Per document: spaCy parse -> extractor -> spaCy's entities for the types the extractor lacks
    (`kgbuild.named`) -> resolution (`kgbuild.resolution`) -> one named graph (`kgbuild.rdf.graph`);
    the store merges across documents when it is built (`kgbuild.rdf.sameas`).
    Resumable and idempotent: a document whose content and model are unchanged since it was
    written is skipped, a changed one replaces its own named graph, each is written atomically.

    Args:
        items: documents, and `CorpusProblem` records for documents that could not be read.
        kg: a `KnowledgeGraphDir`; extractor: a `RelationExtractor`; parser: a `SpacyParser`.
        min_confidence: the least confidence of a triple kept; below 0.5 the extractor is also asked for
            the candidates under its calibrated decision (its `relation_floor`).
        corpus: what the run record's ``prov:used`` names (the corpus path); the record is written before
            the first document, so a killed run leaves one, and completed with the run's counts at its end.

    """
    from datetime import UTC, datetime

    from kgbuild.corpus import CorpusProblem
    from kgbuild.named import add_named_entities, missing_types
    from kgbuild.rdf.graph import ModelInfo, RunCounts, document_nquads, run_nquads
    from kgbuild.rdf.iris import DEFAULT_BASE, IriMinter
    from kgbuild.rdf.store import content_hash
    from kgbuild.resolution import RESOLUTION_VERSION, resolve_document

    started = datetime.now(UTC).isoformat(timespec="seconds")
    minter = IriMinter(base or DEFAULT_BASE)
    model = ModelInfo(model_name, model_version)
    model_key = f"{model_name}@{model_version}@{min_confidence}@{minter.base}@resolution-{RESOLUTION_VERSION}"
    config = getattr(extractor, "config", None)
    missing = missing_types(config.entity_types) if config is not None else frozenset()
    if missing:  # spaCy fills types the model lacks: its pipeline is part of what decides a document's graph
        from kgbuild.settings import spacy_model_name

        spacy_name = getattr(parser, "name", None) or spacy_model_name()
        model_key += f"@spacy-{spacy_name}-" + ",".join(sorted(missing))
    finished = kg.finished()
    report = BuildReport()
    digests: dict[str, str] = {}
    longest = getattr(parser, "max_document_chars", None)

    def pending() -> Iterator[Document]:
        for item in items:
            if isinstance(item, CorpusProblem):
                report.failed.append(f"{item.source}: {item.reason}")
            elif item.id in digests:
                report.failed.append(f"{item.id}: duplicate document id")
            elif longest is not None and len(item.text) > longest:
                report.failed.append(f"{item.id}: {len(item.text):,} characters, over the {longest:,} read at most")
            else:
                digests[item.id] = content_hash(item, model_key)
                if finished.get(item.id) == digests[item.id]:
                    report.skipped_unchanged += 1
                else:
                    yield item

    with _relation_floor(extractor, min_confidence):
        for result in extract_documents(pending(), extractor, parser, batch_size):
            extraction = add_named_entities(result.parsed, result.extraction, missing)
            nquads, stats = document_nquads(resolve_document(result.parsed, extraction), minter, model, min_confidence)
            if not report.documents:  # on record before the graph changes: a killed run leaves its record
                kg.write_run(*run_nquads(minter, model, started, corpus))
            kg.write_document(result.parsed.document.id, digests[result.parsed.document.id], nquads)
            report.documents += 1
            report.sentences += len(result.parsed.text.sentence_starts)
            report.triples += stats.triples
            report.rejected += stats.rejected
            if on_document:
                on_document(result, report)
    if report.documents:
        ended = datetime.now(UTC).isoformat(timespec="seconds")
        counts = RunCounts(report.documents, report.skipped_unchanged, len(report.failed), len(kg.finished()))
        kg.write_run(*run_nquads(minter, model, started, corpus, ended, counts))
    return report

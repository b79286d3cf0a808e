"""The one place that wires `kgbuild`'s stages: corpus -> spaCy parse -> extractor -> found facts."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from itertools import chain, groupby, islice
from typing import TYPE_CHECKING, Protocol, cast

from kgbuild.records import Document, Extraction, ParsedDocument, TokenizedText
from kgbuild.sections import SECTION_CHARS, SECTIONS_VERSION

if TYPE_CHECKING:
    from kgbuild.corpus import CorpusProblem

WINDOW_BATCHES = 8  # extractor batches per window of documents


class RelationModel(Protocol):
    """What the pipeline asks of a relation extractor (`kgbuild.RelationExtractor` is the real one).

    It may also have a ``relation_floor`` (the least confidence it reports; lowered for a build below 0.5)
    and a ``config`` with ``entity_types``; the pipeline reads both only where they exist.
    """

    def extract(self, texts: Sequence[TokenizedText], batch_size: int = 32) -> list[Extraction]:
        """Find the entities and relations of each text, in order."""
        ...


class DocumentParser(Protocol):
    """What the pipeline asks of a parser (`kgbuild.SpacyParser`): words, sentences and entities of documents."""

    def parse(self, documents: Iterable[Document]) -> Iterator[ParsedDocument]:
        """Parse documents lazily, in order."""
        ...


class GraphStore(Protocol):
    """Where a build writes its graphs (`kgbuild.KnowledgeGraphDir`): one file a document, one a run."""

    def finished(self) -> dict[str, str]:
        """Map each finished document id to the content hash it was built from."""
        ...

    def write_document(self, document_id: str, digest: str, nquads: str) -> None:
        """Store one document's named graph, replacing any earlier version."""
        ...

    def write_run(self, run_id: str, nquads: str) -> None:
        """Store the provenance record of one run."""
        ...


class _Floored(Protocol):
    relation_floor: float


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


def extract_documents(
    documents: Iterable[Document], extractor: RelationModel, parser: DocumentParser, batch_size: int = 32
) -> Iterator[DocumentExtraction]:
    """Parse and extract documents in batches, shortest first within each window of a few batches."""
    parsed_documents = parser.parse(documents)
    # Several batches per window, sorted by length, so each batch pads to similar lengths (one batch per
    # window padded every text to the longest of 32 at random); each batch is handed on as soon as it is
    # extracted, so a killed run loses one batch of work, not a window.
    while window := list(islice(parsed_documents, batch_size * WINDOW_BATCHES)):
        window.sort(key=lambda parsed: len(parsed.text.tokens))
        for first in range(0, len(window), batch_size):
            batch = window[first : first + batch_size]
            extractions = extractor.extract([p.text for p in batch], batch_size=batch_size)
            for parsed, extraction in zip(batch, extractions, strict=True):
                yield DocumentExtraction(parsed, extraction)


def found_relations(result: DocumentExtraction) -> list[FoundRelation]:
    """Describe the relations of one document with their surface forms, most confident first."""
    parsed, extraction = result.parsed, result.extraction
    from kgbuild.rdf.vocabulary import relation_names

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


@dataclass(frozen=True, slots=True)
class GraphSettings:
    """What decides a document's graph besides its text: every engine's workers build with it."""

    model_name: str
    model_version: str
    min_confidence: float
    base: str
    missing: frozenset[str] = frozenset()  # spaCy's types the extractor lacks (`kgbuild.named`)
    section_chars: int = SECTION_CHARS  # longer documents are built section by section (`kgbuild.sections`)


@dataclass(frozen=True, slots=True)
class DocumentGraph:
    """One document's named graph as N-Quads, with what building it counted."""

    document_id: str
    nquads: str
    sentences: int
    triples: int
    rejected: int


Engine = Callable[[Iterable[Document], GraphSettings], Generator[DocumentGraph, None, None]]


def document_graphs(
    documents: Iterable[Document],
    extractor: RelationModel,
    parser: DocumentParser,
    settings: GraphSettings,
    batch_size: int = 32,
) -> Generator[DocumentGraph, None, None]:
    """Build each document's named graph in this process (the local engine; Ray's actors run it too).

    Per document: spaCy parse -> extractor -> spaCy's entities for the types the extractor lacks
    (`kgbuild.named`) -> resolution (`kgbuild.resolution`) -> one named graph (`kgbuild.rdf.graph`).
    A document over ``settings.section_chars`` goes through the same stages one section at a time
    (`kgbuild.sections`), so its memory stays bounded; its graph is still written once, whole.
    """
    from kgbuild.named import add_named_entities
    from kgbuild.rdf.graph import GraphStats, ModelInfo, document_nquads
    from kgbuild.rdf.iris import IriMinter
    from kgbuild.resolution import ResolvedDocument, resolve_document
    from kgbuild.sections import DocumentSections, document_sections, in_whole_document

    minter, model = IriMinter(settings.base), ModelInfo(settings.model_name, settings.model_version)

    def resolved(parsed: ParsedDocument, extraction: Extraction) -> ResolvedDocument:
        return resolve_document(parsed, add_named_entities(parsed, extraction, settings.missing))

    def graph(document: ResolvedDocument) -> tuple[str, GraphStats]:
        return document_nquads(document, minter, model, settings.min_confidence)

    def sentences(parsed: ParsedDocument) -> int:
        return len(parsed.text.sentence_starts)

    with _relation_floor(extractor, settings.min_confidence):
        # A long document ends the window of short ones before it, so theirs are built as without it; an empty
        # corpus still makes one (empty) pass through the parser, as before.
        runs = groupby(documents, key=lambda document: len(document.text) > settings.section_chars)
        first: tuple[bool, Iterator[Document]] = next(runs, (False, iter(())))
        for long, group in chain([first], runs):
            if not long:
                for result in extract_documents(group, extractor, parser, batch_size):
                    nquads, stats = graph(resolved(result.parsed, result.extraction))
                    document_id = result.parsed.document.id
                    yield DocumentGraph(document_id, nquads, sentences(result.parsed), stats.triples, stats.rejected)
                continue
            for document in group:
                sections = DocumentSections()
                for section in document_sections(document, settings.section_chars):
                    for result in extract_documents([section.document], extractor, parser, batch_size):
                        parsed = in_whole_document(result.parsed, document, section.start)
                        nquads, stats = graph(sections.join(resolved(parsed, result.extraction)))
                        sections.add(nquads, sentences(parsed), stats)
                yield DocumentGraph(
                    document.id, sections.nquads(), sections.sentences, sections.triples, sections.rejected
                )


def load_graph_builder(model_dir: str, spacy_model: str | None, threads: int) -> tuple[RelationModel, DocumentParser]:
    """Load what `document_graphs` needs in an engine's worker: the extractor and spaCy, torch at `threads` threads."""
    import torch

    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.parsing import SpacyParser

    torch.set_num_threads(threads)
    return RelationExtractor.load(model_dir), SpacyParser(spacy_model)


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
def _relation_floor(extractor: RelationModel, min_confidence: float) -> Iterator[None]:
    """Below 0.5, ask the extractor for the candidates under its calibrated decision too; restore it after."""
    floor = getattr(extractor, "relation_floor", None)
    if floor is None:
        yield
        return
    floored = cast(_Floored, extractor)
    floored.relation_floor = min(max(min_confidence, 0.01), 0.5)
    try:
        yield
    finally:
        floored.relation_floor = floor


def build_knowledge_graph(
    items: Iterable[Document | CorpusProblem],
    kg: GraphStore,
    extractor: RelationModel,
    parser: DocumentParser,
    model_name: str,
    model_version: str,
    min_confidence: float = 0.5,
    batch_size: int = 32,
    base: str | None = None,
    on_document: Callable[[DocumentGraph, BuildReport], None] | None = None,
    corpus: str = "",
    engine: Engine | None = None,
    section_chars: int = SECTION_CHARS,
) -> BuildReport:
    """Extract new and changed documents of a corpus into the knowledge-graph directory `kg`.

    The engine builds each document's named graph (`document_graphs` here, by default, or
    `kgbuild.ray_engine.RayEngine` on a cluster); this process writes each one as it arrives, and
    the store merges across documents when it is built (`kgbuild.rdf.sameas`).
    Resumable and idempotent: a document whose content and model are unchanged since it was
    written is skipped, a changed one replaces its own named graph, each is written atomically.

    Args:
        items: documents, and `CorpusProblem` records for documents that could not be read.
        min_confidence: the least confidence of a triple kept; below 0.5 the extractor is also asked for
            the candidates under its calibrated decision (its `relation_floor`).
        corpus: what the run record's ``prov:used`` names (the corpus path); the record is written before
            the first document, so a killed run leaves one, and completed with the run's counts at its end.
        engine: builds the graphs of the pending documents; `extractor` then only tells their settings.
        section_chars: a longer document is built section by section (`kgbuild.sections`); part of its content
            hash, so a change rebuilds only the documents it touches.

    """
    from datetime import UTC, datetime

    from kgbuild.corpus import CorpusProblem
    from kgbuild.named import missing_types
    from kgbuild.rdf.graph import ModelInfo, RunCounts, run_nquads
    from kgbuild.rdf.iris import DEFAULT_BASE, IriMinter
    from kgbuild.rdf.store import content_hash
    from kgbuild.resolution import RESOLUTION_VERSION

    if section_chars <= 0:
        raise ValueError(f"section_chars must be > 0, got {section_chars}")
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
                sectioned = f"@sections-{section_chars}-v{SECTIONS_VERSION}" if len(item.text) > section_chars else ""
                digests[item.id] = content_hash(item, model_key + sectioned)
                if finished.get(item.id) == digests[item.id]:
                    report.skipped_unchanged += 1
                else:
                    yield item

    settings = GraphSettings(model_name, model_version, min_confidence, minter.base, missing, section_chars)
    if engine is None:
        graphs = document_graphs(pending(), extractor, parser, settings, batch_size)
    else:
        graphs = engine(pending(), settings)
    with closing(graphs):
        for graph in graphs:
            if not report.documents:  # on record before the graph changes: a killed run leaves its record
                kg.write_run(*run_nquads(minter, model, started, corpus))
            kg.write_document(graph.document_id, digests[graph.document_id], graph.nquads)
            report.documents += 1
            report.sentences += graph.sentences
            report.triples += graph.triples
            report.rejected += graph.rejected
            if on_document:
                on_document(graph, report)
    if report.documents:
        ended = datetime.now(UTC).isoformat(timespec="seconds")
        counts = RunCounts(report.documents, report.skipped_unchanged, len(report.failed), len(kg.finished()))
        kg.write_run(*run_nquads(minter, model, started, corpus, ended, counts))
    return report

"""Turn one document's extraction into its named graph: entities, triples and their provenance.

Each extracted triple ``s p o`` is written in the document's named graph together with a reified
statement (``kg:Extraction``, a deterministic IRI, never a blank node) carrying the source
document, the source sentence, the character offsets of both mentions, the model and the
confidence. A triple whose argument types violate the property's domain or range in the ontology
is kept out of the graph and counted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rdflib import RDF, RDFS, XSD, Dataset, Graph, Literal, URIRef
from rdflib.namespace import PROV, SDO

from kgbuild.rdf.iris import IriMinter, is_entity, local_name, normalize_label, parse_iri
from kgbuild.rdf.namespaces import KG
from kgbuild.rdf.ontology import constraints, entity_class, fits, identity_group, predicate
from kgbuild.rdf.vocabulary import PREFIXES, relation_names
from kgbuild.records import ParsedDocument, Span
from kgbuild.resolution import ResolvedDocument, ResolvedEntity


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The extractor that produced the triples, as provenance records it."""

    name: str
    version: str


@dataclass(slots=True)
class GraphStats:
    """What building one document's graph wrote and rejected."""

    entities: int = 0
    rejected: int = 0
    rejected_examples: list[str] = field(default_factory=list)
    written: set[tuple[str, str, str]] = field(default_factory=set)  # the distinct (s, p, o) triples

    @property
    def triples(self) -> int:
        """Distinct triples written: two statements of one triple (two sections read it) count once."""
        return len(self.written)


def _sentence(parsed: ParsedDocument, *spans: Span) -> tuple[str, int]:
    """Return the text of the sentences holding `spans`, and its character offset."""
    starts = parsed.text.sentence_starts  # increasing: a binary search keeps long documents linear
    first = starts[max(bisect_right(starts, min(span.start for span in spans)) - 1, 0)]
    last_word = max(span.end for span in spans) - 1
    following = bisect_right(starts, last_word)
    end_word = (starts[following] if following < len(starts) else len(parsed.text.tokens)) - 1
    begin, end = parsed.char_starts[first], parsed.char_ends[end_word]
    return parsed.document.text[begin:end], begin


def _closest_mentions(head: ResolvedEntity, tail: ResolvedEntity) -> tuple[Span, Span]:
    """Return the head and tail mentions nearest each other: where the relation was most likely read.

    The nearest start on either side of each head mention, by binary search (an entity of a long document
    has thousands of mentions); ties go to the earlier head mention, then the earlier tail mention.
    """
    order = sorted(range(len(tail.mentions)), key=lambda i: (tail.mentions[i].start, i))
    starts = [tail.mentions[i].start for i in order]
    best: tuple[int, int, int, Span, Span] | None = None  # (distance, head start, tail position, head, tail)
    for h in head.mentions:
        at = bisect_left(starts, h.start)
        before = bisect_left(starts, starts[at - 1]) if at else None  # the first of equal starts
        for position in {i for i in (before, at) if i is not None and i < len(starts)}:
            t = tail.mentions[order[position]]
            candidate = (abs(h.start - t.start), h.start, order[position], h, t)
            if best is None or candidate[:3] < best[:3]:
                best = candidate
    if best is None:
        raise ValueError("an entity without mentions")
    return best[3], best[4]


def add_document(
    dataset: Dataset, result: ResolvedDocument, minter: IriMinter, model: ModelInfo, min_confidence: float = 0.0
) -> GraphStats:
    """Write `result` into its document's named graph of `dataset`, replacing what was there."""
    parsed, extraction = result.parsed, result
    document = URIRef(minter.document(parsed.document.id))
    dataset.remove_graph(dataset.graph(document))
    graph = dataset.graph(document)
    stats = GraphStats()
    graph.add((document, RDF.type, KG.Document))
    if parsed.document.title:
        graph.add((document, SDO.name, Literal(parsed.document.title)))
    model_iri = URIRef(minter.model(model.name, model.version))
    graph.add((model_iri, RDF.type, KG.Extractor))
    graph.add((model_iri, RDFS.label, Literal(model.name)))
    graph.add((model_iri, KG.modelVersion, Literal(model.version)))
    nodes = [_add_entity(graph, entity, minter, document) for entity in extraction.entities]
    for entity, node in zip(extraction.entities, nodes, strict=True):
        if parsed.document.title and entity.key == parsed.document.title:
            graph.add((document, SDO.about, node))  # the passage's title entity: what the passage is about
    stats.entities = len(set(nodes))
    domains, ranges = constraints()
    for relation in extraction.relations:
        if relation.confidence < min_confidence:
            continue
        head, tail = extraction.entities[relation.head], extraction.entities[relation.tail]
        try:
            prop = predicate(relation.label)
        except KeyError:
            prop = None
        if prop is None or not (
            fits(entity_class(head.type), domains.get(prop)) and fits(entity_class(tail.type), ranges.get(prop))
        ):
            stats.rejected += 1
            stats.rejected_examples.append(f"{head.type} {relation.label} {tail.type}")
            continue
        subject, obj = nodes[relation.head], nodes[relation.tail]
        head_span, tail_span = _closest_mentions(head, tail)
        offsets = (*parsed.char_span(head_span), *parsed.char_span(tail_span))
        statement = URIRef(minter.statement(str(document), str(subject), str(prop), str(obj), offsets))
        sentence, _ = _sentence(parsed, head_span, tail_span)
        graph.add((subject, prop, obj))
        for p, o in (
            (RDF.type, KG.Extraction),
            (RDF.subject, subject),
            (RDF.predicate, prop),
            (RDF.object, obj),
            (KG.sourceDocument, document),
            (KG.sentence, Literal(sentence)),
            (KG.subjectStart, Literal(offsets[0])),
            (KG.subjectEnd, Literal(offsets[1])),
            (KG.objectStart, Literal(offsets[2])),
            (KG.objectEnd, Literal(offsets[3])),
            (KG.confidence, Literal(Decimal(f"{relation.confidence:.4f}"), datatype=XSD.decimal)),
            (KG.extractedBy, model_iri),
        ):
            graph.add((statement, p, o))
        stats.written.add((str(subject), str(prop), str(obj)))
    return stats


def _add_entity(graph: Graph, entity: ResolvedEntity, minter: IriMinter, document: URIRef) -> URIRef:
    node = URIRef(minter.entity(entity.key, identity_group(entity.type)))
    graph.add((node, RDF.type, entity_class(entity.type)))
    graph.add((node, RDFS.label, Literal(entity.label)))
    graph.add((node, KG.mentionedIn, document))
    graph.add((node, PROV.wasDerivedFrom, document))
    for alias in entity.aliases:
        graph.add((node, KG.alias, Literal(alias)))
    return node


def document_nquads(
    result: ResolvedDocument, minter: IriMinter, model: ModelInfo, min_confidence: float
) -> tuple[str, GraphStats]:
    """Serialise one document's named graph as N-Quads, with its build statistics."""
    dataset = Dataset()
    stats = add_document(dataset, result, minter, model, min_confidence)
    lines = dataset.serialize(format="nquads").split("\n")  # not splitlines(): \x0c, \u2028 stay inside literals
    return "".join(line + "\n" for line in sorted(lines) if line.strip()), stats


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a finished run did: documents it extracted, found unchanged and could not read; the graph's total."""

    extracted: int
    unchanged: int
    failed: int
    in_graph: int


def run_nquads(
    minter: IriMinter,
    model: ModelInfo,
    started: str,
    corpus: str,
    ended: str | None = None,
    counts: RunCounts | None = None,
) -> tuple[str, str]:
    """Return the run's id and its PROV-O record (N-Quads, in the run's own named graph).

    Without `ended` the record is that of a run under way: written before its first document, it stays
    as it is when the run is killed, and the finished run replaces it with its end and its counts.
    """
    run = URIRef(minter.run(started, corpus))
    dataset = Dataset()
    graph = dataset.graph(run)
    model_iri = URIRef(minter.model(model.name, model.version))
    if ended is None or counts is None:
        comment = "started, no end recorded: still running, or stopped before it finished"
    else:
        comment = (
            f"{counts.extracted} documents extracted by this run, {counts.unchanged} unchanged, {counts.failed} "
            f"failed; the graph held {counts.in_graph} documents when it ended"
        )
    for p, o in (
        (RDF.type, KG.ExtractionRun),
        (PROV.startedAtTime, Literal(started, datatype=XSD.dateTime)),
        (PROV.wasAssociatedWith, model_iri),
        (RDFS.comment, Literal(comment)),
    ):
        graph.add((run, p, o))
    if corpus:
        graph.add((run, PROV.used, Literal(corpus)))
    if ended is not None:
        graph.add((run, PROV.endedAtTime, Literal(ended, datatype=XSD.dateTime)))
    graph.add((model_iri, RDF.type, KG.Extractor))
    graph.add((model_iri, RDFS.label, Literal(model.name)))
    graph.add((model_iri, KG.modelVersion, Literal(model.version)))
    return parse_iri(str(run)).local, dataset.serialize(format="nquads")


@dataclass(frozen=True, slots=True)
class GraphSummary:
    """What a user checks after a build: entities, triples, duplicates, provenance, confidence.

    Attributes:
        triples: distinct relation triples (``s p o``); `statements` their reified extractions (one a place read).
        duplicate_entity_rate: the share of entities that share a normalised label with another entity.
        provenance_coverage: the share of triples with at least one reified statement.

    """

    entities: int
    triples: int
    statements: int
    duplicate_entity_rate: float
    merged_across_documents: int
    provenance_coverage: float
    mean_confidence: float


def graph_summary(dataset: Dataset) -> GraphSummary:
    """Return what a user checks after a build: entities, triples, duplicates, provenance, confidence."""
    labels: dict[str, set[str]] = {}
    for row in _select(dataset, "SELECT DISTINCT ?e ?label WHERE { GRAPH ?g { ?e a ?type ; rdfs:label ?label } }"):
        labels.setdefault(str(row[0]), set()).add(normalize_label(str(row[1])))
    entities = [e for e in labels if is_entity(e)]
    owners: dict[str, int] = {}
    for entity in entities:
        for label in labels[entity]:
            owners[label] = owners.get(label, 0) + 1
    duplicates = sum(1 for e in entities if any(owners[label] > 1 for label in labels[e]))
    [(statement_count, mean)] = _select(
        dataset,
        "SELECT (COUNT(DISTINCT ?t) AS ?n) (AVG(?c) AS ?mean)"
        " WHERE { GRAPH ?g { ?t a kg:Extraction ; kg:confidence ?c } }",
    )
    # Two flat scans compared in Python: a per-triple EXISTS across all named graphs does not scale.
    relation_triples = set(
        _select(
            dataset,
            "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o }"
            " FILTER(STRSTARTS(STR(?p), STR(wdt:)) || STRSTARTS(STR(?p), STR(conll:))) }",
        )
    )
    reified = set(
        _select(
            dataset,
            "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?t rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o } }",
        )
    )
    triples, with_provenance = len(relation_triples), len(relation_triples & reified)
    [(merged,)] = _select(dataset, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?old owl:sameAs ?new } }")
    return GraphSummary(
        entities=len(entities),
        triples=triples,
        statements=int(statement_count),
        duplicate_entity_rate=round(duplicates / len(entities), 4) if entities else 0.0,
        merged_across_documents=int(merged),
        provenance_coverage=round(with_provenance / triples, 4) if triples else 1.0,
        mean_confidence=round(float(mean), 4) if mean is not None else 0.0,
    )


def _select(dataset: Dataset, query: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in dataset.query(query, initNs=PREFIXES)]  # type: ignore[arg-type]


_TOP_TRIPLES = (
    "SELECT ?sl ?p ?ol ?c ?sentence WHERE {{ {values}GRAPH ?g {{ ?t a kg:Extraction ; rdf:subject ?s ;"
    " rdf:predicate ?p ; rdf:object ?o ; kg:confidence ?c ; kg:sentence ?sentence . ?s rdfs:label ?sl ."
    " ?o rdfs:label ?ol }} }} ORDER BY DESC(?c) ?sl LIMIT {limit}"
)


def top_triples(dataset: Dataset, limit: int) -> list[str]:
    """Return the `limit` most confident extracted triples, as readable lines with their sentence."""
    if limit <= 0:
        return []
    # Joining a statement with its labels and sentence costs a lookup each: join only the statements at or above
    # the `limit`-th highest confidence. Every other row ranks below all of theirs, so the answer is the same,
    # unless they give fewer than `limit` rows (statements without labels): then every statement is joined, as
    # when too many statements tie at that confidence.
    rows: list[tuple[Any, ...]] = []
    floor = _select(
        dataset,
        "SELECT ?c WHERE { GRAPH ?g { ?t a kg:Extraction ; kg:confidence ?c } }"
        f" ORDER BY DESC(?c) OFFSET {int(limit) - 1} LIMIT 1",
    )
    if floor:
        statements = _select(
            dataset,
            "SELECT DISTINCT ?t WHERE { GRAPH ?g { ?t a kg:Extraction ; kg:confidence ?c }"
            f" FILTER(?c >= {floor[0][0].n3()}) }}",
        )
        if len(statements) <= 100 * limit:  # not a graph of one confidence, where it would name every statement
            values = "VALUES ?t { " + " ".join(statement.n3() for (statement,) in statements) + " } "
            rows = _select(dataset, _TOP_TRIPLES.format(values=values, limit=int(limit)))
    if len(rows) < limit:
        rows = _select(dataset, _TOP_TRIPLES.format(values="", limit=int(limit)))
    names = relation_names()
    lines = []
    for subject, prop, obj, confidence, sentence in rows:
        label = local_name(str(prop))
        lines.append(
            f"{subject} --{names.get(label, label)}--> {obj}  ({float(confidence):.2f})  \u201c{sentence}\u201d"
        )
    return lines

"""Read a knowledge-graph directory back as typed records: documents, entities and extracted triples.

This is the door `kgsearch` comes in by: it never parses kgbuild's RDF itself. Reading goes
straight to the Oxigraph store with SPARQL, which is fast enough for a whole corpus (a few
seconds for a million quads); the records are plain strings and numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgbuild.rdf.iris import document_id
from kgbuild.rdf.vocabulary import PREFIXES, sparql_prefixes

_PREFIXES = sparql_prefixes("kg", "rdf", "rdfs", "schema")


@dataclass(frozen=True, slots=True)
class DocumentFact:
    """A document of the graph: its IRI, corpus id, title and the entity it is about (its title entity)."""

    iri: str
    id: str
    title: str
    about: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntityFact:
    """An entity node: IRI, label, aliases, classes (short names such as ``Person``) and its documents."""

    iri: str
    label: str
    aliases: tuple[str, ...]
    classes: tuple[str, ...]
    documents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TripleFact:
    """One extracted triple at one place of one document, with its provenance and confidence."""

    statement: str
    subject: str
    predicate: str
    object: str
    confidence: float
    document: str
    sentence: str
    subject_chars: tuple[int, int]
    object_chars: tuple[int, int]


@dataclass(frozen=True, slots=True)
class GraphFacts:
    """Everything `kgsearch` needs from a knowledge graph, by IRI."""

    documents: tuple[DocumentFact, ...]
    entities: tuple[EntityFact, ...]
    triples: tuple[TripleFact, ...]


def read_facts(kg_dir: str | Path) -> GraphFacts:
    """Read documents, entities and triples of a knowledge-graph directory.

    Raises:
        InputTextError: `kg_dir` is not a knowledge-graph directory.

    """
    from kgbuild.rdf.store import KnowledgeGraphDir

    store = KnowledgeGraphDir(kg_dir).store()
    return GraphFacts(_documents(store), _entities(store), _triples(store))


def _rows(store: Any, query: str) -> list[list[str | None]]:
    return [[None if term is None else term.value for term in row] for row in store.query(_PREFIXES + query)]


def _documents(store: Any) -> tuple[DocumentFact, ...]:
    titles: dict[str, str] = {}
    about: dict[str, set[str]] = defaultdict(set)
    query = (
        "SELECT ?d ?title ?about WHERE { GRAPH ?g { ?d a kg:Document "
        "OPTIONAL { ?d schema:name ?title } OPTIONAL { ?d schema:about ?about } } }"
    )
    for iri, title, entity in _rows(store, query):
        assert iri is not None  # bound by the pattern
        titles[iri] = titles.get(iri) or title or ""
        if entity:
            about[iri].add(entity)
    return tuple(DocumentFact(iri, document_id(iri), titles[iri], tuple(sorted(about[iri]))) for iri in sorted(titles))


def _entities(store: Any) -> tuple[EntityFact, ...]:
    labels: dict[str, str] = {}
    aliases: dict[str, set[str]] = defaultdict(set)
    classes: dict[str, set[str]] = defaultdict(set)
    documents: dict[str, set[str]] = defaultdict(set)
    for iri, document, label in _rows(
        store, "SELECT ?e ?d ?label WHERE { GRAPH ?g { ?e kg:mentionedIn ?d ; rdfs:label ?label } }"
    ):
        assert iri is not None and document is not None and label is not None
        documents[iri].add(document)
        # A node is labelled in each document that mentions it; keep the shortest (least decorated), then first.
        if iri not in labels or (len(label), label) < (len(labels[iri]), labels[iri]):
            if iri in labels:
                aliases[iri].add(labels[iri])
            labels[iri] = label
        elif label != labels[iri]:
            aliases[iri].add(label)
    for iri, alias in _rows(store, "SELECT DISTINCT ?e ?a WHERE { GRAPH ?g { ?e kg:alias ?a } }"):
        assert iri is not None and alias is not None
        aliases[iri].add(alias)
    kg = PREFIXES["kg"]
    for iri, kind in _rows(store, "SELECT DISTINCT ?e ?c WHERE { GRAPH ?g { ?e kg:mentionedIn ?d ; a ?c } }"):
        assert iri is not None and kind is not None
        classes[iri].add(kind.removeprefix(kg))
    return tuple(
        EntityFact(
            iri,
            labels[iri],
            tuple(sorted(aliases[iri] - {labels[iri]})),
            tuple(sorted(classes[iri])),
            tuple(sorted(documents[iri])),
        )
        for iri in sorted(labels)
    )


def _triples(store: Any) -> tuple[TripleFact, ...]:
    query = (
        "SELECT ?t ?s ?p ?o ?c ?d ?sentence ?ss ?se ?os ?oe WHERE { GRAPH ?g { ?t a kg:Extraction ;"
        " rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; kg:confidence ?c ; kg:sourceDocument ?d ;"
        " kg:sentence ?sentence ; kg:subjectStart ?ss ; kg:subjectEnd ?se ; kg:objectStart ?os ;"
        " kg:objectEnd ?oe } }"
    )
    triples = []
    for t, s, p, o, c, d, sentence, ss, se, os_, oe in _rows(store, query):
        assert t and s and p and o and c and d and sentence is not None and ss and se and os_ and oe
        triples.append(TripleFact(t, s, p, o, float(c), d, sentence, (int(ss), int(se)), (int(os_), int(oe))))
    return tuple(sorted(triples, key=lambda triple: triple.statement))

"""Corpus-level entity resolution inside the store: one real thing, one node, across documents.

Document files keep the IRIs their own extraction minted; the store, built from them, rewrites
each merged IRI to its canonical node (`kgbuild.corpus_resolution`: same-name merges, then spelling
variants by the base encoder) in every named graph.
The merged node's label in a document becomes an alias there, and the graph
``{base}graph/resolution`` records ``merged owl:sameAs canonical`` so old IRIs stay resolvable.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rdflib import URIRef

from kgbuild.corpus_resolution import ALIAS_THRESHOLD, NodeRecord, alias_merges, corpus_merges
from kgbuild.rdf.iris import IriMinter, normalize_label, parse_iri
from kgbuild.rdf.ontology import IDENTITY_GROUPS, constraints, fits
from kgbuild.rdf.vocabulary import sparql_prefixes
from kgbuild.resolution import title_name

_PREFIXES = sparql_prefixes("kg", "rdf", "rdfs", "owl", "schema")
_CHUNK = 500  # merges per update request
# Part of the store's stamp: a change to the corpus-level rules rebuilds the store, not the documents.
CORPUS_RESOLUTION_VERSION = 5


def node_records(store: Any) -> list[NodeRecord]:
    """Read every entity node's names, classes, documents and whether a document is about it."""
    labels: dict[str, set[str]] = defaultdict(set)
    classes: dict[str, set[str]] = defaultdict(set)
    documents: dict[str, set[str]] = defaultdict(set)
    query = "SELECT ?e ?label ?c ?d WHERE { GRAPH ?d { ?e kg:mentionedIn ?d ; a ?c ; rdfs:label ?label } }"
    rows = store.query(_PREFIXES + query)
    for row in rows:
        iri = row["e"].value
        labels[iri].add(row["label"].value)
        classes[iri].add(row["c"].value)
        documents[iri].add(row["d"].value)
    about = "SELECT DISTINCT ?e WHERE { GRAPH ?g { ?d schema:about ?e } }"
    titled = {row["e"].value for row in store.query(_PREFIXES + about)}
    records = []
    for iri in sorted(labels):
        group = min(IDENTITY_GROUPS.get(URIRef(c), "thing") for c in classes[iri])  # one group per IRI
        names = {normalize_label(title_name(label) if iri in titled else label) for label in labels[iri]}
        for name in sorted(names):
            records.append(
                NodeRecord(iri, name, group, frozenset(classes[iri]), frozenset(documents[iri]), iri in titled)
            )
    return records


def resolve_store(store: Any, name_encoder: str = "", alias_threshold: float = ALIAS_THRESHOLD) -> int:
    """Merge the store's duplicate entity nodes in place; return how many nodes were merged away.

    Same-name nodes first (`corpus_merges`), then spelling variants whose names' vectors from
    `name_encoder` (the base encoder by default; see `kgbuild.embedding.load_text_encoder`) reach
    `alias_threshold` (`alias_merges`); the encoder loads only when there is a pair to compare.
    """
    from kgbuild.embedding import load_text_encoder
    from kgbuild.settings import base_model_name

    records = node_records(store)
    merges = corpus_merges(records)

    def encode(names: list[str]) -> Any:
        return load_text_encoder(name_encoder or base_model_name(), 32).encode(names, batch_size=256)

    aliases = alias_merges(records, merges, encode, alias_threshold)
    merges = {old: aliases.get(new, new) for old, new in merges.items()} | aliases
    pairs = sorted(merges.items())
    if not pairs:
        return 0
    graph = IriMinter(parse_iri(pairs[0][0]).base).resolution_graph()
    for first in range(0, len(pairs), _CHUNK):
        values = " ".join(f"(<{old}> <{new}>)" for old, new in pairs[first : first + _CHUNK])
        olds = " ".join(f"<{old}>" for old, _ in pairs[first : first + _CHUNK])
        store.update(
            _PREFIXES
            + "DELETE { GRAPH ?g { ?old ?p ?o } } INSERT { GRAPH ?g { ?new ?q ?o } } WHERE { VALUES (?old ?new) { "
            + values
            + " } GRAPH ?g { ?old ?p ?o } FILTER(?p != rdf:type) BIND(IF(?p = rdfs:label, kg:alias, ?p) AS ?q) }"
        )
        store.update(  # the mistyped reading's classes go: the canonical node keeps its own
            _PREFIXES
            + "DELETE { GRAPH ?g { ?old a ?c } } WHERE { VALUES ?old { "
            + olds
            + " } GRAPH ?g { ?old a ?c } }"
        )
        store.update(
            _PREFIXES
            + "DELETE { GRAPH ?g { ?s ?p ?old } } INSERT { GRAPH ?g { ?s ?p ?new } } WHERE { VALUES (?old ?new) { "
            + values
            + " } GRAPH ?g { ?s ?p ?old } }"
        )
        links = " ".join(f"<{old}> owl:sameAs <{new}> ." for old, new in pairs[first : first + _CHUNK])
        store.update(_PREFIXES + f"INSERT DATA {{ GRAPH <{graph}> {{ {links} }} }}")
    dropped = _drop_violations(store, sorted({new for _, new in pairs}))
    if dropped:
        note = f"{dropped} relations dropped after merging: their node's class violates the property's domain or range"
        store.update(_PREFIXES + f'INSERT DATA {{ GRAPH <{graph}> {{ <{graph}> rdfs:comment "{note}" }} }}')
    return len(pairs)


def _drop_violations(store: Any, nodes: list[str]) -> int:
    """Delete the relations (and their reified statements) that a merge left violating a domain or range.

    A merged node's relations move to its canonical node, whose class may not be what the property
    expects (a work's "performer" relation on the person the work's name also names); return how many.
    """
    domains, ranges = constraints()
    quads: set[tuple[str, str, str, str]] = set()
    for first in range(0, len(nodes), _CHUNK):
        values = " ".join(f"<{node}>" for node in nodes[first : first + _CHUNK])
        rows = store.query(
            _PREFIXES + "SELECT ?g ?s ?p ?o WHERE { VALUES ?n { " + values + " } GRAPH ?g {"
            " { ?n ?p ?o BIND(?n AS ?s) } UNION { ?s ?p ?n BIND(?n AS ?o) } } FILTER(isIRI(?o)) }"
        )
        for row in rows:
            if URIRef(row["p"].value) in domains or URIRef(row["p"].value) in ranges:
                quads.add((row["g"].value, row["s"].value, row["p"].value, row["o"].value))
    ends = sorted({x for _, s, _, o in quads for x in (s, o)})
    classes: dict[str, set[URIRef]] = defaultdict(set)
    for first in range(0, len(ends), _CHUNK):
        values = " ".join(f"<{node}>" for node in ends[first : first + _CHUNK])
        for row in store.query(_PREFIXES + "SELECT ?e ?c WHERE { VALUES ?e { " + values + " } GRAPH ?h { ?e a ?c } }"):
            classes[row["e"].value].add(URIRef(row["c"].value))

    def allowed(node: str, expected: URIRef | None) -> bool:
        return not classes[node] or any(fits(kind, expected) for kind in classes[node])

    violating = sorted(
        (g, s, p, o)
        for g, s, p, o in quads
        if not (allowed(s, domains.get(URIRef(p))) and allowed(o, ranges.get(URIRef(p))))
    )
    for first in range(0, len(violating), _CHUNK):
        values = " ".join(f"(<{g}> <{s}> <{p}> <{o}>)" for g, s, p, o in violating[first : first + _CHUNK])
        store.update(
            _PREFIXES + "DELETE { GRAPH ?g { ?s ?p ?o . ?t ?tp ?to } } WHERE { VALUES (?g ?s ?p ?o) { " + values + " }"
            " GRAPH ?g { ?s ?p ?o OPTIONAL { ?t rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; ?tp ?to } } }"
        )
    return len(violating)

"""What the exploration app shows, as plain functions: entity pages, graph overview, explanation drawings.

`app.py` holds only widgets and cached loaders; everything it displays is computed here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kgbuild import (
    GraphFacts,
    QueryResult,
    TripleFact,
    local_name,
    read_facts,
    relation_names,
    sparql_prefixes,
)


@dataclass(frozen=True, slots=True)
class TripleView:
    """A triple as a page lists it: both ends by label, the property's name, confidence and source sentence."""

    subject: str
    subject_label: str
    predicate: str
    predicate_label: str
    object: str
    object_label: str
    confidence: float
    sentence: str
    document: str


@dataclass(frozen=True, slots=True)
class EntityPage:
    """Everything the app shows about one entity."""

    iri: str
    label: str
    classes: tuple[str, ...]
    aliases: tuple[str, ...]
    outgoing: tuple[TripleView, ...]
    incoming: tuple[TripleView, ...]
    passages: tuple[str, ...]


class GraphExplorer:
    """Entity pages and overview figures of one knowledge graph, read once."""

    def __init__(self, kg_dir: str | Path, facts: GraphFacts | None = None):
        self.kg_dir = Path(kg_dir)
        self.facts = facts or read_facts(kg_dir)
        self.entities = {e.iri: e for e in self.facts.entities}
        self.documents = {d.iri: d for d in self.facts.documents}

    @cached_property
    def _by_node(self) -> tuple[dict[str, list[TripleFact]], dict[str, list[TripleFact]]]:
        outgoing: dict[str, list[TripleFact]] = defaultdict(list)
        incoming: dict[str, list[TripleFact]] = defaultdict(list)
        for triple in self.facts.triples:
            outgoing[triple.subject].append(triple)
            incoming[triple.object].append(triple)
        return outgoing, incoming

    def label(self, iri: str) -> str:
        """Return a node's label (a document's title), or the IRI's last segment."""
        if iri in self.entities:
            return self.entities[iri].label
        if iri in self.documents:
            return self.documents[iri].title or self.documents[iri].id
        return local_name(iri)

    def view(self, triple: TripleFact) -> TripleView:
        """Describe a triple for a page."""
        name = local_name(triple.predicate)
        return TripleView(
            triple.subject, self.label(triple.subject), triple.predicate, relation_names().get(name, name),
            triple.object, self.label(triple.object), triple.confidence, triple.sentence,
            self.label(triple.document),
        )  # fmt: skip

    def find(self, text: str, limit: int = 20) -> list[tuple[str, str]]:
        """Entities whose label or alias contains `text` (case-insensitive): ``(iri, label)``, shortest first."""
        needle = text.casefold().strip()
        if not needle:
            return []
        found = [
            (e.iri, e.label)
            for e in self.facts.entities
            if needle in e.label.casefold() or any(needle in a.casefold() for a in e.aliases)
        ]
        return sorted(found, key=lambda pair: (len(pair[1]), pair[1]))[:limit]

    def entity(self, iri: str) -> EntityPage:
        """Return the page of an entity.

        Raises:
            KeyError: no entity has this IRI.

        """
        if iri not in self.entities:
            raise KeyError(f"no entity {iri!r} in {self.kg_dir}")
        fact = self.entities[iri]
        outgoing, incoming = self._by_node
        return EntityPage(
            iri, fact.label, fact.classes, fact.aliases,
            self._views(outgoing.get(iri, [])), self._views(incoming.get(iri, [])),
            tuple(self.label(d) for d in fact.documents),
        )  # fmt: skip

    def _views(self, triples: list[TripleFact]) -> tuple[TripleView, ...]:
        return tuple(sorted((self.view(t) for t in triples), key=lambda v: -v.confidence))

    def neighbourhood_dot(self, iri: str, limit: int = 25) -> str:
        """Graphviz DOT of an entity and its relation neighbours (most confident first)."""
        page = self.entity(iri)
        lines = ["digraph {", "rankdir=LR;", 'node [shape=box, style="rounded,filled", fillcolor="#eef3fb"];']
        lines.append(f'"{_quote(iri)}" [label="{_quote(page.label)}", fillcolor="#ffd479"];')
        for view in (*page.outgoing, *page.incoming)[:limit]:
            for node, label in ((view.subject, view.subject_label), (view.object, view.object_label)):
                lines.append(f'"{_quote(node)}" [label="{_quote(label)}"];')
            lines.append(
                f'"{_quote(view.subject)}" -> "{_quote(view.object)}" '
                f'[label="{_quote(view.predicate_label)} {view.confidence:.2f}"];'
            )
        return "\n".join([*lines, "}"])

    def relation_counts(self) -> list[tuple[str, int]]:
        """Triples per relation, most frequent first: ``(property name, count)``."""
        names = relation_names()
        counts = Counter(local_name(t.predicate) for t in self.facts.triples)
        return [(names.get(name, name), count) for name, count in counts.most_common()]

    @cached_property
    def triple_count(self) -> int:
        """Distinct ``(subject, property, object)`` triples, as the Overview counts them.

        `facts.triples` holds one statement per place a triple was extracted, so a triple stated in two
        sentences is one triple and two statements.
        """
        return len({(t.subject, t.predicate, t.object) for t in self.facts.triples})

    @cached_property
    def statement_subjects(self) -> dict[str, str]:
        """The subject of each extracted triple, by its statement IRI (a path's relation hops read by it)."""
        return {t.statement: t.subject for t in self.facts.triples}

    @cached_property
    def passage_counts(self) -> dict[str, int]:
        """The number of passages each entity is found in, by IRI."""
        return {e.iri: len(e.documents) for e in self.facts.entities}

    def confidences(self) -> list[float]:
        """Confidence of every extracted triple (for a histogram)."""
        return [t.confidence for t in self.facts.triples]


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def highlight(text: str, names: list[str]) -> str:
    """Return `text` as Markdown with each occurrence of the given names in bold."""
    import re

    names = sorted({n for n in names if n.strip()}, key=len, reverse=True)
    if not names:
        return _escape(text)
    pattern = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces += [_escape(text[last : match.start()]), f"**{_escape(match.group(0))}**"]
        last = match.end()
    return "".join([*pieces, _escape(text[last:])])


def _escape(text: str) -> str:
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-!|>~$])", r"\\\1", text)


EXAMPLE_QUERIES = {
    "Most confident triples": (
        sparql_prefixes("kg", "rdf", "rdfs") + "SELECT ?subject ?property ?object ?confidence ?sentence WHERE {\n"
        "  ?t a kg:Extraction ; rdf:subject ?s ; rdf:predicate ?property ; rdf:object ?o ;\n"
        "     kg:confidence ?confidence ; kg:sentence ?sentence .\n"
        "  ?s rdfs:label ?subject . ?o rdfs:label ?object .\n"
        "} ORDER BY DESC(?confidence) LIMIT 20"
    ),
    "People born somewhere, with the place": (
        sparql_prefixes("wdt", "rdfs") + "SELECT DISTINCT ?person ?place WHERE {\n"
        "  ?p wdt:P19 ?b . ?p rdfs:label ?person . ?b rdfs:label ?place .\n"
        "} LIMIT 50"
    ),
    "Triples per relation": (
        sparql_prefixes("wdt") + "SELECT ?property (COUNT(*) AS ?triples) WHERE {\n"
        "  ?s ?property ?o . FILTER(STRSTARTS(STR(?property), STR(wdt:)))\n"
        "} GROUP BY ?property ORDER BY DESC(?triples)"
    ),
}


def sparql_table(result: QueryResult) -> tuple[list[str], list[list[str]], str]:
    """Lay out a query's result for the SPARQL console: column names, rows of plain values, and a caption.

    ASK gives one ``answer`` cell; CONSTRUCT and DESCRIBE one row per triple. The caption counts the
    rows and says when the row limit cut them.
    """
    if result.form == "ASK":
        answer = str(bool(result.answer)).lower()
        return ["answer"], [[answer]], f"ASK: {answer}."
    rows = [["" if term is None else term.value for term in row] for row in result.rows]
    unit = "triples" if result.form in ("CONSTRUCT", "DESCRIBE") else "rows"
    return list(result.columns), rows, " ".join(filter(None, [f"{len(rows)} {unit}.", result.note.capitalize()]))

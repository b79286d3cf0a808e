"""`top_triples` joins only the most confident statements, and answers what joining all of them answered."""

from decimal import Decimal

import pytest
from rdflib import RDF, RDFS, XSD, Dataset, Literal, URIRef

from kgbuild.rdf.graph import _select, top_triples
from kgbuild.rdf.namespaces import KG, WDT

R = "https://w3id.org/kgbuild/resource/"
ALL_STATEMENTS = (
    "SELECT ?sl ?p ?ol ?c ?sentence WHERE { GRAPH ?g { ?t a kg:Extraction ; rdf:subject ?s ; rdf:predicate ?p ;"
    " rdf:object ?o ; kg:confidence ?c ; kg:sentence ?sentence . ?s rdfs:label ?sl . ?o rdfs:label ?ol } }"
    " ORDER BY DESC(?c) ?sl LIMIT {limit}"
)


def _dataset() -> Dataset:
    """Ten statements in two documents: tied confidences, and the second most confident lacks a subject label."""
    dataset = Dataset()
    confidences = ["0.99", "0.98", "0.90", "0.90", "0.90", "0.75", "0.60", "0.60", "0.51", "0.50"]
    for i, confidence in enumerate(confidences):
        graph = dataset.graph(URIRef(f"{R}doc/d{i % 2}"))
        subject, obj = URIRef(f"{R}entity/s{i}"), URIRef(f"{R}entity/o{i}")
        if i != 1:
            graph.add((subject, RDFS.label, Literal(f"subject {9 - i}")))
        graph.add((obj, RDFS.label, Literal(f"object {i}")))
        graph.add((subject, WDT.P50, obj))
        statement = URIRef(f"{R}statement/t{i}")
        for p, o in (
            (RDF.type, KG.Extraction),
            (RDF.subject, subject),
            (RDF.predicate, WDT.P50),
            (RDF.object, obj),
            (KG.confidence, Literal(Decimal(confidence), datatype=XSD.decimal)),
            (KG.sentence, Literal(f"sentence {i}")),
        ):
            graph.add((statement, p, o))
    return dataset


@pytest.mark.parametrize("limit", range(1, 12))
def test_top_triples_equal_the_join_of_every_statement(limit):
    dataset = _dataset()
    lines = top_triples(dataset, limit)
    expected = _select(dataset, ALL_STATEMENTS.replace("{limit}", str(limit)))
    assert len(lines) == min(limit, 9)  # a statement without a subject label makes no line
    assert [line.split("  (")[0] for line in lines] == [f"{s} --author--> {o}" for s, _, o, _, _ in expected]
    assert [line.split("(")[1][:4] for line in lines] == [f"{float(c):.2f}" for _, _, _, c, _ in expected]
    assert lines[0].startswith("subject 9 --author--> object 0")
    if limit >= 4:  # 0.90 three times: by subject label
        assert [line.split(" --")[0] for line in lines[1:4]] == ["subject 5", "subject 6", "subject 7"]

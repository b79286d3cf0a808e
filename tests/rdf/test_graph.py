from hypothesis import given
from hypothesis import strategies as st
from rdflib import Dataset, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kgbuild.rdf.graph import ModelInfo, add_document
from kgbuild.rdf.iris import IriMinter, normalize_label
from kgbuild.records import (
    Document,
    Extraction,
    ParsedDocument,
    PredictedEntity,
    PredictedRelation,
    Span,
    TokenizedText,
)
from kgbuild.resolution import resolve_document

TEXT = "Ann Lee works for Acme. Acme is in Rome."
TOKENS = ("Ann", "Lee", "works", "for", "Acme", ".", "Acme", "is", "in", "Rome", ".")
STARTS = (0, 4, 8, 14, 18, 22, 24, 29, 32, 35, 39)

EXPECTED = """
@prefix kg: <https://w3id.org/kgbuild/ontology#> .
@prefix conll: <https://w3id.org/kgbuild/conll04#> .
@prefix r: <https://example.org/kg/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix schema: <https://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://example.org/kg/doc/d%201> {
  <https://example.org/kg/doc/d%201> a kg:Document ; schema:name "Doc one" .
  <MODEL> a kg:Extractor ; rdfs:label "conll04" ; kg:modelVersion "1" .
  <ANN> a kg:Person ; rdfs:label "Ann Lee" ; kg:mentionedIn <https://example.org/kg/doc/d%201> ;
      prov:wasDerivedFrom <https://example.org/kg/doc/d%201> .
  <ACME> a kg:Organization ; rdfs:label "Acme" ; kg:mentionedIn <https://example.org/kg/doc/d%201> ;
      prov:wasDerivedFrom <https://example.org/kg/doc/d%201> .
  <ROME> a kg:Location ; rdfs:label "Rome" ; kg:mentionedIn <https://example.org/kg/doc/d%201> ;
      prov:wasDerivedFrom <https://example.org/kg/doc/d%201> .
  <ANN> conll:workFor <ACME> .
  <STATEMENT> a kg:Extraction ; rdf:subject <ANN> ; rdf:predicate conll:workFor ; rdf:object <ACME> ;
      kg:sourceDocument <https://example.org/kg/doc/d%201> ; kg:sentence "Ann Lee works for Acme." ;
      kg:subjectStart 0 ; kg:subjectEnd 7 ; kg:objectStart 18 ; kg:objectEnd 22 ;
      kg:confidence "0.9000"^^xsd:decimal ; kg:extractedBy <MODEL> .
}
"""


def _result():
    parsed = ParsedDocument(
        Document("d 1", TEXT, "Doc one"),
        TokenizedText(TOKENS, (0, 6), "d 1"),
        STARTS,
        tuple(s + len(t) for s, t in zip(STARTS, TOKENS, strict=True)),
    )
    entities = (
        PredictedEntity((Span(0, 2),), "Peop", 0.99),
        PredictedEntity((Span(4, 5), Span(6, 7)), "Org", 0.98),
        PredictedEntity((Span(9, 10),), "Loc", 0.97),
    )
    relations = (
        PredictedRelation(0, 1, "Work_For", 0.9),
        PredictedRelation(2, 0, "Work_For", 0.8),  # Loc works for Peop: violates domain and range
    )
    return resolve_document(parsed, Extraction(parsed.text, entities, relations))


def test_built_graph_is_isomorphic_to_the_expected_one():
    minter = IriMinter("https://example.org/kg/")
    dataset = Dataset()
    stats = add_document(dataset, _result(), minter, ModelInfo("conll04", "1"))
    assert (stats.entities, stats.triples, stats.rejected) == (3, 1, 1)
    names = {
        "ANN": minter.entity("Ann Lee", "person"),
        "ACME": minter.entity("Acme", "thing"),
        "ROME": minter.entity("Rome", "thing"),
        "MODEL": minter.model("conll04", "1"),
    }
    graph_iri = minter.document("d 1")
    names["STATEMENT"] = minter.statement(
        graph_iri, names["ANN"], "https://w3id.org/kgbuild/conll04#workFor", names["ACME"], (0, 7, 18, 22)
    )
    expected_text = EXPECTED
    for key, iri in names.items():
        expected_text = expected_text.replace(f"<{key}>", f"<{iri}>")
    expected = Dataset()
    expected.parse(data=expected_text, format="trig")
    built, wanted = dataset.graph(URIRef(graph_iri)), expected.graph(URIRef(graph_iri))
    if not isomorphic(built, wanted):
        _, only_built, only_wanted = graph_diff(to_isomorphic(built), to_isomorphic(wanted))
        raise AssertionError(
            f"only built:\n{only_built.serialize(format='nt')}\nonly expected:\n{only_wanted.serialize(format='nt')}"
        )


def test_rebuilding_a_document_replaces_its_graph_and_is_deterministic():
    minter = IriMinter("https://example.org/kg/")
    first, second = Dataset(), Dataset()
    add_document(first, _result(), minter, ModelInfo("conll04", "1"))
    add_document(second, _result(), minter, ModelInfo("conll04", "1"))
    add_document(second, _result(), minter, ModelInfo("conll04", "1"))
    assert len(second) == len(first) > 0
    assert set(second.quads()) == set(first.quads())


@given(st.text(min_size=0, max_size=40), st.text(min_size=0, max_size=20))
def test_iris_are_valid_for_any_text(label, document_id):
    minter = IriMinter()
    for iri in (
        minter.entity(label, "T"),
        minter.document(document_id),
        minter.statement(label, "a", "b", "c", (1, 2)),
    ):
        assert iri.startswith("https://")
        assert not any(c in iri for c in ' <>"{}|\\^`') and iri.isprintable()
        URIRef(iri)  # rdflib accepts it without a warning


def test_entity_iris_merge_spelling_variants_but_not_types():
    minter = IriMinter()
    assert minter.entity("Rome ", "thing") == minter.entity("rome", "thing") != minter.entity("Rome", "person")
    assert normalize_label("  The  Hague. ") == "the  hague".replace("  ", " ")


def test_document_graph_with_form_feeds_and_line_separators_stays_valid_n_quads():
    import pyoxigraph

    from kgbuild.rdf.graph import document_nquads

    text = "Ann Lee works for Acme.\x0c Acme is in Rome.\u2028"
    result = _result()
    parsed = result.parsed
    odd = type(parsed)(
        type(parsed.document)("d 1", text, "Doc\x85one"), parsed.text, parsed.char_starts, parsed.char_ends
    )
    nquads, stats = document_nquads(
        type(result)(odd, result.entities, result.relations), IriMinter(), ModelInfo("m", "1"), 0.0
    )
    assert stats.triples == 1
    quads = list(pyoxigraph.parse(nquads.encode("utf-8"), format=pyoxigraph.RdfFormat.N_QUADS))
    assert any("\x85" in str(q.object) for q in quads)  # the title survives whole


def test_a_place_typed_location_in_one_passage_and_organisation_in_another_is_one_node():
    from kgbuild.rdf.ontology import identity_group

    minter = IriMinter()
    assert minter.entity("Germany", identity_group("LOC")) == minter.entity("germany", identity_group("ORG"))
    assert minter.entity("Paris", identity_group("LOC")) != minter.entity("Paris", identity_group("PER"))

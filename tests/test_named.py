"""spaCy's entities fill the types the extractor has none for."""

from kgbuild.named import SPACY_CONFIDENCE, add_named_entities, missing_types
from kgbuild.records import (
    Document,
    Extraction,
    PredictedEntity,
    PredictedRelation,
    Span,
)
from tests.records import parsed_document

TEXT = "Ann Lee left Acme in May 1950 and May 1950 ."


def test_a_conll04_model_lacks_dates_and_amounts_a_wikidata_model_lacks_nothing():
    assert missing_types(["Peop", "Org", "Loc", "Other"]) == {"TIME", "NUM"}
    assert missing_types(["PER", "ORG", "LOC", "TIME", "NUM", "MISC"]) == frozenset()


def test_spacy_dates_join_the_extraction_where_the_model_found_nothing():
    named = ((Span(0, 2), "PERSON"), (Span(3, 4), "DATE"), (Span(5, 7), "DATE"), (Span(8, 10), "DATE"))
    parsed = parsed_document(TEXT, named=named)
    person, company = PredictedEntity((Span(0, 2),), "Peop", 0.9), PredictedEntity((Span(3, 4),), "Org", 0.8)
    relation = PredictedRelation(0, 1, "Work_For", 0.7)
    extraction = Extraction(parsed.text, (person, company), (relation,))
    filled = add_named_entities(parsed, extraction, missing_types(["Peop", "Org", "Loc", "Other"]))
    # "Acme" is the model's (spaCy's DATE there is ignored); both "May 1950" are one date entity
    assert filled.entities == (person, company, PredictedEntity((Span(5, 7), Span(8, 10)), "TIME", SPACY_CONFIDENCE))
    assert filled.relations == (relation,)
    assert add_named_entities(parsed, extraction, frozenset()) is extraction


class _PeopleOnly:
    """An extractor double with CoNLL04's types that finds the first two words as a person."""

    config = type("Config", (), {"entity_types": ("Loc", "Org", "Other", "Peop")})()

    def extract(self, texts, batch_size=32):
        return [Extraction(text, (PredictedEntity((Span(0, 2),), "Peop", 0.9),)) for text in texts]


def test_a_conll04_graph_gets_spacys_dates_and_a_wikidata_graph_does_not(tmp_path):
    from rdflib import RDF, RDFS

    from kgbuild import KnowledgeGraphDir, SpacyParser, build_knowledge_graph
    from kgbuild.rdf.namespaces import KG

    document = Document("a", "Betsy Ross was born in Philadelphia on 1 January 1752.")
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    build_knowledge_graph([document], kg, _PeopleOnly(), SpacyParser(), "people", "1")
    dataset = kg.dataset()
    dataset.default_union = True
    times = set(dataset.subjects(RDF.type, KG.Time))
    assert {str(label) for t in times for label in dataset.objects(t, RDFS.label)} == {"1 January 1752"}
    assert set(dataset.subjects(RDF.type, KG.Location)) == set()  # Philadelphia: a type the model has

    wikidata = _PeopleOnly()
    wikidata.config = type("Config", (), {"entity_types": ("LOC", "MISC", "NUM", "ORG", "PER", "TIME")})()
    other = KnowledgeGraphDir(tmp_path / "other", create=True)
    build_knowledge_graph([document], other, wikidata, SpacyParser(), "people", "1")
    dataset = other.dataset()
    dataset.default_union = True
    assert set(dataset.subjects(RDF.type, KG.Time)) == set()


def test_spelled_out_numbers_and_ordinals_are_not_value_nodes():
    named = ((Span(0, 1), "CARDINAL"), (Span(3, 4), "ORDINAL"), (Span(5, 6), "DATE"))
    parsed = parsed_document("two men came first in 1950 .", named=named)
    filled = add_named_entities(parsed, Extraction(parsed.text), frozenset({"NUM", "TIME"}))
    assert [(e.mentions, e.type) for e in filled.entities] == [((Span(5, 6),), "TIME")]

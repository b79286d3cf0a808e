"""bench/scale_copies.py: renamed copies of document graphs stay valid, keep their offsets, and never merge."""

import json
import sys
from pathlib import Path

import pyoxigraph
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from scale_copies import copy_nquads, copy_passage, document_file, make_corpora

from kgbuild import KnowledgeGraphDir

R = "https://w3id.org/kgbuild/resource/"
K = "https://w3id.org/kgbuild/ontology#"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"
INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
TEXT = 'Jay Z met "Léonide" in 1931.'


def _document(document_id: str, entity: str, label: str) -> str:
    graph = f"<{R}doc/{document_id}>"
    node = f"<{R}entity/{entity}>"
    statement = f"<{R}statement/0123456789abcdef01234567>"
    rows = [
        f'{graph} <https://schema.org/name> "Jay Z" {graph} .',
        f"{graph} <https://schema.org/about> {node} {graph} .",
        f"{node} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{K}Person> {graph} .",
        f'{node} <{LABEL}> "{label}" {graph} .',
        f"{node} <{K}mentionedIn> {graph} {graph} .",
        f'{statement} <{K}sentence> "Jay Z met \\"L\\u00E9onide\\" in 1931." {graph} .',
        f'{statement} <{K}subjectStart> "0"^^<{INTEGER}> {graph} .',
        f'{statement} <{K}subjectEnd> "5"^^<{INTEGER}> {graph} .',
        f'{statement} <{K}confidence> "0.9123"^^<{DECIMAL}> {graph} .',
    ]
    header = "# kgbuild " + json.dumps({"id": document_id, "sha256": "ab" * 32})
    return header + "\n" + "\n".join(rows) + "\n"


def _quads(text: str) -> list:
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    return list(pyoxigraph.parse(body.encode(), format=pyoxigraph.RdfFormat.N_QUADS))


def test_a_copy_renames_names_and_iris_and_keeps_numbers_and_offsets():
    original = _document("d1", "jay_z-0123456789ab", "Jay Z")
    copied = copy_nquads(original, 1)
    passage = copy_passage({"id": "d1", "title": "Jay Z", "text": TEXT}, 1)

    assert json.loads(copied.splitlines()[0][len("# kgbuild ") :])["id"] == passage["id"] == "d1-c1"
    quads = _quads(copied)
    values = {q.predicate.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]: q.object for q in quads}
    assert values[LABEL.rsplit("#", 1)[-1]].value == "Kbz A" == passage["title"]
    sentence = values["sentence"].value
    assert sentence == passage["text"] == 'Kbz A nfu "Mépojef" jo 2042.'
    start, end = int(values["subjectStart"].value), int(values["subjectEnd"].value)
    assert passage["text"][start:end] == "Kbz A"  # offsets still point at the renamed name
    assert values["confidence"].value == "0.9123"
    iris = {t.value for q in quads for t in (q.subject, q.object, q.graph_name) if isinstance(t, pyoxigraph.NamedNode)}
    assert f"{R}doc/d1-c1" in iris
    assert not {i for i in iris if i.startswith(R)} & {
        t.value for q in _quads(original) for t in (q.subject, q.object, q.graph_name)
    }
    assert copy_nquads(original, 0) == original


def test_copies_of_one_entity_in_two_documents_stay_one_node_and_never_meet_the_original():
    first = copy_nquads(_document("d1", "jay_z-0123456789ab", "Jay Z"), 2)
    second = copy_nquads(_document("d2", "jay_z-0123456789ab", "Jay Z"), 2)
    node = {q.subject.value for q in _quads(first) if q.predicate.value == LABEL}
    assert node == {q.subject.value for q in _quads(second) if q.predicate.value == LABEL}
    assert node != {f"{R}entity/jay_z-0123456789ab"}


@pytest.mark.parametrize("size", [3])
def test_make_corpora_builds_a_store_where_copies_do_not_merge(tmp_path, size):
    kg = tmp_path / "kg"
    (kg / "documents").mkdir(parents=True)
    (kg / "resolution.json").write_text(json.dumps({"alias_threshold": 2.0, "name_encoder": "hashing"}))
    rows = [{"id": "d1", "title": "Jay Z", "text": TEXT}, {"id": "d2", "title": "Jay-Z", "text": TEXT}]
    for row, entity, label in ((rows[0], "jay_z-0123456789ab", "Jay Z"), (rows[1], "jay_z-ba9876543210", "Jay-Z")):
        (kg / "documents" / document_file(row["id"])).write_text(_document(row["id"], entity, label))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))

    made = make_corpora(kg, corpus, tmp_path / "out", [size])

    ids = [json.loads(line)["id"] for line in (made[size] / "corpus.jsonl").read_text().splitlines()]
    assert ids == ["d1", "d2", "d1-c1"]
    store = KnowledgeGraphDir(made[size]).store()
    labels = {q.object.value for q in store.quads_for_pattern(None, pyoxigraph.NamedNode(LABEL), None)}
    assert labels == {"Jay Z", "Jay-Z", "Kbz A"}
    same = list(store.quads_for_pattern(None, pyoxigraph.NamedNode("http://www.w3.org/2002/07/owl#sameAs"), None))
    assert same == []

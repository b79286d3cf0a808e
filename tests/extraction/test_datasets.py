import json
from pathlib import Path

import pytest

from kgbuild.errors import DataFormatError
from kgbuild.extraction.datasets import label_sets, read_examples
from kgbuild.records import Span

DATA = Path(__file__).parent.parent / "data"


def test_reads_conll04_entities_and_relations_by_index():
    examples = read_examples(DATA / "conll04_tiny.json")
    first = examples[0]
    assert first.text.tokens[:4] == ("Rome", "is", "in", "Lazio")
    assert [e.mentions for e in first.entities][:2] == [(Span(0, 1),), (Span(3, 4),)]
    assert {(r.head, r.tail, r.label) for r in first.relations} == {(0, 1, "Located_In"), (2, 3, "Located_In")}


def test_reads_redocred_documents_with_multi_mention_entities_and_sentence_offsets():
    examples = read_examples(DATA / "redocred_tiny.json")
    raw = json.loads((DATA / "redocred_tiny.json").read_text())[0]
    document = examples[0]
    assert len(document.text.sentence_starts) == len(raw["sents"])
    vertex = raw["vertexSet"][0][0]
    start = document.text.sentence_starts[vertex["sent_id"]] + vertex["pos"][0]
    assert document.entities[0].mentions[0] == Span(start, start + vertex["pos"][1] - vertex["pos"][0]) or any(
        m.start == start for m in document.entities[0].mentions
    )
    assert len(document.relations) == len({(x["h"], x["t"], x["r"]) for x in raw["labels"]})


def test_jsonl_rows_are_read(tmp_path):
    file = tmp_path / "rows.jsonl"
    file.write_text('{"tokens": ["A", "b"], "entities": [[0, 1, "X"]], "relations": []}\n\n' * 2)
    assert len(read_examples(file)) == 2


def test_malformed_row_error_names_file_and_line(tmp_path):
    file = tmp_path / "bad.json"
    rows = [{"tokens": ["a"], "entities": [], "relations": []}] * 2 + [{"tokens": "not a list"}]
    file.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]")
    with pytest.raises(DataFormatError, match=r"bad\.json:4: malformed row"):
        read_examples(file)


def test_entity_span_out_of_range_is_an_error_naming_the_span(tmp_path):
    file = tmp_path / "span.jsonl"
    file.write_text('{"tokens": ["a", "b"], "entities": [[1, 5, "X"]], "relations": []}\n')
    with pytest.raises(DataFormatError, match=r"span\.jsonl:1: .*\[1, 5\] out of range for 2 tokens"):
        read_examples(file)


def test_invalid_json_and_missing_file_are_clear_errors(tmp_path):
    file = tmp_path / "broken.json"
    file.write_text('[{"tokens": ["a"]},\n {"tokens": ')
    with pytest.raises(DataFormatError, match=r"broken\.json:2: invalid JSON"):
        read_examples(file)
    with pytest.raises(DataFormatError, match="no such file"):
        read_examples(tmp_path / "absent.json")


def test_label_sets_are_sorted_and_complete(tiny_examples):
    entity_types, labels = label_sets(tiny_examples)
    assert entity_types == ("Loc", "Org", "Peop")
    assert labels == ("Live_In", "Located_In", "Work_For")


def test_relation_signatures_list_label_and_argument_types(tiny_examples):
    from kgbuild.extraction.datasets import relation_signatures

    assert relation_signatures(tiny_examples) == (
        ("Live_In", "Peop", "Loc"),
        ("Located_In", "Loc", "Loc"),
        ("Work_For", "Peop", "Org"),
    )


def _family(relations: list[tuple[int, int, str]]):  # type: ignore[no-untyped-def]
    from kgbuild.records import EntityAnnotation, Example, RelationAnnotation, TokenizedText

    people = tuple(EntityAnnotation((Span(i, i + 1),), "PER") for i in range(3))
    return Example(TokenizedText(("Ann", "Bob", "Cy")), people, tuple(RelationAnnotation(*r) for r in relations))


def test_converses_are_the_labels_the_data_always_states_both_ways():
    from kgbuild.extraction.datasets import relation_converses

    # Bob's father is Ann, so Ann's child is Bob; Ann and Cy are spouses, both ways; a child is not
    # always a father's (Cy's child Bob has Cy as mother), and "knows" is stated one way only.
    examples = [
        _family([(1, 0, "father"), (0, 1, "child"), (0, 2, "spouse"), (2, 0, "spouse"), (0, 2, "knows")]),
        _family([(1, 2, "mother"), (2, 1, "child"), (1, 0, "father"), (0, 1, "child")]),
    ]
    assert relation_converses(examples, support=2, share=0.95) == (
        ("father", "child"),
        ("spouse", "spouse"),
    )
    assert relation_converses(examples, support=3, share=0.95) == ()  # too few fathers to trust
    assert ("child", "father") in relation_converses(examples, support=2, share=0.5)


def test_redocred_evidence_is_read_and_checked(tmp_path):
    raw = json.loads((DATA / "redocred_tiny.json").read_text())
    [document] = read_examples_of(tmp_path, raw[:1])
    given = {(x["h"], x["t"], x["r"]): tuple(sorted(x.get("evidence", []))) for x in raw[0]["labels"]}
    assert {(r.head, r.tail, r.label): r.evidence for r in document.relations} == given
    raw[0]["labels"][0]["evidence"] = [len(raw[0]["sents"])]
    with pytest.raises(DataFormatError, match=r"evidence sentences out of range"):
        read_examples_of(tmp_path, raw[:1])


def read_examples_of(folder, rows):
    file = folder / "rows.json"
    file.write_text(json.dumps(rows))
    return read_examples(file)

from kgbuild.corpus import CorpusProblem, Fields, read_corpus
from kgbuild.records import Document


def test_folder_jsonl_and_csv_corpora_give_stable_ids(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Bob lives in Rome.")
    (folder / "sub" / "a.md").write_text("# Ann\nAnn works for Acme.")
    (folder / "skip.bin").write_bytes(b"\x00")
    assert [d.id for d in read_corpus(folder) if isinstance(d, Document)] == ["b.txt", "sub/a.md"]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"doc": "x1", "body": "Ann is here.", "title": "Ann", "year": 2020}\n')
    [document] = read_corpus(jsonl, Fields(id="doc", text="body"))
    assert document == Document("x1", "Ann is here.", "Ann", (("year", "2020"),))
    table = tmp_path / "c.csv"
    table.write_text("id,text\nr1,Rome is in Italy.\n")
    assert [d.id for d in read_corpus(table)] == ["r1"]


def test_unreadable_documents_are_reported_by_name_and_skipped(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("Fine text.")
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "empty.txt").write_text("  \n")
    items = list(read_corpus(folder))
    problems = {p.source.split("/")[-1]: p.reason for p in items if isinstance(p, CorpusProblem)}
    assert set(problems) == {"latin1.txt", "empty.txt"}
    assert "not UTF-8" in problems["latin1.txt"]
    assert [d.id for d in items if isinstance(d, Document)] == ["good.txt"]


def test_bad_jsonl_rows_are_reported_with_their_line(tmp_path):
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"id": "a", "text": "ok"}\nnot json\n{"id": "c"}\n')
    items = list(read_corpus(jsonl))
    assert [type(i).__name__ for i in items] == ["Document", "CorpusProblem", "CorpusProblem"]
    assert items[1].source.endswith("c.jsonl:2")


def test_csv_fields_keep_their_line_breaks_and_rows_their_first_line(tmp_path):
    table = tmp_path / "c.csv"
    table.write_bytes(b'id,text\r\nr1,"Ann lives in Hamburg.\nShe sings."\r\nr2,\r\nr3,Bo ran.\r\n')
    items = list(read_corpus(table))
    assert items[0] == Document("r1", "Ann lives in Hamburg.\nShe sings.")
    assert isinstance(items[1], CorpusProblem) and items[1].source.endswith("c.csv:4")  # the row after a 2-line field
    assert items[2] == Document("r3", "Bo ran.")


def test_a_problem_names_its_file_once(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "noise.txt").write_bytes(b"\xff\xfe\x00garbage")
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_bytes(b'{"id": "a", "text": "ok"}\n\xff\xfe\n')
    for corpus in (folder, jsonl):
        [problem] = [p for p in read_corpus(corpus) if isinstance(p, CorpusProblem)]
        line = f"{problem.source}: {problem.reason}"  # as `kgbuild extract` lists it
        assert line.count(corpus.name if corpus == jsonl else "noise.txt") == 1 and "not UTF-8" in line

"""`kgbuild extract` on bad and large input: one-line errors, nothing left half-made, exact offsets, run records."""

import os
import stat

import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.records import Document

runner = CliRunner()


def _extract(corpus, kg, model):
    return runner.invoke(app, ["extract", str(corpus), "--model", model, "--out", str(kg), "--show", "0"])


def _folder(path, **texts):
    path.mkdir()
    for name, text in texts.items():
        (path / name).write_bytes(text) if isinstance(text, bytes) else (path / name).write_text(text)
    return path


def test_out_naming_a_file_is_a_one_line_error_and_leaves_it_alone(tiny_model, tmp_path):
    corpus = _folder(tmp_path / "corpus", **{"a.txt": "Rome is in Lazio."})
    taken = tmp_path / "taken"
    taken.write_text("mine")
    result = _extract(corpus, taken, tiny_model)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [f"error: {taken}: a file, not a knowledge-graph directory"]
    assert taken.read_text() == "mine"


@pytest.mark.parametrize("kind", ["missing", "empty folder", "empty jsonl"])
def test_a_missing_or_empty_corpus_fails_before_any_output_folder_is_made(tmp_path, kind):
    corpus = {"missing": tmp_path / "nope", "empty folder": tmp_path / "empty", "empty jsonl": tmp_path / "e.jsonl"}[
        kind
    ]
    if kind == "empty folder":
        _folder(corpus, **{"notes.bin": b"\x00"})
    elif kind == "empty jsonl":
        corpus.write_text("\n")
    result = _extract(corpus, tmp_path / "kg", "no-model-needed")
    assert result.exit_code == 2, result.output
    assert str(corpus) in result.output and ("no such file" in result.output or "no documents" in result.output)
    assert not (tmp_path / "kg").exists()


def test_unreadable_documents_are_named_once_and_the_rest_is_written(tiny_model, tmp_path):
    corpus = _folder(tmp_path / "corpus", **{"a.txt": "Rome is in Lazio.", "noise.txt": os.urandom(64) + b"\xff"})
    result = _extract(corpus, tmp_path / "kg", tiny_model)
    assert result.exit_code == 1
    assert result.output.count("noise.txt") == 1 and "not UTF-8" in result.output
    assert "1 documents extracted" in result.output


def test_graph_files_and_exports_follow_the_umask(tiny_model, tmp_path):
    corpus = _folder(tmp_path / "corpus", **{"a.txt": "Rome is in Lazio."})
    previous = os.umask(0o022)
    try:
        assert _extract(corpus, tmp_path / "kg", tiny_model).exit_code == 0
        export = runner.invoke(app, ["export", str(tmp_path / "kg"), "--out", str(tmp_path / "g.trig")])
        assert export.exit_code == 0, export.output
        os.umask(0o002)
        (tmp_path / "g.trig").unlink()
        assert runner.invoke(app, ["export", str(tmp_path / "kg"), "--out", str(tmp_path / "g.trig")]).exit_code == 0
    finally:
        os.umask(previous)
    written = [*(tmp_path / "kg" / "documents").glob("*.nq"), *(tmp_path / "kg" / "runs").glob("*.nq")]
    assert len(written) == 2 and {stat.S_IMODE(f.stat().st_mode) for f in written} == {0o644}
    assert stat.S_IMODE((tmp_path / "g.trig").stat().st_mode) == 0o664
    directory = runner.invoke(app, ["export", str(tmp_path / "kg"), "--out", str(tmp_path / "kg")])
    assert directory.exit_code == 2 and "cannot write" in directory.output and "Traceback" not in directory.output


def test_a_document_longer_than_spacys_limit_is_read_in_pieces(tmp_path):
    import spacy

    from kgbuild.parsing import SpacyParser
    from kgbuild.records import Span

    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    blank.to_disk(tmp_path / "blank")
    text = "Ann Lee sang in Rome.\n\n" * 48_000 + "Bo ran."  # 1.1 million characters: spaCy's limit is 1 million
    [parsed] = SpacyParser(str(tmp_path / "blank")).parse([Document("long", text)])
    words = len(parsed.text.tokens)
    assert words == 6 * 48_000 + 3 and len(parsed.text.sentence_starts) == 48_001
    assert parsed.char_span(Span(words - 2, words - 1)) == (len(text) - 4, len(text) - 1)  # "ran"


def _graph_lines(kg):
    return sorted(line for f in (kg / "documents").glob("*.nq") for line in f.read_text().splitlines()[1:])


def test_a_long_document_in_pieces_gives_the_graph_of_one_reading_with_exact_offsets(tiny_model, tmp_path):
    from rdflib import RDF, RDFS, Dataset

    from kgbuild import KnowledgeGraphDir, RelationExtractor, SpacyParser, build_knowledge_graph
    from kgbuild.rdf.namespaces import KG

    paragraph = "Betsy Ross was born in Philadelphia. Bruno Pusterla works for the Italian Agricultural Confederation."
    text = "\n\n".join(f"{paragraph} Rome is in Lazio {i}." for i in range(8))
    extractor = RelationExtractor.load(tiny_model)
    graphs = {}
    for name, parser in (("whole", SpacyParser()), ("pieces", SpacyParser(piece_chars=300, whole_chars=0))):
        kg = KnowledgeGraphDir(tmp_path / name, create=True)
        report = build_knowledge_graph([Document("long", text)], kg, extractor, parser, "tiny", "1", min_confidence=0)
        assert report.documents == 1 and not report.failed
        graphs[name] = _graph_lines(tmp_path / name)
    assert graphs["pieces"] == graphs["whole"]
    dataset = Dataset(default_union=True)
    dataset.parse(data="\n".join(graphs["pieces"]), format="nquads")
    statements = list(dataset.subjects(RDF.type, KG.Extraction))
    assert statements  # the tiny model relates something, so offsets are checked at all
    for statement in statements:
        subject = dataset.value(statement, RDF.subject)
        names = {str(name) for p in (RDFS.label, KG.alias) for name in dataset.objects(subject, p)}
        start, end = int(dataset.value(statement, KG.subjectStart)), int(dataset.value(statement, KG.subjectEnd))
        sentence = str(dataset.value(statement, KG.sentence))
        assert text[start:end] in names and text[start:end] in sentence and sentence in text


def test_a_document_over_the_limit_fails_alone_and_named(tiny_model, tmp_path):
    from kgbuild import KnowledgeGraphDir, RelationExtractor, SpacyParser, build_knowledge_graph

    kg = KnowledgeGraphDir(tmp_path / "kg", create=True)
    documents = [Document("huge", "Rome is in Lazio. " * 10), Document("fine", "Rome is in Lazio.")]
    parser = SpacyParser(max_document_chars=100)
    report = build_knowledge_graph(documents, kg, RelationExtractor.load(tiny_model), parser, "tiny", "1")
    assert report.failed == ["huge: 180 characters, over the 100 read at most"]
    assert set(kg.finished()) == {"fine"}


def _run_records(kg):
    return [file.read_text() for file in sorted((kg / "runs").glob("*.nq"))]


def test_run_records_name_the_corpus_survive_a_kill_and_count_the_graph(tiny_model, tmp_path):
    from kgbuild import KnowledgeGraphDir, RelationExtractor, SpacyParser, build_knowledge_graph

    corpus = _folder(tmp_path / "corpus", **{"a.txt": "Rome is in Lazio.", "b.txt": "Naples is in Campania."})
    result = _extract(corpus, tmp_path / "kg", tiny_model)
    assert result.exit_code == 0, result.output
    [record] = _run_records(tmp_path / "kg")
    assert f'<http://www.w3.org/ns/prov#used> "{corpus.resolve()}"' in record
    assert "2 documents extracted by this run, 0 unchanged, 0 failed; the graph held 2 documents" in record
    assert "endedAtTime" in record and str(tmp_path / "kg") not in record

    class KilledError(Exception):
        pass

    def kill(result, report):
        raise KilledError

    kg = KnowledgeGraphDir(tmp_path / "killed", create=True)
    extractor, parser = RelationExtractor.load(tiny_model), SpacyParser()
    documents = [Document("a", "Rome is in Lazio."), Document("b", "Naples is in Campania.")]
    with pytest.raises(KilledError):
        build_knowledge_graph(documents, kg, extractor, parser, "tiny", "1", on_document=kill, corpus="c.jsonl")
    [unfinished] = _run_records(tmp_path / "killed")
    assert "no end recorded" in unfinished and "endedAtTime" not in unfinished and '"c.jsonl"' in unfinished
    report = build_knowledge_graph(documents, kg, extractor, parser, "tiny", "1", corpus="c.jsonl")
    assert report.documents == 1 and report.skipped_unchanged == 1
    records = _run_records(tmp_path / "killed")
    assert len(records) in (1, 2)  # the same second and corpus make the same run id: the end replaces the start
    assert any("1 documents extracted by this run, 1 unchanged, 0 failed; the graph held 2" in r for r in records)
    assert not list((tmp_path / "killed" / "runs").glob(".*.partial"))

import json
from pathlib import Path

from typer.testing import CliRunner

from kgbuild.cli import app

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _train_args(tiny_bert: str, out: Path, data: Path = DATA / "conll04_tiny.json") -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--dev",
        str(DATA / "conll04_tiny.json"),
        "--out",
        str(out),
        "--base-model",
        tiny_bert,
        "--epochs",
        "2",
        "--seed",
        "1",
        "--max-span-width",
        "4",
    ]


def test_train_then_evaluate_prints_one_json_object(tiny_bert, tmp_path):
    result = runner.invoke(app, _train_args(tiny_bert, tmp_path / "model"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["best_epoch"] in (1, 2)
    assert {p.name for p in (tmp_path / "model").iterdir()} >= {"config.json", "metrics.json", "train.log"}
    result = runner.invoke(
        app, ["evaluate", "--model", str(tmp_path / "model"), "--data", str(DATA / "conll04_tiny.json"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for section in ("entities", "relations_end_to_end", "relations_gold_entities"):
        assert set(report[section]["micro"]) == {"precision", "recall", "f1"}
        assert set(report[section]["macro"]) == {"precision", "recall", "f1"}


def test_malformed_training_file_fails_cleanly_and_writes_no_model(tiny_bert, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tokens": ["a"], "entities": [], "relations": []}\n{"tokens": ["a"], "entities": [[0, 9, "X"]]}\n')
    result = runner.invoke(app, _train_args(tiny_bert, tmp_path / "model", bad))
    assert result.exit_code == 2
    assert "bad.jsonl:2" in result.output and "out of range" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "model").exists()


def test_evaluate_missing_model_is_a_usage_error(tmp_path):
    result = runner.invoke(
        app, ["evaluate", "--model", str(tmp_path / "nope"), "--data", str(DATA / "conll04_tiny.json")]
    )
    assert result.exit_code == 2
    assert "not an extractor model directory" in result.output


def test_extract_rejects_a_negative_alias_threshold_before_writing_anything(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Ann Lee sang.")
    args = ["extract", str(corpus), "--out", str(tmp_path / "kg"), "--alias-threshold", "-0.5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--alias-threshold >= 0" in result.output and "-0.5" in result.output
    assert not (tmp_path / "kg").exists()


def test_train_without_dev_needs_a_holdout(tiny_bert, tmp_path):
    args = ["train", "--data", str(DATA / "conll04_tiny.json"), "--out", str(tmp_path / "m"), "--base-model", tiny_bert]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--holdout" in result.output


def test_train_joins_repeated_data_files_and_trains_without_dev(tiny_bert, tmp_path):
    args = _train_args(tiny_bert, tmp_path / "m")
    dev_at = args.index("--dev")
    args[dev_at : dev_at + 2] = ["--data", str(DATA / "conll04_tiny.json"), "--no-dev"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["best_epoch"] == 2  # --epochs 2, no early stop
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    tiny = len(json.loads((DATA / "conll04_tiny.json").read_text()))
    assert metrics["train_examples"] == 2 * tiny and metrics["dev"] is None
    result = runner.invoke(app, [*args, "--holdout", "1"])
    assert result.exit_code == 2 and "--no-dev excludes" in result.output


def test_calibrate_rewrites_the_config_in_place(tiny_bert, tmp_path):
    assert runner.invoke(app, _train_args(tiny_bert, tmp_path / "model")).exit_code == 0
    args = ["calibrate", "--model", str(tmp_path / "model"), "--data", str(DATA / "conll04_tiny.json")]
    result = runner.invoke(app, [*args, "--dev", str(DATA / "conll04_tiny.json")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["relation_threshold"] == report["relation_threshold"]
    assert ["Work_For", "Peop", "Org"] in config["relation_signatures"]
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["calibration"] == report


def test_calibrate_joins_repeated_data_files_before_holding_out(tiny_bert, tmp_path):
    assert runner.invoke(app, _train_args(tiny_bert, tmp_path / "model")).exit_code == 0
    tiny = len(json.loads((DATA / "conll04_tiny.json").read_text()))
    args = ["calibrate", "--model", str(tmp_path / "model"), "--data", str(DATA / "conll04_tiny.json")]
    once = runner.invoke(app, [*args, "--holdout", str(tiny)])
    assert once.exit_code == 2 and f"--holdout between 1 and {tiny - 1}" in once.output
    twice = runner.invoke(app, [*args, "--data", str(DATA / "conll04_tiny.json"), "--holdout", str(tiny)])
    assert twice.exit_code == 0, twice.output  # the second copy is the held-out part


def test_calibrate_leaves_out_labels_the_model_lacks_as_train_does(tiny_bert, tmp_path):
    assert runner.invoke(app, _train_args(tiny_bert, tmp_path / "model")).exit_code == 0
    examples = json.loads((DATA / "conll04_tiny.json").read_text())
    examples[0]["relations"].append([0, 1, 3, 4, "Unseen_Label"])
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(examples))
    args = ["calibrate", "--model", str(tmp_path / "model"), "--data", str(extra), "--dev", str(extra)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert ["Work_For", "Peop", "Org"] in config["relation_signatures"]
    assert not [s for s in config["relation_signatures"] if s[0] == "Unseen_Label"]
    examples[0]["entities"][0][2] = "Planet"
    extra.write_text(json.dumps(examples))
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "the model has no entity type Planet" in result.output
    assert json.loads((tmp_path / "model" / "config.json").read_text()) == config  # nothing rewritten


def _extract(corpus, kg, model):
    return runner.invoke(app, ["extract", str(corpus), "--model", model, "--out", str(kg), "--min-confidence", "0"])


def _quads(kg):
    from rdflib import Dataset

    from kgbuild.rdf.store import KnowledgeGraphDir

    local = Dataset()
    for quad in KnowledgeGraphDir(kg).dataset().quads((None, None, None, None)):
        local.add(quad)
    return set(local.quads((None, None, None, None)))


def test_extract_is_incremental_idempotent_and_removable(tiny_model, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Betsy Ross was born in Philadelphia. Rome is in Lazio.")
    (corpus / "b.txt").write_text("Bruno Pusterla works for the Italian Agricultural Confederation.")
    result = _extract(corpus, tmp_path / "kg", tiny_model)
    assert result.exit_code == 0, result.output
    assert "2 documents extracted" in result.output and "provenance coverage 100.0%" in result.output
    first = _quads(tmp_path / "kg")
    again = _extract(corpus, tmp_path / "kg", tiny_model)
    assert "0 documents extracted" in again.output and "2 unchanged" in again.output
    assert _quads(tmp_path / "kg") == first
    (corpus / "b.txt").write_text("Mikhail Shevtsov works for ITAR-TASS.")
    changed = _extract(corpus, tmp_path / "kg", tiny_model)
    assert "1 documents extracted" in changed.output and "1 unchanged" in changed.output
    graphs = {str(g) for *_, g in _quads(tmp_path / "kg")}
    assert any(g.endswith("doc/b.txt") for g in graphs)
    assert runner.invoke(app, ["remove", str(tmp_path / "kg"), "b.txt"]).exit_code == 0
    assert not any(str(g).endswith("doc/b.txt") for *_, g in _quads(tmp_path / "kg"))
    assert {q for q in first if str(q[3]).endswith("doc/a.txt")} <= _quads(tmp_path / "kg")
    missing = runner.invoke(app, ["remove", str(tmp_path / "kg"), "nope.txt"])
    assert missing.exit_code == 2 and "no document 'nope.txt'" in missing.output


def test_extract_exits_1_and_names_a_document_it_could_not_read(tiny_model, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Rome is in Lazio.")
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    result = _extract(corpus, tmp_path / "kg", tiny_model)
    assert result.exit_code == 1
    assert "bad.txt" in result.output and "not UTF-8" in result.output and "1 documents extracted" in result.output


def test_export_formats_and_the_union_note(tiny_model, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Rome is in Lazio.")
    assert _extract(corpus, tmp_path / "kg", tiny_model).exit_code == 0
    from rdflib import Dataset

    trig = runner.invoke(app, ["export", str(tmp_path / "kg"), "--format", "trig", "--out", str(tmp_path / "g.trig")])
    assert trig.exit_code == 0
    parsed = Dataset()
    parsed.parse(tmp_path / "g.trig", format="trig")
    assert {(s, p, o, g) for s, p, o, g in parsed.quads((None, None, None, None))} == _quads(tmp_path / "kg")
    turtle = runner.invoke(app, ["export", str(tmp_path / "kg"), "--format", "turtle"])
    assert turtle.exit_code == 0 and "union of" in turtle.output
    assert runner.invoke(app, ["export", str(tmp_path / "kg"), "--format", "rdfxml"]).exit_code == 2


def test_sparql_answers_and_refuses_updates_service_and_bad_syntax(tiny_model, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Rome is in Lazio.")
    assert _extract(corpus, tmp_path / "kg", tiny_model).exit_code == 0
    kg = str(tmp_path / "kg")
    query = "SELECT ?d WHERE { GRAPH ?g { ?d a <https://w3id.org/kgbuild/ontology#Document> } }"
    result = runner.invoke(app, ["sparql", kg, query, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"]["bindings"][0]["d"]["value"].endswith("doc/a.txt")
    for bad, message in (
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "updates are refused"),
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is refused"),
        ("SELEKT * WHERE { ?s ?p ?o }", "SPARQL syntax error"),
        ("LOAD <file:///etc/passwd>", "updates are refused"),
    ):
        refused = runner.invoke(app, ["sparql", kg, bad])
        assert refused.exit_code == 2 and message in refused.output, (bad, refused.output)


def test_sparql_answers_every_form_over_the_union_and_stops_a_slow_query(tmp_path):
    from tests.rdf.conftest import SLOW_QUERY, write_tiny_kg

    kg = str(write_tiny_kg(tmp_path / "kg"))
    found = runner.invoke(app, ["sparql", kg, 'SELECT ?s WHERE { ?s ?p "Secret Service" }'])
    assert found.exit_code == 0 and "(3 rows)" in found.stdout, found.output
    assert runner.invoke(app, ["sparql", kg, "ASK { ?s ?p ?o }"]).stdout == "True\n"
    asked = runner.invoke(app, ["sparql", kg, "ASK { ?s ?p ?o }", "--format", "json"])
    assert json.loads(asked.stdout)["boolean"] is True
    described = runner.invoke(app, ["sparql", kg, "DESCRIBE <https://example.org/kg/entity/e0_0>"])
    assert described.exit_code == 0 and '"Secret Service" .' in described.stdout
    cut = runner.invoke(app, ["sparql", kg, "CONSTRUCT WHERE { ?s ?p ?o }", "--max-rows", "4", "--format", "csv"])
    assert cut.exit_code == 0 and len(cut.stdout.splitlines()) == 5 and "first 4 rows" in cut.stderr
    slow = runner.invoke(app, ["sparql", kg, SLOW_QUERY, "--timeout", "0.5"])
    assert slow.exit_code == 2 and "0.5 s time limit" in slow.output


def test_validate_passes_a_built_graph_and_fails_a_broken_one(tiny_model, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Betsy Ross was born in Philadelphia. Rome is in Lazio.")
    assert _extract(corpus, tmp_path / "kg", tiny_model).exit_code == 0
    result = runner.invoke(app, ["validate", str(tmp_path / "kg")])
    assert result.exit_code == 0, result.output
    assert "Conforms: True" in result.output
    broken = tmp_path / "kg" / "documents" / "zz-broken.nq"
    statement = "<https://w3id.org/kgbuild/resource/statement/x>"
    kg, xsd = "https://w3id.org/kgbuild/ontology#", "http://www.w3.org/2001/XMLSchema#"
    broken.write_text(  # an extraction with no subject and a confidence above 1
        f"{statement} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{kg}Extraction> <urn:g> .\n"
        f'{statement} <{kg}confidence> "1.5"^^<{xsd}decimal> <urn:g> .\n'
    )
    result = runner.invoke(app, ["validate", str(tmp_path / "kg")])
    assert result.exit_code == 1
    assert "Conforms: False" in result.output and "confidence" in result.output and "subject" in result.output


def test_train_adds_name_swapped_copies_of_the_training_documents(tiny_bert, tmp_path):
    from kgbuild.extraction.augment import swap_names
    from kgbuild.extraction.datasets import read_examples

    tiny = read_examples(DATA / "conll04_tiny.json")
    args = [*_train_args(tiny_bert, tmp_path / "m"), "--swap-names", "1", "--swap-types", "Peop,Org"]
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 13
    copies = swap_names(tiny, 1, seed, ["Peop", "Org"])
    assert copies and not {copy.text.tokens for copy in copies} & {x.text.tokens for x in tiny}  # all renamed
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert (metrics["train_examples"], metrics["augmented_examples"]) == (len(tiny) + len(copies), len(copies))
    for bad, message in (("Person", "--swap-types Person: no such entity type"), (" , ", "names no entity type")):
        result = runner.invoke(app, [*args[:-1], bad, "--out", str(tmp_path / "n")])
        assert result.exit_code == 2 and message in result.output
    result = runner.invoke(app, [*args[:-3], "-1", "--out", str(tmp_path / "n")])
    assert result.exit_code == 2 and "--swap-names" in result.output
    assert not (tmp_path / "n").exists()

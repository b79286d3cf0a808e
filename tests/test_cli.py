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


def test_train_without_dev_needs_a_holdout(tiny_bert, tmp_path):
    args = ["train", "--data", str(DATA / "conll04_tiny.json"), "--out", str(tmp_path / "m"), "--base-model", tiny_bert]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--holdout" in result.output


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


def test_extract_prints_findings_and_exits_1_when_a_document_is_skipped(tiny_bert, tmp_path):
    assert runner.invoke(app, _train_args(tiny_bert, tmp_path / "model")).exit_code == 0
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Betsy Ross was born in Philadelphia. Rome is in Lazio.")
    result = runner.invoke(
        app, ["extract", str(corpus), "--model", str(tmp_path / "model"), "--out", str(tmp_path / "kg")]
    )
    assert result.exit_code == 0, result.output
    assert "1 documents" in result.output and "0 documents skipped" in result.output
    from rdflib import Dataset

    graph = Dataset()
    graph.parse(tmp_path / "kg" / "graph.trig", format="trig")
    assert any("doc/a.txt" in str(g.identifier) for g in graph.graphs())
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    result = runner.invoke(app, ["extract", str(corpus), "--model", str(tmp_path / "model")])
    assert result.exit_code == 1
    assert "bad.txt" in result.output and "not UTF-8" in result.output and "1 documents skipped" in result.output

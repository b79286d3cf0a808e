import json
from pathlib import Path

from kgbuild.extraction.evaluate import evaluate
from kgbuild.extraction.extractor import RelationExtractor
from kgbuild.extraction.train import TrainSettings, train

OVERFIT = TrainSettings(epochs=80, batch_size=4, encoder_lr=3e-3, head_lr=3e-3, warmup=0.0, patience=80, seed=3)


def test_training_reaches_perfect_f1_on_the_sentences_it_saw(tiny_config, tiny_examples, tmp_path):
    metrics = train(tiny_examples, tiny_examples, tmp_path / "model", tiny_config, OVERFIT, progress=False)
    assert metrics["dev"]["entities"]["micro"]["f1"] == 100.0
    assert metrics["dev"]["relations_end_to_end"]["micro"]["f1"] == 100.0
    report = evaluate(RelationExtractor.load(tmp_path / "model"), tiny_examples)
    assert report["relations_gold_entities"]["micro"]["f1"] == 100.0
    assert not (tmp_path / "model.checkpoint").exists()  # removed once the final model is written
    saved = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert saved["best_epoch"] == metrics["best_epoch"]
    assert (tmp_path / "model" / "train.log").read_text().count("\n") == len(metrics["history"])


def test_training_is_deterministic_for_a_seed(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    short = replace(OVERFIT, epochs=3)
    first = train(tiny_examples, tiny_examples, tmp_path / "a", tiny_config, short, progress=False)
    second = train(tiny_examples, tiny_examples, tmp_path / "b", tiny_config, short, progress=False)
    assert [h["loss"] for h in first["history"]] == [h["loss"] for h in second["history"]]
    assert (tmp_path / "a" / "heads.safetensors").read_bytes() == (tmp_path / "b" / "heads.safetensors").read_bytes()


def test_document_level_data_trains_on_multi_mention_entities(tiny_config, tmp_path):
    from dataclasses import replace

    from kgbuild.extraction.datasets import read_examples

    documents = read_examples(Path(__file__).parent.parent / "data" / "redocred_tiny.json")
    config = replace(tiny_config, max_length=32)
    metrics = train(documents, documents, tmp_path / "doc", config, replace(OVERFIT, epochs=2), progress=False)
    assert metrics["config"]["document_level"] is True
    assert metrics["metric"] == "gold_entities"
    assert len(metrics["config"]["relation_types"]) == len({r.label for d in documents for r in d.relations})


def test_between_context_pair_features_train_and_reload(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    config = replace(tiny_config, pair_features="attention+between")
    metrics = train(tiny_examples, tiny_examples, tmp_path / "m", config, replace(OVERFIT, epochs=2), progress=False)
    assert metrics["config"]["pair_features"] == "attention+between"
    report = evaluate(RelationExtractor.load(tmp_path / "m"), tiny_examples)
    assert set(report) >= {"relations_gold_entities", "relations_end_to_end"}


def test_mean_metric_selects_on_both_relation_figures(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    from kgbuild.extraction.calibrate import dev_figure

    metrics = train(
        tiny_examples, tiny_examples, tmp_path / "m", tiny_config, replace(OVERFIT, epochs=2, metric="mean")
    )
    assert metrics["metric"] == "mean"
    assert all("dev_gold_f1" in record for record in metrics["history"])
    report = {"relations_end_to_end": {"micro": {"f1": 60.0}}, "relations_gold_entities": {"micro": {"f1": 80.0}}}
    assert [dev_figure(report, m) for m in ("end_to_end", "gold_entities", "mean")] == [60.0, 80.0, 70.0]

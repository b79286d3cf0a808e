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


def test_class_balance_weighs_the_relation_loss_and_is_recorded(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    plain = replace(OVERFIT, epochs=1)
    balanced = replace(plain, class_balance=0.9)
    first = train(tiny_examples, tiny_examples, tmp_path / "a", tiny_config, plain, progress=False)
    second = train(tiny_examples, tiny_examples, tmp_path / "b", tiny_config, balanced, progress=False)
    # The same seed and data: the first epoch's loss differs only by the rarer labels' weights (> 1).
    assert second["history"][0]["loss"] > first["history"][0]["loss"]
    assert second["settings"]["class_balance"] == 0.9


def test_document_level_data_trains_on_multi_mention_entities(tiny_config, tmp_path):
    from dataclasses import replace

    from kgbuild.extraction.datasets import read_examples

    documents = read_examples(Path(__file__).parent.parent / "data" / "redocred_tiny.json")
    config = replace(tiny_config, max_length=32)
    metrics = train(documents, documents, tmp_path / "doc", config, replace(OVERFIT, epochs=2), progress=False)
    assert metrics["config"]["document_level"] is True
    assert metrics["metric"] == "gold_entities"
    assert len(metrics["config"]["relation_types"]) == len({r.label for d in documents for r in d.relations})
    report = evaluate(RelationExtractor.load(tmp_path / "doc"), documents)
    assert report["relations_end_to_end_resolved"]["micro"].keys() == {"precision", "recall", "f1"}


def test_between_context_pair_features_train_and_reload(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    config = replace(tiny_config, pair_features="attention+between")
    metrics = train(tiny_examples, tiny_examples, tmp_path / "m", config, replace(OVERFIT, epochs=2), progress=False)
    assert metrics["config"]["pair_features"] == "attention+between"
    report = evaluate(RelationExtractor.load(tmp_path / "m"), tiny_examples)
    assert set(report) >= {"relations_gold_entities", "relations_end_to_end"}
    assert "relations_end_to_end_resolved" not in report  # sentence-level: one mention per gold entity


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


def test_weight_averaging_scores_and_saves_the_averaged_weights(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    import pytest
    import torch
    from safetensors.torch import load_file

    short = replace(OVERFIT, epochs=3, batch_size=1)  # several steps an epoch: the average lags the weights
    plain = train(tiny_examples, tiny_examples, tmp_path / "plain", tiny_config, short, progress=False)
    averaged = train(tiny_examples, tiny_examples, tmp_path / "ema", tiny_config, replace(short, ema=0.9))
    # Same seed, same steps: the raw weights follow the plain run, the averaged ones are what is scored.
    assert [h["loss"] for h in averaged["history"]] == [h["loss"] for h in plain["history"]]
    assert [h["dev_f1_raw"] for h in averaged["history"]] == [h["dev_f1"] for h in plain["history"]]
    assert "dev_f1_raw" not in plain["history"][0]
    heads = load_file(str(tmp_path / "ema" / "heads.safetensors"))
    plain_heads = load_file(str(tmp_path / "plain" / "heads.safetensors"))
    assert any(not torch.equal(heads[name], plain_heads[name]) for name in heads)
    with pytest.raises(ValueError, match="ema must be in"):
        TrainSettings(ema=1.0)


def test_without_dev_data_it_trains_every_epoch_and_keeps_the_last(tiny_config, tiny_examples, tmp_path):
    from dataclasses import replace

    short = replace(OVERFIT, epochs=3, patience=1)  # patience plays no part without dev data
    metrics = train(tiny_examples, [], tmp_path / "final", tiny_config, short, progress=False)
    assert metrics["dev"] is None and metrics["metric"] is None and metrics["best_epoch"] == 3
    assert [record["epoch"] for record in metrics["history"]] == [1, 2, 3]
    assert metrics["calibration"]["relation_threshold"] == 0.0
    assert ["Work_For", "Peop", "Org"] in metrics["config"]["relation_signatures"]  # learned from training data
    assert not (tmp_path / "final.checkpoint").exists()
    report = evaluate(RelationExtractor.load(tmp_path / "final"), tiny_examples)  # a complete model directory
    assert set(report) >= {"entities", "relations_end_to_end"}


def test_init_continues_from_a_saved_model_and_leaves_out_labels_it_lacks(tiny_model, tiny_examples, tmp_path):
    from dataclasses import replace

    import pytest
    from safetensors.torch import load_file

    from kgbuild.errors import LabelError
    from kgbuild.extraction.model import ExtractorConfig
    from kgbuild.records import RelationAnnotation

    first = tiny_examples[0]
    extra = replace(first, relations=(*first.relations, RelationAnnotation(0, 1, "Unseen_Label")))
    still = TrainSettings(epochs=1, seed=1, encoder_lr=0.0, head_lr=0.0)  # a step that moves nothing
    metrics = train([extra, *tiny_examples[1:]], [], tmp_path / "m", None, still, progress=False, init=tiny_model)

    assert metrics["init"] == tiny_model and metrics["dropped_relations"] == 1
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert "Unseen_Label" not in saved["relation_types"] and saved["name"] == "tiny"
    for name in ("encoder.safetensors", "heads.safetensors"):
        before, after = load_file(str(Path(tiny_model) / name)), load_file(str(tmp_path / "m" / name))
        assert before.keys() == after.keys() and all(before[k].equal(after[k]) for k in before)

    unnamed = ExtractorConfig((), ())  # no name: the saved model keeps its own
    train(tiny_examples, [], tmp_path / "m3", unnamed, still, progress=False, init=tiny_model)
    assert json.loads((tmp_path / "m3" / "config.json").read_text())["name"] == "tiny"

    odd = replace(first, entities=(replace(first.entities[0], type="Odd"), *first.entities[1:]))
    with pytest.raises(LabelError, match="no entity type Odd"):
        train([odd], [], tmp_path / "m2", None, still, progress=False, init=tiny_model)
    assert not (tmp_path / "m2").exists()


def test_evidence_supervision_adds_its_loss_and_is_recorded(tiny_config, tmp_path):
    from dataclasses import replace

    from kgbuild.extraction.datasets import read_examples

    documents = read_examples(Path(__file__).parent.parent / "data" / "redocred_tiny.json")
    assert any(r.evidence for d in documents for r in d.relations)  # the data gives evidence sentences
    config = replace(tiny_config, max_length=32)
    plain = replace(OVERFIT, epochs=1)
    first = train(documents, documents, tmp_path / "a", config, plain, progress=False)
    second = train(documents, documents, tmp_path / "b", config, replace(plain, evidence_weight=1.0), progress=False)
    # The same seed and data: the first epoch's loss differs only by the evidence term (> 0).
    assert second["history"][0]["loss"] > first["history"][0]["loss"]
    assert second["settings"]["evidence_weight"] == 1.0


def test_pronoun_mentions_train_are_kept_in_the_config_and_change_the_scores(tiny_config, tmp_path):
    from dataclasses import replace

    from kgbuild.extraction.datasets import read_examples

    documents = read_examples(Path(__file__).parent.parent / "data" / "redocred_tiny.json")
    pronouns = {"he", "his", "she", "her", "him"}
    assert any(t.lower() in pronouns for d in documents for t in d.text.tokens)  # the data has some
    config = replace(tiny_config, max_length=32)
    short = replace(OVERFIT, epochs=1)
    plain = train(documents, documents, tmp_path / "a", config, short, progress=False)
    read = train(documents, documents, tmp_path / "b", replace(config, pronoun_mentions=True), short, progress=False)
    assert read["config"]["pronoun_mentions"] is True and plain["config"]["pronoun_mentions"] is False
    assert read["history"][0]["loss"] != plain["history"][0]["loss"]
    model = RelationExtractor.load(tmp_path / "b")
    assert model.config.pronoun_mentions is True
    assert evaluate(model, documents)["relations_gold_entities"]["micro"].keys() == {"precision", "recall", "f1"}


def test_augmented_copies_train_but_calibration_counts_each_fact_once(tiny_config, tiny_examples, tmp_path):
    """Four sentences state Kill both ways (8 triples): below a converse pair's support of 20, unless copies count."""
    from dataclasses import replace

    import pytest

    from kgbuild.extraction.datasets import CONVERSE_SUPPORT
    from kgbuild.records import RelationAnnotation

    both_ways = (RelationAnnotation(0, 1, "Kill"), RelationAnnotation(1, 0, "Kill"))
    pairs = [replace(x, relations=both_ways) for x in tiny_examples if len(x.entities) >= 2]
    assert 2 * len(pairs) < CONVERSE_SUPPORT <= 6 * len(pairs)
    examples = [*pairs, *pairs, *pairs]  # the last two rounds stand for name-swapped copies
    short = TrainSettings(epochs=1, batch_size=4, seed=1)
    converses = []
    for augmented in (0, 2 * len(pairs)):
        metrics = train(examples, [], tmp_path / f"m{augmented}", tiny_config, short, augmented=augmented)
        assert metrics["train_examples"] == len(examples) and metrics["augmented_examples"] == augmented
        converses.append(metrics["config"]["relation_converses"])
    assert converses == [[["Kill", "Kill"]], []]
    with pytest.raises(ValueError, match=f"{len(examples) + 1} augmented examples among {len(examples)} gold ones"):
        train(examples, [], tmp_path / "bad", tiny_config, short, augmented=len(examples) + 1)
    assert not list(tmp_path.glob("bad*"))  # neither the model nor a training state

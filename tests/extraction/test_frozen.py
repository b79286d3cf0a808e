"""Cached frozen layers: the top layers trained from the lower layers' states, computed once."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from kgbuild.extraction.checkpoint import state_dir
from kgbuild.extraction.train import TrainSettings, train
from tests.extraction.interrupt import KilledError, kill_after

SETTINGS = TrainSettings(epochs=3, batch_size=2, encoder_lr=3e-3, head_lr=3e-3, warmup=0.0, seed=4, threads=1)
CACHED = replace(SETTINGS, cache_frozen="float32")


def _without_dropout(source: str, target: Path) -> str:
    """Copy a tiny encoder with its dropout set to 0: nothing random then touches the frozen layers."""
    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    config |= {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(target)


@pytest.fixture(scope="module", params=["tiny_bert", "tiny_mpnet"])
def still_encoder(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    return _without_dropout(request.getfixturevalue(request.param), tmp_path_factory.mktemp("still") / "encoder")


@pytest.fixture()
def config(tiny_config, still_encoder):  # type: ignore[no-untyped-def]
    # 8-piece windows: most sentences span several half-overlapping windows; dropout in the heads stays.
    return replace(tiny_config, base_model=still_encoder, train_layers=1, max_length=8, dropout=0.1)


def _model_weights(model_dir):  # type: ignore[no-untyped-def]
    from kgbuild.extraction.model import load_model

    model, _ = load_model(model_dir)
    return model.state_dict()


def test_the_cached_run_trains_the_model_the_uncached_run_trains(config, tiny_examples, tmp_path):
    plain = train(tiny_examples, tiny_examples, tmp_path / "plain", config, SETTINGS, progress=False)
    cached = train(tiny_examples, tiny_examples, tmp_path / "cached", config, CACHED, progress=False)
    assert [h["loss"] for h in cached["history"]] == pytest.approx([h["loss"] for h in plain["history"]], rel=1e-5)
    assert [h["dev_f1"] for h in cached["history"]] == [h["dev_f1"] for h in plain["history"]]
    ours, theirs = _model_weights(tmp_path / "cached"), _model_weights(tmp_path / "plain")
    assert ours.keys() == theirs.keys()
    for name, value in ours.items():
        torch.testing.assert_close(value, theirs[name], rtol=1e-3, atol=1e-4, msg=name)
    assert cached["settings"]["cache_frozen"] == "float32"
    assert not state_dir(tmp_path / "cached").exists()  # the cache goes with the run's state


def test_a_resumed_cached_run_reuses_or_rebuilds_the_cache_and_ends_the_same(config, tiny_examples, tmp_path):
    whole = train(tiny_examples, tiny_examples, tmp_path / "whole", config, CACHED, progress=False)
    with pytest.raises(KilledError):
        train(tiny_examples, tiny_examples, tmp_path / "cut", config, CACHED, progress=False, on_epoch=kill_after(1))
    cache = state_dir(tmp_path / "cut") / "frozen.pt"
    built = cache.stat().st_mtime_ns
    with pytest.raises(KilledError):  # resumed, the cache reused, then killed again
        train(
            tiny_examples, tiny_examples, tmp_path / "cut", config, CACHED, progress=False, resume=True,
            on_epoch=kill_after(2),
        )  # fmt: skip
    assert cache.stat().st_mtime_ns == built
    cache.unlink()  # resumed with the cache lost: rebuilt, the same states
    resumed = train(tiny_examples, tiny_examples, tmp_path / "cut", config, CACHED, progress=False, resume=True)
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in whole["history"]]
    for name in ("encoder.safetensors", "heads.safetensors"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_the_lower_layers_run_once_not_every_step(config, tiny_examples, tmp_path):
    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.frozen import encoder_layers, frozen_states
    from kgbuild.extraction.model import build_model
    from kgbuild.extraction.objective import batch_loss

    model, tokenizer = build_model(config)
    torch.nn.init.normal_(model.shape_embedding.weight)  # casing must still enter at the first trained layer
    encoded = [encode_words(tokenizer, x.text.tokens) for x in tiny_examples]
    cache = frozen_states(model, encoded, tmp_path / "frozen.pt", "run", "float32", 2)
    assert len(cache.window_lengths) > len(tiny_examples)  # several windows per sentence
    calls = {"lower": 0, "top": 0}
    layers = encoder_layers(model.encoder)
    layers[0].register_forward_hook(lambda *_: calls.__setitem__("lower", calls["lower"] + 1))
    layers[1].register_forward_hook(lambda *_: calls.__setitem__("top", calls["top"] + 1))
    model.train()
    torch.manual_seed(0)
    uncached = batch_loss(model, tiny_examples, encoded)
    assert calls == {"lower": 1, "top": 1}
    torch.manual_seed(0)
    cached = batch_loss(model, tiny_examples, encoded, lower=[cache.of(i) for i in range(len(tiny_examples))])
    assert calls == {"lower": 1, "top": 2}
    torch.testing.assert_close(cached, uncached, rtol=1e-6, atol=1e-6)
    assert encoder_layers(model.encoder) is layers and len(layers) == 2  # the model is whole again
    with pytest.raises(ValueError, match="cached states of 0 windows for texts of"):
        batch_loss(model, tiny_examples, encoded, lower=[[] for _ in tiny_examples])
    assert model._shape_states is None  # nothing left over for the next uncached pass


def test_evaluation_reads_each_dev_window_through_the_lower_layers_once(config, tiny_examples):
    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.frozen import encoder_layers
    from kgbuild.extraction.model import build_model

    model, tokenizer = build_model(config)
    torch.nn.init.normal_(model.shape_embedding.weight)
    encoded = [encode_words(tokenizer, x.text.tokens) for x in tiny_examples]
    model.eval()
    with torch.no_grad():
        plain, _ = model.encode(encoded)
        model.frozen_memo = {}
        calls = []
        encoder_layers(model.encoder)[0].register_forward_hook(lambda *_: calls.append(1))
        first, _ = model.encode(encoded)
        again, _ = model.encode(encoded[1:])  # windows already read: the lower layers do not run
    assert len(calls) == 1 and len(model.frozen_memo) > len(tiny_examples)
    torch.testing.assert_close(first, plain, rtol=0, atol=0)
    torch.testing.assert_close(again, plain[1:, : again.shape[1]], rtol=1e-6, atol=1e-6)
    model.train()
    with torch.no_grad():
        model.encode(encoded)  # training mode: the memo is not used
    assert len(calls) == 2


def test_a_half_precision_cache_is_half_the_size_and_close(config, tiny_examples, tmp_path):
    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.frozen import frozen_states
    from kgbuild.extraction.model import build_model

    model, tokenizer = build_model(config)
    encoded = [encode_words(tokenizer, x.text.tokens) for x in tiny_examples]
    full = frozen_states(model, encoded, tmp_path / "frozen.pt", "run", "float32", 2)
    half = frozen_states(model, encoded, tmp_path / "frozen.pt", "run", "float16", 2)  # another key: rebuilt
    assert half.states.dtype == torch.float16 and half.nbytes * 2 == full.nbytes
    torch.testing.assert_close(half.states.float(), full.states, rtol=1e-3, atol=1e-3)


def test_caching_without_frozen_layers_or_with_an_unknown_dtype_is_refused(tiny_config, tiny_examples, tmp_path):
    with pytest.raises(ValueError, match="needs --train-layers"):
        train(tiny_examples, tiny_examples, tmp_path / "m", tiny_config, CACHED, progress=False)
    with pytest.raises(ValueError, match=r"cache_frozen must be float32 or float16 \(or off\), got 'bf16'"):
        TrainSettings(cache_frozen="bf16")
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_runs_without_the_cache_keep_the_fingerprint_of_earlier_versions(tiny_config, tiny_examples):
    from dataclasses import asdict

    from kgbuild.extraction.checkpoint import fingerprint

    settings = asdict(SETTINGS)
    earlier = {key: value for key, value in settings.items() if key != "cache_frozen"}  # before the option
    config = tiny_config.to_json()
    assert fingerprint(config, settings, tiny_examples, "") == fingerprint(config, earlier, tiny_examples, "")
    assert fingerprint(config, asdict(CACHED), tiny_examples, "") != fingerprint(config, earlier, tiny_examples, "")


def test_cli_cache_frozen_trains_and_resumes_with_it(tiny_bert, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import kgbuild.extraction.train as training
    from kgbuild.cli import app

    data = str(Path(__file__).parent.parent / "data" / "conll04_tiny.json")
    args = ["train", "--data", data, "--holdout", "1", "--base-model", tiny_bert, "--epochs", "2", "--seed", "3"]
    args += ["--batch-size", "2", "--max-span-width", "4", "--threads", "1", "--train-layers", "1"]
    args += ["--cache-frozen", "float16"]
    runner = CliRunner()
    real_save = training.save_state

    def save_then_die(out_dir, state):  # type: ignore[no-untyped-def]
        real_save(out_dir, state)
        raise KilledError

    monkeypatch.setattr(training, "save_state", save_then_die)
    killed = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert isinstance(killed.exception, KilledError)
    assert (state_dir(tmp_path / "m") / "frozen.pt").is_file()
    monkeypatch.setattr(training, "save_state", real_save)
    resumed = runner.invoke(app, ["train", "--resume", str(tmp_path / "m")])
    assert resumed.exit_code == 0, resumed.output
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["settings"]["cache_frozen"] == "float16"
    bad = runner.invoke(app, [*args[:-1], "int8", "--out", str(tmp_path / "n")])
    assert bad.exit_code == 2 and "int8" in bad.output
    assert not (tmp_path / "n").exists()


def test_configs_without_converses_keep_the_fingerprint_of_earlier_versions(tiny_config, tiny_examples):
    import json
    from dataclasses import asdict, replace

    from kgbuild.extraction.checkpoint import fingerprint

    settings = asdict(SETTINGS)
    config = json.loads(tiny_config.to_json())
    earlier = json.dumps({key: value for key, value in config.items() if key != "relation_converses"})
    assert fingerprint(tiny_config.to_json(), settings, tiny_examples, "") == fingerprint(
        earlier, settings, tiny_examples, ""
    )
    with_converses = replace(tiny_config, relation_converses=(("a", "b"),)).to_json()
    assert fingerprint(with_converses, settings, tiny_examples, "") != fingerprint(earlier, settings, tiny_examples, "")

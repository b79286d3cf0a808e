"""The index's encoder arithmetic: bfloat16 vectors stay within a hair of fp32's; names are encoded once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kgbuild import encoding_precision, load_text_encoder, resolved_precision
from kgsearch.index import build_index
from tests.kgsearch.conftest import CORPUS

TEXTS = [
    "Betsy Ross was born in Philadelphia.",
    "Rome is in Lazio.",
    "Naples",
    "the Italian Agricultural Confederation",
]


def test_bf16_vectors_keep_the_fp32_directions(tiny_bert: str) -> None:
    encoder = load_text_encoder(tiny_bert)
    with encoding_precision("fp32"):
        exact = encoder.encode(TEXTS)
    with encoding_precision("bf16"):
        approximate = encoder.encode(TEXTS)
    assert approximate.dtype == np.float32
    cosines = (exact * approximate).sum(1)
    assert not np.array_equal(exact, approximate)  # bfloat16 did run
    assert cosines.min() > 0.999


def test_precision_is_checked_and_resolved() -> None:
    assert resolved_precision("fp32") == "fp32" and resolved_precision("bf16") == "bf16"
    assert resolved_precision("auto") in ("fp32", "bf16")
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, got 'fp16'"):
        encoding_precision("fp16")


class CountingEncoder:
    """The hashing double, counting the texts it is asked to encode."""

    def __init__(self) -> None:
        from kgbuild import HashingEncoder

        self.inner = HashingEncoder()
        self.name, self.dimension = self.inner.name, self.inner.dimension
        self.texts: list[str] = []

    def encode(self, texts, kind="passage", batch_size=64):  # type: ignore[no-untyped-def]
        self.texts += list(texts)
        return self.inner.encode(texts, kind, batch_size)


def test_a_name_shared_by_nodes_is_encoded_once_and_each_node_keeps_its_vector(search_kg: Path, tmp_path: Path) -> None:
    from kgbuild import HashingEncoder

    path = tmp_path / "kg"
    shutil.copytree(search_kg, path)
    counting = CountingEncoder()
    manifest = build_index(path, CORPUS, counting, "hashing", precision="fp32")
    assert manifest.precision == "fp32"
    names = [json.loads(line)[0] for line in (path / "search" / "names.jsonl").read_text("utf-8").splitlines()]
    assert len(set(names)) < len(names)  # the tiny graph has shared names (a title and its entity's label)
    encoded_names = counting.texts[-len(set(names)) :]
    assert sorted(encoded_names) == sorted(set(names))
    vectors = np.load(path / "search" / "name_vectors.npy")
    assert np.allclose(vectors, HashingEncoder().encode(names, "query").astype(np.float16), atol=1e-3)

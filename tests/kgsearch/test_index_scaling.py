"""The index's corpus-level steps computed in pieces give what they gave in one piece (bench/scale_curve.py)."""

import random

import numpy as np
import pytest

import kgsearch.edges as edges_module
from kgbuild import EntityFact
from kgsearch.graph import ALIAS, Node
from kgsearch.settings import SearchSettings

WORDS = ["jay", "z", "river", "john", "smith", "léonide", "moguy", "grammy", "award", "awards", "1931"]


def _entities(count: int, seed: int) -> list[EntityFact]:
    rng = random.Random(seed)
    entities = []
    for i in range(count):
        label = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        classes = ("Time",) if i % 7 == 0 else ("Person",)
        entities.append(EntityFact(f"https://x.org/entity/{i}", label, (), classes, (f"https://x.org/doc/{i}",)))
    return entities


def _alias_edges(entities: list[EntityFact], vectors: np.ndarray) -> list[tuple[int, int, float]]:
    offset = 5  # as if five passages came first
    nodes = [Node(e.iri, e.label, "entity") for e in entities]
    name_nodes = np.arange(offset, offset + len(entities), dtype=np.int64)
    edges = edges_module.alias_edges(
        nodes, tuple(entities), offset, vectors, [e.label for e in entities], name_nodes, SearchSettings()
    )
    assert set(edges.kind.tolist()) <= {ALIAS}
    return list(zip(edges.a.tolist(), edges.b.tolist(), edges.weight.tolist(), strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alias_edges_in_chunks_equal_one_pass(monkeypatch, seed):
    entities = _entities(120, seed)
    rng = np.random.default_rng(seed)
    # Vectors of a few directions plus noise, so that some pairs reach the 0.9 threshold and some do not.
    base = rng.standard_normal((4, 16)).astype(np.float32)
    vectors = base[rng.integers(0, 4, len(entities))] + 0.3 * rng.standard_normal((len(entities), 16)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    monkeypatch.setattr(edges_module, "_PAIR_CHUNK", 10**9)  # one piece: the code before chunking
    whole = _alias_edges(entities, vectors)
    monkeypatch.setattr(edges_module, "_PAIR_CHUNK", 7)
    chunked = _alias_edges(entities, vectors)

    assert whole, "the input must make alias edges, or the comparison says nothing"
    assert len(whole) < 120 * 119 // 2
    assert chunked == whole

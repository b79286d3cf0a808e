import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kgsearch import ann
from kgsearch.ann import HnswPassages, choose_kind
from kgsearch.encoder import HashingEncoder
from kgsearch.errors import SearchIndexError
from kgsearch.index import build_index, load_index
from kgsearch.search import Searcher
from tests.kgsearch.conftest import CORPUS

pytest.importorskip("faiss")


def _unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_hnsw_finds_the_exact_nearest_passages_with_their_exact_scores() -> None:
    passages, questions = _unit_vectors(2000, 32, seed=0), _unit_vectors(20, 32, seed=1)
    hnsw = replace(HnswPassages.build(passages), candidates=50)
    hnsw.index.hnsw.efSearch = 256
    for question in questions:
        exact = passages @ question
        approximate = hnsw.scores(question)
        top = np.argsort(-exact)[:10]
        assert set(np.argsort(-approximate)[:10].tolist()) == set(top.tolist())
        np.testing.assert_allclose(approximate[top], exact[top], rtol=1e-5)


def test_passages_beyond_the_candidates_take_the_median_of_an_exactly_scored_sample() -> None:
    passages = _unit_vectors(3 * ann.SAMPLE, 16, seed=2)
    hnsw = replace(HnswPassages.build(passages), candidates=20)
    scores, exact = hnsw.scores(passages[0]), passages @ passages[0]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)  # a passage is its own nearest neighbour
    exactly_scored = set(hnsw.sample.tolist()) | set(np.argsort(-scores)[:20].tolist())
    np.testing.assert_allclose(scores[sorted(exactly_scored)], exact[sorted(exactly_scored)], rtol=1e-5)
    median = np.median(exact[hnsw.sample])
    assert np.count_nonzero(scores == median) == len(passages) - len(exactly_scored)


def test_the_fusion_sees_nearly_the_exact_normalised_scores_of_the_nearest() -> None:
    passages, question = _unit_vectors(3 * ann.SAMPLE, 16, seed=5), _unit_vectors(1, 16, seed=6)[0]
    scores, exact = HnswPassages.build(passages).scores(question), passages @ question
    top = np.argsort(-exact)[:20]

    def normalised(values: np.ndarray) -> np.ndarray:
        return (values[top] - values.min()) / (values.max() - values.min())

    # the sample's lowest score stands for the corpus's: the candidates keep their place in the range
    np.testing.assert_allclose(normalised(scores), normalised(exact), atol=0.05)


def test_fewer_passages_than_candidates_are_all_scored_exactly() -> None:
    passages = _unit_vectors(5, 8, seed=3)
    scores = HnswPassages.build(passages).scores(passages[1])
    np.testing.assert_allclose(scores, passages @ passages[1], rtol=1e-5)


def test_auto_picks_hnsw_for_a_large_corpus_only() -> None:
    assert choose_kind("auto", 10) == "exact"
    assert choose_kind("auto", ann.AUTO_PASSAGES) == "hnsw"
    assert choose_kind("exact", 10**7) == "exact"


def test_unknown_kind_and_missing_faiss_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SearchIndexError, match="--ann must be one of auto, exact, hnsw, got 'flat'"):
        choose_kind("flat", 10)
    monkeypatch.setattr(ann, "faiss_available", lambda: False)
    assert choose_kind("auto", 10**7) == "exact"  # auto falls back to exact search
    with pytest.raises(SearchIndexError, match="kgbuild\\[ann\\]"):
        choose_kind("hnsw", 10)


def test_an_hnsw_index_ranks_as_the_exact_one(indexed_kg: Path, tmp_path: Path) -> None:
    path = tmp_path / "kg"
    shutil.copytree(indexed_kg, path)
    build_index(path, CORPUS, HashingEncoder(), "hashing", ann="hnsw")
    assert json.loads((path / "search" / "manifest.json").read_text())["ann"] == "hnsw"
    approximate, exact = load_index(path), load_index(indexed_kg)
    assert approximate.ann is not None and exact.ann is None
    for question in ("Who is the director of Polish Wedding?", "who is honoured at weddings"):
        results = [
            Searcher(index, HashingEncoder(), nlp=False).with_settings(dense_weight=1.0).search(question, k=5)
            for index in (approximate, exact)
        ]
        assert [(h.passage.id, round(h.score, 6)) for h in results[0].hits] == [
            (h.passage.id, round(h.score, 6)) for h in results[1].hits
        ]


def test_an_hnsw_file_that_does_not_match_the_passages_is_refused(indexed_kg: Path, tmp_path: Path) -> None:
    path = tmp_path / "kg"
    shutil.copytree(indexed_kg, path)
    build_index(path, CORPUS, HashingEncoder(), "hashing", ann="hnsw")
    HnswPassages.build(_unit_vectors(3, 64, seed=4)).save(path / "search" / ann.FILE_NAME)
    with pytest.raises(SearchIndexError, match="holds 3 vectors for 5 passages; rebuild"):
        load_index(path)

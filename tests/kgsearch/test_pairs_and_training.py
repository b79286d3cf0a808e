import json
from pathlib import Path

import numpy as np
import pytest

from kgbuild import read_facts
from kgsearch.encoder import HashingEncoder, load_encoder
from kgsearch.errors import TrainingError
from kgsearch.pairs import TrainingPair, graph_pairs, read_pairs
from kgsearch.train import RetrieverTrainSettings, _batches, train_retriever


def test_graph_pairs_ask_about_a_triple_and_point_at_its_passage(search_kg: Path) -> None:
    pairs = graph_pairs(read_facts(search_kg), min_confidence=0.7)
    assert TrainingPair("Who was Polish Wedding's director?", "polish-wedding") in pairs
    assert TrainingPair("Who is the mother of Theresa Connelly?", "theresa-connelly") in pairs
    assert TrainingPair("Who is the spouse of Lena Olin?", "lena-olin") in pairs
    assert len(pairs) == 5  # six triples, one (residence, 0.62) below the confidence floor
    assert not any("residence" in p.query for p in pairs)


def test_read_pairs_takes_pairs_and_questions_files(tmp_path: Path) -> None:
    pairs_file = tmp_path / "pairs.jsonl"
    pairs_file.write_text('{"query": "q", "passage": "p1"}\n\n', encoding="utf-8")
    questions_file = tmp_path / "questions.jsonl"
    questions_file.write_text('{"id": "1", "question": "q2", "gold": ["a", "b"]}\n', encoding="utf-8")
    assert read_pairs(pairs_file) == [TrainingPair("q", "p1")]
    assert read_pairs(questions_file) == [TrainingPair("q2", "a"), TrainingPair("q2", "b")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "passage": "p"}\n{"nothing": 1}\n', encoding="utf-8")
    with pytest.raises(TrainingError, match=r"bad.jsonl:2"):
        read_pairs(bad)


def test_batches_never_hold_one_passage_twice() -> None:
    import random

    pairs = [TrainingPair(f"q{i}", f"p{i % 3}") for i in range(12)]
    for batch in _batches(list(pairs), 3, random.Random(0)):
        assert len({p.passage for p in batch}) == len(batch)


def test_training_moves_queries_to_their_passages_and_saves_a_loadable_encoder(tiny_bert: str, tmp_path: Path) -> None:
    rows = json.loads((Path(__file__).parent.parent / "data" / "conll04_test_slice.json").read_text())[:6]
    # Lower-cased: the tiny tokenizer reloads without its lower-casing, and its vocabulary is lower case.
    passages = {f"s{i}": " ".join(row["tokens"]).lower() for i, row in enumerate(rows)}
    pairs = [  # the query is the sentence's first entity: words the tiny vocabulary knows
        TrainingPair(" ".join(row["tokens"][row["entities"][0][0] : row["entities"][0][1]]).lower(), f"s{i}")
        for i, row in enumerate(rows)
    ]
    settings = RetrieverTrainSettings(
        epochs=60, batch_size=6, learning_rate=1e-3, warmup=0.0, hard_negatives=False, seed=1
    )
    out = tmp_path / "encoder"
    record = train_retriever(pairs, passages, out, tiny_bert, settings)
    history = record["training"]["history"]
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    encoder = load_encoder(out)
    ids = sorted(passages)
    vectors = encoder.encode([passages[i] for i in ids])
    queries = encoder.encode([p.query for p in pairs], kind="query")
    best = [ids[i] for i in np.argmax(queries @ vectors.T, axis=1)]
    assert best == [p.passage for p in pairs]
    settings_file = json.loads((out / "kgsearch-encoder.json").read_text())
    assert settings_file["base_model"] == tiny_bert and settings_file["pooling"] == "mean"
    assert not any(name.endswith(".partial") for name in (p.name for p in tmp_path.iterdir()))


def test_training_refuses_pairs_whose_passage_is_missing(tiny_bert: str, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="not in the corpus"):
        train_retriever(
            [TrainingPair("q", "nowhere"), TrainingPair("r", "a")], {"a": "text"}, tmp_path / "e", tiny_bert
        )
    assert not (tmp_path / "e").exists()


def test_hashing_encoder_is_deterministic_and_unit_length() -> None:
    first = HashingEncoder(32).encode(["Polish Wedding", "a film"])
    second = HashingEncoder(32).encode(["Polish Wedding", "a film"])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    similar = HashingEncoder(32).encode(["Polish Wedding film", "Polish Wedding", "Detroit Michigan"])
    assert similar[0] @ similar[1] > similar[0] @ similar[2]

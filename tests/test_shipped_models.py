"""Integration tests on the shipped models (real all-MiniLM-L6-v2 base encoder, real data slices)."""

from pathlib import Path

import pytest

from kgbuild.extraction.datasets import read_examples
from kgbuild.settings import MODELS_DIR, SHIPPED_MODELS

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def conll04():
    from kgbuild.extraction.extractor import RelationExtractor

    return RelationExtractor.load(MODELS_DIR / "conll04")


def test_shipped_conll04_model_scores_on_a_committed_test_slice(conll04):
    from kgbuild.extraction.evaluate import evaluate

    report = evaluate(conll04, read_examples(DATA / "conll04_test_slice.json"))
    # Measured on this slice: 86.71 / 69.19 / 80.22 (the full test set: models/conll04/README.md).
    # The margin absorbs float differences between machines, not a regression.
    assert report["entities"]["micro"]["f1"] >= 84.0
    assert report["relations_end_to_end"]["micro"]["f1"] >= 62.0
    assert report["relations_gold_entities"]["micro"]["f1"] >= 75.0


def test_shipped_models_fit_the_size_budget():
    for name in (*SHIPPED_MODELS, "retriever-scifact"):
        size = sum(p.stat().st_size for p in (MODELS_DIR / name).iterdir())
        assert size <= 30 * 1024 * 1024, f"{name}: {size / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", ["wikidata", "wikidata-all"])
def test_wikidata_model_reads_a_wikipedia_passage_end_to_end(name):
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.parsing import SpacyParser
    from kgbuild.pipeline import extract_documents, found_relations
    from kgbuild.records import Document

    text = (
        "Teutberga (died 11 November 875) was a queen of Lotharingia by marriage to Lothair II. "
        "She was a daughter of Bosonid Boso the Elder and sister of Hucbert."
    )
    extractor = RelationExtractor.load(MODELS_DIR / name)
    [result] = extract_documents([Document("t", text)], extractor, SpacyParser())
    names = {result.parsed.surface(e.mentions[0]) for e in result.extraction.entities}
    assert {"Teutberga", "Lothair II"} <= names
    assert all(0.0 <= r.confidence <= 1.0 for r in found_relations(result))


def test_shipped_retriever_loads_offline_and_ranks_a_claim_first():
    from kgsearch.encoder import load_encoder

    encoder = load_encoder(MODELS_DIR / "retriever-scifact")
    passages = encoder.encode(
        ["Vitamin D supplementation reduces fracture risk in elderly women.", "The Eiffel Tower is in Paris."]
    )
    query = encoder.encode(["vitamin D lowers fractures"], kind="query")
    assert (query @ passages.T).argmax() == 0

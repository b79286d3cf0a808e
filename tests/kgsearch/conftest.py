"""A tiny knowledge graph built by kgbuild's own pipeline from scripted extractions, and its search index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgbuild import Extraction, PredictedEntity, PredictedRelation, Span, TokenizedText

DATA = Path(__file__).parent.parent / "data"
CORPUS = DATA / "search_corpus.jsonl"


class ScriptedExtractor:
    """An extractor double: finds the entities and relations `search_extractions.json` lists for each text."""

    def __init__(self, script: dict[str, dict[str, list[list[object]]]]):
        self.script = script

    def extract(self, texts: list[TokenizedText], batch_size: int = 32) -> list[Extraction]:
        return [self._extract(text) for text in texts]

    def _extract(self, text: TokenizedText) -> Extraction:
        found = self.script[text.id]
        entities, position = [], {}
        for surface, kind in found["entities"]:
            words = str(surface).split()
            spans = tuple(
                Span(i, i + len(words))
                for i in range(len(text.tokens) - len(words) + 1)
                if list(text.tokens[i : i + len(words)]) == words
            )
            assert spans, f"{surface!r} not in {text.id}"
            position[surface] = len(entities)
            entities.append(PredictedEntity(spans, str(kind), 0.9))
        relations = tuple(
            PredictedRelation(position[head], position[tail], str(label), float(confidence))  # type: ignore[arg-type]
            for head, label, tail, confidence in found["relations"]
        )
        return Extraction(text, tuple(entities), relations)


@pytest.fixture(scope="session")
def search_kg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the tiny graph once per run with kgbuild's pipeline; return the knowledge-graph directory."""
    from kgbuild import KnowledgeGraphDir, SpacyParser, build_knowledge_graph, read_corpus

    script = json.loads((DATA / "search_extractions.json").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("kg") / "kg"
    report = build_knowledge_graph(
        read_corpus(CORPUS),
        KnowledgeGraphDir(path, create=True),
        ScriptedExtractor(script),
        SpacyParser(),
        "scripted",
        "1",
    )
    assert report.documents == 5 and not report.failed
    return path


@pytest.fixture(scope="session")
def indexed_kg(search_kg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny graph with a search index built with the hashing encoder."""
    import shutil

    from kgsearch.encoder import HashingEncoder
    from kgsearch.index import build_index

    path = tmp_path_factory.mktemp("indexed") / "kg"
    shutil.copytree(search_kg, path)
    build_index(path, CORPUS, HashingEncoder(), "hashing")
    return path


@pytest.fixture()
def searcher(indexed_kg: Path):  # type: ignore[no-untyped-def]
    from kgsearch.encoder import HashingEncoder
    from kgsearch.index import load_index
    from kgsearch.search import Searcher

    return Searcher(load_index(indexed_kg), HashingEncoder(), nlp=False)

"""What the engine tests share: a small corpus, a build with the tiny model, and the graphs to compare."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kgbuild import BuildReport, Document, KnowledgeGraphDir, SpacyParser, build_knowledge_graph

SENTENCES = [
    "Betsy Ross was born in Philadelphia.",
    "Rome is in Lazio.",
    "Mikhail Shevtsov works for ITAR-TASS.",
    "Naples is in Campania.",
    "Bruno Pusterla works for the Italian Agricultural Confederation.",
]
BATCH = 2  # the extractor's batch on every engine: windows of 16 documents


def documents(count: int) -> list[Document]:
    """`count` documents, each the five sentences rotated."""
    return [Document(f"d{i:02d}", " ".join(SENTENCES[i % 5 :] + SENTENCES[: i % 5]), f"T{i}") for i in range(count)]


def build(kg_path: Path, model_dir: str, corpus: Sequence[Document], engine: Any = None) -> BuildReport:
    """Build `corpus` into `kg_path` with the tiny model (alias merges with the hashing double), on `engine`."""
    from kgbuild.extraction.extractor import RelationExtractor

    kg = KnowledgeGraphDir(kg_path, create=True)
    kg.configure_resolution(name_encoder="hashing")  # alias merges run, with the deterministic double
    extractor = RelationExtractor.load(model_dir)
    return build_knowledge_graph(
        corpus, kg, extractor, SpacyParser(), "tiny", extractor.version, min_confidence=0.0, batch_size=BATCH,
        engine=engine,
    )  # fmt: skip


def document_files(kg_path: Path) -> dict[str, str]:
    """Every document file of the graph, by name."""
    return {file.name: file.read_text(encoding="utf-8") for file in (kg_path / "documents").glob("*.nq")}


def store_quads(kg_path: Path) -> set[str]:
    """The store's quads outside the runs' own graphs (those hold each run's timestamps)."""
    store = KnowledgeGraphDir(kg_path).store()
    return {str(quad) for quad in store if "/run/" not in str(quad.graph_name)}

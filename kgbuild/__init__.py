"""kgbuild: turn a text corpus into an RDF knowledge graph with provenance and confidence.

The public API is re-exported here; torch and transformers load only when a model is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kgbuild.corpus import CorpusProblem, Fields, read_corpus
from kgbuild.errors import DataFormatError, InputTextError, KgBuildError, LabelError, ModelLoadError
from kgbuild.extraction.datasets import read_examples
from kgbuild.extraction.evaluate import evaluate, score_extractions
from kgbuild.parsing import SpacyParser
from kgbuild.pipeline import DocumentExtraction, FoundRelation, extract_documents, found_relations
from kgbuild.records import (
    Document,
    EntityAnnotation,
    Example,
    Extraction,
    ParsedDocument,
    PredictedEntity,
    PredictedRelation,
    RelationAnnotation,
    Span,
    TokenizedText,
)

if TYPE_CHECKING:
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.train import TrainSettings, train

_LAZY = {
    "RelationExtractor": "kgbuild.extraction.extractor",
    "TrainSettings": "kgbuild.extraction.train",
    "train": "kgbuild.extraction.train",
}

__all__ = [
    "CorpusProblem",
    "DataFormatError",
    "Document",
    "DocumentExtraction",
    "EntityAnnotation",
    "Example",
    "Extraction",
    "Fields",
    "FoundRelation",
    "InputTextError",
    "KgBuildError",
    "LabelError",
    "ModelLoadError",
    "ParsedDocument",
    "PredictedEntity",
    "PredictedRelation",
    "RelationAnnotation",
    "RelationExtractor",
    "SpacyParser",
    "Span",
    "TokenizedText",
    "TrainSettings",
    "evaluate",
    "extract_documents",
    "found_relations",
    "read_corpus",
    "read_examples",
    "score_extractions",
    "train",
]


def __getattr__(name: str) -> Any:
    """Import torch-backed names on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgbuild' has no attribute {name!r}")

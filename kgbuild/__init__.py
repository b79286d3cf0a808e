"""kgbuild: turn a text corpus into an RDF knowledge graph with provenance and confidence.

The public API is re-exported here; torch and transformers load only when a model is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kgbuild.corpus import CorpusProblem, Fields, read_corpus
from kgbuild.embedding import (
    BertEncoder,
    Encoder,
    HashingEncoder,
    bert_encoder,
    encoding_precision,
    hashing_encoder,
    load_text_encoder,
    resolved_precision,
)
from kgbuild.errors import (
    CheckpointError,
    ClusterError,
    DataFormatError,
    InputTextError,
    KgBuildError,
    LabelError,
    ModelLoadError,
    PackageDataError,
    QueryBusyError,
    QueryError,
    QueryFailedError,
    QueryRefusedError,
    QuerySyntaxError,
    QueryTimeoutError,
    RemoteStoreError,
    WorkerError,
)
from kgbuild.extraction.datasets import read_examples
from kgbuild.extraction.evaluate import evaluate, score_extractions
from kgbuild.facts import DocumentFact, EntityFact, GraphFacts, TripleFact, read_facts
from kgbuild.parsing import SpacyParser, load_spacy
from kgbuild.pipeline import (
    BuildReport,
    DocumentExtraction,
    DocumentGraph,
    DocumentParser,
    FoundRelation,
    GraphSettings,
    GraphStore,
    RelationModel,
    build_knowledge_graph,
    extract_documents,
    found_relations,
)
from kgbuild.ray_engine import RayEngine
from kgbuild.rdf.iris import IriMinter, MintedIri, document_id, local_name, normalize_label, parse_iri
from kgbuild.rdf.query import CheckedQuery, QueryResult, Term, check_read_only
from kgbuild.rdf.remote import PushReport, push
from kgbuild.rdf.runner import QueryRunner
from kgbuild.rdf.store import KnowledgeGraphDir, export_text, write_atomically
from kgbuild.rdf.vocabulary import relation_names, sparql_prefixes
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
from kgbuild.resolution import best_title_match, title_name

if TYPE_CHECKING:
    from kgbuild.extraction.extractor import RelationExtractor
    from kgbuild.extraction.train import TrainSettings, train
    from kgbuild.rdf.graph import GraphSummary, graph_summary

_LAZY = {
    "GraphSummary": "kgbuild.rdf.graph",
    "graph_summary": "kgbuild.rdf.graph",
    "RelationExtractor": "kgbuild.extraction.extractor",
    "TrainSettings": "kgbuild.extraction.train",
    "train": "kgbuild.extraction.train",
}

__all__ = [
    "BertEncoder",
    "BuildReport",
    "CheckedQuery",
    "CheckpointError",
    "ClusterError",
    "CorpusProblem",
    "DataFormatError",
    "Document",
    "DocumentExtraction",
    "DocumentFact",
    "DocumentGraph",
    "DocumentParser",
    "Encoder",
    "EntityAnnotation",
    "EntityFact",
    "Example",
    "Extraction",
    "Fields",
    "FoundRelation",
    "GraphFacts",
    "GraphSettings",
    "GraphStore",
    "GraphSummary",
    "HashingEncoder",
    "InputTextError",
    "IriMinter",
    "KgBuildError",
    "KnowledgeGraphDir",
    "LabelError",
    "MintedIri",
    "ModelLoadError",
    "PackageDataError",
    "ParsedDocument",
    "PredictedEntity",
    "PredictedRelation",
    "PushReport",
    "QueryBusyError",
    "QueryError",
    "QueryFailedError",
    "QueryRefusedError",
    "QueryResult",
    "QueryRunner",
    "QuerySyntaxError",
    "QueryTimeoutError",
    "RayEngine",
    "RelationAnnotation",
    "RelationExtractor",
    "RelationModel",
    "RemoteStoreError",
    "SpacyParser",
    "Span",
    "Term",
    "TokenizedText",
    "TrainSettings",
    "TripleFact",
    "WorkerError",
    "bert_encoder",
    "best_title_match",
    "build_knowledge_graph",
    "check_read_only",
    "document_id",
    "encoding_precision",
    "evaluate",
    "export_text",
    "extract_documents",
    "found_relations",
    "graph_summary",
    "hashing_encoder",
    "load_spacy",
    "load_text_encoder",
    "local_name",
    "normalize_label",
    "parse_iri",
    "push",
    "read_corpus",
    "read_examples",
    "read_facts",
    "relation_names",
    "resolved_precision",
    "score_extractions",
    "sparql_prefixes",
    "title_name",
    "train",
    "write_atomically",
]


def __getattr__(name: str) -> Any:
    """Import torch- and rdflib-backed names on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgbuild' has no attribute {name!r}")

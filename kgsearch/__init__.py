"""kgsearch: answer questions from a knowledge graph built by kgbuild, every hit explained.

The public API is re-exported here; torch and transformers load only when an encoder is used.
"""

from __future__ import annotations

from kgbuild import BertEncoder, Encoder, HashingEncoder
from kgsearch.encoder import load_encoder
from kgsearch.errors import KgSearchError, QueryError, SearchIndexError, TrainingError
from kgsearch.evaluate import Question, beir_to_questions, evaluate_rankings, read_questions
from kgsearch.explore import EntityPage, GraphExplorer, TripleView
from kgsearch.index import SearchIndex, build_index, load_index
from kgsearch.pairs import TrainingPair, graph_pairs, read_pairs
from kgsearch.records import Hop, LinkedMention, Passage, ReadQuestion, SearchHit, SearchResult
from kgsearch.search import Searcher
from kgsearch.settings import SearchSettings

__all__ = [
    "BertEncoder",
    "Encoder",
    "EntityPage",
    "GraphExplorer",
    "HashingEncoder",
    "Hop",
    "KgSearchError",
    "LinkedMention",
    "Passage",
    "QueryError",
    "Question",
    "ReadQuestion",
    "SearchHit",
    "SearchIndex",
    "SearchIndexError",
    "SearchResult",
    "SearchSettings",
    "Searcher",
    "TrainingError",
    "TrainingPair",
    "TripleView",
    "beir_to_questions",
    "build_index",
    "evaluate_rankings",
    "graph_pairs",
    "load_encoder",
    "load_index",
    "read_pairs",
    "read_questions",
]

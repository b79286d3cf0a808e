"""Typed records that cross stage boundaries in `kgsearch`: passages, linked mentions, hits and their paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage of the corpus: its id (the document id), title, text and its document IRI in the graph."""

    id: str
    title: str
    text: str
    iri: str


@dataclass(frozen=True, slots=True)
class LinkedMention:
    """A span of the question linked to a graph node (an entity, or a passage by its title).

    ``how`` says what linked it: ``title``, ``short title`` (the title without its disambiguator),
    ``label``, ``alias`` or ``embedding``; ``weight`` is the seed weight it gives the traversal (higher
    for rarer, more specific names).
    """

    text: str
    start: int
    end: int
    node: str
    label: str
    how: str
    similarity: float
    weight: float


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of an explanation path, with its share of the hit's graph score.

    ``kind`` is ``mention`` (question span -> node), ``relation`` (entity -> entity through an extracted
    triple), ``alias`` (entity -> entity by name similarity), ``title`` or ``mentioned_in``
    (entity -> passage), ``name`` (entity -> a passage its name titles) or ``text`` (passage -> an entity
    it names right after a word of the asked relation). Relation hops carry the triple's predicate,
    confidence and source sentence; text hops the cue word (as ``predicate_label``) and the sentence.
    """

    kind: str
    source: str
    target: str
    source_label: str
    target_label: str
    contribution: float
    predicate: str = ""
    predicate_label: str = ""
    confidence: float = 0.0
    sentence: str = ""
    sentence_document: str = ""
    statement: str = ""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A ranked passage with its scores and the path that led to it.

    ``dense_score`` is None where the bi-encoder was not run: the settings give it no weight and the
    question linked into the graph.
    """

    rank: int
    passage: Passage
    score: float
    graph_score: float
    dense_score: float | None
    lexical_score: float
    path: tuple[Hop, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The hits of one question and how the question was read."""

    question: str
    hits: tuple[SearchHit, ...]
    mentions: tuple[LinkedMention, ...]
    relation_cues: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadQuestion:
    """What search reads off a question before the walk: mentions, cues, and every passage's dense and BM25 score.

    ``dense`` and ``lexical`` are float arrays in passage order; ``dense`` is None where it was not needed
    (see `Searcher.read`).
    """

    question: str
    mentions: tuple[LinkedMention, ...]
    cues: tuple[str, ...]
    dense: Any
    lexical: Any

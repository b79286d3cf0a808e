"""The one place that wires `kgsearch`'s stages: link -> cues -> restart -> walk -> scores -> fuse -> explain.

`Searcher` is the Python API the CLI and the app share::

    searcher = Searcher.open("kg")
    result = searcher.search("Who is the mother of the director of film Polish Wedding?", k=5)
    for hit in result.hits:
        print(hit.rank, hit.passage.title, hit.score, [hop.kind for hop in hit.path])
"""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from kgbuild import Encoder, local_name, relation_names
from kgsearch.cues import parse_cue, relation_cues
from kgsearch.encoder import load_encoder
from kgsearch.errors import QueryError
from kgsearch.explain import best_paths
from kgsearch.index import SearchIndex, load_index
from kgsearch.linking import Linker
from kgsearch.records import LinkedMention, ReadQuestion, SearchHit, SearchResult
from kgsearch.restart import Seed, TextCue, TextCues, restart
from kgsearch.settings import SearchSettings
from kgsearch.text import words
from kgsearch.where import matching_passages

MAX_QUESTION_CHARS = 1000
NO_LINK_NOTE = "no entity of the question was found in the graph: ranked by the dense (and lexical) scores alone"


class Searcher:
    """Answer questions over one search index; models and index load once, then each query takes milliseconds.

    Args:
        nlp: a spaCy pipeline for the question's entities (loaded on first use when None); False
            switches linking by embedding off, leaving exact name matches.

    """

    def __init__(self, index: SearchIndex, encoder: Encoder, settings: SearchSettings | None = None, nlp: Any = None):
        self.index = index
        self.encoder = encoder
        self.settings = settings or index.settings
        self.linker = Linker(index, nlp)
        graph = index.graph
        self._predicate_of_label = {local_name(p): i for i, p in enumerate(graph.predicates)}
        self._passage_of_iri = {p.iri: i for i, p in enumerate(index.passages)}
        self._transitions: dict[Any, Any] = {}
        self._transitions_lock = threading.Lock()
        self._text_cues = TextCues(index)

    @classmethod
    def open(
        cls,
        kg_dir: str | Path,
        encoder: Encoder | None = None,
        settings: SearchSettings | None = None,
        threads: int | None = None,
    ) -> Searcher:
        """Load the index of `kg_dir` and the encoder it was built with (or the given one).

        Args:
            threads: if given, torch's intra-op threads for this process (`torch.set_num_threads`).
                Serving takes 1: one question is too small a batch to split, and on two cores the
                encoder's spinning threads slow numpy's matrix products (2Wiki p50: 114 ms at 2, 53 at 1).

        """
        if threads:
            import torch

            torch.set_num_threads(threads)
        index = load_index(kg_dir)
        return cls(index, encoder or load_encoder(index.manifest.encoder), settings)

    def warm_up(self) -> None:
        """Load now what the first search would load lazily (spaCy, the encoder's first pass, the explanations).

        A server calls it at start, so that its first question is answered as fast as the next ones.
        """
        if self.linker.embeds:
            _ = self.linker.nlp
        self._encode_texts(["warm up"])
        title = next((p.title for p in self.index.passages if p.title), "")
        if title:
            self.search(title, k=1)

    def with_settings(self, **changes: Any) -> Searcher:
        """Return a searcher over the same index and models with some settings changed."""
        searcher = copy.copy(self)
        searcher.settings = replace(self.settings, **changes)
        searcher._transitions, searcher._transitions_lock = {}, threading.Lock()
        return searcher

    @cached_property
    def _store(self) -> Any:
        """The graph's read-only store, opened on the first --where query (the index checked staleness at load)."""
        from kgbuild import KnowledgeGraphDir

        return KnowledgeGraphDir(self.index.path.parent).store()

    def link(self, question: str) -> list[LinkedMention]:
        """Link the question's spans to graph nodes: exact names first, then spaCy entities by embedding."""
        exact = self.linker.exact(question)
        spans = self.linker.free_spans(question, exact)
        vectors = self._encode_texts([question[s:e] for s, e in spans])
        return self.linker.similar(question, exact, spans, vectors, self.settings.link_threshold)

    def _encode_texts(self, texts: list[str]) -> dict[str, Any]:
        """Query vectors of distinct texts, in one encoder call."""
        distinct = list(dict.fromkeys(texts))
        return dict(zip(distinct, self.encoder.encode(distinct, kind="query"), strict=True)) if distinct else {}

    def search(
        self, question: str, k: int = 10, where: str | None = None, explain: bool = True, runner: Any = None
    ) -> SearchResult:
        """Rank passages for `question`; each hit carries its scores and the path that explains it.

        Args:
            where: a SPARQL graph pattern binding ``?passage``; only passages it matches are ranked.
            explain: find each hit's path (False skips it, for evaluation runs).
            runner: a `kgbuild.QueryRunner` that evaluates `where` in a worker process stopped at its time
                limit (its row limit must exceed the passages); None evaluates it here, without a limit.

        Raises:
            QueryError: an empty or overlong question, ``k <= 0``, or a malformed `where` pattern; with a
                runner, also a pattern that ran past its time limit or a runner too busy to take it.

        """
        if k <= 0:
            raise QueryError(f"k must be > 0, got {k}")
        allowed = self.matching_passages(where, runner) if where else None
        return self.rank(self.read(question), k, allowed, explain)

    def read(self, question: str, dense: bool | None = None) -> ReadQuestion:
        """Read a question: its linked mentions, relation cues, and the BM25 and dense scores of every passage.

        Args:
            dense: score every passage with the bi-encoder. None (the default): where the settings weigh
                it; `rank` scores a reading without them where it needs them (nothing linked: the fallback).
                The encoder, about half of a 2Wiki search's time, then runs only for question spans that
                need linking by embedding. True: always (to rank one reading under several settings).

        Raises:
            QueryError: an empty or overlong question.

        """
        import numpy as np

        question = question.strip()
        if not question:
            raise QueryError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise QueryError(f"the question has {len(question)} characters; at most {MAX_QUESTION_CHARS} are searched")
        exact = self.linker.exact(question)
        spans = self.linker.free_spans(question, exact)
        scored = dense or (dense is None and self._weighs_dense())
        texts = [question] * bool(scored) + [question[s:e] for s, e in spans]
        vectors = self._encode_texts(texts)  # one encoder call
        lexical = np.asarray(self.index.bm25.get_scores(words(question)), dtype=np.float64)
        mentions = self.linker.similar(question, exact, spans, vectors, self.settings.link_threshold)
        dense_scores = self.index.dense_scores(vectors[question]) if scored else None
        return ReadQuestion(question, tuple(mentions), relation_cues(question), dense_scores, lexical)

    def _weighs_dense(self) -> bool:
        settings = self.settings
        return settings.dense_weight > 0 or settings.dense_prior > 0 or settings.titled_dense_prior > 0

    def rank(self, read: ReadQuestion, k: int = 10, allowed: Any = None, explain: bool = True) -> SearchResult:
        """Walk the graph from a read question, fuse the scores and return the top `k` hits.

        Args:
            allowed: optional boolean mask of the passages that may be hits.

        """
        import numpy as np

        settings, index, graph = self.settings, self.index, self.index.graph
        mentions, dense, lexical = list(read.mentions), read.dense, read.lexical
        if dense is None and (self._weighs_dense() or not mentions):  # read under settings that did not need it
            dense = self.index.dense_scores(self._encode_texts([read.question])[read.question])
        notes: list[str] = []
        graph_scores = np.zeros(graph.passages)
        transition, rank = None, None
        seeds: list[Seed] = []
        text_hops: list[TextCue] = []
        if mentions:
            cued = frozenset(
                (self._predicate_of_label[label], forward)
                for label, forward in map(parse_cue, read.cues)
                if label in self._predicate_of_label
            )
            # dense: set whenever the settings weigh it (`_weighs_dense`), so wherever restart gives a dense prior
            seeds, personalization, text_hops = restart(
                graph, settings, mentions, dense, cued, read.cues, self._text_cues
            )
            boosts = dict.fromkeys(cued, settings.cue_boost)
            relation = settings.relation_weight if settings.use_relations else 0.0
            kinds = (
                settings.title_weight,
                settings.mention_weight,
                relation,
                settings.alias_weight,
                settings.name_weight,
            )
            boosted = tuple(sorted(boosts.items()))
            namesake = settings.namesake_weight
            transition = self._transition(kinds, boosted, namesake)  # row order: the explanations read it too
            walked = (
                self._transition(kinds, boosted, namesake, by_column=True)
                if settings.walk_threshold > 0
                else transition
            )
            rank = graph.pagerank(
                walked, personalization, settings.damping, settings.walk_iterations, threshold=settings.walk_threshold
            )
            graph_scores = rank[: graph.passages]
        else:
            notes.append(NO_LINK_NOTE)
        # Nothing linked: the walk has no seeds, so the dense score takes the walk's weight as well.
        dense_weight = settings.dense_weight + (0.0 if mentions else settings.graph_weight)
        fused = (
            settings.graph_weight * _max_normalised(graph_scores)
            + dense_weight * (_range_normalised(dense) if dense is not None else 0.0)
            + settings.lexical_weight * _max_normalised(lexical)
        )
        if allowed is not None:
            fused = np.where(allowed, fused, -np.inf)
        top = np.argpartition(-fused, min(k, len(fused) - 1))[: k + 1] if len(fused) > k + 1 else np.arange(len(fused))
        order = [int(i) for i in sorted(top.tolist(), key=lambda i: (-fused[i], i))[:k] if np.isfinite(fused[i])]
        paths = (
            best_paths(
                graph,
                transition,
                seeds,
                set(order),
                index.triples,
                relation_names(),
                rank,
                [self._text_cues.hop(cue, seeds, personalization) for cue in text_hops],
            )
            if transition is not None and explain
            else {}
        )
        unexplained = "reached by the dense and lexical scores, not the graph"
        hits = tuple(
            SearchHit(
                rank,
                index.passages[i],
                float(fused[i]),
                float(graph_scores[i]),
                None if dense is None else float(dense[i]),
                float(lexical[i]),
                paths.get(i, ()),
                "" if i in paths or not explain else unexplained,
            )
            for rank, i in enumerate(order, start=1)
        )
        return SearchResult(read.question, hits, read.mentions, read.cues, tuple(notes))

    def _transition(
        self,
        kinds: tuple[float, ...],
        boosts: tuple[tuple[tuple[int, bool], float], ...],
        namesake: float = 1.0,
        by_column: bool = False,
    ) -> Any:
        """Return the walk's transition matrix for these edge weights; the last few are kept (cues repeat).

        `by_column` gives it in CSC form, whose columns a thresholded walk reads (`SearchGraph.pagerank`).
        """
        key = (kinds, boosts, namesake, by_column)
        with self._transitions_lock:  # the app shares one searcher between sessions' threads
            matrix = self._transitions.get(key)
            if matrix is None:
                graph = self.index.graph
                matrix = graph.transition(graph.edge_weights(kinds, dict(boosts), namesake))
                if by_column:
                    matrix = matrix.tocsc()
                if len(self._transitions) >= _TRANSITIONS_KEPT:
                    self._transitions.pop(next(iter(self._transitions)))
                self._transitions[key] = matrix
        return matrix

    def matching_passages(self, where: str, runner: Any = None) -> Any:
        """Boolean mask of the passages whose graph matches the SPARQL pattern `where` (`kgsearch.where`)."""
        return matching_passages(where, len(self.index.passages), self._passage_of_iri, lambda: self._store, runner)


_TRANSITIONS_KEPT = 16


def _max_normalised(scores: Any) -> Any:
    top = scores.max() if len(scores) else 0.0
    return scores / top if top > 0 else scores * 0.0


def _range_normalised(scores: Any) -> Any:
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else scores * 0.0

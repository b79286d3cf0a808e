"""The one place that wires `kgsearch`'s stages: link -> cues -> walk -> dense and lexical scores -> fuse -> explain.

`Searcher` is the Python API the CLI and the app share::

    searcher = Searcher.open("kg")
    result = searcher.search("Who is the mother of the director of film Polish Wedding?", k=5)
    for hit in result.hits:
        print(hit.rank, hit.passage.title, hit.score, [hop.kind for hop in hit.path])
"""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from kgbuild import Encoder, local_name, relation_names, sparql_prefixes
from kgsearch.cues import evidence_words, parse_cue, relation_cues
from kgsearch.encoder import load_encoder
from kgsearch.errors import QueryError
from kgsearch.explain import TextHop, best_paths
from kgsearch.graph import MENTION, NAME, RELATION, TITLE
from kgsearch.index import SearchIndex, load_index
from kgsearch.linking import TITLE_LINKS, Linker
from kgsearch.records import LinkedMention, ReadQuestion, SearchHit, SearchResult
from kgsearch.settings import SearchSettings
from kgsearch.text import words

MAX_QUESTION_CHARS = 1000
NO_LINK_NOTE = "no entity of the question was found in the graph: ranked by the dense (and lexical) scores alone"


class _TextCue(NamedTuple):
    """An entity a seed's passage names right after a cue word, found while the restart is built."""

    mention: LinkedMention
    seed: int
    passage: int
    target: int
    word: str
    start: int  # the name's first word, a word index of the passage


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
        seeds: list[tuple[LinkedMention, int, float]] = []
        text_hops: list[_TextCue] = []
        if mentions:
            cued = frozenset(
                (self._predicate_of_label[label], forward)
                for label, forward in map(parse_cue, read.cues)
                if label in self._predicate_of_label
            )
            # dense is set where dense_prior > 0
            seeds, personalization, text_hops = self._restart(mentions, dense, cued, read.cues)
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
                [self._text_hop(cue, seeds, personalization) for cue in text_hops],
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

    def _restart(
        self,
        mentions: list[LinkedMention],
        dense: Any,
        cued: frozenset[tuple[int, bool]],
        cues: tuple[str, ...] = (),
    ) -> tuple[list[tuple[LinkedMention, int, float]], Any, list[_TextCue]]:
        """Restart distribution of the walk.

        The linked mentions by weight; a share (`cue_seed`) on the entities one cued relation away from
        them (the hop the question asks for: "the director of X" restarts at X's directors too, by
        confidence), and on the entities X's own passage names right after a word of the cued relation
        (`text_cue_weight`: the hop the extractor missed); and a share on the top dense passages:
        `dense_prior`, or `titled_dense_prior` for a question that names its passages by title, mixed by
        the share of the seed weight that titles give. Also returns the entities reached by text alone,
        for the explanations.
        """
        import numpy as np

        settings, graph = self.settings, self.index.graph
        personalization = np.zeros(graph.size)
        total = sum(m.weight for m in mentions) or 1.0
        seeds = []
        relation_hops, text_hops = np.zeros(graph.size), np.zeros(graph.size)
        follow = bool(cued) and settings.use_relations and settings.cue_seed > 0
        evidence = evidence_words(cues) if settings.cue_seed > 0 and settings.text_cue_weight > 0 else frozenset()
        named: dict[int, dict[int, tuple[str, int]]] = {}  # a passage's `_named_near_cues`, read once
        text_cues: dict[int, _TextCue] = {}
        namesakes: set[int] = set()  # passages of other things named like a linked entity with its own passage
        linked: set[int] = set()  # the linked nodes and their passages: never a namesake's
        for mention in mentions:
            node = graph.index[mention.node]
            starts = [node] + [about for about, _ in graph.typed_neighbours(node, TITLE)]
            linked.update(starts)
            if settings.namesake_prior != 1.0:
                namesakes.update(
                    passage
                    for start in starts
                    if start >= graph.passages
                    for passage, edge in graph.typed_neighbours(start, NAME)
                    if graph.namesake_edges[edge] and passage < graph.passages
                )
            reached: set[int] = set()  # one share per mention, whichever of its passages names the entity
            for start in starts:
                if follow:
                    for target, edge in graph.typed_neighbours(start, RELATION, cued):
                        relation_hops[target] += mention.weight * graph.edges.weight[edge]
                if not evidence or start >= graph.passages:
                    continue
                if start not in named:
                    named[start] = self._named_near_cues(start, evidence)
                for target, (word, at) in named[start].items():
                    if target not in reached:
                        reached.add(target)
                        text_hops[target] += mention.weight * settings.text_cue_weight
                        text_cues.setdefault(target, _TextCue(mention, node, start, target, word, at))
        hops = relation_hops + text_hops
        cue_share = settings.cue_seed if hops.sum() > 0 else 0.0
        titled = sum(m.weight for m in mentions if m.how in TITLE_LINKS) / total
        prior = (1 - titled) * settings.dense_prior + titled * settings.titled_dense_prior
        for mention in mentions:
            node = graph.index[mention.node]
            share = (1 - prior) * (1 - cue_share) * mention.weight / total
            personalization[node] += share
            seeds.append((mention, node, share))
        if cue_share:
            personalization += (1 - prior) * cue_share * hops / hops.sum()
        if prior > 0:
            top = np.argsort(-dense)[: settings.prior_top]
            weights = np.exp((dense[top] - dense[top].max()) * 20.0)
            weights /= weights.sum()
            namesake = np.isin(top, list(namesakes - linked))
            kept_share = np.where(namesake, weights * settings.namesake_prior, weights)
            if kept_share.sum() == 0 and personalization.sum() == 0:  # nothing else to restart from
                kept_share = weights
            personalization[top] += prior * kept_share
            if namesake.any() and settings.namesake_prior < 1:
                # A namesake's passage keeps that factor of its share; what it gives up goes to the whole
                # restart in proportion, not to the next dense passages.
                kept = personalization.sum()
                personalization /= kept
                seeds = [(mention, node, share / kept) for mention, node, share in seeds]
        # Explained through the triple where a cued relation edge reaches the entity too (`best_paths`).
        by_text = [cue for target, cue in text_cues.items() if not relation_hops[target]] if cue_share else []
        return seeds, personalization, by_text

    def _text_hop(self, cue: _TextCue, seeds: list[tuple[LinkedMention, int, float]], personalization: Any) -> TextHop:
        """Return the explanation's start at an entity named in text after a cue word, with its sentence."""
        text = self.index.passages[cue.passage].text
        sentence, seen = text, 0
        for sentence in _SENTENCE_END.split(text):  # the sentence holding the name's first word
            seen += len(words(sentence))
            if seen > cue.start:
                break
        seed_share = next(share for mention, _, share in seeds if mention is cue.mention)
        share = float(personalization[cue.target])
        return TextHop(cue.mention, cue.seed, seed_share, cue.passage, cue.target, share, cue.word, sentence)

    def _named_near_cues(self, passage: int, evidence: frozenset[str]) -> dict[int, tuple[str, int]]:
        """Return the entities `passage` names just after one of the `evidence` words.

        "son of Comgall mac Domangairt", "music composed by Stephen Warbeck": a name whose first word
        is at most `_CUE_WINDOW` words after a cue word. The passage's title entity is not among them
        (its edge is a title edge, not a mention).

        Returns:
            ``{entity: (cue word, the name's first word as a word index of the passage)}``.

        """
        tokens = words(self.index.passages[passage].text)
        starts: dict[int, str] = {}  # a word a name may start at -> the cue word before it
        for i, token in enumerate(tokens):
            if token in evidence:
                for step in range(1, _CUE_WINDOW + 1):
                    starts.setdefault(i + step, token)
        found: dict[int, tuple[str, int]] = {}
        if not starts:
            return found
        for entity, _ in self.index.graph.typed_neighbours(passage, MENTION):
            at = next(
                (
                    start
                    for start in sorted(starts)
                    for name in self._node_names.get(entity, ())
                    if tuple(tokens[start : start + len(name)]) == name
                ),
                None,
            )
            if at is not None:
                found[entity] = (starts[at], at)
        return found

    @cached_property
    def _node_names(self) -> dict[int, tuple[tuple[str, ...], ...]]:
        """Every entity node's names (label, aliases) as lower-cased words, for `_named_near_cues`."""
        names: dict[int, list[tuple[str, ...]]] = {}
        for name, node in zip(self.index.names, self.index.name_nodes.tolist(), strict=True):
            if node >= self.index.graph.passages and (tokens := tuple(words(name))):
                names.setdefault(node, []).append(tokens)
        return {node: tuple(dict.fromkeys(found)) for node, found in names.items()}

    def matching_passages(self, where: str, runner: Any = None) -> Any:
        """Boolean mask of the passages whose graph matches the SPARQL pattern `where` (binding ``?passage``).

        Args:
            runner: a `kgbuild.QueryRunner` to evaluate the pattern in (time-limited); None: this process.

        Raises:
            QueryError: the pattern does not use ``?passage``, is not read-only, or does not parse; with a
                runner, it ran past the time limit, the runner was busy, or its row limit cut the matches.

        """
        import numpy as np

        from kgbuild import KgBuildError, check_read_only

        if "?passage" not in where:
            raise QueryError(f"--where pattern must bind ?passage (the passage's document), got {where!r}")
        query = where_query(where)
        try:
            checked = check_read_only(query)  # refused from the parsed pattern: SERVICE, sub-queries included
            if runner is not None:
                result = runner.run(checked.text)
                if result.cut:
                    raise QueryError(f"more than {result.row_limit} passages match; the runner's row limit cut them")
                matched = {row[0].value for row in result.rows if row[0] is not None}
            else:
                rows = self._store.query(checked.text, use_default_graph_as_union=True)
                matched = {row["passage"].value for row in rows if row["passage"] is not None}
        except (KgBuildError, SyntaxError, ValueError, OSError) as error:
            raise QueryError(f"--where pattern {where!r}: {error}") from None
        mask = np.zeros(len(self.index.passages), dtype=bool)
        for iri in matched:
            if iri in self._passage_of_iri:
                mask[self._passage_of_iri[iri]] = True
        return mask


_TRANSITIONS_KEPT = 16
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CUE_WINDOW = 4  # "music composed by Stephen Warbeck", "the only child of Henry Ford": a name this close
_WHERE_PREFIXES = sparql_prefixes("kg", "wdt", "conll", "schema", "rdf", "rdfs")
WHERE_START = _WHERE_PREFIXES + "SELECT DISTINCT ?passage WHERE { "  # what comes before the user's pattern


def where_query(where: str) -> str:
    """Return the query a `--where` pattern runs as: the selection of ``?passage`` under the graph's prefixes."""
    return f"{WHERE_START}{where} }}"


def _max_normalised(scores: Any) -> Any:
    top = scores.max() if len(scores) else 0.0
    return scores / top if top > 0 else scores * 0.0


def _range_normalised(scores: Any) -> Any:
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else scores * 0.0

"""Entity linking of a question: n-gram matches against names in the graph, and embedding similarity.

Names are passage titles (with and without their parenthetical disambiguator), entity labels and
aliases, compared after `kgbuild`'s own label normalisation. The longest matches win and do not
overlap. Spans spaCy's NER finds that match no name exactly are linked to the most similar name by
embedding, above a threshold. A seed's weight grows with how specific its node is: a name found in
one passage says more than one found in five hundred. `Linker` holds this state for one index: the
name table, spaCy's pipeline and the name vectors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kgbuild import normalize_label
from kgsearch.graph import MENTION, TITLE
from kgsearch.records import LinkedMention

if TYPE_CHECKING:
    from kgsearch.index import SearchIndex

_TOKEN = re.compile(r"\w+(?:[-.]\w+)*|['\u2019]s\b|[^\w\s]")
MAX_NGRAM = 10
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "is",
        "was",
        "were",
        "are",
        "be",
        "been",
        "who",
        "whom",
        "whose",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
        "has",
        "have",
        "had",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "than",
        "first",
        "last",
        "both",
        "same",
    ]
)
SHORT_TITLE = "short title"  # a title without its disambiguator: "Edsel Ford" for "Edsel Ford (poet)"
FULL_TITLE = "title"
TITLE_LINKS = (FULL_TITLE, SHORT_TITLE)  # a question span naming a passage by its title
HOW_WEIGHT = {FULL_TITLE: 1.0, SHORT_TITLE: 1.0, "label": 1.0, "alias": 0.8, "embedding": 0.6}


@dataclass(frozen=True, slots=True)
class Name:
    """A name a node goes by: the node index, the name as written and how it names the node."""

    node: int
    text: str
    how: str


class NameIndex:
    """Normalised names -> nodes (indices into `iris`), with each node's document frequency for seed weights.

    Args:
        subjects: for each node that is a passage's title entity, the titles of the passages it is about.

    """

    def __init__(
        self,
        iris: Sequence[str],
        names: Sequence[Name],
        frequency: Sequence[int],
        passages: int,
        subjects: Mapping[int, Sequence[str]] | None = None,
    ):
        self.iris = list(iris)
        self.names = list(names)
        self.frequency = list(frequency)
        self.passages = max(passages, 1)
        self.by_name: dict[str, list[Name]] = {}
        for name in names:
            key = normalize_label(name.text)
            if key:
                self.by_name.setdefault(key, []).append(name)
        self.subject_titles = {node: {normalize_label(t) for t in titles} for node, titles in (subjects or {}).items()}

    def other_sense(self, node: int, key: str) -> bool:
        """Whether `node` is a passage's title entity only for passages titled otherwise than `key`."""
        titles = self.subject_titles.get(node, set())
        return bool(titles) and key not in titles

    def specificity(self, node: int) -> float:
        """Inverse document frequency of a node: ``log(1 + passages / (1 + frequency))``."""
        return math.log(1 + self.passages / (1 + self.frequency[node]))


def tokens(question: str) -> list[tuple[int, int]]:
    """Character spans of the question's words and punctuation (a possessive ``'s`` is its own token)."""
    return [(m.start(), m.end()) for m in _TOKEN.finditer(question)]


def _content(word: str) -> bool:
    return word.casefold() not in STOPWORDS and any(c.isalnum() for c in word)


def _wordlike(token: str) -> bool:
    return token[0].isalnum()


def link_exact(question: str, index: NameIndex) -> list[LinkedMention]:
    """Link the longest non-overlapping question n-grams that are names in the graph."""
    spans = tokens(question)
    lowercase_question = question == question.casefold()
    candidates: list[tuple[int, int, int, list[Name]]] = []
    for first in range(len(spans)):
        for last in range(first, min(first + MAX_NGRAM, len(spans))):
            start, end = spans[first][0], spans[last][1]
            words = [question[s:e] for s, e in spans[first : last + 1]]
            if not any(_content(w) for w in words) or not (_wordlike(words[0]) and _wordlike(words[-1])):
                continue  # a span starts and ends on a word, not on "?" or "'s"
            if not lowercase_question and not any(w[0].isupper() or w[0].isdigit() for w in words):
                continue  # a lower-case common word ("film") is no name in a cased question
            key = normalize_label(question[start:end])
            names = index.by_name.get(key)
            if not names:
                continue
            if not (_content(words[0]) and _content(words[-1])):
                # A title may start or end with a small word ("The Private Life of Cinema", "Changed It");
                # another name may not, or "the film" would link a node called "film".
                names = [n for n in names if n.how in TITLE_LINKS and len(words) > 1]
            if any(n.how == FULL_TITLE for n in names):
                # A passage titled with the name itself is its primary sense ("Edsel Ford", not "Edsel Ford
                # (poet)" or "Edsel Ford (disambiguation)", nor their title entities): the others are named
                # by their disambiguator.
                names = [n for n in names if n.how != SHORT_TITLE and not index.other_sense(n.node, key)]
            if names:
                candidates.append((start, end, last - first + 1, names))
    candidates.sort(key=lambda c: (-c[2], c[0]))
    taken: list[tuple[int, int]] = []
    mentions = []
    for start, end, _, names in candidates:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        best: dict[int, Name] = {}
        for name in names:  # one mention per node, by its strongest kind of name
            if name.node not in best or HOW_WEIGHT[name.how] > HOW_WEIGHT[best[name.node].how]:
                best[name.node] = name
        share = 1.0 / len(best)  # an ambiguous name splits its weight
        for name in sorted(best.values(), key=lambda n: n.node):
            weight = HOW_WEIGHT[name.how] * index.specificity(name.node) * share
            node = index.iris[name.node]
            mentions.append(LinkedMention(question[start:end], start, end, node, name.text, name.how, 1.0, weight))
    return sorted(mentions, key=lambda m: (m.start, m.node))


def free_spans(
    question: str, spans: Sequence[tuple[int, int]], taken: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Return the non-blank spans that overlap no span already `taken` by an exact match."""
    return [(s, e) for s, e in spans if not any(s < te and ts < e for ts, te in taken) and question[s:e].strip()]


def link_similar(
    question: str,
    spans: Sequence[tuple[int, int]],
    taken: Sequence[tuple[int, int]],
    nearest: Callable[[list[str]], list[tuple[int, str, float]]],
    index: NameIndex,
    threshold: float,
) -> list[LinkedMention]:
    """Link spans (spaCy's entities) that overlap no exact match to their most similar name.

    Args:
        nearest: for a list of texts, the best ``(node, name, cosine)`` of each.

    """
    free = free_spans(question, spans, taken)
    if not free:
        return []
    mentions = []
    for (start, end), (node, name, similarity) in zip(free, nearest([question[s:e] for s, e in free]), strict=True):
        if similarity >= threshold:
            weight = HOW_WEIGHT["embedding"] * similarity * index.specificity(node)
            mentions.append(
                LinkedMention(question[start:end], start, end, index.iris[node], name, "embedding", similarity, weight)
            )
    return mentions


class Linker:
    """Link a question's spans to the nodes of one index: exact names first, then spaCy's entities by embedding.

    Args:
        nlp: a spaCy pipeline for the question's entities (loaded on first use when None); False
            switches linking by embedding off, leaving exact name matches.

    """

    def __init__(self, index: SearchIndex, nlp: Any = None):
        self.index = index
        self._nlp = nlp
        graph = index.graph
        frequency = [0] * graph.size
        subjects: dict[int, list[str]] = {}  # title entity -> the titles of the passages it is about
        for a, b, kind in zip(graph.edges.a.tolist(), graph.edges.b.tolist(), graph.edges.kind.tolist(), strict=True):
            if kind in (TITLE, MENTION):  # the passages a node is found in
                frequency[b] += 1
            if kind == TITLE:
                subjects.setdefault(b, []).append(index.passages[a].title)
        for p in range(graph.passages):
            frequency[p] = 1
        names = [
            Name(int(n), text, SHORT_TITLE if kind == FULL_TITLE and text != index.passages[n].title else kind)
            for text, n, kind in zip(index.names, index.name_nodes, index.name_kinds, strict=True)
        ]
        self.names = NameIndex([node.iri for node in graph.nodes], names, frequency, graph.passages, subjects)

    @property
    def embeds(self) -> bool:
        """Whether spans that match no name are linked by embedding (spaCy not switched off)."""
        return self._nlp is not False

    @property
    def nlp(self) -> Any:
        """SpaCy's pipeline for the question's named entities, loaded on first use."""
        if self._nlp is None:
            from kgbuild import load_spacy

            self._nlp = load_spacy()
        return self._nlp

    def exact(self, question: str) -> list[LinkedMention]:
        """Link the longest non-overlapping question n-grams that are names in the graph."""
        return link_exact(question, self.names)

    def free_spans(self, question: str, exact: Sequence[LinkedMention]) -> list[tuple[int, int]]:
        """SpaCy's named entities of the question (numbers and dates left out) that no exact match took."""
        if not self.embeds:  # linking by embedding switched off (tests, ablations)
            return []
        with self.nlp.select_pipes(enable=[p for p in ("tok2vec", "ner") if p in self.nlp.pipe_names]):
            doc = self.nlp(question)
        spans = [(e.start_char, e.end_char) for e in doc.ents if e.label_ not in NUMERIC_ENTITIES]
        return free_spans(question, spans, [(m.start, m.end) for m in exact])

    def similar(
        self,
        question: str,
        mentions: list[LinkedMention],
        spans: Sequence[tuple[int, int]],
        vectors: Mapping[str, Any],
        threshold: float,
    ) -> list[LinkedMention]:
        """Add to the exact `mentions` the free `spans` linked by embedding (their query `vectors` by text)."""
        import numpy as np

        if not spans:
            return mentions
        index = self.index

        def nearest(texts: list[str]) -> list[tuple[int, str, float]]:
            similarity = index.name_vectors @ np.stack([vectors[text] for text in texts]).T
            best = np.argmax(similarity, axis=0)
            return [
                (int(index.name_nodes[row]), index.names[row], float(similarity[row, column]))
                for column, row in enumerate(best)
            ]

        taken = [(m.start, m.end) for m in mentions]
        return mentions + link_similar(question, spans, taken, nearest, self.names, threshold)


NUMERIC_ENTITIES = ("DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")

"""Where a question's walk restarts: its linked entities, the hops it asks for, and the top dense passages.

`restart` builds the walk's restart (personalization) vector; `TextCues` finds the hops that the passages
state in text right after a cue word ("directed by Theresa Connelly"), for the restart and for the
explanations.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, NamedTuple

from kgsearch.cues import evidence_words
from kgsearch.explain import TextHop
from kgsearch.graph import MENTION, NAME, RELATION, TITLE, SearchGraph
from kgsearch.index import SearchIndex
from kgsearch.linking import TITLE_LINKS
from kgsearch.records import LinkedMention
from kgsearch.settings import SearchSettings
from kgsearch.text import words

CUE_WINDOW = 4  # "music composed by Stephen Warbeck", "the only child of Henry Ford": a name this close
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Seed = tuple[LinkedMention, int, float]  # a linked mention, its node, its share of the restart


class TextCue(NamedTuple):
    """An entity a seed's passage names right after a cue word, found while the restart is built."""

    mention: LinkedMention
    seed: int
    passage: int
    target: int
    word: str
    start: int  # the name's first word, a word index of the passage


class Restart(NamedTuple):
    """The walk's restart: the seeds with their shares, the vector itself, and the entities reached by text alone."""

    seeds: list[Seed]
    personalization: Any
    by_text: list[TextCue]


class TextCues:
    """The entities an index's passages name just after a cue word; entity names are read once, on first use."""

    def __init__(self, index: SearchIndex):
        self.index = index

    def named_near(self, passage: int, evidence: frozenset[str]) -> dict[int, tuple[str, int]]:
        """Return the entities `passage` names just after one of the `evidence` words.

        "son of Comgall mac Domangairt", "music composed by Stephen Warbeck": a name whose first word
        is at most `CUE_WINDOW` words after a cue word. The passage's title entity is not among them
        (its edge is a title edge, not a mention).

        Returns:
            ``{entity: (cue word, the name's first word as a word index of the passage)}``.

        """
        tokens = words(self.index.passages[passage].text)
        starts: dict[int, str] = {}  # a word a name may start at -> the cue word before it
        for i, token in enumerate(tokens):
            if token in evidence:
                for step in range(1, CUE_WINDOW + 1):
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

    def hop(self, cue: TextCue, seeds: list[Seed], personalization: Any) -> TextHop:
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

    @cached_property
    def _node_names(self) -> dict[int, tuple[tuple[str, ...], ...]]:
        """Every entity node's names (label, aliases) as lower-cased words."""
        names: dict[int, list[tuple[str, ...]]] = {}
        for name, node in zip(self.index.names, self.index.name_nodes.tolist(), strict=True):
            if node >= self.index.graph.passages and (tokens := tuple(words(name))):
                names.setdefault(node, []).append(tokens)
        return {node: tuple(dict.fromkeys(found)) for node, found in names.items()}


def restart(
    graph: SearchGraph,
    settings: SearchSettings,
    mentions: list[LinkedMention],
    dense: Any,
    cued: frozenset[tuple[int, bool]],
    cues: tuple[str, ...] = (),
    text_cues: TextCues | None = None,
) -> Restart:
    """Return the restart distribution of the walk.

    The linked mentions by weight; a share (`cue_seed`) on the entities one cued relation away from
    them (the hop the question asks for: "the director of X" restarts at X's directors too, by
    confidence), and on the entities X's own passage names right after a word of the cued relation
    (`text_cue_weight`: the hop the extractor missed; needs `text_cues`); and a share on the top dense
    passages: `dense_prior`, or `titled_dense_prior` for a question that names its passages by title,
    mixed by the share of the seed weight that titles give. A linked entity's namesakes' passages keep
    `namesake_prior` of their dense share.

    Args:
        dense: the question's dense score of every passage; read where the settings give a dense prior.
        cued: the ``(predicate, forward)`` pairs of the question's relation cues.
        cues: the cues themselves, whose words `text_cues` looks for.

    """
    import numpy as np

    personalization = np.zeros(graph.size)
    total = sum(m.weight for m in mentions) or 1.0
    seeds: list[Seed] = []
    relation_hops, text_hops = np.zeros(graph.size), np.zeros(graph.size)
    follow = bool(cued) and settings.use_relations and settings.cue_seed > 0
    reads_text = text_cues is not None and settings.cue_seed > 0 and settings.text_cue_weight > 0
    evidence = evidence_words(cues) if reads_text else frozenset()
    named: dict[int, dict[int, tuple[str, int]]] = {}  # a passage's `TextCues.named_near`, read once
    by_target: dict[int, TextCue] = {}
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
            if not evidence or start >= graph.passages or text_cues is None:  # (evidence implies text_cues)
                continue
            if start not in named:
                named[start] = text_cues.named_near(start, evidence)
            for target, (word, at) in named[start].items():
                if target not in reached:
                    reached.add(target)
                    text_hops[target] += mention.weight * settings.text_cue_weight
                    by_target.setdefault(target, TextCue(mention, node, start, target, word, at))
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
    by_text = [cue for target, cue in by_target.items() if not relation_hops[target]] if cue_share else []
    return Restart(seeds, personalization, by_text)

"""Explain a hit by the most probable path of the walk that reached it.

From the question's linked mentions, a best-first search over the walk's transition probabilities
(the product of hop probabilities, i.e. the shortest path in ``-log p``) finds, for every passage it
reaches within `MAX_HOPS` steps, the single path that carried the most mass there:
question mention -> entity -> (triple ->) entity -> passage. Each hop records its probability,
and relation hops the triple with its source sentence. A walk that restarted at an entity named in
text right after a word of the asked relation (`TextHop`) may start a path there too: question
mention -> passage -> (the sentence) -> entity -> passage.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kgbuild import TripleFact, local_name
from kgsearch.graph import EDGE_KINDS, MENTION, RELATION, Node, SearchGraph
from kgsearch.records import Hop, LinkedMention

MAX_HOPS = 4
_BUDGET = 20_000  # nodes settled at most: explanations must stay cheap beside the walk
_KEEP = 500  # on 2Wiki, 500 explain the same hits with the same paths as 2,000


@dataclass(frozen=True, slots=True)
class TextHop:
    """A restart at an entity that a seed's passage names right after a word of the asked relation.

    ``seed`` is the node the question's `mention` linked (the passage or its title entity) and
    ``seed_share`` its restart mass, ``word`` the cue word, ``sentence`` the passage's sentence holding
    both, ``share`` the target's restart mass.
    """

    mention: LinkedMention
    seed: int
    seed_share: float
    passage: int
    target: int
    share: float
    word: str
    sentence: str


def best_paths(
    graph: SearchGraph,
    transition: Any,
    seeds: Sequence[tuple[LinkedMention, int, float]],
    targets: set[int],
    triples: Sequence[TripleFact],
    predicate_names: dict[str, str],
    rank: Any = None,
    text_hops: Sequence[TextHop] = (),
) -> dict[int, tuple[Hop, ...]]:
    """Return the best path to each reachable target passage.

    Args:
        seeds: ``(mention, node, share of the restart mass)`` for each linked mention.
        text_hops: restarts at entities named in text after a cue word; a path may start there.
        rank: the walk's PageRank vector; when given, the search only passes through the `_KEEP` nodes
            with the most mass (the mass that reaches a hit flows through them), which keeps it cheap.

    """
    import numpy as np

    passable = None
    if rank is not None and len(rank) > _KEEP:
        passable = np.zeros(len(rank), dtype=bool)
        passable[np.argpartition(-rank, _KEEP)[:_KEEP]] = True
        passable[list(targets)] = True
    cost: dict[int, float] = {}
    back: dict[int, tuple[int, int, float] | tuple[LinkedMention, float] | TextHop] = {}
    depth: dict[int, int] = {}
    heap: list[tuple[float, int]] = []
    for mention, node, share in seeds:
        start = -math.log(max(share, 1e-300))
        if start < cost.get(node, math.inf):
            cost[node], back[node], depth[node] = start, (mention, share), 0
            heapq.heappush(heap, (start, node))
    for hop in text_hops:
        start = -math.log(max(hop.share, 1e-300))
        if start < cost.get(hop.target, math.inf):
            cost[hop.target], back[hop.target], depth[hop.target] = start, hop, 1
            heapq.heappush(heap, (start, hop.target))
    settled: set[int] = set()
    found: set[int] = set()
    while heap and len(settled) < _BUDGET and found != targets:
        current, node = heapq.heappop(heap)
        if node in settled:
            continue
        settled.add(node)
        if node in targets:
            found.add(node)
        if depth[node] >= MAX_HOPS:
            continue
        for neighbour, probability, edge in graph.neighbours(node, transition, passable):
            if probability <= 0 or neighbour in settled:
                continue
            candidate = current - math.log(probability)
            if candidate < cost.get(neighbour, math.inf):
                cost[neighbour], back[neighbour], depth[neighbour] = (
                    candidate,
                    (node, edge, probability),
                    depth[node] + 1,
                )
                heapq.heappush(heap, (candidate, neighbour))
    return {target: _path(graph, back, target, triples, predicate_names) for target in found}


def _path(
    graph: SearchGraph,
    back: dict[int, Any],
    target: int,
    triples: Sequence[TripleFact],
    predicate_names: dict[str, str],
) -> tuple[Hop, ...]:
    hops: list[Hop] = []
    node = target
    while True:
        step = back[node]
        if isinstance(step, TextHop):
            passage, seed = graph.nodes[step.passage], graph.nodes[step.seed]
            named = graph.nodes[step.target]
            hops.append(
                Hop(
                    "text",
                    passage.iri,
                    named.iri,
                    passage.label,
                    named.label,
                    step.share,
                    predicate_label=step.word,
                    sentence=step.sentence,
                    sentence_document=passage.iri,
                )
            )
            if step.seed != step.passage:  # the question named the passage's subject
                hops.append(Hop("title", seed.iri, passage.iri, seed.label, passage.label, 1.0))
            hops.append(_mention_hop(step.mention, seed, step.seed_share))
            break
        if isinstance(step[0], LinkedMention):
            mention, share = step
            hops.append(_mention_hop(mention, graph.nodes[node], share))
            break
        source, edge, probability = step
        kind = int(graph.edges.kind[edge])
        a, b = graph.nodes[source], graph.nodes[node]
        if kind == RELATION:
            triple = triples[int(graph.edges.triple[edge])]
            name = predicate_names.get(local_name(triple.predicate), local_name(triple.predicate))
            hops.append(
                Hop(
                    "relation",
                    a.iri,
                    b.iri,
                    a.label,
                    b.label,
                    probability,
                    triple.predicate,
                    name,
                    triple.confidence,
                    triple.sentence,
                    triple.document,
                    triple.statement,
                )
            )
        else:
            hop_kind = "mentioned_in" if kind == MENTION else EDGE_KINDS[kind]
            hops.append(Hop(hop_kind, a.iri, b.iri, a.label, b.label, probability))
        node = source
    return tuple(reversed(hops))


def _mention_hop(mention: LinkedMention, node: Node, share: float) -> Hop:
    """Return the first hop of a path: the question's span to the node it linked, with its restart share."""
    return Hop("mention", f"question[{mention.start}:{mention.end}]", node.iri, mention.text, node.label, share)

"""The search graph over entities and passages, and personalized PageRank on it.

Nodes are passages (first) and entities. Edges are undirected and typed:

- ``title``: a passage and the entity it is about (its title entity);
- ``mention``: a passage and an entity it mentions;
- ``relation``: two entities joined by an extracted triple, weighted by its confidence;
- ``alias``: two entities whose names are near-synonyms, weighted by their similarity;
- ``name``: an entity and a passage that names it, when the graph keeps them apart: by its title (a
  mention "David Bradley" and the passage "David Bradley (director)", or one typed otherwise in another
  passage) or by its title entity's names (a mention "Eric XIV" and the passage "Eric XIV of Sweden").

networkx is the graph model (`SearchGraph.to_networkx`); the walk itself runs on a scipy CSR
matrix, since a query re-weights edges (relation cues) and needs PageRank in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

EDGE_KINDS = ("title", "mention", "relation", "alias", "name")
TITLE, MENTION, RELATION, ALIAS, NAME = range(5)


@dataclass(frozen=True, slots=True)
class Node:
    """A graph node: an IRI, its label, and whether it is a passage or an entity."""

    iri: str
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class EdgeTable:
    """The search graph's edges as numpy columns, one row an edge.

    ``a`` and ``b`` are node indices (int64), ``kind`` an edge kind (``TITLE``...), ``weight`` its own
    weight (float64), ``predicate`` an index into the graph's predicates and ``triple`` into the index's
    triples, for relation edges (``-1`` elsewhere).
    """

    a: Any
    b: Any
    kind: Any
    weight: Any
    predicate: Any
    triple: Any

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, int, int, float, int, int]]) -> EdgeTable:
        """Build the table from ``(a, b, kind, weight, predicate, triple)`` rows."""
        import numpy as np

        columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), (), ()]
        return cls(
            np.asarray(columns[0], dtype=np.int64),
            np.asarray(columns[1], dtype=np.int64),
            np.asarray(columns[2], dtype=np.int64),
            np.asarray(columns[3], dtype=np.float64),
            np.asarray(columns[4], dtype=np.int64),
            np.asarray(columns[5], dtype=np.int64),
        )

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> EdgeTable:
        """Build the table from its named columns (an ``edges.npz`` archive).

        Raises:
            KeyError: a column is missing.

        """
        return cls(**{f.name: columns[f.name] for f in fields(cls)})

    def columns(self) -> dict[str, Any]:
        """Return the named columns, in the order ``edges.npz`` holds them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def concat(self, other: EdgeTable) -> EdgeTable:
        """Join two tables, this one's rows first."""
        import numpy as np

        return EdgeTable(
            **{name: np.concatenate([column, getattr(other, name)]) for name, column in self.columns().items()}
        )

    def select(self, keep: Any) -> EdgeTable:
        """Return the rows a boolean mask (or index array) keeps."""
        return EdgeTable(**{name: column[keep] for name, column in self.columns().items()})

    def __len__(self) -> int:
        """Return the number of edges."""
        return len(self.a)


class SearchGraph:
    """Typed, weighted undirected edges over passage and entity nodes.

    Args:
        nodes: passages first (indices ``0 .. passages-1``), then entities.
        edges: the edge table; its ``predicate`` column indexes `predicates`.

    """

    def __init__(self, nodes: list[Node], passages: int, edges: EdgeTable, predicates: list[str]):
        import numpy as np

        self.nodes = nodes
        self.passages = passages
        self.predicates = predicates
        self.index = {node.iri: i for i, node in enumerate(nodes)}
        self.edges = edges
        a, b = edges.a, edges.b
        # Both directions of every edge, sorted by target row: a CSR structure computed once, whose
        # data a query fills in (duplicates are fine, a CSR product sums them).
        source = np.concatenate([a, b])
        target = np.concatenate([b, a])
        self._order = np.lexsort((source, target))
        self._source = source[self._order]
        self._target = target[self._order]
        counts = np.bincount(self._target, minlength=len(nodes))
        self._indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._edge_of = np.concatenate([np.arange(len(a)), np.arange(len(a))])[self._order]
        self._forward = self._order < len(a)  # the entry walks an edge from a to b (subject to object)

    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def edge_weights(
        self, kind_weights: tuple[float, ...], predicate_boost: dict[tuple[int, bool], float], namesake: float = 1.0
    ) -> Any:
        """Weight of every edge in each direction for one query: its kind's weight times its own, cue-boosted.

        Args:
            predicate_boost: factor by ``(predicate, forward)``: a relation edge is boosted when walked
                from its subject to its object (``forward``) or back, so "the father of X" can follow
                X's P22 edges to his father without also favouring the children whose father X is.
            namesake: factor on the name edges of an entity that is itself a passage's subject
                (`namesake_edges`).

        Returns:
            ``(2 * edges,)``: the weights from ``a`` to ``b`` (a relation's subject to its object), then back.

        """
        import numpy as np

        kinds = self.edges.kind
        weights = np.asarray(kind_weights, dtype=np.float64)[kinds] * self.edges.weight
        if namesake != 1.0:
            weights = np.where(self.namesake_edges, weights * namesake, weights)
        if not predicate_boost:
            return np.concatenate([weights, weights])
        boost = np.ones((2, len(self.predicates) + 1))  # row 0: subject to object, row 1: back
        for (predicate, forward), factor in predicate_boost.items():
            boost[0 if forward else 1, predicate] = factor
        rows = np.where(kinds == RELATION, self.edges.predicate, len(self.predicates))
        return np.concatenate([weights * boost[0, rows], weights * boost[1, rows]])

    def transition(self, weights: Any) -> Any:
        """Column-stochastic transition matrix (CSR, rows are targets) for directed edge `weights` (`edge_weights`)."""
        import numpy as np
        from scipy.sparse import csr_matrix

        data = weights[self._order]
        out = np.bincount(self._source, weights=data, minlength=self.size)
        data = (data / np.where(out > 0, out, 1.0)[self._source]).astype(np.float32)  # half the memory traffic
        return csr_matrix((data, self._source, self._indptr), shape=(self.size, self.size))

    def pagerank(
        self,
        transition: Any,
        personalization: Any,
        damping: float,
        iterations: int = 50,
        tolerance: float = 1e-6,
        threshold: float = 0.0,
    ) -> Any:
        """Personalized PageRank by power iteration; a dead end's mass returns to the seeds.

        With `threshold` > 0, only nodes holding at least that share of the mass spread it (the rest
        returns to the seeds, as a dead end's does): each iteration reads the columns of those nodes
        only, so `transition` should then be in CSC form (`scipy.sparse.csc_matrix`), and the cost of a
        walk no longer grows with the graph.
        """
        import numpy as np

        if not 0.0 <= damping < 1.0:
            raise ValueError(f"damping must be in [0, 1), got {damping}")
        total = personalization.sum()
        if total <= 0:
            return np.zeros(self.size)
        seeds = (personalization / total).astype(np.float32)
        rank = seeds.copy()
        for _ in range(iterations):
            if threshold > 0:
                active = np.flatnonzero(rank >= threshold)
                spread = transition[:, active] @ rank[active]
            else:
                spread = transition @ rank
            lost = rank.sum() - spread.sum()
            updated = (1 - damping) * seeds + damping * (spread + lost * seeds)
            if np.abs(updated - rank).sum() < tolerance:
                return updated
            rank = updated
        return rank

    def neighbours(self, node: int, transition: Any, passable: Any = None) -> list[tuple[int, float, int]]:
        """Return ``(neighbour, transition probability, edge row)`` for the edges leaving `node`.

        Args:
            passable: optional boolean mask of the nodes that may be returned.

        """
        positions = self._by_source[node]
        if passable is not None:
            positions = positions[passable[self._target[positions]]]
        return list(
            zip(
                self._target[positions].tolist(),
                transition.data[positions].tolist(),
                self._edge_of[positions].tolist(),
                strict=True,
            )
        )

    def typed_neighbours(
        self, node: int, kind: int, predicates: frozenset[tuple[int, bool]] | None = None
    ) -> list[tuple[int, int]]:
        """Return ``(neighbour, edge row)`` for the edges of one kind leaving `node`.

        Args:
            predicates: for relation edges, the ``(predicate, forward)`` pairs to follow: ``forward`` from
                the triple's subject to its object, otherwise from its object to its subject.

        """
        import numpy as np

        positions = self._by_source[node]
        rows = self._edge_of[positions]
        keep = self.edges.kind[rows] == kind
        if predicates is not None:
            forward = self._forward[positions].tolist()
            wanted = [(int(p), f) in predicates for p, f in zip(self.edges.predicate[rows], forward, strict=True)]
            keep &= np.asarray(wanted, dtype=bool)
        return list(zip(self._target[positions][keep].tolist(), rows[keep].tolist(), strict=True))

    @cached_property
    def namesake_edges(self) -> Any:
        """Boolean mask of the name edges whose entity is some passage's subject (its title entity).

        Such an entity has its own passage, so its name edges lead to namesakes' passages: the entity
        "Edsel Ford", subject of the passage "Edsel Ford", to "Edsel Ford (poet)". Wikipedia gives the
        bare title to the primary topic and a disambiguator to the others.
        """
        import numpy as np

        kinds = self.edges.kind
        titled = np.zeros(self.size, dtype=bool)
        titled[self.edges.a[kinds == TITLE]] = True
        titled[self.edges.b[kinds == TITLE]] = True
        titled[: self.passages] = False  # passages take part in title edges too; only entities count
        return (kinds == NAME) & (titled[self.edges.a] | titled[self.edges.b])

    @cached_property
    def _by_source(self) -> list[Any]:
        """Positions of the CSR entries leaving each node (for explanations), built on first use."""
        import numpy as np

        order = np.argsort(self._source, kind="stable")
        bounds = np.searchsorted(self._source[order], np.arange(self.size + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(self.size)]

    def to_networkx(self) -> Any:
        """Return the graph as a networkx ``MultiGraph`` (nodes keyed by IRI, edges with kind and weight)."""
        import networkx as nx

        graph = nx.MultiGraph()
        for node in self.nodes:
            graph.add_node(node.iri, label=node.label, kind=node.kind)
        for a, b, kind, weight, predicate in zip(
            self.edges.a,
            self.edges.b,
            self.edges.kind,
            self.edges.weight,
            self.edges.predicate,
            strict=True,
        ):
            attributes: dict[str, Any] = {"kind": EDGE_KINDS[kind], "weight": float(weight)}
            if kind == RELATION:
                attributes["predicate"] = self.predicates[predicate]
            graph.add_edge(self.nodes[a].iri, self.nodes[b].iri, **attributes)
        return graph

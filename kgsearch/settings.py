"""The knobs of search, with defaults chosen once for three styles of question (`bench/tune_search.py`).

The defaults are `bench/settings/default.json`: one setting tuned on the tuning halves of 2Wiki (questions
1-200), MuSiQue-dev and HotpotQA-dev together, to the mean of R@2 + 0.5 R@5 over the three. Questions
that name their passages by title (2Wiki's) start the walk almost wholly from their seeds (5% from the
best dense passages); the others start 40% of it from those passages. For a corpus whose questions name
no entities at all (SciFact claims), use weights tuned on its own questions:
`kgsearch index --settings bench/settings/scifact-fused.json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """Weights of the graph walk and of the fusion; an index stores the settings it was built for.

    Attributes:
        damping: PageRank's probability of following an edge rather than jumping back to a seed.
        title_weight, mention_weight, relation_weight, alias_weight, name_weight: edge weights by kind (relation
            edges are further multiplied by their triple's confidence, alias edges by the similarity).
        cue_boost: factor on relation edges whose property the question names ("mother" -> P25).
        namesake_weight: factor on the name edges of an entity that is a passage's subject: they lead
            to its namesakes' passages ("Edsel Ford" to "Edsel Ford (poet)").
        namesake_prior: factor on the dense prior's share of a linked entity's namesakes' passages (those
            its name edges reach, other than a linked one's own): they score high on the name the question
            repeats, not on what it asks. The share taken returns to the whole restart; 1 leaves the prior
            as the dense scores give it.
        cue_seed: share of the restart mass given to the entities one cued relation away from the seeds.
        text_cue_weight: weight, beside those relation edges' confidences, of the entities a seed's own
            passage names at most 4 words after a word of the cued relation: the hop stated in text
            where the extractor missed the edge ("music composed by Stephen Warbeck" for "the composer
            of Billy Elliot"); 0 reads relation edges alone.
        dense_prior: share of the walk's restart mass given to the top dense passages, for a question none
            of whose seed weight is linked by a passage title.
        titled_dense_prior: the same share for a question all of whose seed weight is linked by passage
            titles (it names the passages it asks about); a question in between gets the mix by its title
            share. A settings file written before this setting existed gets its `dense_prior` here.
        prior_top: how many dense passages share that mass.
        graph_weight, dense_weight, lexical_weight: the fusion of max-normalised scores.
        link_threshold: least cosine for linking a question span to a name by embedding.
        alias_threshold: least cosine between two entity names for an alias edge (index time).
        use_relations: keep relation edges (False: the entities-and-passages ablation).
        walk_iterations: most power iterations of the walk (each costs one pass over the edges).
        walk_threshold: a node holding less than this share of the walk's mass does not spread it (its
            mass returns to the seeds), so an iteration touches only the edges of the nodes that matter
            and a question's cost stops growing with the graph; 0 walks every edge (exact).

    """

    damping: float = 0.9
    title_weight: float = 30.0
    mention_weight: float = 3.0
    relation_weight: float = 0.3
    alias_weight: float = 0.3
    name_weight: float = 30.0
    cue_boost: float = 30.0
    namesake_weight: float = 0.1
    namesake_prior: float = 0.3
    cue_seed: float = 0.5
    text_cue_weight: float = 30.0
    dense_prior: float = 0.4
    titled_dense_prior: float = 0.05
    prior_top: int = 30
    graph_weight: float = 1.0
    dense_weight: float = 0.05
    lexical_weight: float = 0.0
    link_threshold: float = 0.85
    alias_threshold: float = 0.9
    use_relations: bool = True
    walk_iterations: int = 10  # 2Wiki dev R@2 / R@5: 79.88 / 95.62 at 10, 79.88 / 95.75 at 20 and 50
    walk_threshold: float = 1e-5  # dev R@5 vs the exact walk (0): 2Wiki same, MuSiQue -0.44, HotpotQA +0.15

    def __post_init__(self) -> None:
        """Refuse weights that would make the walk or the fusion meaningless."""
        if not 0.0 <= self.damping < 1.0:
            raise ValueError(f"damping must be in [0, 1), got {self.damping}")
        for name in ("dense_prior", "titled_dense_prior", "cue_seed", "namesake_prior"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("prior_top", "walk_iterations"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        edge_factors = ("title_weight", "mention_weight", "relation_weight", "alias_weight", "name_weight")
        fusion = ("graph_weight", "dense_weight", "lexical_weight")
        for name in (*edge_factors, "cue_boost", "namesake_weight", "text_cue_weight", *fusion, "walk_threshold"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def to_json(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SearchSettings:
        """Build settings from a dict, refusing unknown keys (a typo must not pass silently).

        Keys starting with ``_`` are notes (such as the dev scores a tuning run records) and are ignored.
        """
        values = {key: value for key, value in values.items() if not key.startswith("_")}
        if "dense_prior" in values and "titled_dense_prior" not in values:  # written before it: one prior for all
            values["titled_dense_prior"] = values["dense_prior"]
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown search settings: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return replace(cls(), **values)

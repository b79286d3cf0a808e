"""Training pairs for the retriever: from labelled questions, or generated from the knowledge graph.

A pairs file is JSON Lines, ``{"query": ..., "passage": passage id}`` per line; a questions file
(``{"id", "question", "gold"}``, as `kgsearch evaluate` reads) is accepted too, one pair per gold
passage. For a corpus without labels, `graph_pairs` turns each confident extracted triple into a
templated question whose answer is the passage the triple was read from, so a retriever can be
fine-tuned on a user's own corpus with no labelling.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from kgbuild import GraphFacts, document_id, local_name, relation_names
from kgsearch.errors import TrainingError

_TEMPLATES = (
    "What is the {relation} of {subject}?",
    "Who or what is {subject}'s {relation}?",
    "{subject} {relation}",
)
_PERSON_TEMPLATES = ("Who is the {relation} of {subject}?", "Who was {subject}'s {relation}?")


@dataclass(frozen=True, slots=True)
class TrainingPair:
    """A query and the id of a passage that answers it."""

    query: str
    passage: str


def read_pairs(path: str | Path) -> list[TrainingPair]:
    """Read a pairs file or a questions file.

    Raises:
        TrainingError: the file is missing or a line is neither (names file and line).

    """
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no such pairs file")
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if "query" in row:
                    pairs.append(TrainingPair(str(row["query"]), str(row["passage"])))
                else:
                    pairs += [TrainingPair(str(row["question"]), str(gold)) for gold in row["gold"]]
            except (ValueError, KeyError, TypeError) as error:
                raise TrainingError(
                    f"{path}:{number}: not a pair or a question with gold passages ({error!s})"
                ) from None
    if not pairs:
        raise TrainingError(f"{path}: no pairs")
    return pairs


def graph_pairs(facts: GraphFacts, min_confidence: float = 0.7, per_document: int = 4) -> list[TrainingPair]:
    """Generate templated questions from the graph's confident triples, answered by their source passage."""
    labels = {e.iri: e.label for e in facts.entities}
    people = {e.iri for e in facts.entities if "Person" in e.classes}
    names = relation_names()
    seen: set[tuple[str, str, str]] = set()
    taken: dict[str, int] = {}
    pairs = []
    for triple in sorted(facts.triples, key=lambda t: (-t.confidence, t.statement)):
        if triple.confidence < min_confidence or triple.subject not in labels:
            continue
        key = (triple.subject, triple.predicate, triple.document)
        if key in seen or taken.get(triple.document, 0) >= per_document:
            continue
        seen.add(key)
        taken[triple.document] = taken.get(triple.document, 0) + 1
        relation = names.get(local_name(triple.predicate), local_name(triple.predicate).replace("_", " ").lower())
        templates = _PERSON_TEMPLATES if triple.object in people else _TEMPLATES
        choice = int(hashlib.sha256(triple.statement.encode()).hexdigest(), 16) % len(templates)
        query = templates[choice].format(relation=relation, subject=labels[triple.subject])
        pairs.append(TrainingPair(query, document_id(triple.document)))
    return sorted(pairs, key=lambda p: (p.passage, p.query))


def write_pairs(pairs: list[TrainingPair], out: str | Path) -> None:
    """Write pairs as JSON Lines."""
    from kgbuild import write_atomically

    write_atomically(Path(out), "".join(json.dumps({"query": p.query, "passage": p.passage}) + "\n" for p in pairs))

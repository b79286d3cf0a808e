"""The search graph built from a knowledge graph's facts: passage and entity nodes, their names, and edges.

Title, mention and relation edges come from the graph (`graph_edges`); name edges join an entity to the
passages whose titles name it (`name_edges`); alias edges join near-synonym labels whose vectors are close
(`alias_edges`). `kgsearch.index` wires them, encodes and saves the index.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

from kgbuild import (
    Document,
    EntityFact,
    GraphFacts,
    IriMinter,
    best_title_match,
    normalize_label,
    parse_iri,
    title_name,
)
from kgsearch.graph import ALIAS, MENTION, NAME, RELATION, TITLE, EdgeTable, Node
from kgsearch.records import Passage
from kgsearch.settings import SearchSettings
from kgsearch.text import words

_UNALIASED = frozenset({"Time", "Quantity"})
_BLOCK_LIMIT = 50  # a name word shared by more entities than this proposes no alias pairs
_PAIR_CHUNK = 4096  # alias pairs scored at once: memory stays flat as the corpus grows


KIND_CODES = {"title": TITLE, "mention": MENTION, "relation": RELATION, "alias": ALIAS, "name": NAME}


def index_passages(documents: list[Document], facts: GraphFacts) -> list[Passage]:
    """Return the corpus's documents as passages, each with its document IRI in the graph (minted if absent)."""
    iris = {d.id: d.iri for d in facts.documents}
    base = parse_iri(next(iter(iris.values()))).base if iris else None

    minter = IriMinter(base) if base else IriMinter()
    return [Passage(d.id, d.title, d.text, iris.get(d.id) or minter.document(d.id)) for d in documents]


def graph_edges(passages: list[Passage], facts: GraphFacts) -> tuple[list[Node], EdgeTable, list[str]]:
    """Return the graph's nodes (passages, then entities), its title, mention and relation edges, and predicates."""
    nodes = [Node(p.iri, p.title or p.id, "passage") for p in passages]
    nodes += [Node(e.iri, e.label, "entity") for e in facts.entities]
    position = {node.iri: i for i, node in enumerate(nodes)}
    rows: list[tuple[int, int, int, float, int, int]] = []
    titled: set[tuple[int, int]] = set()
    mentioned: dict[str, list[EntityFact]] = defaultdict(list)
    for entity in facts.entities:
        for iri in entity.documents:
            mentioned[iri].append(entity)
    for document in facts.documents:
        if document.iri not in position:
            continue  # a graph document not in this corpus
        # A graph built before title matching was lenient names no title entity: match the title here.
        for about in document.about or _title_entity(document.title, mentioned[document.iri]):
            pair = (position[document.iri], position[about])
            titled.add(pair)
            rows.append((*pair, TITLE, 1.0, -1, -1))
    for entity in facts.entities:
        for mentioned_in in entity.documents:
            if mentioned_in in position and (position[mentioned_in], position[entity.iri]) not in titled:
                rows.append((position[mentioned_in], position[entity.iri], MENTION, 1.0, -1, -1))
    predicates = sorted({t.predicate for t in facts.triples})
    predicate_index = {p: i for i, p in enumerate(predicates)}
    for i, triple in enumerate(facts.triples):
        if triple.subject in position and triple.object in position:
            rows.append(
                (
                    position[triple.subject],
                    position[triple.object],
                    RELATION,
                    triple.confidence,
                    predicate_index[triple.predicate],
                    i,
                )
            )
    return nodes, EdgeTable.from_rows(rows), predicates


def _title_entity(title: str, entities: list[EntityFact]) -> tuple[str, ...]:
    """Return the entity among `entities` whose name matches the passage title best (kgbuild's own rule)."""
    candidates = [(e.iri, (e.label, *e.aliases)) for e in entities if title and not _UNALIASED.intersection(e.classes)]
    best = best_title_match(title, candidates)
    return (best,) if best is not None else ()


def node_names(passages: list[Passage], facts: GraphFacts, offset: int) -> tuple[list[str], Any, list[str]]:
    """Every name of every node: passage titles (whole and without disambiguator), labels, aliases."""
    import numpy as np

    names: list[str] = []
    nodes: list[int] = []
    kinds: list[str] = []
    for i, passage in enumerate(passages):
        for text in dict.fromkeys([title_name(passage.title), passage.title]):
            if text:
                names.append(text)
                nodes.append(i)
                kinds.append("title")
    for j, entity in enumerate(facts.entities):
        names.append(entity.label)
        nodes.append(offset + j)
        kinds.append("label")
        for alias in entity.aliases:
            names.append(alias)
            nodes.append(offset + j)
            kinds.append("alias")
    return names, np.asarray(nodes, dtype=np.int64), kinds


def alias_edges(
    entity_nodes: list[Node],
    entities: tuple[EntityFact, ...],
    offset: int,
    vectors: Any,
    names: list[str],
    name_nodes: Any,
    settings: SearchSettings,
) -> EdgeTable:
    """Join entities whose labels are near-synonyms: pairs that share a rare word, cosine above threshold."""
    import numpy as np

    label_row: dict[int, int] = {}
    for row, node in enumerate(name_nodes.tolist()):
        if node >= offset and node not in label_row:
            label_row[node] = row  # the first name of an entity node is its label
    by_word: dict[str, list[int]] = defaultdict(list)
    for i, (node, entity) in enumerate(zip(entity_nodes, entities, strict=True)):
        if _UNALIASED.intersection(entity.classes):
            continue  # "13 May 1931" and "14 March 1931" embed alike and are not the same thing
        for word in set(words(node.label)):
            by_word[word].append(offset + i)
    pairs = {
        pair
        for members in by_word.values()
        if 1 < len(members) <= _BLOCK_LIMIT
        for pair in combinations(sorted(members), 2)
    }
    rows: list[tuple[int, int, int, float, int, int]] = []
    ordered = sorted(pairs)
    for first in range(0, len(ordered), _PAIR_CHUNK):  # a chunk at a time: each pair's two vectors are copied
        chunk = ordered[first : first + _PAIR_CHUNK]
        a = np.asarray([label_row[x] for x, _ in chunk])
        b = np.asarray([label_row[y] for _, y in chunk])
        cosine = (vectors[a].astype(np.float32) * vectors[b].astype(np.float32)).sum(1)
        for (x, y), similarity in zip(chunk, cosine.tolist(), strict=True):
            same_name = normalize_label(entity_nodes[x - offset].label) == normalize_label(
                entity_nodes[y - offset].label
            )
            if similarity >= settings.alias_threshold and not same_name:  # same name, other IRI: another kind of thing
                rows.append((x, y, ALIAS, float(similarity), -1, -1))
    return EdgeTable.from_rows(rows)


def name_edges(passages: list[Passage], entities: tuple[EntityFact, ...], edges: EdgeTable, offset: int) -> EdgeTable:
    """Join each entity to the passages that name it, unless a title edge does already.

    A passage names an entity when its title does (the entity's label or an alias is the title without
    its disambiguator), or when the passage's title entity goes by the entity's label: the passage
    "Eric XIV of Sweden", whose subject its text calls "Eric XIV", names the "Eric XIV" another passage
    mentions. Only the label is matched against a title entity's names: an entity's aliases include
    shorter forms ("Eric") that would name many passages. An ambiguous name ("David Bradley" titles two
    passages) splits its weight between them.
    """
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, passage in enumerate(passages):
        name = normalize_label(title_name(passage.title))
        if name:
            by_title[name].append(i)
    titled = {(int(a), int(b)) for a, b, kind in zip(edges.a, edges.b, edges.kind, strict=True) if kind == TITLE}
    by_subject: dict[str, set[int]] = defaultdict(set)  # a name of a passage's title entity -> the passage
    for row, node in sorted(titled):
        entity = entities[node - offset]
        for name in (entity.label, *entity.aliases):
            by_subject[normalize_label(name)].add(row)
    rows: list[tuple[int, int, int, float, int, int]] = []
    for j, entity in enumerate(entities):
        if _UNALIASED.intersection(entity.classes):
            continue
        named = {p for name in (entity.label, *entity.aliases) for p in by_title.get(normalize_label(name), [])}
        named |= by_subject.get(normalize_label(entity.label), set())
        for row in sorted(named):
            if (row, offset + j) not in titled:
                rows.append((row, offset + j, NAME, 1.0 / len(named), -1, -1))
    return EdgeTable.from_rows(rows)

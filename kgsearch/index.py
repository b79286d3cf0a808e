"""Build, save and load the search index that lives beside a knowledge graph (``KG_DIR/search/``).

The index holds the passages, their vectors from the bi-encoder, the names of the graph's nodes and
their vectors (for linking), a BM25 index, and the search graph's edges. It records the digest of
the graph files it was built from, so a stale index is refused with the command that rebuilds it.
It is written to a staging folder and renamed into place: it appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from kgbuild import (
    CorpusProblem,
    Document,
    Encoder,
    EntityFact,
    Fields,
    GraphFacts,
    IriMinter,
    KnowledgeGraphDir,
    TripleFact,
    best_title_match,
    encoding_precision,
    normalize_label,
    parse_iri,
    read_corpus,
    read_facts,
    resolved_precision,
    title_name,
)
from kgsearch.ann import AUTO, FILE_NAME, HNSW, HnswPassages, choose_kind
from kgsearch.errors import SearchIndexError
from kgsearch.graph import ALIAS, MENTION, NAME, RELATION, TITLE, EdgeTable, Node, SearchGraph
from kgsearch.manifest import IndexManifest
from kgsearch.records import Passage
from kgsearch.settings import SearchSettings

INDEX_DIR = "search"
DEFAULT_FIELDS = Fields()
DEFAULT_SETTINGS = SearchSettings()
FORMAT_VERSION = 3  # 3: name edges through title entities' names
_WORD = re.compile(r"\w+")
_UNALIASED = frozenset({"Time", "Quantity"})
_BLOCK_LIMIT = 50  # a name word shared by more entities than this proposes no alias pairs
_PAIR_CHUNK = 4096  # alias pairs scored at once: memory stays flat as the corpus grows


def words(text: str) -> list[str]:
    """Return the lower-cased word tokens of `text`, as BM25 and alias blocking use them."""
    return _WORD.findall(text.casefold())


def passage_text(passage: Passage) -> str:
    """Return what the encoders and BM25 read of a passage: its title, then its text."""
    return f"{passage.title}. {passage.text}" if passage.title else passage.text


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """A loaded index: passages, graph, vectors, BM25, triples and the settings it was built for.

    ``ann`` is the HNSW graph over the passage vectors when the index was built with one (a large
    corpus); `passage_vectors` are then read from disk as needed rather than held in memory.
    """

    path: Path
    passages: tuple[Passage, ...]
    graph: SearchGraph
    passage_vectors: Any
    name_vectors: Any
    name_nodes: Any
    names: tuple[str, ...]
    name_kinds: tuple[str, ...]
    bm25: Any
    triples: tuple[TripleFact, ...]
    settings: SearchSettings
    manifest: IndexManifest
    ann: HnswPassages | None = None

    def dense_scores(self, query: Any) -> Any:
        """Return every passage's dense score for a question vector (approximate beyond the nearest with HNSW)."""
        return self.passage_vectors @ query if self.ann is None else self.ann.scores(query)


def read_passages(corpus: str | Path, fields: Fields = DEFAULT_FIELDS) -> tuple[list[Document], list[str]]:
    """Read the corpus as documents; return them and the problems of those that could not be read."""
    documents, problems = [], []
    for item in read_corpus(corpus, fields):
        if isinstance(item, CorpusProblem):
            problems.append(f"{item.source}: {item.reason}")
        else:
            documents.append(item)
    return documents, problems


def build_index(
    kg_dir: str | Path,
    corpus: str | Path,
    encoder: Encoder,
    encoder_ref: str,
    settings: SearchSettings = DEFAULT_SETTINGS,
    fields: Fields = DEFAULT_FIELDS,
    ann: str = AUTO,
    precision: str = "auto",
) -> IndexManifest:
    """Build the search index of `kg_dir` over the passages of `corpus`; return its manifest.

    Args:
        encoder_ref: how to load `encoder` again at query time (a path or the base model's name).
        ann: ``exact`` scans every passage vector per question; ``hnsw`` builds an approximate
            nearest-neighbour graph (FAISS); ``auto`` picks HNSW for a large corpus (`kgsearch.ann`).
        precision: the encoder's arithmetic for passages and names (`kgbuild.encoding_precision`): ``auto``
            is bfloat16 where the CPU has it natively (1.5-1.7x faster); questions are encoded in fp32.

    Raises:
        InputTextError: `kg_dir` or `corpus` cannot be read.
        SearchIndexError: the corpus has no passages, an unknown `ann`, or ``hnsw`` without FAISS.

    """
    import numpy as np

    started = time.monotonic()
    kg = KnowledgeGraphDir(kg_dir)
    stamp = kg.stamp()
    facts = read_facts(kg_dir)
    documents, problems = read_passages(corpus, fields)
    if not documents:
        raise SearchIndexError(f"{corpus}: no passages to index")
    ann = choose_kind(ann, len(documents))
    passages = _passages(documents, facts)
    nodes, edges, predicates = _graph(passages, facts)
    entity_nodes = nodes[len(passages) :]

    timings: dict[str, float] = {"graph_s": time.monotonic() - started}
    tick = time.monotonic()
    with encoding_precision(precision):
        passage_vectors = encoder.encode([passage_text(p) for p in passages], kind="passage")
    timings["passage_vectors_s"] = time.monotonic() - tick
    hnsw = None
    if ann == HNSW:
        tick = time.monotonic()
        hnsw = HnswPassages.build(passage_vectors)
        timings["hnsw_s"] = time.monotonic() - tick

    names, name_nodes, name_kinds = _names(passages, facts, len(passages))
    tick = time.monotonic()
    unique = list(dict.fromkeys(names))  # a name shared by several nodes is encoded once
    with encoding_precision(precision):
        unique_vectors = encoder.encode(unique, kind="query", batch_size=256)
    row = {name: i for i, name in enumerate(unique)}
    name_vectors = unique_vectors[[row[name] for name in names]]
    timings["name_vectors_s"] = time.monotonic() - tick

    edges = edges.concat(_name_edges(passages, facts.entities, edges, len(passages)))
    alias_edges = _alias_edges(entity_nodes, facts.entities, len(passages), name_vectors, names, name_nodes, settings)
    edges = edges.concat(alias_edges)

    import bm25s

    tick = time.monotonic()
    bm25 = bm25s.BM25(k1=1.5, b=0.75)
    bm25.index([words(passage_text(p)) for p in passages], show_progress=False)
    timings["bm25_s"] = time.monotonic() - tick

    target = Path(kg_dir) / INDEX_DIR
    staging = Path(tempfile.mkdtemp(dir=Path(kg_dir), prefix=".search.", suffix=".partial"))
    try:
        with (staging / "passages.jsonl").open("w", encoding="utf-8") as handle:
            for p in passages:
                handle.write(json.dumps({"id": p.id, "title": p.title, "text": p.text, "iri": p.iri}) + "\n")
        with (staging / "nodes.jsonl").open("w", encoding="utf-8") as handle:
            for node in nodes:
                handle.write(json.dumps([node.iri, node.label, node.kind], ensure_ascii=False) + "\n")
        with (staging / "names.jsonl").open("w", encoding="utf-8") as handle:
            for name, node_index, kind in zip(names, name_nodes, name_kinds, strict=True):
                handle.write(json.dumps([name, int(node_index), kind], ensure_ascii=False) + "\n")
        with (staging / "triples.jsonl").open("w", encoding="utf-8") as handle:
            for t in facts.triples:
                handle.write(json.dumps(_triple_row(t), ensure_ascii=False) + "\n")
        np.savez(staging / "edges.npz", **edges.columns())
        (staging / "predicates.json").write_text(json.dumps(predicates), encoding="utf-8")
        np.save(staging / "passage_vectors.npy", passage_vectors.astype(np.float32))
        np.save(staging / "name_vectors.npy", name_vectors.astype(np.float16))
        bm25.save(str(staging / "bm25"))
        if hnsw is not None:
            hnsw.save(staging / FILE_NAME)
        manifest = IndexManifest(
            FORMAT_VERSION,
            stamp,
            str(Path(corpus).resolve()),
            encoder_ref,
            encoder.name,
            len(passages),
            len(entity_nodes),
            ann,
            resolved_precision(precision),
            {kind: int((edges.kind == code).sum()) for kind, code in _KIND_CODES.items()},
            tuple(problems),
            settings,
            round(time.monotonic() - started, 2),
            {k: round(v, 2) for k, v in timings.items()},
        )
        manifest.write(staging / "manifest.json")
        if target.exists():
            old = target.with_name(f".{INDEX_DIR}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


_KIND_CODES = {"title": TITLE, "mention": MENTION, "relation": RELATION, "alias": ALIAS, "name": NAME}


def _passages(documents: list[Document], facts: GraphFacts) -> list[Passage]:
    iris = {d.id: d.iri for d in facts.documents}
    base = parse_iri(next(iter(iris.values()))).base if iris else None

    minter = IriMinter(base) if base else IriMinter()
    return [Passage(d.id, d.title, d.text, iris.get(d.id) or minter.document(d.id)) for d in documents]


def _graph(passages: list[Passage], facts: GraphFacts) -> tuple[list[Node], EdgeTable, list[str]]:

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


def _names(passages: list[Passage], facts: GraphFacts, offset: int) -> tuple[list[str], Any, list[str]]:
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


def _alias_edges(
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


def _name_edges(passages: list[Passage], entities: tuple[EntityFact, ...], edges: EdgeTable, offset: int) -> EdgeTable:
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


def _triple_row(triple: TripleFact) -> list[Any]:
    return [
        triple.statement,
        triple.subject,
        triple.predicate,
        triple.object,
        triple.confidence,
        triple.document,
        triple.sentence,
        list(triple.subject_chars),
        list(triple.object_chars),
    ]


def load_index(kg_dir: str | Path, check_stale: bool = True) -> SearchIndex:
    """Load the search index of `kg_dir`.

    Raises:
        SearchIndexError: there is no index, or it is older than the graph; the message says how to rebuild.

    """
    import bm25s
    import numpy as np

    path = Path(kg_dir) / INDEX_DIR
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise SearchIndexError(f"{kg_dir}: no search index; build it with: kgsearch index {kg_dir} --corpus CORPUS")
    values = json.loads(manifest_file.read_text(encoding="utf-8"))
    rebuild = f"kgsearch index {kg_dir} --corpus {values.get('corpus', 'CORPUS')}"
    if values.get("format") != FORMAT_VERSION:
        raise SearchIndexError(
            f"{path}: index format {values.get('format')} is not {FORMAT_VERSION}; rebuild: {rebuild}"
        )
    manifest = IndexManifest.from_json(values, manifest_file)
    if check_stale and KnowledgeGraphDir(kg_dir).stamp() != manifest.kg_stamp:
        raise SearchIndexError(f"{path}: the graph changed since the index was built; rebuild: {rebuild}")
    with (path / "passages.jsonl").open(encoding="utf-8") as handle:
        passages = tuple(Passage(**json.loads(line)) for line in handle)
    with (path / "nodes.jsonl").open(encoding="utf-8") as handle:
        nodes = [Node(*json.loads(line)) for line in handle]
    with (path / "names.jsonl").open(encoding="utf-8") as handle:
        name_rows = [json.loads(line) for line in handle]
    with (path / "triples.jsonl").open(encoding="utf-8") as handle:
        triples = tuple(
            TripleFact(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7]), tuple(r[8]))
            for r in map(json.loads, handle)
        )
    with np.load(path / "edges.npz") as archive:
        edges = EdgeTable.from_columns(archive)
    predicates = json.loads((path / "predicates.json").read_text(encoding="utf-8"))
    hnsw_file = path / FILE_NAME if manifest.ann == HNSW else None
    passage_vectors = np.load(path / "passage_vectors.npy", mmap_mode="r" if hnsw_file else None)
    hnsw = HnswPassages.load(hnsw_file, passage_vectors) if hnsw_file else None
    return SearchIndex(
        path,
        passages,
        SearchGraph(nodes, len(passages), edges, predicates),
        passage_vectors,
        np.load(path / "name_vectors.npy").astype(np.float32),
        np.asarray([r[1] for r in name_rows], dtype=np.int64),
        tuple(r[0] for r in name_rows),
        tuple(r[2] for r in name_rows),
        bm25s.BM25.load(str(path / "bm25")),
        triples,
        manifest.settings,
        manifest,
        hnsw,
    )

"""Build, save and load the search index that lives beside a knowledge graph (``KG_DIR/search/``).

The index holds the passages, their vectors from the bi-encoder, the names of the graph's nodes and
their vectors (for linking), a BM25 index, and the search graph's edges (built by `kgsearch.edges`). It
records the digest of the graph files it was built from, so a stale index is refused with the command that
rebuilds it.
It is written to a staging folder and renamed into place: it appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgbuild import (
    Encoder,
    Fields,
    KnowledgeGraphDir,
    TripleFact,
    encoding_precision,
    read_facts,
    resolved_precision,
)
from kgsearch.ann import AUTO, FILE_NAME, HNSW, HnswPassages, choose_kind
from kgsearch.edges import KIND_CODES, alias_edges, graph_edges, index_passages, name_edges, node_names
from kgsearch.errors import SearchIndexError
from kgsearch.graph import EdgeTable, Node, SearchGraph
from kgsearch.manifest import IndexManifest
from kgsearch.records import Passage
from kgsearch.settings import SearchSettings
from kgsearch.text import DEFAULT_FIELDS, passage_text, read_passages, words

INDEX_DIR = "search"
DEFAULT_SETTINGS = SearchSettings()
FORMAT_VERSION = 3  # 3: name edges through title entities' names


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
    passages = index_passages(documents, facts)
    nodes, edges, predicates = graph_edges(passages, facts)
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

    names, name_nodes, name_kinds = node_names(passages, facts, len(passages))
    tick = time.monotonic()
    unique = list(dict.fromkeys(names))  # a name shared by several nodes is encoded once
    with encoding_precision(precision):
        unique_vectors = encoder.encode(unique, kind="query", batch_size=256)
    row = {name: i for i, name in enumerate(unique)}
    name_vectors = unique_vectors[[row[name] for name in names]]
    timings["name_vectors_s"] = time.monotonic() - tick

    edges = edges.concat(name_edges(passages, facts.entities, edges, len(passages)))
    edges = edges.concat(
        alias_edges(entity_nodes, facts.entities, len(passages), name_vectors, names, name_nodes, settings)
    )

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
            {kind: int((edges.kind == code).sum()) for kind, code in KIND_CODES.items()},
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
        raise SearchIndexError(
            f"{path}: the graph changed since the index was built (or kgbuild's entity resolution did: then "
            f"re-run kgbuild extract first); rebuild: {rebuild}"
        )
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

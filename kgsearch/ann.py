"""Approximate nearest-neighbour search over passage vectors (FAISS HNSW), for corpora too large to scan.

Exact dense scoring multiplies the question vector by every passage vector, which is linear in the
corpus: a few milliseconds at 100,000 passages, too slow and too much memory in the millions. An HNSW
graph finds the nearest passages in a fraction of a millisecond at nearly perfect recall
(`bench/ann_speed.py`). The walk and BM25 score every passage; dense scores beyond the nearest
`candidates` are not needed exactly: they all take the lowest score found, which the fusion's range
normalisation maps to 0.

FAISS is optional (``pip install 'kgbuild[ann]'``): ``auto`` picks HNSW for a corpus of at least
`AUTO_PASSAGES` passages when it is installed, and exact search otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgsearch.errors import SearchIndexError

EXACT, HNSW, AUTO = "exact", "hnsw", "auto"
ANN_KINDS = (AUTO, EXACT, HNSW)
AUTO_PASSAGES = 200_000
FILE_NAME = "passages.hnsw"
NEIGHBOURS = 32  # HNSW's M: links per node; 32 keeps recall near 1 on 384-dim sentence vectors
EF_CONSTRUCTION = 200
EF_SEARCH = 128
CANDIDATES = 1000
INSTALL = "pip install 'kgbuild[ann]' (faiss-cpu)"


def faiss_available() -> bool:
    """Return whether FAISS can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def choose_kind(kind: str, passages: int) -> str:
    """Resolve ``auto`` to ``hnsw`` or ``exact`` for a corpus of `passages` passages.

    Raises:
        SearchIndexError: an unknown kind, or ``hnsw`` asked for without FAISS installed.

    """
    if kind not in ANN_KINDS:
        raise SearchIndexError(f"--ann must be one of {', '.join(ANN_KINDS)}, got {kind!r}")
    if kind == AUTO:
        return HNSW if passages >= AUTO_PASSAGES and faiss_available() else EXACT
    if kind == HNSW and not faiss_available():
        raise SearchIndexError(f"--ann hnsw needs FAISS, which is not installed: {INSTALL}")
    return kind


@dataclass(frozen=True, slots=True)
class HnswPassages:
    """An HNSW graph over the passage vectors that scores a question against its nearest `candidates`."""

    index: Any
    size: int
    candidates: int = CANDIDATES

    @classmethod
    def build(cls, vectors: Any, neighbours: int = NEIGHBOURS, ef_construction: int = EF_CONSTRUCTION) -> HnswPassages:
        """Build the graph over unit-length `vectors` (n x dim); inner product is their cosine."""
        import faiss
        import numpy as np

        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexHNSWFlat(matrix.shape[1], neighbours, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(matrix)
        index.hnsw.efSearch = EF_SEARCH
        return cls(index, len(matrix))

    @classmethod
    def load(cls, path: Path, size: int, ef_search: int = EF_SEARCH) -> HnswPassages:
        """Load a graph written by `save`; `size` is the number of passages it must hold.

        Raises:
            SearchIndexError: FAISS is not installed, or the file does not hold `size` vectors.

        """
        if not faiss_available():
            raise SearchIndexError(f"{path}: this index searches passages with HNSW, which needs FAISS: {INSTALL}")
        import faiss

        index: Any = faiss.read_index(str(path))  # an IndexHNSWFlat, typed as its base class
        if index.ntotal != size:
            raise SearchIndexError(f"{path}: holds {index.ntotal} vectors for {size} passages; rebuild the index")
        index.hnsw.efSearch = ef_search
        return cls(index, size)

    def save(self, path: Path) -> None:
        """Write the graph to `path`."""
        import faiss

        faiss.write_index(self.index, str(path))

    def scores(self, query: Any) -> Any:
        """Return every passage's dense score: exact for the nearest `candidates`, the lowest of those elsewhere."""
        import numpy as np

        found_scores, found = self.index.search(np.asarray(query, dtype=np.float32)[None, :], self.candidates)
        keep = found[0] >= 0  # fewer passages than candidates: FAISS pads with -1
        ids, values = found[0][keep], found_scores[0][keep].astype(np.float64)
        dense = np.full(self.size, values.min() if len(values) else 0.0)
        dense[ids] = values
        return dense

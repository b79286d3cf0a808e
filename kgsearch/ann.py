"""Approximate nearest-neighbour search over passage vectors (FAISS HNSW), for corpora too large to scan.

Exact dense scoring multiplies the question vector by every passage vector, which is linear in the
corpus: a few milliseconds at 100,000 passages, too slow and too much memory in the millions. An HNSW
graph finds the nearest passages in a fraction of a millisecond at nearly perfect recall
(`bench/ann_speed.py`). The walk and BM25 score every passage, so the fusion needs a dense score for
each: the nearest `candidates` and a fixed, evenly spaced sample of `SAMPLE` passages are scored
exactly, and every other passage takes the sample's median, its expected score. The sample keeps the
fusion's range normalisation close to exact search's: the lowest score of the corpus is estimated by the
sample's, where the lowest candidate would stretch the candidates' scores over the whole range.

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
SAMPLE = 4096
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
    """An HNSW graph over the passage vectors that scores a question against its nearest `candidates`.

    ``sample`` and ``sample_vectors``: the evenly spaced passages scored exactly for every question.
    """

    index: Any
    size: int
    sample: Any
    sample_vectors: Any
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
        return cls(index, len(matrix), *_sample(matrix))

    @classmethod
    def load(cls, path: Path, vectors: Any, ef_search: int = EF_SEARCH) -> HnswPassages:
        """Load a graph written by `save` over the passage `vectors` (n x dim, memory-mapped is fine).

        Raises:
            SearchIndexError: FAISS is not installed, or the file does not hold one vector per passage.

        """
        if not faiss_available():
            raise SearchIndexError(f"{path}: this index searches passages with HNSW, which needs FAISS: {INSTALL}")
        import faiss

        index: Any = faiss.read_index(str(path))  # an IndexHNSWFlat, typed as its base class
        if index.ntotal != len(vectors):
            raise SearchIndexError(
                f"{path}: holds {index.ntotal} vectors for {len(vectors)} passages; rebuild the index"
            )
        index.hnsw.efSearch = ef_search
        return cls(index, len(vectors), *_sample(vectors))

    def save(self, path: Path) -> None:
        """Write the graph to `path`."""
        import faiss

        faiss.write_index(self.index, str(path))

    def scores(self, query: Any) -> Any:
        """Return every passage's dense score: exact for the nearest and the sample, the sample's median elsewhere."""
        import numpy as np

        query = np.asarray(query, dtype=np.float32)
        found_scores, found = self.index.search(query[None, :], self.candidates)
        keep = found[0] >= 0  # fewer passages than candidates: FAISS pads with -1
        spread = (self.sample_vectors @ query).astype(np.float64)
        dense = np.full(self.size, float(np.median(spread)))
        dense[self.sample] = spread
        dense[found[0][keep]] = found_scores[0][keep]
        return dense


def _sample(vectors: Any) -> tuple[Any, Any]:
    """Return `SAMPLE` evenly spaced passage rows (all of them in a smaller corpus) and their vectors."""
    import numpy as np

    rows = np.unique(np.linspace(0, len(vectors) - 1, num=min(SAMPLE, len(vectors))).astype(np.int64))
    return rows, np.ascontiguousarray(vectors[rows], dtype=np.float32)

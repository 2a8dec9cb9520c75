"""The FAISS candidate index over finger embeddings (``matcher.finger.embedding``).

A search ranks enrolled fingers by the inner product of their embeddings with the probe's
and keeps the best k: the *shortlist* that MCC then scores.  Only ranks matter; an inner
product never decides a hit.

**Index choice** (measured by ``benchmarks/finger_embedding.py`` and
``benchmarks/finger_search.py`` on synthetic fingers): the embedding space does not
cluster (a mate's cosine is often ~0.3, impostors spread around 0), so IVF lost mates that
an exhaustive scan finds at any nprobe that was faster than the scan, HNSW took minutes to
build at 256 dimensions and also lost mates, and the 256-bit binary codes kept far fewer
mates (86 % of plain mates in the top 1 % against 98 %).  The index is therefore an
exhaustive scan over 8-bit scalar-quantised vectors: ``IndexScalarQuantizer`` with
``QT_8bit_uniform`` over the fixed range [-1, 1] -- 256 bytes per finger, a few ms per
100,000 fingers on one core.

Why a fixed range: components of L2-normalised vectors lie in [-1, 1], so no vector is ever
clipped, and the codes do not depend on which fingers happened to be enrolled when the
quantiser was trained: a snapshot's codes and those of fingers added later are on one
scale, and re-encoding a decoded code gives the same code.  One step is 2/255 ~ 0.008; the
resulting cosine noise (~0.002) is far below the gap between mates and impostors.

**Persistence.**  ``write`` saves with ``faiss.write_index``; ``read`` maps the file with
``IO_FLAG_MMAP_IFC`` so opening a large home costs no read of the codes; pages come in as
searches touch them.  A mapped index is read-only (FAISS aborts the process on an add), so
``add`` refuses on it: the gallery keeps later fingers in a second, in-memory index.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from matcher.finger.embedding import EMBEDDING_DIM

#: Smallest shortlist, fingers: below it the FAISS scan is no longer the cost that a
#: smaller shortlist saves, and a tiny shortlist loses mates for nothing.
SHORTLIST_MIN = 200

#: Quantiser range: every component of an L2-normalised vector lies in [-1, 1].
_RANGE = np.vstack([-np.ones(EMBEDDING_DIM), np.ones(EMBEDDING_DIM)]).astype(np.float32)


def _single_thread() -> None:
    # One single-query search ran 2.6x slower with two OpenMP threads than with one
    # (notes/performance.md); searches run one per request thread.
    faiss.omp_set_num_threads(1)


class EmbeddingIndex:
    """Exhaustive inner-product index over 8-bit codes of embeddings; ids are insertion
    numbers 0..len-1 (the gallery maps them to its entries)."""

    def __init__(self, index: faiss.Index | None = None, *, mapped: bool = False):
        if index is None:
            index = faiss.IndexScalarQuantizer(EMBEDDING_DIM, faiss.ScalarQuantizer.QT_8bit_uniform,
                                               faiss.METRIC_INNER_PRODUCT)
            index.train(_RANGE)
        if index.d != EMBEDDING_DIM:
            raise ValueError(f"embedding index has {index.d} dimensions, embeddings have "
                             f"{EMBEDDING_DIM}")
        self.index = index
        self.mapped = mapped
        _single_thread()

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        if self.mapped:
            raise RuntimeError("a memory-mapped embedding index is read-only")
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """(inner products, ids) of the best ``k`` fingers for one probe ``vector``, only
        among ids where ``allowed`` (bool per id) is true; fewer when fewer are allowed."""
        n = len(self)
        k = min(int(k), n if allowed is None else int(np.count_nonzero(allowed)))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        params = None
        if allowed is not None and k < n:
            bitmap = np.packbits(allowed[:n], bitorder="little")
            selector = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))
            params = faiss.SearchParameters(sel=selector)
        distances, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        if allowed is not None and params is None:
            keep &= allowed[np.maximum(ids[0], 0)]
        return distances[0][keep], ids[0][keep]

    def codes(self) -> np.ndarray:
        """The stored codes, uint8 [len, code size] (a copy)."""
        return faiss.vector_to_array(self.index.codes).reshape(len(self), self.index.code_size)

    def bytes_per_finger(self) -> int:
        return int(self.index.code_size)

    def write(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def read(cls, path: Path, *, mmap: bool = True) -> "EmbeddingIndex":
        flags = faiss.IO_FLAG_MMAP_IFC if mmap and hasattr(faiss, "IO_FLAG_MMAP_IFC") else 0
        return cls(faiss.read_index(str(path), flags), mapped=bool(flags))

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> "EmbeddingIndex":
        """An in-memory index holding these codes (as returned by ``codes``)."""
        made = cls()
        if len(codes):
            made.index.add(made.index.sa_decode(np.ascontiguousarray(codes, dtype=np.uint8)))
        return made

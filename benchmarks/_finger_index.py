"""The FAISS index of ``finger_search.py``'s shortlist stage, over gallery embeddings
(``matcher.finger.embedding``): the deployed one and two to compare it with.

- ``sq8`` (default): ``matcher.finger.shortlist.EmbeddingIndex``, the index home.finger
  uses -- an exhaustive inner-product scan over 8-bit codes (IndexScalarQuantizer, uniform
  over [-1, 1]), 256 bytes per finger;
- ``flat``: exact inner product over the float32 vectors (the ranking the embedding is
  made for), 1 KiB per finger;
- ``binary``: exact Hamming distance over the 256-bit ITQ ``binary_codes``, 32 bytes per
  finger.
"""

from __future__ import annotations

import faiss
import numpy as np

from matcher.finger import embedding
from matcher.finger.shortlist import EmbeddingIndex

INDEX_KINDS = ("sq8", "flat", "binary")


class ShortlistIndex:
    """The FAISS index over gallery embeddings; ids are gallery numbers.  ``sq8`` is the
    deployed ``EmbeddingIndex`` (IndexScalarQuantizer, 8-bit uniform over [-1, 1]); ``flat``
    (exact inner product over float32) and ``binary`` (exact Hamming over the 256-bit ITQ
    ``binary_codes``) are there to compare with."""

    def __init__(self, kind: str):
        self.kind = kind
        if kind == "sq8":
            self.index = EmbeddingIndex()
        elif kind == "flat":
            self.index = faiss.IndexFlatIP(embedding.EMBEDDING_DIM)
        else:
            self.index = faiss.IndexBinaryFlat(embedding.BINARY_BITS)
        faiss.omp_set_num_threads(1)

    @property
    def description(self) -> str:
        inner = self.index.index if self.kind == "sq8" else self.index
        return f"{type(inner).__name__} ({self.kind})"

    def add(self, vectors: np.ndarray) -> None:
        self.index.add(embedding.binary_codes(vectors) if self.kind == "binary" else vectors)

    def search(self, vector: np.ndarray, k: int) -> np.ndarray:
        """Gallery numbers of the best ``k`` fingers for one probe embedding, best first."""
        if self.kind == "sq8":
            return self.index.search(vector, k)[1]
        query = vector.reshape(1, -1)
        if self.kind == "binary":
            query = embedding.binary_codes(query)
        ids = self.index.search(query, k)[1][0]
        return ids[ids >= 0]

    def bytes_per_finger(self) -> int:
        if self.kind == "sq8":
            return self.index.bytes_per_finger()
        return int(self.index.code_size)

"""A fixed-length embedding per finger for candidate search (issue 3): a FAISS index over
these vectors returns a shortlist that the MCC score (``matcher.finger.mcc``) re-ranks.

    vector = embed(finger.arrays(), resolution_dpi=finger.resolution_dpi)   # (256,) float32
    vectors = embed_many([f.arrays() for f in fingers])                      # (n, 256)
    codes = binary_codes(vectors)                                            # (n, 32) uint8

**Method.**  A minutia-pair histogram (``_embedding_pairs``: every pair 15-165 px apart at
500 dpi, described by its length and the direction of each minutia relative to the line
joining them, 12 x 12 x 12 soft bins; rotation and translation invariant), then
log(1 + count), L2 normalisation, and a regularised LDA projection to ``EMBEDDING_DIM``
(``_embedding_train``) learned on synthetic fingers (16,000 masters, two rolled, three
plain and two latent impressions each; ``fixtures/finger-embedding/README.md``), L2
normalised again.  Compare embeddings by inner product (= cosine).

**What a score means.**  Only ranks matter: the cosine of mates is not calibrated and must
never decide a hit; MCC decides.  Measured by ``benchmarks/finger_embedding.py`` (rolled
gallery of 20,000 synthetic fingers, exact inner-product search; fingers and impressions
never seen in training):

| probe  | mate within top 0.1 % | 0.3 % | 1 %  | 5 %  |
|--------|----------------------:|------:|-----:|-----:|
| plain  | 93.6 %                | 96.8 % | 98.4 % | 99.9 % |
| latent | 8.5 %                 | 16.4 % | 27.0 % | 47.1 % |

The raw pair histogram (no projection) scores 49.6 / 59.0 / 72.0 / 88.9 % on plain probes.
Among the plain mates exhaustive MCC ranks first (10,000 fingers, 150 probes): 87 / 95 /
99 / 100 %.  Impostor and mate cosines overlap (a mate's cosine is often ~0.3): the space
does not cluster, so IVF and HNSW lose mates that an exhaustive scan finds; search it
exhaustively (FAISS ``IndexScalarQuantizer`` 8-bit, 256 bytes per finger, ~3 ms per
100,000 fingers on one core).  Latent
marks (15-30 minutiae on a small patch) have too few pairs for a global descriptor: search
them exhaustively with MCC or with a larger shortlist.

**Degenerate prints.**  A print with no pair of minutiae 15-165 px apart (fewer than two
minutiae) embeds as the zero vector: it scores 0 against everything and is found by no
search.

**Binary code.**  ``binary_codes`` turns embeddings into ``BINARY_BITS``-bit codes, sign of
the embedding after a learned ITQ rotation, for FAISS binary indexes (32 bytes per finger).
Hamming ranking loses much: 64 / 74 / 86 % of plain mates in the top 0.1 / 0.3 / 1 %;
kept for experiments, not recommended for the shortlist.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from matcher._fixtures import fixtures_path
from matcher.finger._embedding_pairs import pair_histogram
from matcher.finger.model import MinutiaArrays

__all__ = [
    "EMBEDDING_DIM", "BINARY_BITS", "HISTOGRAM_DIM", "binary_codes", "embed", "embed_many",
    "model_digest", "pair_features",
]

#: Resolution the pair lengths are given at; other resolutions are scaled to it.
REFERENCE_DPI = 500.0
#: Shortest pair, px at 500 dpi: below ~1.5 ridge periods (9 px) a pair is mostly position
#: noise (2-5 px per minutia) and spurious minutiae, which come in close clusters.
PAIR_DISTANCE_MIN_PX = 15.0
#: Longest pair, px: a plain print covers ~250 px across; longer pairs rarely survive in
#: both impressions and the skin distortion bends them most.  10-200 px measured worse.
PAIR_DISTANCE_MAX_PX = 165.0
#: Distance bins and angle bins per minutia.  16 x 16 x 16 measured the same after the
#: projection (raw histograms prefer it) at 2.4 x the size of the learned matrix.
DISTANCE_BINS = 12
ANGLE_BINS = 12
#: One channel: minutia types (flipped in 10-30 % of reported minutiae) as two channels (a
#: 4 x larger histogram) measured worse: 78 % of plain mates in the top 0.1 % against 92 %
#: with the same 4,000 training masters.
TYPE_CHANNELS = 1
HISTOGRAM_DIM = TYPE_CHANNELS * TYPE_CHANNELS * DISTANCE_BINS * ANGLE_BINS * ANGLE_BINS
#: Output dimension: 256 float32 = 1 KiB per finger raw; 128 lost ~10 points of the
#: share of plain mates within 0.1 %, 384 gained ~2 (``fixtures/finger-embedding``).
EMBEDDING_DIM = 256
BINARY_BITS = 256

_FIXTURE = ("finger-embedding", "projection.npz")


@lru_cache(maxsize=1)
def _projection() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, projection, itq_rotation) as float32, read once from the committed fixture."""
    path = fixtures_path(*_FIXTURE)
    with np.load(path) as data:
        mean = data["mean"].astype(np.float32)
        projection = np.ascontiguousarray(data["projection"].astype(np.float32))
        rotation = np.ascontiguousarray(data["itq_rotation"].astype(np.float32))
    if mean.shape != (HISTOGRAM_DIM,) or projection.shape != (HISTOGRAM_DIM, EMBEDDING_DIM):
        raise ValueError(f"{path}: mean {mean.shape} and projection {projection.shape} do "
                         f"not fit histograms of {HISTOGRAM_DIM} and embeddings of "
                         f"{EMBEDDING_DIM}; retrain with benchmarks/finger_embedding.py train")
    return mean, projection, rotation


def model_digest() -> str:
    """A digest of the learned projection: embeddings (and index codes) made under another
    projection are not comparable with today's."""
    mean, projection, _ = _projection()
    return hashlib.sha256(mean.tobytes() + projection.tobytes()).hexdigest()[:16]


def pair_features(arrays: MinutiaArrays, resolution_dpi: int = 500) -> np.ndarray:
    """The (HISTOGRAM_DIM,) float32 input of the projection: the pair histogram, then
    log(1 + count), L2-normalised; all zero for a print without a pair in range."""
    if resolution_dpi <= 0:
        raise ValueError(f"resolution_dpi must be > 0, got {resolution_dpi}")
    scale = REFERENCE_DPI / resolution_dpi
    x = np.ascontiguousarray(arrays.x, np.float64) * scale
    # Right-handed frame: image angles are counter-clockwise as seen, so with y flipped
    # the direction of a minutia is (cos a, sin a) and the angle carries over unchanged.
    y_up = -np.ascontiguousarray(arrays.y, np.float64) * scale
    theta = np.ascontiguousarray(arrays.angle, np.float64)
    if not len(x) == len(y_up) == len(theta):
        raise ValueError(f"minutia arrays differ in length: x {len(x)}, y {len(y_up)}, "
                         f"angle {len(theta)}")
    channel = np.zeros(len(x), np.int64)
    histogram = np.zeros(HISTOGRAM_DIM, np.float32)
    pair_histogram(x, y_up, theta, channel, TYPE_CHANNELS, PAIR_DISTANCE_MIN_PX,
                   PAIR_DISTANCE_MAX_PX, DISTANCE_BINS, ANGLE_BINS, histogram)
    features = np.log1p(histogram)
    norm = float(np.linalg.norm(features))
    return features / norm if norm > 0.0 else features


def _project(features: np.ndarray) -> np.ndarray:
    mean, projection, _ = _projection()
    empty = ~features.any(axis=1)
    vectors = (features - mean) @ projection
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.maximum(norms, 1e-12)
    vectors[empty] = 0.0
    return vectors.astype(np.float32)


def embed(arrays: MinutiaArrays, resolution_dpi: int = 500) -> np.ndarray:
    """The (EMBEDDING_DIM,) float32 embedding of one print, L2 norm 1 (0 for a print
    without a pair of minutiae 15-165 px apart)."""
    return _project(pair_features(arrays, resolution_dpi)[None, :])[0]


def embed_many(prints: list[MinutiaArrays], resolution_dpi: int = 500) -> np.ndarray:
    """(len(prints), EMBEDDING_DIM) float32, row k = ``embed(prints[k])``; one matrix
    product for the projection."""
    features = np.zeros((len(prints), HISTOGRAM_DIM), np.float32)
    for row, arrays in enumerate(prints):
        features[row] = pair_features(arrays, resolution_dpi)
    return _project(features)


def binary_codes(embeddings: np.ndarray) -> np.ndarray:
    """(n, BINARY_BITS / 8) uint8 codes for FAISS binary indexes: bit k of a row is 1 when
    component k of ``embeddings @ itq_rotation`` is ≥ 0 (``np.packbits`` order, the layout
    FAISS expects)."""
    embeddings = np.atleast_2d(np.asarray(embeddings, np.float32))
    if embeddings.shape[1] != EMBEDDING_DIM:
        raise ValueError(f"embeddings must have {EMBEDDING_DIM} columns, got "
                         f"{embeddings.shape[1]}")
    _, _, rotation = _projection()
    return np.packbits(embeddings @ rotation >= 0.0, axis=1)

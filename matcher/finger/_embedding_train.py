"""Fitting the learned parts of ``matcher.finger.embedding``: the discriminant projection of
pair histograms and the ITQ rotation of its binary code.  Pure numpy over arrays; the
training script (``benchmarks/finger_embedding.py train``) owns data and files.

**Projection (regularised LDA).**  Features x (one row per impression, the rows of one
finger share a label) are centred, reduced to their ``pca_dim`` leading principal axes,
whitened by the within-finger scatter S_w + lambda * mean(eig S_w) * I, and the
``out_dim`` directions along which the finger means spread most in that whitened space are
kept.  Cosine similarity in the result weighs each direction by how much more it varies
between fingers than between impressions of one finger.  lambda (``regularisation``)
shrinks S_w towards a multiple of the identity: with 16,000 training fingers, 0.3 beat
0.01-0.1 (the smallest eigenvalues of S_w are estimated badly, and whitening them amplifies
noise) and 3.0 (too close to plain PCA).

**ITQ** (Gong and Lazebnik, "Iterative quantization", CVPR 2011): the orthogonal rotation R
minimising ||B - V R||^2 with B = sign(V R), found by alternating the sign step and an
orthogonal Procrustes step; sign(V R) is then a binary code whose Hamming distance follows
the angle between embeddings more closely than sign(V).
"""

from __future__ import annotations

import numpy as np


def fit_projection(features: np.ndarray, labels: np.ndarray, *, pca_dim: int, out_dim: int,
                   regularisation: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean, projection): ``(features - mean) @ projection`` is the embedding before its
    L2 normalisation.  ``features`` (n, D) float, ``labels`` (n,) ints 0..k-1, every label
    present; ``out_dim`` ≤ min(pca_dim, number of labels - 1)."""
    features = np.asarray(features, np.float64)
    labels = np.asarray(labels, np.int64)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features (n, D) and labels (n,) expected, got {features.shape} "
                         f"and {labels.shape}")
    classes = int(labels.max()) + 1
    if not out_dim <= min(pca_dim, classes - 1, features.shape[1]):
        raise ValueError(f"out_dim {out_dim} must be ≤ pca_dim {pca_dim}, the number of "
                         f"classes less one ({classes - 1}) and the feature dimension")
    mean = features.mean(axis=0)
    centred = features - mean
    _, principal = np.linalg.eigh(centred.T @ centred)
    principal = principal[:, ::-1][:, :pca_dim]
    reduced = centred @ principal
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    class_means = np.zeros((classes, pca_dim))
    np.add.at(class_means, labels, reduced)
    class_means /= counts[:, None]
    residuals = reduced - class_means[labels]
    within = residuals.T @ residuals / len(reduced)
    within += regularisation * np.trace(within) / pca_dim * np.eye(pca_dim)
    within_values, within_vectors = np.linalg.eigh(within)
    whitening = within_vectors / np.sqrt(within_values)
    whitened_means = class_means @ whitening
    between = (whitened_means * counts[:, None]).T @ whitened_means / len(reduced)
    between_values, between_vectors = np.linalg.eigh(between)
    order = np.argsort(between_values)[::-1][:out_dim]
    projection = principal @ whitening @ between_vectors[:, order]
    return mean.astype(np.float32), projection.astype(np.float32)


def fit_itq(embeddings: np.ndarray, *, iterations: int = 50, seed: int = 0) -> np.ndarray:
    """The (d, d) orthogonal ITQ rotation for ``embeddings`` (n, d); start: a random
    rotation from ``seed`` (deterministic)."""
    # Not centred: the embeddings are projections of centred features already, and the
    # code must be sign(embedding @ R) exactly as ``embedding.binary_codes`` computes it.
    data = np.asarray(embeddings, np.float64)
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((data.shape[1], data.shape[1])))
    for _ in range(iterations):
        codes = np.where(data @ rotation >= 0.0, 1.0, -1.0)
        left, _, right = np.linalg.svd(data.T @ codes)
        rotation = left @ right
    return rotation.astype(np.float32)

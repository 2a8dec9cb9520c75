"""Finger embedding for candidate search (matcher.finger.embedding): the pair-histogram kernel
against a plain reference, shape and normalisation, invariance under rotation and
translation, and mates ranked near the top of a small synthetic gallery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from matcher._fixtures import fixtures_path
from matcher.finger import embedding, synth
from matcher.finger._embedding_pairs import pair_histogram
from matcher.finger.model import MinutiaArrays

TWO_PI = 2.0 * math.pi


def reference_histogram(x, y_up, theta, d_min, d_max, n_distance, n_angle):
    """One pair, one bin corner at a time, as the kernel's docstring states it."""
    out = np.zeros((n_distance, n_angle, n_angle))
    distance_step = (d_max - d_min) / n_distance
    angle_step = TWO_PI / n_angle
    for i in range(len(x)):
        for j in range(len(x)):
            distance = math.hypot(x[j] - x[i], y_up[j] - y_up[i])
            if i == j or not d_min <= distance <= d_max:
                continue
            phi = math.atan2(y_up[j] - y_up[i], x[j] - x[i])
            u = min(max((distance - d_min) / distance_step - 0.5, 0.0), n_distance - 1.0)
            d0 = min(int(u), n_distance - 2)
            a = ((theta[i] - phi) % TWO_PI) / angle_step - 0.5
            b = ((theta[j] - phi) % TWO_PI) / angle_step - 0.5
            a, b = a % n_angle, b % n_angle
            a0, b0 = int(a), int(b)
            for dk, wd in ((0, 1 - (u - d0)), (1, u - d0)):
                for ak, wa in ((0, 1 - (a - a0)), (1, a - a0)):
                    for bk, wb in ((0, 1 - (b - b0)), (1, b - b0)):
                        out[d0 + dk, (a0 + ak) % n_angle, (b0 + bk) % n_angle] += wd * wa * wb
    return out.ravel()


def arrays_of(points: np.ndarray) -> MinutiaArrays:
    """MinutiaArrays from rows (x, y, angle radians)."""
    count = len(points)
    return MinutiaArrays(points[:, 0].astype(np.float32), points[:, 1].astype(np.float32),
                         points[:, 2].astype(np.float32), np.ones(count, np.uint8),
                         np.full(count, 60, np.uint8))


def turned(arrays: MinutiaArrays, degrees: float, shift: tuple[float, float]) -> MinutiaArrays:
    """The print turned by ``degrees`` counter-clockwise as seen on the image about (250,
    250), then moved by ``shift`` px."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = arrays.x - 250.0, arrays.y - 250.0
    return MinutiaArrays(
        (250.0 + cos * dx + sin * dy + shift[0]).astype(np.float32),
        (250.0 - sin * dx + cos * dy + shift[1]).astype(np.float32),
        ((arrays.angle + angle) % TWO_PI).astype(np.float32), arrays.type, arrays.quality)


@pytest.fixture(scope="module")
def small_search():
    """A 500-finger rolled gallery of masters the projection never saw (its training seed
    is 777) and plain and latent probes of its first 100 fingers."""
    masters = list(synth.generate_masters(500, seed=3))
    rng = np.random.default_rng(4)
    gallery = embedding.embed_many([synth.impression(m, rng, mode="rolled").arrays()
                                    for m in masters])
    probes = {mode: embedding.embed_many([synth.impression(m, rng, mode=mode).arrays()
                                          for m in masters[:100]])
              for mode in ("plain", "latent")}
    return gallery, probes


def mate_ranks(gallery: np.ndarray, probes: np.ndarray) -> np.ndarray:
    scores = probes @ gallery.T
    mate = scores[np.arange(len(probes)), np.arange(len(probes))]
    return (scores > mate[:, None]).sum(axis=1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 300), st.floats(0, 300), st.floats(0, 6.28)),
                min_size=0, max_size=12))
def test_kernel_matches_reference(points):
    points = np.array(points, np.float64).reshape(-1, 3)
    x, y_up, theta = (np.ascontiguousarray(points[:, k]) for k in range(3))
    out = np.zeros(5 * 6 * 6, np.float32)
    pair_histogram(x, y_up, theta, np.zeros(len(x), np.int64), 1, 15.0, 165.0, 5, 6, out)
    expected = reference_histogram(x, y_up, theta, 15.0, 165.0, 5, 6)
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_shape_norm_and_determinism():
    master = next(synth.generate_masters(1, seed=5))
    arrays = synth.impression(master, np.random.default_rng(6), mode="plain").arrays()
    vector = embedding.embed(arrays)
    assert vector.shape == (embedding.EMBEDDING_DIM,) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    np.testing.assert_array_equal(vector, embedding.embed(arrays))
    many = embedding.embed_many([arrays, arrays])
    np.testing.assert_allclose(many, np.stack([vector, vector]), atol=1e-6)
    codes = embedding.binary_codes(many)
    assert codes.shape == (2, embedding.BINARY_BITS // 8) and codes.dtype == np.uint8


def test_print_without_pairs_embeds_as_zero():
    lone = arrays_of(np.array([[100.0, 100.0, 0.5]]))
    assert not embedding.embed(lone).any()
    assert embedding.embed_many([]).shape == (0, embedding.EMBEDDING_DIM)


@pytest.mark.parametrize("degrees, shift", [(37.0, (12.0, -30.0)), (-90.0, (0.0, 0.0)),
                                            (180.0, (-45.0, 20.5)), (5.0, (3.0, 3.0))])
def test_rotation_and_translation_invariance(degrees, shift):
    master = next(synth.generate_masters(1, seed=8))
    arrays = synth.impression(master, np.random.default_rng(9), mode="rolled").arrays()
    moved = turned(arrays, degrees, shift)
    # Coordinates are float32: the soft binning turns the rounding into a tiny change.
    assert float(embedding.embed(arrays) @ embedding.embed(moved)) > 0.999


def test_resolution_scaling():
    master = next(synth.generate_masters(1, seed=10))
    arrays = synth.impression(master, np.random.default_rng(11), mode="plain").arrays()
    doubled = MinutiaArrays(arrays.x * 2, arrays.y * 2, arrays.angle, arrays.type, arrays.quality)
    assert float(embedding.embed(arrays) @ embedding.embed(doubled, resolution_dpi=1000)) > 0.999
    with pytest.raises(ValueError, match="resolution_dpi"):
        embedding.embed(arrays, resolution_dpi=0)


def test_plain_mates_rank_near_the_top(small_search):
    """Measured on this gallery: every plain mate within the top 5 % (25 of 500) and ~97 %
    within the top 1 %; 20,000-finger galleries give the same shares (the benchmark)."""
    gallery, probes = small_search
    ranks = mate_ranks(gallery, probes["plain"])
    assert np.mean(ranks < 25) >= 0.97
    assert np.mean(ranks < 5) >= 0.90


def test_latent_mates_are_better_than_chance(small_search):
    """Latent marks are the weak case (benchmark: ~47 % within the top 5 %); chance is 5 %."""
    gallery, probes = small_search
    assert np.mean(mate_ranks(gallery, probes["latent"]) < 25) >= 0.30


def test_impostors_spread_and_mates_stand_out(small_search):
    gallery, probes = small_search
    scores = probes["plain"] @ gallery.T
    mated = np.diag(scores)
    impostor = scores[~np.eye(*scores.shape, dtype=bool)]
    assert np.median(mated) > np.quantile(impostor, 0.999)


def test_fixture_is_small_and_documented():
    folder = fixtures_path("finger-embedding")
    assert (folder / "README.md").exists()
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 2 * 1024 * 1024

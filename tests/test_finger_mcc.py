"""Minutia Cylinder-Code (matcher.finger.mcc): the numba kernels against a plain-Python
reference written from the paper and spec ``minutiae.md`` section 4, invariance under
rotation and translation, genuine and impostor score bands, the decision threshold.

The reference uses libm's exp and atan2 and sums in plain order; the relaxation kernel
has its own exp and atan2 (within two ulps, tested below) and fused multiply-adds, so
LSS-R scores agree to ~1e-15 (compared at rel=1e-12); cylinders and LSS agree exactly."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from matcher.finger import _mcc_math, mcc
from matcher.finger.model import MinutiaArrays

TWO_PI = 2.0 * math.pi
SMALL = mcc.MCC8          # the default grid
LARGE = mcc.MCC16


# --------------------------------------------------------------------------------------
# Reference implementation: one cell, one neighbour, one formula at a time.
# --------------------------------------------------------------------------------------

def wrap(angle: float) -> float:
    """A difference of directions moved into [-pi, pi] (one turn is enough here)."""
    if angle >= math.pi:
        return angle - TWO_PI
    if angle < -math.pi:
        return angle + TWO_PI
    return angle


def vector_angle(dx: float, dy: float) -> float:
    """Direction of (dx, dy); a vector pointing left or down is measured as the half turn
    of its opposite (the documented rule that lets one atan2 serve both directions)."""
    if dx > 0.0 or (dx == 0.0 and dy >= 0.0):
        return math.atan2(dy, dx)
    opposite = math.atan2(-dy, -dx)
    return opposite - math.pi if opposite > 0.0 else opposite + math.pi


def psi(value: float, mu: float, tau: float) -> float:
    return 1.0 / (1.0 + math.exp(-tau * (value - mu)))


def reference_frame(arrays: MinutiaArrays):
    """(x, y up, direction in [0, 2 pi]) per minutia, as make_cylinders stores them."""
    x = np.asarray(arrays.x, np.float32)
    y = -np.asarray(arrays.y, np.float32)
    theta = np.mod(np.asarray(arrays.angle, np.float64), TWO_PI).astype(np.float32)
    return [(float(a), float(b), float(c)) for a, b, c in zip(x, y, theta)]


def convex_hull(points):
    points = sorted(set(points))
    if len(points) <= 2:
        return points

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in points:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(points):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def distance_to_hull(px, py, hull):
    """0 inside the hull, else the distance to it; None when the point sits on an edge's
    line within rounding (inside or not is then a coin toss for any implementation)."""
    if len(hull) >= 3:
        crosses = [(hull[(e + 1) % len(hull)][0] - hull[e][0]) * (py - hull[e][1])
                   - (hull[(e + 1) % len(hull)][1] - hull[e][1]) * (px - hull[e][0])
                   for e in range(len(hull))]
        if all(c >= 0 for c in crosses):
            return None if min(crosses) < 1e-6 else 0.0
    best = math.inf
    edges = len(hull) if len(hull) >= 3 else 1
    for e in range(edges):
        ax, ay = hull[e]
        bx, by = hull[(e + 1) % len(hull)]
        ex, ey = bx - ax, by - ay
        length2 = ex * ex + ey * ey
        t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((px - ax) * ex + (py - ay) * ey) / length2))
        best = min(best, math.hypot(px - (ax + t * ex), py - (ay + t * ey)))
    return best


def reference_cylinders(arrays: MinutiaArrays, params: mcc.MccParameters):
    """Per minutia: None (dropped), "?" (the keep decision is within rounding), or
    (bits[i][j][k], valid[i][j], valid_unsure[i][j], bit_unsure[i][j][k]), the unsure
    marks flagging cells within rounding of a threshold (any implementation may go
    either way there)."""
    minutiae = reference_frame(arrays)
    hull = convex_hull([(x, y) for x, y, _ in minutiae])
    ns, nd, radius = params.ns, params.nd, params.radius
    side = 2.0 * radius / ns
    bin_width = TWO_PI / nd
    reach = 3.0 * params.sigma_s
    inside = [[(side * (i - (ns - 1) / 2)) ** 2 + (side * (j - (ns - 1) / 2)) ** 2 <= radius ** 2
               for j in range(ns)] for i in range(ns)]
    n_inside = sum(map(sum, inside))
    result = []
    for m, (xm, ym, tm) in enumerate(minutiae):
        distances = [math.hypot(x - xm, y - ym) for t, (x, y, _) in enumerate(minutiae) if t != m]
        if any(abs(d - (radius + reach)) < 1e-9 for d in distances):
            result.append("?")
            continue
        if sum(d <= radius + reach for d in distances) < params.min_m:
            result.append(None)
            continue
        bits = [[[False] * nd for _ in range(ns)] for _ in range(ns)]
        valid = [[False] * ns for _ in range(ns)]
        valid_unsure = [[False] * ns for _ in range(ns)]
        unsure = [[[False] * nd for _ in range(ns)] for _ in range(ns)]
        unsure_validity = 0
        for i in range(ns):
            for j in range(ns):
                u, v = side * (i - (ns - 1) / 2), side * (j - (ns - 1) / 2)
                px = xm + u * math.cos(tm) - v * math.sin(tm)
                py = ym + u * math.sin(tm) + v * math.cos(tm)
                if inside[i][j]:
                    gap = distance_to_hull(px, py, hull)
                    if gap is None or abs(gap - params.omega) < 1e-6:
                        valid_unsure[i][j] = True
                        unsure_validity += 1
                        continue
                    valid[i][j] = gap <= params.omega
                if not valid[i][j]:
                    continue
                for k in range(nd):
                    dphi = -math.pi + (k + 0.5) * bin_width
                    total = 0.0
                    for t, (xt, yt, tt) in enumerate(minutiae):
                        d = math.hypot(px - xt, py - yt)
                        if t == m or d > reach:
                            continue
                        spatial = math.exp(-d * d / (2 * params.sigma_s ** 2)) / (
                            params.sigma_s * math.sqrt(TWO_PI))
                        alpha = wrap(dphi - wrap(tm - tt))
                        scale = math.sqrt(2.0) * params.sigma_d
                        directional = 0.5 * (math.erf((alpha + bin_width / 2) / scale)
                                             - math.erf((alpha - bin_width / 2) / scale))
                        total += spatial * directional
                    bits[i][j][k] = total >= params.mu_psi
                    unsure[i][j][k] = abs(total - params.mu_psi) < 1e-9
        n_valid = sum(map(sum, valid))
        threshold = params.min_vc * n_inside
        if n_valid + unsure_validity >= threshold > n_valid:
            result.append("?")
        elif n_valid < threshold:
            result.append(None)
        else:
            result.append((bits, valid, valid_unsure, unsure))
    return result


def unpack(cylinders: mcc.Cylinders, row: int):
    """(bits[i][j][k], valid[i][j]) of one kernel cylinder."""
    ns, nd = cylinders.ns, cylinders.nd
    spatial = (ns * ns + 63) // 64

    def bit(word, c):
        return bool((int(word) >> (c % 64)) & 1)

    bits = [[[bit(cylinders.bits[row, k * spatial + (i * ns + j) // 64], i * ns + j)
              for k in range(nd)] for j in range(ns)] for i in range(ns)]
    valid = [[bit(cylinders.valid[row, (i * ns + j) // 64], i * ns + j) for j in range(ns)]
             for i in range(ns)]
    return bits, valid


def as_int(words) -> int:
    return sum(int(w) << (64 * n) for n, w in enumerate(words))


def reference_scores(a: mcc.Cylinders, b: mcc.Cylinders, params: mcc.MccParameters):
    """(LSS, LSS-R) of two kernel-built templates, from the formulas of spec 4."""
    nd, spatial = params.nd, params.spatial_words

    def wide(valid_words):
        mask = as_int(valid_words)
        return sum(mask << (64 * spatial * k) for k in range(nd))

    n_a, n_b = a.count, b.count
    if n_a == 0 or n_b == 0:
        return 0.0, 0.0
    candidates = []
    for r in range(n_a):
        for q in range(n_b):
            if abs(wrap(float(a.theta[r]) - float(b.theta[q]))) > params.delta_theta:
                continue
            common = (as_int(a.valid[r]) & as_int(b.valid[q])).bit_count()
            if common * nd < params.min_me * (params.cells_inside * nd):
                continue
            a_on_b = as_int(a.bits[r]) & wide(b.valid[q])
            b_on_a = as_int(b.bits[q]) & wide(a.valid[r])
            na, nb, nx = a_on_b.bit_count(), b_on_a.bit_count(), (a_on_b ^ b_on_a).bit_count()
            if math.sqrt(na) + math.sqrt(nb) == 0:
                continue
            similarity = 1.0 - math.sqrt(nx) / (math.sqrt(na) + math.sqrt(nb))
            if similarity > 0:
                candidates.append((similarity, int(a.minutia[r]), int(b.minutia[q]), r, q))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    fraction = psi(min(n_a, n_b), params.mu_p, params.tau_p)
    n_p = params.min_np + math.floor(fraction * (params.max_np - params.min_np) + 0.5)
    lss = 0.0
    for c in candidates[:n_p]:
        lss += c[0]
    lss /= n_p

    n_r = min(n_a, n_b)
    chosen = candidates[:n_r]

    def position(cyl, row):
        return float(cyl.x[row]), float(cyl.y[row]), float(cyl.theta[row])

    def factor(value, mu, tau):
        exponent = -tau * (value - mu)
        return None if exponent > params.rho_cutoff else 1.0 / (1.0 + math.exp(exponent))

    def rho(t, k):
        (xat, yat, tat), (xak, yak, tak) = position(a, chosen[t][3]), position(a, chosen[k][3])
        (xbt, ybt, tbt), (xbk, ybk, tbk) = position(b, chosen[t][4]), position(b, chosen[k][4])
        d1 = abs(math.sqrt((xak - xat) ** 2 + (yak - yat) ** 2)
                 - math.sqrt((xbk - xbt) ** 2 + (ybk - ybt) ** 2))
        d2 = abs(wrap(wrap(tat - tak) - wrap(tbt - tbk)))
        d3 = abs(wrap(wrap(tat - vector_angle(xak - xat, yak - yat))
                      - wrap(tbt - vector_angle(xbk - xbt, ybk - ybt))))
        factors = [factor(d1, params.mu_rho_distance, params.tau_rho_distance),
                   factor(d2, params.mu_rho_direction, params.tau_rho_direction),
                   factor(d3, params.mu_rho_radial, params.tau_rho_radial)]
        if None in factors:
            return 0.0
        return factors[0] * factors[1] * factors[2]

    weights = [[0.0 if t == k else rho(t, k) for k in range(len(chosen))]
               for t in range(len(chosen))]
    start = [c[0] for c in chosen]
    current = list(start)
    for _ in range(params.n_rel):
        following = []
        for t in range(len(chosen)):
            support = 0.0
            for k in range(len(chosen)):
                if k != t and weights[t][k] > 0:
                    support += weights[t][k] * current[k]
            following.append(params.w_r * current[t]
                             + (1 - params.w_r) * support / max(n_r - 1, 1))
        current = following
    order = sorted(range(len(chosen)), key=lambda t: (-current[t] / start[t], t))[:n_p]
    lssr = 0.0
    for t in order:
        lssr += current[t]
    return lss, lssr / n_p


# --------------------------------------------------------------------------------------
# Synthetic minutiae: a loop-like orientation field, noisy rotated copies.
# --------------------------------------------------------------------------------------

def arrays(x, y, angle) -> MinutiaArrays:
    n = len(x)
    return MinutiaArrays(np.asarray(x, np.float32), np.asarray(y, np.float32),
                         np.mod(np.asarray(angle, np.float64), TWO_PI).astype(np.float32),
                         np.ones(n, np.uint8), np.zeros(n, np.uint8))


def synthetic_finger(rng, count=None):
    """Minutiae 14 px apart or more in a 280 x 360 px ellipse, pointing along a loop's
    ridge flow (one core, one delta), either way."""
    count = count or int(rng.integers(45, 70))
    points = []
    while len(points) < count:
        u, v = rng.uniform(-1, 1, 2)
        if u * u + v * v <= 1:
            p = (200 + 140 * u, 250 + 180 * v)
            if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= 196 for q in points):
                points.append(p)
    x, y = np.array(points).T
    core = (200 + rng.normal(0, 20), 210 + rng.normal(0, 20))
    delta = (200 + rng.normal(0, 60), 370 + rng.normal(0, 20))
    flow = 0.5 * (np.arctan2(y - core[1], x - core[0]) - np.arctan2(y - delta[1], x - delta[0]))
    angle = flow + rng.uniform(0, math.pi) + math.pi * rng.integers(0, 2, count)
    return x, y, angle + rng.normal(0, 0.1, count)


def impression(rng, finger, keep=0.85, spurious=0.1):
    """A capture of ``finger``: 15 % missing, 10 % spurious, a partial cut, smooth skin
    distortion (4 px), 2 px / 0.08 rad noise, rotation up to 30 degrees, shift up to 40 px."""
    x, y, angle = finger
    kept = rng.random(len(x)) < keep
    x, y, angle = x[kept], y[kept], angle[kept]
    direction, reach = rng.uniform(0, TWO_PI), rng.uniform(60, 140)
    inside = (x - 200) * math.cos(direction) + (y - 250) * math.sin(direction) < reach
    x, y, angle = x[inside], y[inside], angle[inside]
    extra = rng.poisson(spurious * len(x))
    x = np.concatenate([x, rng.uniform(80, 320, extra)])
    y = np.concatenate([y, rng.uniform(90, 410, extra)])
    angle = np.concatenate([angle, rng.uniform(0, TWO_PI, extra)])
    k1, k2 = rng.uniform(0.01, 0.03, 2)
    p1, p2 = rng.uniform(0, TWO_PI, 2)
    x, y = x + 4 * np.sin(k1 * y + p1), y + 4 * np.sin(k2 * x + p2)
    x, y = x + rng.normal(0, 2, len(x)), y + rng.normal(0, 2, len(y))
    angle = angle + rng.normal(0, 0.08, len(angle))
    order = rng.permutation(len(x))
    return rotated(x[order], y[order], angle[order], rng.uniform(-math.pi / 6, math.pi / 6),
                   *rng.uniform(-40, 40, 2))


def rotated(x, y, angle, turn, shift_x=0.0, shift_y=0.0):
    """The minutiae turned by ``turn`` (counter-clockwise as seen on the image) about
    (200, 250) and shifted."""
    c, s = math.cos(turn), math.sin(turn)
    xc, yc = np.asarray(x, np.float64) - 200, np.asarray(y, np.float64) - 250
    return arrays(c * xc + s * yc + 200 + shift_x, -s * xc + c * yc + 250 + shift_y,
                  np.asarray(angle, np.float64) + turn)


# --------------------------------------------------------------------------------------
# Kernels equal the reference
# --------------------------------------------------------------------------------------

coordinate = st.floats(0, 150, allow_nan=False, width=32)
direction = st.floats(0, TWO_PI, allow_nan=False, exclude_max=True)
minutia = st.tuples(coordinate, coordinate, direction)
minutiae_sets = st.integers(0, 12).flatmap(lambda n: st.lists(minutia, min_size=n, max_size=n))


def from_tuples(items) -> MinutiaArrays:
    if not items:
        return arrays([], [], [])
    x, y, angle = zip(*items)
    return arrays(x, y, angle)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minutiae_sets, st.sampled_from([SMALL, SMALL, LARGE]))
def test_cylinders_equal_reference(items, params):
    check_cylinders(from_tuples(items), params)


@pytest.mark.parametrize("params", [SMALL, LARGE], ids=["NS=8", "NS=16"])
def test_cylinders_of_a_finger_equal_reference(params):
    rng = np.random.default_rng(12)
    template = impression(rng, synthetic_finger(rng, count=30))
    assert check_cylinders(template, params) >= 15


def check_cylinders(template, params):
    """Kernel cylinders = reference cylinders, cell by cell; returns how many were compared."""
    cylinders = mcc.make_cylinders(template, params)
    expected = reference_cylinders(template, params)
    rows = {int(m): r for r, m in enumerate(cylinders.minutia)}
    assert len(rows) == cylinders.count
    for m, reference in enumerate(expected):
        if reference == "?":
            continue
        assert (m in rows) == (reference is not None), f"minutia {m} kept?"
        if reference is None:
            continue
        bits, valid = unpack(cylinders, rows[m])
        ref_bits, ref_valid, valid_unsure, bit_unsure = reference
        for i in range(params.ns):
            for j in range(params.ns):
                if valid_unsure[i][j]:
                    continue
                assert valid[i][j] == ref_valid[i][j], (m, i, j)
                for k in range(params.nd):
                    if not bit_unsure[i][j][k]:
                        assert bits[i][j][k] == ref_bits[i][j][k], (m, i, j, k)
    return cylinders.count


def test_cylinder_layout_and_order():
    rng = np.random.default_rng(3)
    cylinders = mcc.make_cylinders(arrays(*synthetic_finger(rng)), SMALL)
    assert cylinders.bits.shape == (cylinders.count, SMALL.words) == (cylinders.count, 6)
    assert cylinders.valid.shape == (cylinders.count, 1)
    assert np.all(np.diff(cylinders.theta) >= 0)          # stored by direction
    assert np.all((cylinders.bits[:, :1] & ~cylinders.valid) == 0)  # no bit outside validity


templates = st.builds(lambda items, copy, seed: (items, copy, seed),
                      st.integers(0, 24).flatmap(
                          lambda n: st.lists(minutia, min_size=n, max_size=n)),
                      st.booleans(), st.integers(0, 2 ** 32 - 1))


def probe_and_gallery(sample):
    """A random set and either another random set or a noisy copy of it."""
    items, copy, seed = sample
    rng = np.random.default_rng(seed)
    a = from_tuples(items)
    if copy and items:
        x, y, angle = (np.array(v, np.float64) for v in zip(*items))
        keep = rng.random(len(x)) < 0.8
        kept = int(keep.sum())
        b = rotated(x[keep] + rng.normal(0, 1.5, kept), y[keep] + rng.normal(0, 1.5, kept),
                    angle[keep] + rng.normal(0, 0.05, kept), rng.uniform(-1, 1))
    else:
        n = int(rng.integers(0, 24))
        b = arrays(rng.uniform(0, 150, n), rng.uniform(0, 150, n), rng.uniform(0, TWO_PI, n))
    return a, b


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates, st.sampled_from([SMALL, LARGE, replace(SMALL, delta_theta=math.pi / 2)]))
def test_scores_equal_reference(sample, params):
    a_template, b_template = probe_and_gallery(sample)
    a = mcc.make_cylinders(a_template, params)
    b = mcc.make_cylinders(b_template, params)
    lss, lssr = reference_scores(a, b, params)
    assert mcc.similarity_lss(a, b, params) == pytest.approx(lss, rel=1e-12, abs=1e-15)
    assert mcc.similarity(a, b, params) == pytest.approx(lssr, rel=1e-12, abs=1e-15)


def check_against_reference(a_template, b_template, params):
    a = mcc.make_cylinders(a_template, params)
    b = mcc.make_cylinders(b_template, params)
    lss, lssr = reference_scores(a, b, params)
    assert mcc.similarity_lss(a, b, params) == pytest.approx(lss, rel=1e-12, abs=1e-15)
    assert mcc.similarity(a, b, params) == pytest.approx(lssr, rel=1e-12, abs=1e-15)
    return a, b, lssr


@pytest.mark.parametrize("params", [
    replace(SMALL, delta_theta=math.pi),                       # every pair comparable
    replace(SMALL, nd=4), replace(SMALL, nd=9),                # 3 and 4 bit planes
    replace(SMALL, min_me=0.0, rho_cutoff=20.0, mu_rho_distance=4.0),
    replace(SMALL, tau_rho_distance=0.0, tau_rho_direction=2.0, mu_rho_direction=0.5),
], ids=["delta_theta=pi", "nd=4", "nd=9", "loose-cutoffs", "odd-taus"])
def test_other_parameters_equal_reference(params):
    rng = np.random.default_rng(21)
    for _ in range(3):
        finger = synthetic_finger(rng, count=40)
        check_against_reference(impression(rng, finger), impression(rng, finger), params)


def test_large_probe_and_coincident_minutiae_equal_reference():
    """A probe of ~100 cylinders (another lane layout of the kernel) and a gallery
    template whose minutiae come in coincident pairs (zero vectors in the relaxation)."""
    rng = np.random.default_rng(33)
    finger = synthetic_finger(rng, count=110)
    big = arrays(*finger)
    x, y, angle = (np.asarray(v, np.float64) for v in finger)
    half = slice(0, 40)
    twins = arrays(np.concatenate([x[half], x[half]]), np.concatenate([y[half], y[half]]),
                   np.concatenate([angle[half], angle[half] + 0.3]))
    a, b, lssr = check_against_reference(big, twins, SMALL)
    assert a.count > 90 and lssr > 0.05


def test_fast_exp_and_atan2_within_two_ulps():
    rng = np.random.default_rng(9)
    xs = np.concatenate([rng.uniform(-20, 20, 3000), rng.uniform(-700, 700, 1000),
                         rng.uniform(-1e-9, 1e-9, 200), [0.0, -0.0, 1.0, 5.0, -5.0]])
    exps = np.array([_mcc_math.exp(v) for v in xs])
    assert np.all(np.abs(exps - np.exp(xs)) <= np.spacing(np.exp(xs)))
    ys = np.concatenate([rng.normal(0, 100, 3000), rng.uniform(-1e-3, 1e-3, 300),
                         [0.0, 0.0, 1.0, -1.0, 2.0, 3.0, -1e-300]])
    xr = np.concatenate([np.abs(rng.normal(0, 100, 3000)), rng.uniform(0, 1e-3, 300),
                         [0.0, 1.0, 0.0, 0.0, 2.0, 3.0 * math.tan(math.pi / 8), 1e-300]])
    angles = np.array([_mcc_math.atan2_right(v, u) for v, u in zip(ys, xr)])
    expected = np.arctan2(ys, xr)
    assert np.all(np.abs(angles - expected) <= 2 * np.spacing(np.maximum(np.abs(expected),
                                                                         np.finfo(float).tiny)))


def test_parameters_out_of_range_are_refused():
    with pytest.raises(ValueError, match="nd <= 15"):
        mcc.MccParameters(nd=16)
    with pytest.raises(ValueError, match="2\\^21"):
        mcc.MccParameters(ns=600)


def test_one_to_many_equals_one_to_one():
    rng = np.random.default_rng(5)
    fingers = [synthetic_finger(rng) for _ in range(6)]
    gallery = [mcc.make_cylinders(impression(rng, f)) for f in fingers]
    gallery.append(mcc.make_cylinders(arrays([], [], [])))           # an empty template
    probe = mcc.make_cylinders(impression(rng, fingers[2]))
    packed = mcc.pack_cylinders(gallery)
    for relaxation, single in ((True, mcc.similarity), (False, mcc.similarity_lss)):
        many = mcc.similarity_one_to_many(probe, packed, relaxation=relaxation)
        assert list(many) == [single(probe, g) for g in gallery]
        assert list(mcc.similarity_one_to_many(probe, gallery, relaxation=relaxation)) == list(many)
    assert int(np.argmax(mcc.similarity_one_to_many(probe, packed))) == 2
    assert mcc.similarity_one_to_many(probe, []).shape == (0,)


def test_explain_lists_the_pairs_behind_the_score():
    rng = np.random.default_rng(8)
    finger = synthetic_finger(rng)
    a, b = (mcc.make_cylinders(impression(rng, finger)) for _ in range(2))
    evidence = mcc.explain(a, b)
    assert evidence["score"] == mcc.similarity(a, b)
    pairs = evidence["pairs"]
    assert 0 < len(pairs) <= evidence["pairs_averaged"]
    assert sum(p["relaxed_similarity"] for p in pairs) / evidence["pairs_averaged"] == \
        pytest.approx(evidence["score"])
    assert all(0 <= p["minutia_a"] < 255 and 0 <= p["minutia_b"] < 255 for p in pairs)


def test_mismatched_parameters_and_unsorted_cylinders_are_refused():
    cylinders = mcc.make_cylinders(arrays(*synthetic_finger(np.random.default_rng(1))), SMALL)
    with pytest.raises(ValueError, match="NS=8"):
        mcc.similarity(cylinders, cylinders, LARGE)
    shuffled = mcc.Cylinders(cylinders.bits[::-1].copy(), cylinders.valid[::-1].copy(),
                             cylinders.x[::-1].copy(), cylinders.y[::-1].copy(),
                             cylinders.theta[::-1].copy(), cylinders.minutia[::-1].copy(), 8, 6)
    with pytest.raises(ValueError, match="sorted by theta"):
        mcc.pack_cylinders([cylinders, shuffled])
    with pytest.raises(ValueError, match="sorted by theta"):
        mcc.similarity(shuffled, cylinders)


# --------------------------------------------------------------------------------------
# Invariance, bands, threshold
# --------------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.floats(-math.pi, math.pi), st.floats(-60, 60),
       st.floats(-60, 60), st.floats(-0.2, 0.2))
def test_score_unchanged_by_rotation_and_translation(seed, turn, shift_x, shift_y, small_turn):
    rng = np.random.default_rng(seed)
    finger = synthetic_finger(rng)
    x, y, angle = finger
    capture = impression(rng, finger)
    probe = mcc.make_cylinders(capture)
    original = mcc.make_cylinders(arrays(x, y, angle))
    reference = mcc.similarity(probe, original)
    # Both templates moved alike, by any rotation: the same comparison.  (Cells sitting
    # on a threshold may flip with the float32 rounding of the moved positions.)
    moved_probe = mcc.make_cylinders(rotated(capture.x, capture.y, capture.angle, turn,
                                             shift_x, shift_y))
    moved = mcc.make_cylinders(rotated(x, y, angle, turn, shift_x, shift_y))
    assert mcc.similarity(moved_probe, moved) == pytest.approx(reference, abs=0.02)
    # One template moved: unchanged while the relative rotation stays inside delta_theta
    # (MCC compares cylinders whose directions differ by at most delta_theta).
    nudged = mcc.make_cylinders(rotated(x, y, angle, small_turn, shift_x, shift_y))
    assert mcc.similarity(probe, nudged) == pytest.approx(reference, abs=0.03)
    turned = mcc.make_cylinders(rotated(x, y, angle, 0.9 * math.copysign(1, turn), shift_x,
                                        shift_y))
    assert mcc.similarity(original, turned) == pytest.approx(
        mcc.similarity(original, original), abs=0.02)


@pytest.fixture(scope="module")
def scored():
    """Genuine pairs (two impressions of one finger) and impostor pairs (impressions of
    different fingers) on 60 synthetic fingers, with the default parameters."""
    rng = np.random.default_rng(2024)
    fingers = [synthetic_finger(rng) for _ in range(60)]
    probes = [mcc.make_cylinders(impression(rng, f)) for f in fingers]
    gallery = mcc.pack_cylinders([mcc.make_cylinders(impression(rng, f)) for f in fingers])
    scores = np.array([mcc.similarity_one_to_many(p, gallery) for p in probes])
    return probes, gallery, scores


def test_genuine_and_impostor_bands(scored):
    _, _, scores = scored
    genuine = np.diag(scores)
    impostor = scores[~np.eye(len(scores), dtype=bool)]
    assert np.all((0 <= scores) & (scores <= 1))
    assert np.quantile(genuine, 0.05) > 0.05
    assert np.median(genuine) > 0.09
    assert np.median(impostor) < 0.02
    assert np.max(impostor) < 0.045
    assert np.all(np.argmax(scores, axis=1) == np.arange(len(scores)))   # rank 1 everywhere


def test_decision_threshold_separates(scored):
    _, _, scores = scored
    genuine = np.diag(scores)
    impostor = scores[~np.eye(len(scores), dtype=bool)]
    assert np.mean(impostor >= mcc.DECISION_THRESHOLD) <= 0.002
    assert np.mean(genuine >= mcc.DECISION_THRESHOLD) >= 0.95


def test_self_score_is_the_maximum(scored):
    probes, gallery, _ = scored
    for probe in probes[:20]:
        own = mcc.similarity(probe, probe)
        assert own > 0.9
        assert own >= mcc.similarity_one_to_many(probe, gallery).max()


def test_positions_are_rescaled_to_500_dpi():
    rng = np.random.default_rng(6)
    finger = synthetic_finger(rng)
    probe = mcc.make_cylinders(impression(rng, finger))
    x, y, angle = finger
    at_500 = mcc.make_cylinders(arrays(x, y, angle))
    at_1000 = mcc.make_cylinders(arrays(2 * x, 2 * y, angle), resolution_dpi=1000)
    assert np.allclose(at_1000.x, at_500.x) and np.allclose(at_1000.y, at_500.y)
    assert mcc.similarity(probe, at_1000) == pytest.approx(mcc.similarity(probe, at_500),
                                                           abs=0.01)


def test_tiny_and_empty_templates_score_zero():
    empty = mcc.make_cylinders(arrays([], [], []))
    single = mcc.make_cylinders(arrays([100.0], [100.0], [1.0]))
    assert empty.count == 0 and single.count == 0                # minM neighbours missing
    full = mcc.make_cylinders(arrays(*synthetic_finger(np.random.default_rng(4))))
    assert mcc.similarity(empty, full) == mcc.similarity(full, empty) == 0.0
    assert mcc.similarity_lss(single, single) == 0.0

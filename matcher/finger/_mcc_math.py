"""Branch-free exp and atan2 for MCC's relaxation (``_mcc_rho``), written out so LLVM can
vectorise the loops that call them (a call to libm's ``exp``/``atan2`` is opaque to the
vectoriser and was ~60 % of the relaxation's time).

Accuracy: within two units in the last place of the correctly rounded result (exp within
one; checked against libm in ``tests/test_finger_mcc.py``), so they change scores by float
rounding only, like any reordering of the arithmetic.

exp: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in two), e^r = 1 + r + r^2 Q(r)
with Q the degree-10 Chebyshev interpolant of (e^r - 1 - r) / r^2 (error < 2e-18), times
2^k built from its exponent bits.  Inputs are clamped to [-700, 700].

atan2 on the right half-plane (x >= 0, the only one ``vector_angle`` asks for): w = y/x,
(y - x)/(y + x) or -x/y by the octant of |y|/x so that |w| <= tan(pi/8), then atan(w) =
w + w s P(s), s = w^2, P the degree-10 Chebyshev interpolant of (atan(w)/w - 1)/s
(error < 4e-17), plus 0, pi/4 or pi/2 (split in two doubles).  Coefficients from mpmath
at 50 digits.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import viewer

_CACHE = os.environ.get("MATCHER_NUMBA_NO_CACHE") is None

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # 32 significant bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
#: (e^r - 1 - r) / r^2 on |r| <= ln2/2, highest degree first.
_E10, _E9, _E8, _E7, _E6, _E5, _E4, _E3, _E2, _E1, _E0 = (
    2.0914679376583935e-09, 2.510520637395701e-08, 2.7557273661348637e-07,
    2.7557255425746435e-06, 2.4801587325533363e-05, 0.00019841269874800493,
    0.0013888888888883752, 0.008333333333326141, 0.04166666666666667, 0.1666666666666667,
    0.5)

#: (atan(w)/w - 1) / w^2 as a polynomial in s = w^2 on s <= tan(pi/8)^2, highest first.
_A10, _A9, _A8, _A7, _A6, _A5, _A4, _A3, _A2, _A1, _A0 = (
    -0.01917688711906226, 0.03923165829558719, -0.0508544973794026, 0.0585814891280221,
    -0.06664511447381948, 0.07692183190826087, -0.09090904578123903, 0.11111111015256361,
    -0.14285714284666542, 0.1999999999999552, -0.3333333333333333)
_TAN_PI_8 = 0.41421356237309503
_TAN_3PI_8 = 2.414213562373095
_PI_4_HI = 0.7853981633974483
_PI_4_LO = 3.061616997868383e-17
_PI_2_HI = 1.5707963267948966
_PI_2_LO = 6.123233995736766e-17


@njit("float64(float64)", nogil=True, cache=_CACHE, inline="always")
def exp(x):
    """e^x to about one ulp, for x clamped to [-700, 700]; no branch, no call."""
    x = min(max(x, -700.0), 700.0)
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    q = _E10
    q = q * r + _E9
    q = q * r + _E8
    q = q * r + _E7
    q = q * r + _E6
    q = q * r + _E5
    q = q * r + _E4
    q = q * r + _E3
    q = q * r + _E2
    q = q * r + _E1
    q = q * r + _E0
    scale = viewer((np.int64(k) + 1023) << 52, np.float64)  # 2^k, k in [-1010, 1010]
    return (1.0 + (r + (r * r) * q)) * scale


@njit("float64(float64)", nogil=True, cache=_CACHE, inline="always")
def logistic(exponent):
    """1 / (1 + e^exponent): one factor of rho (a sigmoid written by its exponent)."""
    return 1.0 / (1.0 + exp(exponent))


@njit("float64(float64, float64)", nogil=True, cache=_CACHE, inline="always")
def atan2_right(y, x):
    """atan2(y, x) for x >= 0, in [-pi/2, pi/2], to about one ulp; 0 for (0, 0)."""
    a = abs(y)
    big = a > _TAN_3PI_8 * x
    middle = a > _TAN_PI_8 * x
    numerator = -x if big else (a - x if middle else a)
    denominator = a if big else (a + x if middle else x)
    w = numerator / (denominator if denominator != 0.0 else 1.0)
    s = w * w
    p = _A10
    p = p * s + _A9
    p = p * s + _A8
    p = p * s + _A7
    p = p * s + _A6
    p = p * s + _A5
    p = p * s + _A4
    p = p * s + _A3
    p = p * s + _A2
    p = p * s + _A1
    p = p * s + _A0
    high = _PI_2_HI if big else (_PI_4_HI if middle else 0.0)
    low = _PI_2_LO if big else (_PI_4_LO if middle else 0.0)
    angle = high + (w + (w * (s * p) + low))
    return angle if y >= 0.0 else -angle

"""A small counter-free random stream for the generator's numba kernels: xoshiro256**.

Why not pass the numpy ``Generator`` itself into the kernels (numba supports it)?  Boxing a
Generator costs ~10 µs per call, a third of the budget of one master at 5,000 fingers per
second.  Instead every kernel call gets a fresh 256-bit state drawn from the caller's
Generator (``kernel_state``), so the output is still a pure function of the caller's seed,
and the kernel advances its own copy with xoshiro256** (Blackman & Vigna 2018): 2^256 − 1
period, passes BigCrush, a handful of integer operations per draw.

All arithmetic is on ``np.uint64`` so numba never promotes to float (mixing uint64 and int64
does).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from matcher.finger._synth_orientation import _CACHE

_ROTATE_17, _ROTATE_45, _ROTATE_7 = np.uint64(17), np.uint64(45), np.uint64(7)
_BITS_64 = np.uint64(64)
_SHIFT_11 = np.uint64(11)
_FIVE, _NINE = np.uint64(5), np.uint64(9)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


def kernel_state(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro256** state (4 × uint64) drawn from ``rng``'s bit generator.

    The all-zero state (the one xoshiro cannot leave) has probability 2^-256 and is not
    checked for: the check would cost more than a whole draw.
    """
    return rng.bit_generator.random_raw(4)


@njit(cache=_CACHE, nogil=True)
def _rotate_left(value, shift):
    return (value << shift) | (value >> (_BITS_64 - shift))


@njit(cache=_CACHE, nogil=True)
def next_u64(state):
    """Next 64 random bits; advances ``state`` in place."""
    result = _rotate_left(state[1] * _FIVE, _ROTATE_7) * _NINE
    shifted = state[1] << _ROTATE_17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= shifted
    state[3] = _rotate_left(state[3], _ROTATE_45)
    return result


@njit(cache=_CACHE, nogil=True)
def uniform(state):
    """Uniform float in [0, 1) with 53 random bits."""
    return float(next_u64(state) >> _SHIFT_11) * _TWO_POW_MINUS_53


@njit(cache=_CACHE, nogil=True)
def between(state, low, high):
    """Uniform float in [low, high)."""
    return low + (high - low) * uniform(state)


@njit(cache=_CACHE, nogil=True)
def normal(state):
    """Standard normal deviate (Box–Muller; 1 − u keeps the logarithm finite)."""
    radius = math.sqrt(-2.0 * math.log(1.0 - uniform(state)))
    return radius * math.cos(2.0 * math.pi * uniform(state))


@njit(cache=_CACHE, nogil=True)
def normal_pair(state):
    """Two independent standard normal deviates from one Box–Muller draw."""
    radius = math.sqrt(-2.0 * math.log(1.0 - uniform(state)))
    turn = 2.0 * math.pi * uniform(state)
    return radius * math.cos(turn), radius * math.sin(turn)


@njit(cache=_CACHE, nogil=True)
def below(state, count):
    """Uniform integer in [0, count) (count ≥ 1; the modulo bias is below 2^-50 here)."""
    return int(next_u64(state) % np.uint64(count))

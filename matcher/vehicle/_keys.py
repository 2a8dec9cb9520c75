"""Vehicle index keys: plate and VIN key texts packed into 96 bits, tolerant forms, hashes.

**Keys.**  A plate key is (country, normalised plate), written ``"DE:BAB1234"``; a VIN key
is the normalised VIN.  Each is packed losslessly into 96 bits, ``hi`` (uint64) + ``lo``
(uint32): a plate as ``country_number * 43**10`` plus its first 10 characters in base 43
(``PLATE_ALPHABET`` numbered 1..42, 0 after the end) and characters 11..15 in ``lo``; a
VIN as characters 1..12 in base 33 and 13..17 in ``lo``.  Comparing packed keys is
comparing the keys themselves, so a hash collision can never produce a false hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from numba import njit

from matcher.vehicle.plates import MAX_PLATE_CHARS, PLATE_ALPHABET, TOLERANT_MAP
from matcher.vehicle.vin import VIN_ALPHABET

KIND_PLATE, KIND_VIN = 1, 2
#: A row without this kind of key.  No packed key reaches it: the largest plate ``hi`` is
#: 676 * 43**10 - 1 < 1.5e19 < 2**64 - 1, the largest VIN ``hi`` 33**12 - 1.
ABSENT = np.uint64(2**64 - 1)
PLATE_BASE, PLATE_HI_CHARS, PLATE_LO_CHARS = 43, 10, 5
VIN_BASE, VIN_HI_CHARS, VIN_LO_CHARS = 33, 12, 5
COUNTRY_NUMBERS = 26 * 26
PLATE_COUNTRY_UNIT = np.uint64(PLATE_BASE ** PLATE_HI_CHARS)
#: Written into snapshots: a snapshot made under another alphabet or packing is ignored.
LAYOUT = f"plate:{PLATE_ALPHABET}:{PLATE_HI_CHARS}+{PLATE_LO_CHARS};vin:{VIN_ALPHABET}"
assert len(PLATE_ALPHABET) < PLATE_BASE and len(VIN_ALPHABET) == VIN_BASE
assert PLATE_HI_CHARS + PLATE_LO_CHARS == MAX_PLATE_CHARS

_U = np.uint64
_EMPTY_SYMBOL = 255


def _symbol_tables():
    """Latin-1 byte -> symbol for plates (1..42, 0 = not allowed) and VINs (0..32,
    255 = not allowed); symbol -> tolerant symbol for each."""
    plate = np.zeros(256, np.uint8)
    for i, char in enumerate(PLATE_ALPHABET):
        plate[ord(char)] = i + 1
    vin = np.full(256, _EMPTY_SYMBOL, np.uint8)
    for i, char in enumerate(VIN_ALPHABET):
        vin[ord(char)] = i
    plate_tolerant = np.zeros(PLATE_BASE, np.uint64)
    for i, char in enumerate(PLATE_ALPHABET):
        plate_tolerant[i + 1] = PLATE_ALPHABET.index(TOLERANT_MAP[char]) + 1
    vin_tolerant = np.zeros(256, np.uint64)  # indexed by any byte the symbol table yields
    vin_tolerant[: len(VIN_ALPHABET)] = [VIN_ALPHABET.index(TOLERANT_MAP[c]) for c in VIN_ALPHABET]
    return plate, vin, plate_tolerant, vin_tolerant


_PLATE_SYMBOL, _VIN_SYMBOL, _PLATE_TOLERANT, _VIN_TOLERANT = _symbol_tables()
_PB, _VB = _U(PLATE_BASE), _U(VIN_BASE)
_COLON, _NEWLINE, _A = 58, 10, 65
_M1, _M2, _GOLDEN = _U(0xFF51AFD7ED558CCD), _U(0xC4CEB9FE1A85EC53), _U(0x9E3779B97F4A7C15)


# The table kernels (``_table``) inline ``_hash`` and ``_tolerant`` and the constants above,
# yet numba's cache keys on the file that defines a kernel: after changing any of them, delete
# matcher/vehicle/__pycache__/_table.* so that those kernels are compiled afresh.
@njit(inline="always")
def _mix(x):
    """MurmurHash3's 64-bit finaliser: a bijection whose output bits each depend on all
    input bits."""
    x ^= x >> _U(33)
    x *= _M1
    x ^= x >> _U(33)
    x *= _M2
    x ^= x >> _U(33)
    return x


@njit(inline="always")
def _hash(kind, hi, lo):
    return _mix(hi ^ _mix(_U(lo) + _U(kind) * _GOLDEN))


@njit(inline="always")
def _tolerant_digits(value, count, base, table):
    out = _U(0)
    scale = _U(1)
    for _ in range(count):
        out += table[value % base] * scale
        value //= base
        scale *= base
    return out


@njit(inline="always")
def _tolerant(kind, hi, lo):
    """Tolerant form (thi, tlo) of a packed key."""
    if kind == KIND_PLATE:
        country = hi // PLATE_COUNTRY_UNIT
        rest = hi - country * PLATE_COUNTRY_UNIT
        thi = country * PLATE_COUNTRY_UNIT + _tolerant_digits(rest, PLATE_HI_CHARS, _PB,
                                                               _PLATE_TOLERANT)
        return thi, _tolerant_digits(_U(lo), PLATE_LO_CHARS, _PB, _PLATE_TOLERANT)
    return (_tolerant_digits(hi, VIN_HI_CHARS, _VB, _VIN_TOLERANT),
            _tolerant_digits(_U(lo), VIN_LO_CHARS, _VB, _VIN_TOLERANT))


def _weights(base: int, places: int) -> np.ndarray:
    """Weight of each character position in its half of a packed key, so that a key is a
    sum of independent products rather than a chain of multiply-adds."""
    return np.array([base ** (places - 1 - j) for j in range(places)], np.uint64)


_PLATE_HI_WEIGHT = _weights(PLATE_BASE, PLATE_HI_CHARS)
_PLATE_LO_WEIGHT = _weights(PLATE_BASE, PLATE_LO_CHARS)
_VIN_HI_WEIGHT = _weights(VIN_BASE, VIN_HI_CHARS)
_VIN_LO_WEIGHT = _weights(VIN_BASE, VIN_LO_CHARS)


@njit(cache=True, nogil=True)
def _encode(buf, n, kind, hi, lo, thi, tlo):
    """Pack ``n`` newline-separated latin-1 keys; returns the index of the first bad key
    or -1.  An empty line is "no key" (kind 0)."""
    pos = 0
    end_of_buffer = buf.shape[0]
    for i in range(n):
        end = pos
        while end < end_of_buffer and buf[end] != _NEWLINE:
            end += 1
        length = end - pos
        kind[i], hi[i], lo[i], thi[i], tlo[i] = 0, ABSENT, 0, ABSENT, 0
        h, t, low, tlow = _U(0), _U(0), _U(0), _U(0)
        if length == 0:
            pass
        elif length >= 4 and buf[pos + 2] == _COLON and length - 3 <= MAX_PLATE_CHARS:
            c0, c1 = np.int64(buf[pos]) - _A, np.int64(buf[pos + 1]) - _A
            chars = length - 3
            bad = not (0 <= c0 < 26 and 0 <= c1 < 26)
            for j in range(min(chars, PLATE_HI_CHARS)):
                s = _PLATE_SYMBOL[buf[pos + 3 + j]]
                bad |= s == 0
                h += _U(s) * _PLATE_HI_WEIGHT[j]
                t += _PLATE_TOLERANT[s] * _PLATE_HI_WEIGHT[j]
            for j in range(PLATE_HI_CHARS, chars):
                s = _PLATE_SYMBOL[buf[pos + 3 + j]]
                bad |= s == 0
                low += _U(s) * _PLATE_LO_WEIGHT[j - PLATE_HI_CHARS]
                tlow += _PLATE_TOLERANT[s] * _PLATE_LO_WEIGHT[j - PLATE_HI_CHARS]
            if bad:
                return i
            country = _U(c0 * 26 + c1) * PLATE_COUNTRY_UNIT
            kind[i], hi[i], lo[i], thi[i], tlo[i] = KIND_PLATE, country + h, low, country + t, tlow
        elif length == VIN_HI_CHARS + VIN_LO_CHARS:
            bad = False
            for j in range(VIN_HI_CHARS):
                s = _VIN_SYMBOL[buf[pos + j]]
                bad |= s == _EMPTY_SYMBOL
                h += _U(s) * _VIN_HI_WEIGHT[j]
                t += _VIN_TOLERANT[s] * _VIN_HI_WEIGHT[j]
            for j in range(VIN_LO_CHARS):
                s = _VIN_SYMBOL[buf[pos + VIN_HI_CHARS + j]]
                bad |= s == _EMPTY_SYMBOL
                low += _U(s) * _VIN_LO_WEIGHT[j]
                tlow += _VIN_TOLERANT[s] * _VIN_LO_WEIGHT[j]
            if bad:
                return i
            kind[i], hi[i], lo[i], thi[i], tlo[i] = KIND_VIN, h, low, t, tlow
        else:
            return i
        pos = end + 1
    return -1


class EncodedKeys(NamedTuple):
    """Packed keys of a batch: ``kind`` (KIND_PLATE, KIND_VIN or 0 for none), exact
    ``hi``/``lo`` and tolerant ``thi``/``tlo``."""

    kind: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    thi: np.ndarray
    tlo: np.ndarray


def plate_key(country: str, plate: str) -> str:
    """The key text of a normalised plate in a country (alpha-2)."""
    return f"{country}:{plate}"


def encode_keys(texts: Sequence[str | None]) -> EncodedKeys:
    """Pack key texts (``plate_key`` results or normalised VINs; None for no key) in one
    pass.  ValueError names the first text that is not a normalised key."""
    n = len(texts)
    try:
        joined = "\n".join(texts)
    except TypeError:  # some None among them
        joined = "\n".join(t or "" for t in texts)
    blob = joined.encode("latin-1", errors="replace")
    buf = np.frombuffer(blob, np.uint8)
    out = EncodedKeys(np.zeros(n, np.uint8), np.empty(n, np.uint64), np.empty(n, np.uint32),
                      np.empty(n, np.uint64), np.empty(n, np.uint32))
    bad = _encode(buf, n, out.kind, out.hi, out.lo, out.thi, out.tlo)
    if bad >= 0:  # the text itself is not shown: it may be a plate or VIN (no data in logs)
        raise ValueError(f"not a normalised plate or VIN key: key {bad + 1} of {n}")
    return out

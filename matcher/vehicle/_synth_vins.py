"""Synthetic VINs.

VINs start with the world manufacturer identifier of a real maker; North American ones
(first character 1-5) always carry a correct check digit, others only for
``check_digit_fraction`` of them, like European production.
"""

from __future__ import annotations

import numpy as np

from matcher.vehicle.vin import VIN_ALPHABET, with_check_digit

#: World manufacturer identifiers of real makers.  North American ones (1-5) carry check
#: digits by law; the European ones here are often written with ``ZZZ`` filler.
WMIS = ("WVW", "WBA", "WDD", "WAU", "VF1", "VF3", "VF7", "ZFA", "ZAR", "TMB", "VSS", "YV1",
        "YS3", "SAL", "SAJ", "WF0", "W0L", "VNK", "JTD", "JHM", "KMH", "KNA", "1HG", "1FA",
        "1G1", "2T1", "3VW", "5YJ", "1M8")
_MODEL_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"


def random_vins(rng: np.random.Generator, n: int, check_digit_fraction: float = 0.3) -> list[str]:
    """``n`` VINs: real WMI, random descriptor, model year, plant and a 6-digit serial."""
    alphabet = np.array([ord(c) for c in VIN_ALPHABET], np.uint32)
    codes = alphabet[rng.integers(0, len(alphabet), (n, 17))]
    wmi = np.array([[ord(c) for c in w] for w in WMIS], np.uint32)[rng.integers(0, len(WMIS), n)]
    codes[:, :3] = wmi
    codes[:, 9] = np.array([ord(c) for c in _MODEL_YEARS], np.uint32)[
        rng.integers(0, len(_MODEL_YEARS), n)]
    codes[:, 11:] = 48 + rng.integers(0, 10, (n, 6))
    vins = codes.view("<U17").ravel().tolist()
    checked = (codes[:, 0] <= ord("5")) | (rng.random(n) < check_digit_fraction)
    for i in np.flatnonzero(checked).tolist():
        vins[i] = with_check_digit(vins[i])
    return vins

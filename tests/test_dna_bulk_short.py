"""The second key family (short groups, ``_bulk_groups.SHORT_GROUPS``): low-coverage
profiles keyable on no default group are found by short keys, with the mismatch inside a
short group too, without the brute-force scan; results equal brute force either way."""

from __future__ import annotations

import numpy as np
import pytest

from test_dna_bulk_completeness import GROUP_LOCI, _both, _profile, _shift_all
from matcher.dna._bulk_groups import DEFAULT_GROUPS, SHORT_GROUPS
from matcher.dna._bulk_index import BulkIndex

#: Seven short loci holding no default group whole: keyable only on short groups.
SHORT_LOCI = ["D8S1179", "D3S1358", "vWA", "D22S1045", "TH01", "D2S441", "D10S1248"]
FULL_LOCI = sorted(set(GROUP_LOCI) | {l for g in SHORT_GROUPS for l in g})


def _low_coverage_set(seed=7, n=30):
    """Complete stored profiles and low-coverage stains of them: exact, one mismatch inside
    short groups (D22S1045, D10S1248), a microvariant step at every allele; plus stored
    low-coverage profiles and complete queries of them, for the other direction."""
    rng = np.random.default_rng(seed)
    stored, queries = [], []
    for _ in range(n):
        base = _profile(rng, FULL_LOCI)
        stored.append(base)
        low = {k: v for k, v in base.items() if k in SHORT_LOCI}
        queries.append(low)
        for locus, step in (("D22S1045", 6), ("D10S1248", 7)):
            a, b = low[locus].split(",")
            queries.append(dict(low, **{locus: f"{a},{int(b) + step}"}))
        queries.append(_shift_all(low, 1))
    return stored, queries


def test_short_groups_hold_no_default_group_but_guarantee_the_pairs():
    assert not any(set(g) <= set(SHORT_LOCI) for g in DEFAULT_GROUPS)
    inside = [set(g) for g in SHORT_GROUPS if set(g) <= set(SHORT_LOCI)]
    assert len(inside) >= 3 and not set.intersection(*inside)  # no one locus meets them all


def test_low_coverage_queries_found_by_short_keys_alone():
    stored, queries = _low_coverage_set()
    bulk, brute, bulk_index = _both(stored, queries, 6, 1, shuffle=False)
    assert bulk == brute and len(brute) >= 3 * 29  # row 1 is removed in _both
    assert {v[0] for v in brute.values()} >= {0, 2, 3}  # FULL, MICROVARIANT, NEAR
    assert bulk_index.counters.short_candidates > 0
    assert bulk_index.counters.scanned_pairs == 0  # every pair guaranteed by short keys
    assert bulk_index.rows.low.sum() == 0  # the complete stored profiles are not low


def test_without_short_groups_the_same_pairs_need_the_scan(monkeypatch):
    stored, queries = _low_coverage_set()
    original = BulkIndex.__init__
    monkeypatch.setattr(BulkIndex, "__init__", lambda self, index, mm: original(
        self, index, mm, short_groups=()))
    bulk, brute, bulk_index = _both(stored, queries, 6, 1, shuffle=False)
    assert bulk == brute and brute
    assert bulk_index.counters.scanned_pairs > 0 and bulk_index.counters.short_candidates == 0


@pytest.mark.parametrize("max_mismatches", [0, 1, 2])
def test_low_coverage_both_directions_equal_brute_force(max_mismatches):
    stored, queries = _low_coverage_set(seed=8)
    rng = np.random.default_rng(9)
    # stored low-coverage rows against complete and low-coverage queries, mismatch inside
    # a short group; unrelated profiles sharing short genotypes by chance
    for _ in range(20):
        base = _profile(rng, FULL_LOCI)
        low = {k: v for k, v in base.items() if k in SHORT_LOCI}
        stored.append(low)
        a, b = base["TH01"].split(",")
        queries.append(dict(base, TH01=f"{a},{int(b) + 5}"))
        queries.append(dict(low, vWA=base["vWA"].split(",")[0] + ",30"))
        stored.append(_profile(rng, SHORT_LOCI, 10, 13))
    bulk, brute, _ = _both(stored, queries, 6, max_mismatches)
    assert bulk == brute and len(brute) >= 60

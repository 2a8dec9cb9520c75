"""Completeness of the bulk key index: on data built to defeat it (wildcards, many-microvariant
hits, near matches with the mismatch at a wildcard locus, relatives, partial profiles, mixed
kits, expansions beyond the cap, escaped alleles) it finds exactly the hits of brute force
(``DnaIndex.search``, itself checked against the plain-Python reference), with the same
fields, for max_mismatches 0, 1 and 2; on small sets also exactly the reference's hits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import dna_reference as ref
from matcher.config import DnaSettings
from matcher.dna import index as index_module
from matcher.dna._bulk_index import BulkIndex
from matcher.dna._bulk_keys import DEFAULT_GROUPS
from matcher.dna.index import KIND_CODES, DnaIndex, presence_order
from matcher.dna.profile import Normaliser, ProfileRejected
from matcher.dna.synth import generate_database, generate_queries

SGM_PLUS = ["D3S1358", "vWA", "D16S539", "D2S1338", "D8S1179", "D21S11", "D18S51", "D19S433",
            "TH01", "FGA"]
ESS12 = ["D3S1358", "vWA", "D8S1179", "D21S11", "D18S51", "TH01", "FGA", "D1S1656", "D2S441",
         "D10S1248", "D12S391", "D22S1045"]
GROUP_LOCI = sorted({locus for group in DEFAULT_GROUPS for locus in group})
#: Loci of the hypothesis profiles: the groups most kits can key on.
HYPOTHESIS_LOCI = ESS12 + ["D16S539", "D19S433", "D2S1338"]


def _setup(min_matching=6, max_mismatches=1):
    settings_ = DnaSettings(min_designated_loci=0, min_ess7_loci_person=0,
                            min_matching_loci=min_matching, max_mismatches=max_mismatches)
    normaliser = Normaliser(settings_)
    return normaliser, {n: i for i, n in enumerate(normaliser.table.compared)}


def _codes(normaliser, column, loci_list):
    codes = np.zeros((len(loci_list), len(column), 2), np.int16)
    for i, loci in enumerate(loci_list):
        try:
            profile = normaliser.normalise({"reference": f"R{i}", "kind": "stain", "loci": loci})
        except ProfileRejected:
            continue  # left empty: an absent profile hits nothing
        for name, pair in profile.loci.items():
            codes[i, column[name]] = pair
    return codes


def _both(stored, queries, min_matching, max_mismatches, shuffle=True):
    """(bulk hits, brute-force hits) as {(query, row): (quality, matching, compared, mm)}."""
    normaliser, column = _setup(min_matching, max_mismatches)
    codes = _codes(normaliser, column, stored)
    if shuffle:
        codes = codes[presence_order(codes)]
    index = DnaIndex(normaliser.table)
    index.add(np.arange(1, len(codes) + 1, dtype=np.int64),
              np.full(len(codes), KIND_CODES["stain"], np.uint8), codes)
    if len(codes) > 3:  # removed rows must never come back
        index.remove_rowids([2])
    query_codes = _codes(normaliser, column, queries)
    brute = index.search(query_codes, min_matching, max_mismatches)
    bulk_index = BulkIndex(index, max_mismatches)
    bulk = bulk_index.search(query_codes, min_matching, max_mismatches)

    def as_dict(found):
        out = {}
        for q, row, quality, matching, compared, mm in zip(
                found.query.tolist(), found.row.tolist(), found.quality.tolist(),
                found.matching_loci.tolist(), found.compared_loci.tolist(),
                found.mismatches.tolist()):
            assert (q, row) not in out, "a pair reported twice"
            out[(q, row)] = (quality, matching, compared, mm)
        return out
    return as_dict(bulk), as_dict(brute), bulk_index


# ---------------------------------------------------------------- hand-made adversaries
def _text(code, unit):
    n, d = divmod(code, unit)
    return str(n) if d == 0 else f"{n}.{d}"


def _profile(rng, loci, low=8, high=20):
    return {locus: f"{rng.integers(low, high)},{rng.integers(low, high)}" for locus in loci}


def _shift_all(loci, step):
    """Every allele moved by ``step`` code units (1: a microvariant step, 4: one repeat)."""
    out = {}
    for locus, value in loci.items():
        unit = ref.unit(locus)
        alleles = [ref.code(ref.allele(a, unit), unit) + step for a in value.split(",")]
        out[locus] = ",".join(_text(c, unit) for c in alleles)
    return out


def _adversaries():
    rng = np.random.default_rng(5)
    stored, queries = [], []
    for _ in range(40):
        base = _profile(rng, GROUP_LOCI)
        stored.append(base)
        queries.append(_shift_all(base, 1))                       # microvariant at every allele
        near = dict(base)
        near["D21S11"] = "12,*"                                   # wildcard locus ...
        stored.append(near)
        queries.append(dict(base, D21S11="9,13"))                 # ... holding the mismatch
        sgm = {k: v for k, v in base.items() if k in SGM_PLUS}
        ess = {k: v for k, v in base.items() if k in ESS12}
        a, b = base["D3S1358"].split(",")
        ess["D3S1358"] = f"{int(a) + 3},{b}"                      # one mismatch, kits differ
        stored.append(sgm)
        queries.append(ess)
        two = dict(base)
        for locus in ("FGA", "D1S1656"):                         # two mismatches, two groups
            a, b = two[locus].split(",")
            two[locus] = f"{a},{int(b) + 5}"
        queries.append(two)
    # keyable together on one group only (the others lack D3S1358 or D19S433), which holds
    # the mismatch: only the brute-force scan can find these
    lone = ["D21S11", "FGA", "D18S51", "vWA", "D8S1179", "TH01", "D16S539", "D2S1338", "D1S1656"]
    for _ in range(10):
        base = _profile(rng, lone)
        stored.append(base)
        a, b = base["FGA"].split(",")
        queries.append(dict(base, FGA=f"{a},{int(b) + 7}"))
        c, d = base["TH01"].split(",")
        queries.append(dict(base, FGA=f"{a},{int(b) + 7}", TH01=f"{int(c) + 9},{d}"))
    # every allele has three compatible stored alleles: the query's expansions exceed the cap
    crowd = _profile(rng, GROUP_LOCI, 10, 11)
    for step in (-1, 0, 1):
        stored.append(_shift_all(crowd, step))
    queries.append(_shift_all(crowd, 0))
    return stored, queries


@pytest.mark.parametrize("max_mismatches", [0, 1, 2])
def test_adversarial_pairs_equal_brute_force(max_mismatches):
    stored, queries = _adversaries()
    bulk, brute, bulk_index = _both(stored, queries, 6, max_mismatches)
    assert bulk == brute
    qualities = {v[0] for v in brute.values()}
    assert len(brute) > 50 and 2 in qualities  # MICROVARIANT hits
    if max_mismatches >= 1:
        assert 3 in qualities  # NEAR hits, some with the mismatch at a wildcard locus
    assert bulk_index.counters.key_candidates > 0


def test_adversarial_pairs_equal_reference():
    stored, queries = _adversaries()
    stored, queries = stored[:60], queries[:60]
    bulk, _, _ = _both(stored, queries, 6, 1, shuffle=False)
    expected = {}
    for q, query in enumerate(queries):
        for row, profile in enumerate(stored):
            if row == 1:
                continue  # removed in _both
            hit, quality, matching, compared, mm = ref.compare(profile, query, 6, 1)
            if hit:
                expected[(q, row)] = (ref.QUALITY_ORDER.index(quality), matching, compared, mm)
    assert bulk == expected and len(expected) > 30


# ---------------------------------------------------------------- synthetic databases
@pytest.mark.parametrize("max_mismatches", [0, 1, 2])
def test_synthetic_database_equals_brute_force(max_mismatches):
    """Relatives, duplicates, partial profiles, degraded stains, mixtures, off-ladder
    wildcards and microvariants, typing errors, all six kits."""
    stored = list(generate_database(
        2500, seed=21, partial_fraction=0.3, off_ladder_rate=0.01,
        off_ladder_microvariant_rate=0.01, typing_error_fraction=0.4,
        kit_mix={"sgm_plus": 1, "ngm_select": 1, "ess12": 1, "codis20": 1, "globalfiler": 1,
                 "powerplex_fusion": 1}))
    queries = list(generate_queries(stored, 1500, seed=22)) + stored[:500]
    plain = lambda rs: [r["loci"] for r in rs]  # noqa: E731
    bulk, brute, _ = _both(plain(stored), plain(queries), 6, max_mismatches)
    assert bulk == brute and len(brute) > 500


def test_escaped_alleles_equal_brute_force():
    original = index_module.MAX_IDS
    index_module.MAX_IDS = 4
    try:
        stored, queries = _adversaries()
        bulk, brute, _ = _both(stored, queries, 6, 1)
    finally:
        index_module.MAX_IDS = original
    assert bulk == brute and brute


# ---------------------------------------------------------------- hypothesis
def _mutated(base, ops):
    out = {}
    for (locus, value), op in zip(base.items(), ops):
        unit = ref.unit(locus)
        a, b = (ref.code(ref.allele(x, unit), unit) for x in value.split(","))
        if op == 1:
            continue                                   # locus dropped (partial profile)
        if op == 2:
            out[locus] = f"{_text(a, unit)},*"         # wildcard
        elif op == 3:
            out[locus] = f"{_text(a + 1, unit)},{_text(b, unit)}"      # microvariant step
        elif op == 4:
            out[locus] = f"{_text(a, unit)},{_text(b + unit, unit)}"   # one repeat: mismatch
        elif op == 5:
            out[locus] = f"{_text(a - 1, unit)},{_text(b + 1, unit)}"  # two microvariants
        elif op == 6:
            out[locus] = _text(a, unit)                # homozygote call (drop-out)
        else:
            out[locus] = value
    return out


allele_text = st.tuples(st.integers(8, 14), st.sampled_from([0, 0, 0, 0, 1, 2])).map(
    lambda t: str(t[0]) if t[1] == 0 else f"{t[0]}.{t[1]}")  # x.1, x.2 exist at every unit
base_strategy = st.fixed_dictionaries({
    locus: st.tuples(allele_text, allele_text).map(",".join) for locus in HYPOTHESIS_LOCI})
ops = st.lists(st.sampled_from([0, 0, 0, 0, 1, 2, 3, 4, 5, 6]), min_size=len(HYPOTHESIS_LOCI),
               max_size=len(HYPOTHESIS_LOCI))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bases=st.lists(base_strategy, min_size=1, max_size=3),
       stored_ops=st.lists(st.tuples(st.integers(0, 2), ops), min_size=1, max_size=25),
       query_ops=st.lists(st.tuples(st.integers(0, 2), ops), min_size=1, max_size=6),
       min_matching=st.integers(0, 8), max_mismatches=st.integers(0, 2))
def test_mutated_relatives_equal_brute_force(bases, stored_ops, query_ops, min_matching,
                                             max_mismatches):
    stored = [_mutated(bases[i % len(bases)], o) for i, o in stored_ops]
    queries = [_mutated(bases[i % len(bases)], o) for i, o in query_ops]
    bulk, brute, _ = _both(stored, queries, min_matching, max_mismatches)
    assert bulk == brute

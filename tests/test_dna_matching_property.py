"""The engine (normaliser + encoded index + numba kernels) against the plain-Python
reference of the spec, on arbitrary profiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import dna_reference as ref
from matcher.config import DnaSettings
from matcher.dna import index as index_module
from matcher.dna.index import KIND_CODES, DnaIndex
from matcher.dna.kernels import QUALITY_NAMES
from matcher.dna.profile import Normaliser

# Tetranucleotide, pentanucleotide and trinucleotide loci, plus never-compared ones.
LOCI = ["D3S1358", "vWA", "TH01", "FGA", "Penta D", "D22S1045", "D8S1179", "SE33"]

allele_text = st.one_of(
    st.integers(5, 14).map(str),                                   # common repeats
    st.tuples(st.integers(5, 14), st.integers(1, 2)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.sampled_from(["*", "OL", "99", "<8", "1"]),                 # wildcards
)
locus_value = st.one_of(
    st.lists(allele_text, min_size=1, max_size=2),
    st.lists(allele_text, min_size=3, max_size=4),                 # mixture
    allele_text,
)
profile_loci = st.dictionaries(st.sampled_from(LOCI), locus_value, min_size=0, max_size=len(LOCI))


def _engine(stored, queries, min_matching, max_mismatches):
    settings_ = DnaSettings(min_designated_loci=0, min_ess7_loci_person=0,
                            min_matching_loci=min_matching, max_mismatches=max_mismatches)
    normaliser = Normaliser(settings_)
    table = normaliser.table
    column = {n: i for i, n in enumerate(table.compared)}

    def codes_of(loci_list):
        codes = np.zeros((len(loci_list), len(column), 2), np.int16)
        for i, loci in enumerate(loci_list):
            profile = normaliser.normalise({"reference": f"R{i}", "kind": "stain", "loci": loci})
            for name, pair in profile.loci.items():
                codes[i, column[name]] = pair
        return codes

    index = DnaIndex(table)
    index.add(np.arange(1, len(stored) + 1, dtype=np.int64),
              np.full(len(stored), KIND_CODES["stain"], np.uint8), codes_of(stored))
    found = index.search(codes_of(queries), min_matching, max_mismatches)
    return {
        (int(q), int(row)): (QUALITY_NAMES[qual], int(m), int(c), int(mm))
        for q, row, qual, m, c, mm in zip(found.query, found.row, found.quality,
                                          found.matching_loci, found.compared_loci, found.mismatches)
    }


def _reference(stored, queries, min_matching, max_mismatches):
    out = {}
    for q, query in enumerate(queries):
        for row, profile in enumerate(stored):
            hit, quality, matching, compared, mismatches = ref.compare(
                profile, query, min_matching, max_mismatches)
            if hit:
                out[(q, row)] = (quality, matching, compared, mismatches)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stored=st.lists(profile_loci, min_size=1, max_size=30),
       queries=st.lists(profile_loci, min_size=1, max_size=4),
       min_matching=st.integers(0, 4), max_mismatches=st.integers(0, 3))
def test_kernel_equals_reference(stored, queries, min_matching, max_mismatches):
    assert _engine(stored, queries, min_matching, max_mismatches) == \
        _reference(stored, queries, min_matching, max_mismatches)


@settings(max_examples=60, deadline=None)
@given(stored=st.lists(profile_loci, min_size=1, max_size=30),
       queries=st.lists(profile_loci, min_size=1, max_size=3),
       min_matching=st.integers(0, 3), max_mismatches=st.integers(0, 2))
def test_escaped_alleles_are_still_compared_exactly(stored, queries, min_matching, max_mismatches):
    """With room for only two allele ids per locus most profiles overflow the dictionary and
    take the escaped path; the answers must not change."""
    original = index_module.MAX_IDS
    index_module.MAX_IDS = 2
    try:
        got = _engine(stored, queries, min_matching, max_mismatches)
    finally:
        index_module.MAX_IDS = original
    assert got == _reference(stored, queries, min_matching, max_mismatches)


def _random_loci(rng, n):
    out = []
    for _ in range(n):
        loci = {}
        for locus in LOCI:
            if rng.random() < 0.15:
                continue
            micro = "9.2" if locus == "D22S1045" else "9.3"  # D22S1045 has a 3 bp unit
            pool = ["9", "10", "11", "12", micro, "10.1", "OL", "13", "14"]
            k = 1 if rng.random() < 0.2 else 2
            loci[locus] = ",".join(rng.choice(pool, size=k, p=[.2, .2, .15, .15, .08, .02, .02, .1, .08]))
        out.append(loci)
    return out


@pytest.mark.parametrize("n_queries", [1, 7])
def test_many_blocks_single_and_batched(n_queries):
    """Thousands of rows (many kernel blocks and tiles), single-query and batched kernels."""
    rng = np.random.default_rng(7)
    stored = _random_loci(rng, 9000)
    queries = [stored[i] for i in rng.integers(0, len(stored), n_queries)]
    got = _engine(stored, queries, 3, 1)
    assert got == _reference(stored, queries, 3, 1)
    assert len({q for q, _ in got}) == n_queries  # each query is a stored profile: it hits


def test_rows_added_in_many_batches_keep_ids_ordered():
    """New alleles arriving later renumber a locus; earlier rows must still compare right."""
    rng = np.random.default_rng(3)
    stored = _random_loci(rng, 600)
    stored[300]["FGA"] = "2,3"        # codes below everything seen so far
    stored[500]["FGA"] = "8.1,30.2"
    settings_ = DnaSettings(min_designated_loci=0, min_matching_loci=3, max_mismatches=1)
    normaliser = Normaliser(settings_)
    column = {n: i for i, n in enumerate(normaliser.table.compared)}
    index = DnaIndex(normaliser.table)
    for start in range(0, 600, 100):
        part = stored[start:start + 100]
        codes = np.zeros((len(part), len(column), 2), np.int16)
        for i, loci in enumerate(part):
            for name, pair in normaliser.normalise({"reference": "x", "kind": "stain", "loci": loci}).loci.items():
                codes[i, column[name]] = pair
        index.add(np.arange(start + 1, start + len(part) + 1), np.ones(len(part), np.uint8), codes)
    queries = stored[::97]
    qcodes = np.zeros((len(queries), len(column), 2), np.int16)
    for i, loci in enumerate(queries):
        for name, pair in normaliser.normalise({"reference": "q", "kind": "stain", "loci": loci}).loci.items():
            qcodes[i, column[name]] = pair
    found = index.search(qcodes, 3, 1)
    got = {(int(q), int(r)): (QUALITY_NAMES[x], int(m), int(c), int(mm)) for q, r, x, m, c, mm in
           zip(found.query, found.row, found.quality, found.matching_loci, found.compared_loci, found.mismatches)}
    assert got == _reference(stored, queries, 3, 1)


@pytest.mark.parametrize("n_queries", [1, 3])
def test_more_hits_than_the_first_buffer(n_queries):
    """Over 4,096 hits in one call: the kernel reports the count and the search retries."""
    profile = {locus: "10,11" for locus in LOCI}
    stored = [profile] * 5000 + [dict(profile, TH01="12,13")] * 10
    got = _engine(stored, [profile] * n_queries, 6, 0)
    assert len(got) == 5000 * n_queries
    assert set(got.values()) == {("FULL", 8, 8, 0)}

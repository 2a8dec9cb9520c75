"""Familial search: kinship indices (``matcher.dna.kinship``) and their numba scan.

The reference computes each index from first principles (Balding–Nichols sampling over the
identity-by-descent states), not from the closed forms the engine tabulates, so agreement
checks the algebra as well as the kernel.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.config import Config, DnaSettings
from matcher.dna.frequencies import load_population
from matcher.dna.index import DnaIndex
from matcher.dna.kinship import KinshipSearch, locus_indices
from matcher.dna.loci import DEFAULT_TABLE
from matcher.dna.statistics import MatchStatistics
from matcher.dna.synth import generate_database, generate_queries
from matcher.home import init_home, open_home

COLUMNS = DEFAULT_TABLE.compared
SIBLINGS, PARENT_CHILD = (0.25, 0.5, 0.25), (0.0, 1.0, 0.0)
#: Loci the random indexes use: all in norSTR and NIST, one pentanucleotide, one trinucleotide.
LOCI = ("TH01", "vWA", "D18S51", "Penta D", "D22S1045", "SE33", "FES")


# ---------------------------------------------------------------- plain reference
@lru_cache(maxsize=None)
def frequencies(population: str, locus: str, floor: float) -> dict[int, float]:
    """Allele code -> frequency raised to ``floor`` (unlisted codes: use .get(code, floor))."""
    alleles, values = load_population(population)[locus]
    r = DEFAULT_TABLE.repeat_unit(locus)
    out = {}
    for text, value in zip(alleles, values):
        whole, _, part = text.partition(".")
        out[r * int(whole) + (int(part) if part else 0)] = max(value, floor)
    return out


def next_allele(allele, seen, p, theta):
    """Balding–Nichols: chance the next allele drawn is ``allele`` after ``seen``."""
    return (seen.count(allele) * theta + (1 - theta) * p(allele)) / (1 + (len(seen) - 1) * theta)


def genotype_after(genotype, seen, p, theta):
    c, d = genotype
    if c == d:
        return next_allele(c, seen, p, theta) * next_allele(c, seen + [c], p, theta)
    return (next_allele(c, seen, p, theta) * next_allele(d, seen + [c], p, theta)
            + next_allele(d, seen, p, theta) * next_allele(c, seen + [d], p, theta))


def kinship_reference(g1, g2, p, theta, ibd):
    """P(g2 | g1, relatives with IBD probabilities ``ibd``) / P(g2 | g1, unrelated)."""
    unrelated = genotype_after(tuple(g2), list(g1), p, theta)
    one = 0.0
    for passed in g1:                       # each of g1's allele copies, chance 1/2
        rest = list(g2)
        if passed in rest:
            rest.remove(passed)
            one += 0.5 * next_allele(rest[0], list(g1), p, theta)
    two = 1.0 if sorted(g1) == sorted(g2) else 0.0
    return (ibd[0] * unrelated + ibd[1] * one + ibd[2] * two) / unrelated


@lru_cache(maxsize=None)
def exclusion_power_reference(population: str, locus: str) -> float:
    values = load_population(population)[locus][1]
    total = 0.0
    for i, pi in enumerate(values):          # ordered child alleles i, j
        for j, pj in enumerate(values):
            shared = pi + pj if i != j else pi
            total += pi * pj * (1 - shared) ** 2
    return total


def pair_reference(query, stored, population, theta, mutation, floor):
    """(log10 sibling, log10 parent-child, counts) of two (columns, 2) code arrays."""
    table = load_population(population)
    log_sibling = log_parent = 0.0
    counts = [0, 0, 0]
    for column, name in enumerate(COLUMNS):
        (a, b), (c, d) = query[column], stored[column]
        if a == 0 or c == 0 or name not in table:
            continue
        freq = frequencies(population, name, floor)
        p = lambda allele: freq.get(allele, floor)  # noqa: E731
        log_sibling += math.log10(kinship_reference((a, b), (c, d), p, theta, SIBLINGS))
        parent = kinship_reference((a, b), (c, d), p, theta, PARENT_CHILD)
        if parent == 0:
            parent = mutation / exclusion_power_reference(population, name)
        log_parent += math.log10(parent) if parent > 0 else -math.inf
        counts[0] += 1
        counts[1] += bool({a, b} & {c, d})
        counts[2] += sorted((a, b)) == sorted((c, d))
    return log_sibling, log_parent, counts


# ---------------------------------------------------------------- formulas
def test_theta_zero_gives_the_textbook_tables():
    pa, pb = 0.1, 0.3
    sibling, parent = locus_indices(np.array(pa), np.array(pb), np.array(False), 0.0)
    assert parent[3] == pytest.approx((pa + pb) / (4 * pa * pb))          # ab-ab
    assert parent[1] == pytest.approx(1 / (4 * pa))                        # ab-ac
    assert parent[4] == pytest.approx(1 / (2 * pa))                        # ab-aa
    assert parent[0] == 0.0                                                # exclusion
    assert sibling[3] == pytest.approx((1 + pa + pb + 2 * pa * pb) / (8 * pa * pb))
    assert sibling[1] == pytest.approx((1 + 2 * pa) / (8 * pa))
    assert sibling[4] == pytest.approx((1 + pa) / (4 * pa))
    assert sibling[0] == 0.25
    sibling, parent = locus_indices(np.array(pa), np.array(pa), np.array(True), 0.0)
    assert parent[4] == pytest.approx(1 / pa) and parent[1] == pytest.approx(1 / (2 * pa))
    assert sibling[4] == pytest.approx((1 + pa) ** 2 / (4 * pa ** 2))


@settings(max_examples=200, deadline=None)
@given(theta=st.sampled_from([0.0, 0.01, 0.03, 0.2]),
       p=st.lists(st.floats(0.001, 0.6), min_size=3, max_size=3),
       g1=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       g2=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_tabulated_indices_equal_first_principles(theta, p, g1, g2):
    """Every share class of the tables against the IBD-sum reference."""
    g1, g2 = tuple(sorted(g1)), tuple(sorted(g2))
    a, b = g1
    sibling, parent = locus_indices(np.array(p[a]), np.array(p[b]), np.array(a == b), theta)
    shares_a, shares_b = a in g2, b in g2 and a != b
    k = shares_a + 2 * shares_b + 3 * (g2[0] == g2[1] and (shares_a or shares_b))
    freq = lambda allele: p[allele]  # noqa: E731
    assert sibling[k] == pytest.approx(kinship_reference(g1, g2, freq, theta, SIBLINGS), rel=1e-12)
    assert parent[k] == pytest.approx(kinship_reference(g1, g2, freq, theta, PARENT_CHILD), rel=1e-12)


# ---------------------------------------------------------------- the numba scan
def random_codes(rng, count, population, loci=LOCI, unseen=0.05, wildcard=0.05, absent=0.1):
    """(count, columns, 2) sorted code pairs drawn from the population table."""
    table = load_population(population)
    codes = np.zeros((count, len(COLUMNS), 2), np.int16)
    for name in loci:
        column, r = COLUMNS.index(name), DEFAULT_TABLE.repeat_unit(name)
        listed = [code for code in frequencies(population, name, 0.0)] if name in table else [r * 10]
        pool = np.array(listed[: max(3, len(listed) // 3)] + [r * 60 + 1])  # few alleles: many shares
        pairs = rng.choice(pool, size=(count, 2))
        pairs[rng.random((count, 2)) < unseen] = r * 70
        pairs[:, 0][rng.random(count) < wildcard] = 0
        pairs[rng.random(count) < absent] = 0
        codes[:, column] = np.sort(pairs, axis=1)
    return codes


def build_index(codes, rng=None, removed=0.0):
    index = DnaIndex(DEFAULT_TABLE)
    index.add(np.arange(1, len(codes) + 1), np.zeros(len(codes), np.uint8), codes)
    if rng is not None:
        index.remove_rowids(np.flatnonzero(rng.random(len(codes)) < removed) + 1)
    return index


def check_scan(index, stored, queries, population, theta, mutation):
    stats = MatchStatistics(DEFAULT_TABLE, population, theta)
    found = KinshipSearch(stats, COLUMNS, mutation).scan(index, queries, 1e-300)
    got = {(int(q), int(r)): (s, p, c.tolist()) for q, r, s, p, c in zip(
        found.query, found.row, found.log_sibling, found.log_parent, found.counts)}
    live = np.flatnonzero(index.kinds[: index.n_rows] != DnaIndex.REMOVED)
    expected = {}
    for q in range(len(queries)):
        for row in live.tolist():
            ls, lp, counts = pair_reference(queries[q], stored[row], population, theta, mutation,
                                            stats.floor)
            if counts[0]:
                expected[(q, row)] = (ls, lp, counts)
    assert got.keys() == expected.keys()
    for key, (ls, lp, counts) in expected.items():
        assert got[key][0] == pytest.approx(ls, abs=1e-9)
        assert got[key][1] == pytest.approx(lp, abs=1e-9) or got[key][1] == lp == -math.inf
        assert got[key][2] == counts
    return found


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), theta=st.sampled_from([0.0, 0.01, 0.05]),
       mutation=st.sampled_from([0.0, 0.002]),
       population=st.sampled_from(["norstr-europe", "nist-cauc"]))
def test_scan_kernel_equals_reference(seed, theta, mutation, population):
    rng = np.random.default_rng(seed)
    stored = random_codes(rng, int(rng.integers(1, 700)), population)
    queries = random_codes(rng, int(rng.integers(1, 4)), population, absent=0.0)
    index = build_index(stored, rng, removed=0.1)
    check_scan(index, stored, queries, population, theta, mutation)


def test_profiles_outside_the_id_arrays_are_scanned_too():
    """More distinct SE33 alleles than one byte of ids holds: the rest are 'escaped'."""
    rng = np.random.default_rng(5)
    stored = random_codes(rng, 320, "norstr-europe", loci=("TH01", "vWA"))
    se33 = COLUMNS.index("SE33")
    stored[:, se33, 0] = stored[:, se33, 1] = 4 * 2 + np.arange(320)  # 320 distinct alleles
    index = build_index(stored)
    assert len(index.escaped) > 0
    queries = stored[[0, 300, 319]].copy()
    found = check_scan(index, stored, queries, "norstr-europe", 0.01, 0.002)
    assert set(index.escaped) & set(found.row.tolist())


# ---------------------------------------------------------------- through the home
@pytest.fixture(scope="module")
def familial_run(tmp_path_factory):
    records = list(generate_database(5000, seed=21))
    queries = generate_queries(records, 300, seed=22, truth=True, relative_fraction=0.6,
                               exact_fraction=0.1, dropout_fraction=0.0, typing_error_fraction=0.0)
    plain = [{k: v for k, v in q.items() if k != "truth"} for q in queries]
    with open_home(tmp_path_factory.mktemp("familial") / "home") as home:
        home.dna.add(records)
        yield queries, home.dna.search(plain, familial=True), home.dna.search(plain[:5])


def test_planted_relatives_are_found_and_strangers_rarely(familial_run):
    queries, answers, _ = familial_run
    found, total, false = Counter(), Counter(), Counter()
    for query, answer in zip(queries, answers):
        relation = query["truth"]["relation"]
        total[relation] += 1
        listed = [c["reference"] for c in answer["familial"]]
        found[relation] += query["truth"].get("of") in listed
        if relation == "unrelated":
            false[relation] += len(listed)
    assert found["parent_child"] / total["parent_child"] >= 0.6
    assert found["sibling"] / total["sibling"] >= 0.35
    assert false["unrelated"] / total["unrelated"] <= 0.1


def test_candidates_are_non_hits_without_allele_values(familial_run):
    queries, answers, plain_answers = familial_run
    fields = {"reference", "kind", "sibling_index", "parent_child_index", "kinship_loci",
              "sharing_loci", "identical_loci"}
    listed = 0
    for query, answer in zip(queries, answers):
        hits = {h["reference"] for h in answer["hits"]}
        strengths = [max(c["sibling_index"], c["parent_child_index"]) for c in answer["familial"]]
        assert strengths == sorted(strengths, reverse=True)
        for candidate in answer["familial"]:
            listed += 1
            assert set(candidate) == fields
            assert candidate["reference"] not in hits | {query["reference"]}
            assert max(candidate["sibling_index"], candidate["parent_child_index"]) >= 10_000
            assert candidate["identical_loci"] <= candidate["sharing_loci"] <= candidate["kinship_loci"]
        if query["truth"]["relation"] == "exact":
            assert hits and query["truth"]["of"] in hits   # the source is a hit, never familial
    assert listed > 50
    assert all("familial" not in a for a in plain_answers)


def test_threshold_cap_and_strict_exclusion_settings(tmp_path):
    settings_ = DnaSettings(familial_threshold=2.0, familial_max_candidates=3, familial_mutation_rate=0.0)
    init_home(tmp_path / "home", config=Config(dna=settings_))
    records = list(generate_database(1500, seed=4))
    with open_home(tmp_path / "home") as home:
        home.dna.add(records)
        answers = home.dna.search([records[0], {"reference": "bad", "loci": {}}], familial=True)
    assert 0 < len(answers[0]["familial"]) <= 3
    assert "familial" not in answers[1] and "error" in answers[1]
    # strict rule: any locus sharing nothing excludes parent-child
    excluded = [c for c in answers[0]["familial"] if c["sharing_loci"] < c["kinship_loci"]]
    assert all(c["parent_child_index"] == 0.0 for c in excluded)
    for bad in ({"familial_threshold": 1.0}, {"familial_max_candidates": 0},
                {"familial_mutation_rate": -0.1}):
        with pytest.raises(ValueError):
            DnaSettings(**bad).validate()

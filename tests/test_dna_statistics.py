"""Match statistics on DNA hits: NRC II 4.10 random match probability, likelihood ratio and
expected adventitious hits (``matcher.dna.statistics``).

The reference below is written from the formula and the frequency files alone; it shares no
code with the engine beyond loading the tables.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dna_reference import locus_pair, unit
from matcher.config import ConfigError, DnaSettings
from matcher.dna.frequencies import load_population
from matcher.dna.loci import DEFAULT_TABLE
from matcher.dna.statistics import (
    MatchStatistics, frequency_floor, genotype_match_probability, significant,
)
from matcher.dna.synth import generate_database, generate_queries
from matcher.home import open_home

COLUMNS = DEFAULT_TABLE.compared
COLUMN = {name: i for i, name in enumerate(COLUMNS)}

#: fixtures/str-frequencies/README.md: NIST Cauc, NRC II 4.10, θ = 0.01.
WORKED_EXAMPLE = [("TH01", "6", "9.3", 0.16586), ("vWA", "16", "17", 0.11801),
                  ("FGA", "21", "22", 0.07726), ("D8S1179", "13", "13", 0.11980),
                  ("D21S11", "29", "30", 0.11823), ("D3S1358", "15", "16", 0.13370),
                  ("D18S51", "14", "14", 0.02421)]


def reference_frequency(population, locus, allele, sample_size=None):
    """Table frequency of an allele (by value), raised to the 5/2N floor; floor if unlisted."""
    n = sample_size or {"nist-cauc": 361, "nist-all": 1036}.get(population)
    floor = 5 / (2 * n) if n else 0.001
    alleles, frequencies = load_population(population)[locus]
    r = unit(locus)
    value = dict(zip((_value(a, r) for a in alleles), frequencies)).get(_value(allele, r), 0.0)
    return max(value, floor)


def _value(text, r):
    whole, _, part = text.partition(".")
    return r * int(whole) + (int(part) if part else 0)


def reference_locus(p, q, homozygote, theta):
    """NRC II 4.10, written out."""
    if homozygote:
        return (2 * theta + (1 - theta) * p) * (3 * theta + (1 - theta) * p) / ((1 + theta) * (1 + 2 * theta))
    return 2 * (theta + (1 - theta) * p) * (theta + (1 - theta) * q) / ((1 + theta) * (1 + 2 * theta))


def encode(genotypes: dict) -> np.ndarray:
    """(1, columns, 2) sorted code pairs of {locus: (allele, allele)} ("*" = wildcard)."""
    codes = np.zeros((1, len(COLUMNS), 2), np.int16)
    for locus, pair in genotypes.items():
        r = unit(locus)
        codes[0, COLUMN[locus]] = sorted(0 if a == "*" else _value(a, r) for a in pair)
    return codes


def test_worked_example_per_locus_and_product():
    stats = MatchStatistics(DEFAULT_TABLE, "nist-cauc", theta=0.01)
    for locus, a, b, printed in WORKED_EXAMPLE:
        one = encode({locus: (a, b)})
        rmp, loci = stats.random_match_probability(one, one)
        assert round(float(rmp[0]), 5) == printed, locus
        assert loci[0] == 1
    profile = encode({locus: (a, b) for locus, a, b, _ in WORKED_EXAMPLE})
    rmp, loci = stats.random_match_probability(profile, profile)
    assert significant(rmp[0]) == 6.93e-8 and loci[0] == 7
    assert significant(1 / rmp[0]) == 1.44e7  # "1 in 1.44e7"


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_implementation_equals_reference_formula(data):
    population = data.draw(st.sampled_from(["nist-cauc", "norstr-europe", "nist-all"]))
    theta = data.draw(st.sampled_from([0.0, 0.001, 0.01, 0.03, 0.1]))
    table = load_population(population)
    loci = data.draw(st.lists(st.sampled_from(sorted(set(COLUMNS) & set(table))), min_size=1,
                              max_size=8, unique=True))
    genotypes = {}
    for locus in loci:
        listed = list(table[locus][0]) + ["3", "60"]  # unseen alleles get the floor
        genotypes[locus] = tuple(data.draw(st.sampled_from(listed)) for _ in range(2))
    stats = MatchStatistics(DEFAULT_TABLE, population, theta)
    codes = encode(genotypes)
    rmp, counted = stats.random_match_probability(codes, codes)
    expected = math.prod(
        reference_locus(reference_frequency(population, locus, a), reference_frequency(population, locus, b),
                        _value(a, unit(locus)) == _value(b, unit(locus)), theta)
        for locus, (a, b) in genotypes.items())
    assert rmp[0] == pytest.approx(expected, rel=1e-12)
    assert counted[0] == len(loci)


def test_theta_zero_is_the_product_rule():
    p, q = 0.2, 0.05
    assert genotype_match_probability(p, q, False, 0.0) == pytest.approx(2 * p * q)
    assert genotype_match_probability(p, q, True, 0.0) == pytest.approx(p * p)
    assert genotype_match_probability(p, q, False, 0.01) > 2 * p * q  # θ only ever raises it


def test_floor_applies_to_rare_and_unseen_alleles():
    cauc = MatchStatistics(DEFAULT_TABLE, "nist-cauc", theta=0.0)
    floor = 5 / (2 * 361)
    assert cauc.floor == pytest.approx(floor)
    th01 = COLUMN["TH01"]
    assert cauc.frequencies[th01, 4 * 13 + 3] == pytest.approx(floor)   # 13.3: not in the table
    assert cauc.frequencies[th01, 4 * 5] == pytest.approx(floor)        # 5: listed at 0.00139
    assert cauc.frequencies[th01, 4 * 6] == pytest.approx(reference_frequency("nist-cauc", "TH01", "6"))
    unseen = encode({"TH01": ("13.3", "13.3")})
    assert cauc.random_match_probability(unseen, unseen)[0][0] == pytest.approx(floor ** 2)
    assert frequency_floor("norstr-europe") == 0.001   # norSTR states no N: its own minimum
    assert frequency_floor("norstr-europe", sample_size=500) == pytest.approx(0.005)
    assert MatchStatistics(DEFAULT_TABLE, "nist-cauc", sample_size=1000).floor == pytest.approx(0.0025)


def test_only_identical_covered_loci_count():
    stats = MatchStatistics(DEFAULT_TABLE)  # norSTR Europe: no FES frequencies
    stored = {"TH01": ("6", "9.3"), "vWA": ("16", "17"), "FGA": ("21", "22"),
              "D8S1179": ("13", "13"), "D21S11": ("29", "30"), "D3S1358": ("15", "16"),
              "D18S51": ("14", "15"), "FES": ("10", "11")}
    query = dict(stored, TH01=("6", "10"),        # microvariant-equivalent: 9.3 ~ 10
                 vWA=("16", "18"),                # the NEAR hit's mismatch
                 FGA=("21", "*"))                 # wildcard
    rmp, counted = stats.random_match_probability(encode(query), encode(stored))
    kept = ("D8S1179", "D21S11", "D3S1358", "D18S51")
    expected = stats.random_match_probability(encode({k: stored[k] for k in kept}),
                                              encode({k: stored[k] for k in kept}))[0][0]
    assert counted[0] == 4 and rmp[0] == pytest.approx(expected)


def test_settings_are_validated():
    DnaSettings(theta=0, statistics_population="nist-asian", frequency_sample_size=97).validate()
    for bad, field in [({"theta": 0.5}, "theta"), ({"theta": "0.01"}, "theta"),
                       ({"statistics_population": "mars"}, "statistics_population"),
                       ({"frequency_sample_size": -1}, "frequency_sample_size")]:
        with pytest.raises(ConfigError, match=field):
            DnaSettings(**bad).validate()


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    records = list(generate_database(3000, seed=11))
    queries = generate_queries(records, 150, seed=12, exact_fraction=0.3, dropout_fraction=0.3,
                               typing_error_fraction=0.2)
    with open_home(tmp_path_factory.mktemp("stats") / "home") as home:
        home.dna.add(records)
        yield records, queries, home.dna.search(queries), home.dna.index.live


def reference_rmp(stored: dict, query: dict, theta=0.01, population="norstr-europe"):
    """Product of NRC II 4.10 over loci where both are fully designated with the same genotype."""
    table = load_population(population)
    product, counted = 1.0, 0
    for locus, value in stored.items():
        if locus not in table or locus not in query:
            continue
        s, q = locus_pair(value, unit(locus)), locus_pair(query[locus], unit(locus))
        if s is None or q is None or ("wild",) in s + q or sorted(s) != sorted(q):
            continue
        texts = [f"{n}.{d}" if d else str(n) for n, d in sorted(s)]
        p, r = (reference_frequency(population, locus, t) for t in texts)
        product *= reference_locus(p, r, texts[0] == texts[1], theta)
        counted += 1
    return product, counted


def test_every_hit_carries_statistics_that_agree_with_the_reference(searched):
    records, queries, answers, live = searched
    by_reference = {r["reference"]: r for r in records}
    hits = [(q, h) for q, a in zip(queries, answers) for h in a["hits"]]
    assert len(hits) > 50
    qualities = {h["quality"] for _, h in hits}
    assert {"FULL", "NEAR"} <= qualities
    for query, hit in hits:
        assert {"reference", "kind", "quality", "matching_loci", "compared_loci", "mismatches",
                "rmp", "likelihood_ratio", "expected_adventitious", "rmp_loci"} == set(hit)
        rmp, counted = reference_rmp(by_reference[hit["reference"]]["loci"], query["loci"])
        assert hit["rmp_loci"] == counted
        assert hit["rmp_loci"] <= hit["matching_loci"]
        assert hit["rmp"] == pytest.approx(rmp, rel=5e-3)
        assert hit["likelihood_ratio"] == pytest.approx(1 / rmp, rel=5e-3)
        assert hit["expected_adventitious"] == pytest.approx(live * rmp, rel=5e-3)
        assert hit["rmp"] == significant(hit["rmp"])


def test_a_weak_hit_is_visibly_weak(tmp_path):
    """Six common genotypes against a large database: chance hits are expected."""
    common = {"TPOX": "8", "D3S1358": "15,16", "vWA": "16,17", "TH01": "6,9.3",
              "D8S1179": "13", "D5S818": "11,12"}
    with open_home(tmp_path / "home") as home:
        home.dna.add([{"reference": "S-1", "kind": "stain", "loci": common}])
        home.dna.add(list(generate_database(2000, seed=3)))
        [answer] = home.dna.search([{"reference": "Q", "loci": common}])
        live = home.dna.index.live
        why = home.dna.explain({"reference": "Q", "loci": common}, "S-1")
    [hit] = [h for h in answer["hits"] if h["reference"] == "S-1"]
    assert {k: why[k] for k in ("rmp", "likelihood_ratio", "expected_adventitious", "rmp_loci")} \
        == {k: hit[k] for k in ("rmp", "likelihood_ratio", "expected_adventitious", "rmp_loci")}
    assert hit["rmp_loci"] == 6
    assert hit["expected_adventitious"] == pytest.approx(live * hit["rmp"], rel=5e-3)
    # searched against a national database of 10 million, such a hit happens by chance
    assert hit["rmp"] * 10_000_000 > 1

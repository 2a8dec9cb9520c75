"""Every row of the spec's example table (dna-matching.md section 7), through the reference
and through the engine (normaliser, index, kernels, answer shape)."""

from __future__ import annotations

import pytest

import dna_reference as ref
import matcher

# stored, query, classes of the used pairing (as the spec lists them)
EXAMPLES = [
    ("15,16", "16,15", ["EXACT", "EXACT"]),
    ("9.3,9.3", "9.3,10", ["EXACT", "MICROVARIANT"]),
    ("9,9.3", "9.1,9.3", ["MICROVARIANT", "EXACT"]),
    ("9,10", "9.2,10", ["MISMATCH", "EXACT"]),
    ("12,*", "9,12", ["EXACT", "WILDCARD"]),
    ("14,14", "14,15", ["EXACT", "MISMATCH"]),
    ("14,17", "15,16", ["MISMATCH", "MISMATCH"]),
    ("9.3,*", "10,*", ["WILDCARD", "WILDCARD"]),
    ("12,*", "9,13", ["MISMATCH", "WILDCARD"]),
]

# Six identical fully designated loci around the example locus (TH01, tetranucleotide).
BASE = {"D3S1358": "15,16", "vWA": "17,18", "D8S1179": "13,14", "D21S11": "29,30",
        "D18S51": "14,15", "FGA": "21,22"}


def _expected(classes):
    mismatches = classes.count("MISMATCH")
    full = "*" not in classes and "WILDCARD" not in classes
    matching = 6 + (1 if full and mismatches == 0 else 0)
    if mismatches > 1:
        return None
    if mismatches:
        quality = "NEAR"
    elif "MICROVARIANT" in classes:
        quality = "MICROVARIANT"
    elif "WILDCARD" in classes:
        quality = "WILDCARD"
    else:
        quality = "FULL"
    return {"quality": quality, "matching_loci": matching, "compared_loci": 7,
            "mismatches": mismatches}


@pytest.mark.parametrize("stored,query,classes", EXAMPLES)
def test_reference_reproduces_table(stored, query, classes):
    s, q = ref.locus_pair(stored, 4), ref.locus_pair(query, 4)
    assert sorted(ref.compare_locus(s, q, 4)) == sorted(classes)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("examples") / "home"
    matcher.init_home(path, partner="NL")
    records = [{"reference": f"S{i}", "kind": "stain", "loci": dict(BASE, TH01=stored)}
               for i, (stored, _, _) in enumerate(EXAMPLES)]
    with matcher.open_home(path) as h:
        report = h.dna.add(records)
        assert report.rejected == [] and report.added == len(EXAMPLES)
    with matcher.open_home(path) as h:
        yield h


@pytest.mark.parametrize("i", range(len(EXAMPLES)))
def test_engine_reproduces_table(home, i):
    stored, query, classes = EXAMPLES[i]
    [answer] = home.dna.search([{"reference": f"Q{i}", "loci": dict(BASE, TH01=query)}])
    hits = {h["reference"]: h for h in answer["hits"]}
    expected = _expected(classes)
    if expected is None:
        assert f"S{i}" not in hits
    else:
        got = dict(hits[f"S{i}"])
        assert got.pop("reference") == f"S{i}" and got.pop("kind") == "stain"
        assert {k: got[k] for k in expected} == expected      # and the match statistics

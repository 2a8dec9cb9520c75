"""Normalisation and validation, rule by rule (dna-matching.md sections 1–4)."""

from __future__ import annotations

import pytest

from matcher.config import DnaSettings
from matcher.dna.alleles import WILDCARD, AlleleError, allele_text, parse_allele
from matcher.dna.formats import parse_json_line
from matcher.dna.loci import canonical_locus
from matcher.dna.profile import Normaliser, ProfileRejected

ESS7 = {"D3S1358": "15,16", "vWA": "17,18", "D8S1179": "13,14", "D21S11": "29,30",
        "D18S51": "14,15", "TH01": "6,9.3", "FGA": "21,22"}


@pytest.mark.parametrize("text,code", [
    ("12", 48), ("09", 36), ("2", 8), ("98", 392), ("9.3", 39), ("9.1", 37), ("98.3", 395),
    ("*", WILDCARD), ("0", WILDCARD), ("00", WILDCARD), ("1", WILDCARD), ("01", WILDCARD),
    ("99", WILDCARD), ("OL", WILDCARD), ("<8", WILDCARD), (">24", WILDCARD), ("F", WILDCARD),
    ("na", WILDCARD), ("nr", WILDCARD), ("un", WILDCARD), (".5", WILDCARD), ("9.x", WILDCARD),
])
def test_allele_values(text, code):
    assert parse_allele(text, 4) == code


@pytest.mark.parametrize("text", ["9.0", "9.4", "9.35", "9.30", "1.2", "99.1", "0.5", "100",
                                  "150", "+9", "-1", "-OL", "+"])
def test_malformed_alleles(text):
    with pytest.raises(AlleleError):
        parse_allele(text, 4)


def test_microvariant_limit_follows_repeat_unit():
    assert parse_allele("12.4", 5) == 64          # Penta D: d up to 4
    with pytest.raises(AlleleError):
        parse_allele("12.3", 3)                    # D22S1045: d up to 2
    assert allele_text(39, 4) == "9.3" and allele_text(48, 4) == "12"


@pytest.mark.parametrize("name,canonical", [
    ("VWA", "vWA"), ("vwa", "vWA"), ("CSF1P0", "CSF1PO"), ("THO1", "TH01"), ("th01", "TH01"),
    ("PENTAD", "Penta D"), ("Penta_E", "Penta E"), ("penta-d", "Penta D"), ("AMEL", "Amelogenin"),
    ("AM", "Amelogenin"), ("F13A01", "F13A1"), ("d3s 1358", "D3S1358"), ("D1S1656", "D1S1656"),
    ("DYS391", "DYS391"), ("D99S1", None),
])
def test_locus_names(name, canonical):
    assert canonical_locus(name) == canonical


@pytest.fixture
def norm():
    return Normaliser(DnaSettings())


def test_homozygote_mixture_and_wildcard_pairs(norm):
    p = norm.normalise({"reference": "A", "kind": "stain", "loci": dict(
        ESS7, D16S539="12,", D2S1338=["17", "19", "20"], SE33="OL,*", TPOX="", CSF1PO=[])})
    assert p.loci["D16S539"] == (48, 48)
    assert p.loci["D2S1338"] == (0, 68) and p.mixture
    assert "SE33" not in p.loci and "TPOX" not in p.loci and "CSF1PO" not in p.loci
    assert p.canonical_loci(norm.table.repeat_unit)["D2S1338"] == ["17", "*"]


def test_mixture_keeps_first_allele_in_input_order(norm):
    p = norm.normalise({"reference": "A", "kind": "stain", "loci": dict(ESS7, TPOX=["11", "8", "9"])})
    assert p.loci["TPOX"] == (0, 44)


def test_never_compared_loci_are_stored_not_counted(norm):
    loci = {k: v for k, v in list(ESS7.items())[:5]}
    loci.update(Amelogenin="X,Y", DYS391="10")
    with pytest.raises(ProfileRejected) as exc:
        norm.normalise({"reference": "A", "kind": "stain", "loci": loci})
    assert "5 fully designated loci" in exc.value.reasons[0]
    p = norm.normalise({"reference": "A", "kind": "stain", "loci": dict(ESS7, AMEL="x,y")})
    assert p.other_loci == {"Amelogenin": ("X", "Y")} and "Amelogenin" not in p.loci


def test_person_needs_six_of_ess7(norm):
    loci = dict(ESS7, TH01="6,OL", FGA="OL", D16S539="11,12", D2S1338="17,19", D19S433="13,14")
    with pytest.raises(ProfileRejected) as exc:
        norm.normalise({"reference": "P", "kind": "person", "loci": loci})
    assert any("ess7" in r and "has 5" in r for r in exc.value.reasons)
    assert norm.normalise({"reference": "S", "kind": "stain", "loci": loci}).designated == 8
    assert norm.normalise({"reference": "Q", "loci": loci}, query=True).kind == "stain"


def test_settings_change_the_minimum():
    strict = Normaliser(DnaSettings(min_designated_loci=8))
    with pytest.raises(ProfileRejected):
        strict.normalise({"reference": "A", "kind": "stain", "loci": ESS7})


def test_every_reason_is_reported_with_its_field(norm):
    with pytest.raises(ProfileRejected) as exc:
        norm.normalise({"reference": "B", "kind": "suspect", "loci": {
            "D99S1": "12", "TH01": "9.35", "THO1": "6", "vWA": "+4", "FGA": 21}})
    reasons = exc.value.reasons
    assert exc.value.reference == "B"
    assert any(r.startswith("kind:") for r in reasons)
    assert any("loci.D99S1" in r and "unknown locus" in r for r in reasons)
    assert any("loci.TH01" in r and "9.35" in r for r in reasons)
    assert any("loci.THO1" in r and "twice" in r for r in reasons)
    assert any("loci.vWA" in r for r in reasons)
    assert any("loci.FGA" in r and "string" in r for r in reasons)


@pytest.mark.parametrize("reference,problem", [
    (None, "missing"), ("", "1..64"), ("x" * 65, "1..64"), (12, "string"), ("a\tb", "printable"),
])
def test_reference_rules(norm, reference, problem):
    record = {"kind": "stain", "loci": ESS7}
    if reference is not None:
        record["reference"] = reference
    with pytest.raises(ProfileRejected) as exc:
        norm.normalise(record)
    assert any(r.startswith("reference:") and problem in r for r in exc.value.reasons)
    assert norm.normalise(dict(record, reference="x" * 64)).reference == "x" * 64


def test_duplicate_json_keys_are_errors(norm):
    raw = parse_json_line(b'{"reference": "A", "kind": "stain", "loci": {"TH01": "6", "TH01": "7"}}', 3)
    with pytest.raises(ProfileRejected) as exc:
        norm.normalise(raw.data)
    assert any("TH01" in r and "twice" in r for r in exc.value.reasons)
    raw = parse_json_line(b'{"reference": "A", "reference": "B", "kind": "stain", "loci": {}}', 4)
    with pytest.raises(ProfileRejected) as exc:
        norm.normalise(raw.data)
    assert exc.value.reasons == ["reference: field given twice"]


def test_bad_lines():
    assert "UTF-8" in parse_json_line(b'{"reference": "\xff"}', 2).error
    assert "line 5: invalid JSON" in parse_json_line(b'{"reference": "A", "ki', 5).error


def test_mixture_flag_survives_a_dropped_locus(norm):
    p = norm.normalise({"reference": "A", "kind": "stain", "loci": dict(ESS7, TPOX="OL,8,9")})
    assert "TPOX" not in p.loci and p.mixture
    p = norm.normalise({"reference": "B", "kind": "stain", "loci": dict(ESS7, DYS391="10,11,12")})
    assert p.other_loci["DYS391"] == ("10", "*")
    assert p.mixture


def test_stored_body_is_canonical_json(norm):
    import json
    p = norm.normalise({"reference": "A", "kind": "stain", "loci": dict(
        ESS7, D2S1338=["17", "19", "20"], AM="x,y", DYS391="09", vWA="18,17")})
    body = json.loads(norm.stored_body(p))
    assert body == p.canonical_loci(norm.table.repeat_unit)
    assert body["D2S1338"] == ["17", "*"] and body["vWA"] == ["17", "18"]
    assert body["DYS391"] == ["9", "9"] and body["Amelogenin"] == ["X", "Y"]

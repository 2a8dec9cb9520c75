"""home.finger: enrol, search (MCC candidate lists with fusion), delete, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import matcher
from matcher.finger.synth import generate_masters, impression
from matcher.finger.templates import finger_to_json

GALLERY = 300


@pytest.fixture(scope="module")
def masters():
    return list(generate_masters(GALLERY, seed=21))


def _finger(master, rng, mode, position):
    finger = impression(master, rng, mode=mode)
    finger.position = position
    return finger_to_json(finger)


@pytest.fixture(scope="module")
def home(tmp_path_factory, masters):
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("finger") / "home"
    records = [{"reference": f"DE-{i:04d}", "kind": "person",
                "fingers": [_finger(m, rng, "rolled", 2), _finger(masters[(i + 1) % GALLERY], rng, "rolled", 3)]}
               for i, m in enumerate(masters)]
    with matcher.open_home(path) as h:
        report = h.finger.add(records)
        assert (report.added, report.fingers, report.rejected) == (GALLERY, 2 * GALLERY, [])
    return path


def test_plain_probes_find_their_mate_first(home, masters):
    rng = np.random.default_rng(6)
    queries = [{"reference": f"Q{i}", "fingers": [_finger(masters[i], rng, "plain", 2)]}
               for i in range(0, GALLERY, 15)]
    with matcher.open_home(home) as h:
        answers = h.finger.search(queries)
    firsts = [a["candidates"][0]["reference"] for a in answers]
    assert firsts == [f"DE-{i:04d}" for i in range(0, GALLERY, 15)]
    assert all(a["hit"] and a["candidates"][0]["hit"] for a in answers)
    assert all(len(a["candidates"]) == 10 for a in answers)              # max_candidates
    assert set(answers[0]["candidates"][0]) == {"reference", "kind", "position", "score", "hit"}
    scores = [c["score"] for c in answers[0]["candidates"]]
    assert scores == sorted(scores, reverse=True)


def test_position_decides_which_fingers_compare(home, masters):
    rng = np.random.default_rng(7)
    # masters[5] is DE-0005's finger 2 and DE-0004's finger 3
    as_two = {"reference": "Q", "fingers": [_finger(masters[5], rng, "plain", 2)]}
    as_three = {"reference": "Q", "fingers": [_finger(masters[5], rng, "plain", 3)]}
    unknown = {"reference": "Q", "fingers": [_finger(masters[5], rng, "latent", 0)]}
    with matcher.open_home(home) as h:
        two, three, latent = h.finger.search([as_two, as_three, unknown])
    assert two["candidates"][0]["reference"] == "DE-0005" and two["candidates"][0]["position"] == 2
    assert three["candidates"][0]["reference"] == "DE-0004" and three["candidates"][0]["position"] == 3
    assert {c["reference"] for c in latent["candidates"][:2]} & {"DE-0004", "DE-0005"}


def test_two_fingers_fuse(home, masters):
    rng = np.random.default_rng(8)
    both = {"reference": "Q", "fingers": [_finger(masters[9], rng, "plain", 2),
                                          _finger(masters[10], rng, "plain", 3)]}
    one = {"reference": "Q", "fingers": [_finger(masters[9], rng, "plain", 2)]}
    with matcher.open_home(home) as h:
        fused, single = h.finger.search([both, one])
    assert fused["candidates"][0]["reference"] == "DE-0009"
    assert fused["candidates"][0]["score"] > single["candidates"][0]["score"]


@pytest.mark.parametrize("record,field", [
    ({"reference": "B1", "kind": "person", "fingers": []}, "fingers"),
    ({"reference": "B2", "kind": "person"}, "fingers"),
    ({"reference": "B3", "kind": "robot", "fingers": [{"position": 1, "minutiae": {
        "width": 100, "height": 100, "resolution_dpi": 500, "points": [[10, 10, 0, "ending", 50]]}}]}, "kind"),
    ({"reference": "B4", "kind": "person", "fingers": [{"position": 11, "minutiae": {
        "width": 100, "height": 100, "resolution_dpi": 500, "points": [[10, 10, 0, "ending", 50]]}}]}, "position"),
    ({"reference": "B5", "kind": "person", "fingers": [{"position": 1, "minutiae": {
        "width": 100, "height": 100, "resolution_dpi": 500, "points": [[150, 10, 0, "ending", 50]]}}]}, "points[0]"),
    ({"reference": "B6", "kind": "person", "fingers": [{"position": 1, "minutiae": {
        "width": 600, "height": 600, "resolution_dpi": 500,
        "points": [[i % 500, i // 2, 0, "ending", 50] for i in range(256)]}}]}, "points"),
    ({"reference": "B7", "kind": "person", "fingers": [{"position": 1, "minutiae": {
        "width": 100, "height": 100, "resolution_dpi": 500, "points": []}}]}, "minutiae"),
    ({"reference": "B8", "kind": "person", "fingers": [{"position": 1, "template": "bm90IGEgdGVtcGxhdGU="}]}, "template"),
])
def test_bad_records_are_refused_naming_the_field(tmp_path, record, field):
    with matcher.open_home(tmp_path / "h") as h:
        report = h.finger.add([record])
        assert report.added == 0 and len(report.rejected) == 1
        entry = report.rejected[0]
        assert entry["reference"] == record["reference"] and entry["line"] == 1
        assert any(field in reason for reason in entry["reasons"]), entry["reasons"]
        assert h.finger.stats()["records"] == 0


def test_replace_delete_and_reopen(tmp_path, masters):
    rng = np.random.default_rng(9)
    path = tmp_path / "h"
    with matcher.open_home(path) as h:
        h.finger.add([{"reference": f"R{i}", "kind": "person", "fingers": [_finger(masters[i], rng, "rolled", 1)]}
                      for i in range(30)])
        report = h.finger.add([{"reference": "R0", "kind": "latent", "fingers": [_finger(masters[40], rng, "rolled", 1)]}])
        assert report.replaced == 1
        assert h.finger.delete(["R1", "R99"]).not_found == ["R99"]
    with matcher.open_home(path) as h:
        probe = lambda i: {"reference": "Q", "fingers": [_finger(masters[i], rng, "plain", 1)]}
        new, deleted = h.finger.search([probe(40), probe(1)])
        assert new["candidates"][0]["reference"] == "R0" and new["candidates"][0]["kind"] == "latent"
        assert "R1" not in [c["reference"] for c in deleted["candidates"]]
        assert h.finger.stats() == {"records": 29, "persons": 28, "latents": 1, "fingers": 29,
                                    "tombstones": 2, "generation": 3}
        [itself] = h.finger.search([{"reference": "R5", "fingers": [_finger(masters[5], rng, "plain", 1)]}])
        assert "R5" not in [c["reference"] for c in itself["candidates"]]   # never itself


def test_cli_finger_add_search_delete(tmp_path):
    import json
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "matcher.cli", *map(str, args)],
                              capture_output=True, text=True, timeout=300)

    home, gallery, probes = tmp_path / "h", tmp_path / "g.jsonl", tmp_path / "p.jsonl"
    assert run("init", home).returncode == 0
    made = run("finger", "synth", "--count", "60", "--seed", "4", "--out", gallery,
               "--probes", "6", "--probes-out", probes, "--mated-fraction", "1")
    assert made.returncode == 0, made.stderr
    added = run("finger", "add", home, gallery)
    assert added.returncode == 0 and json.loads(added.stdout)["added"] == 60
    found = run("finger", "search", home, probes)
    answers = [json.loads(line) for line in found.stdout.splitlines()]
    assert found.returncode == 0 and len(answers) == 6
    assert all(set(a) == {"query", "hit", "candidates"} for a in answers)
    assert sum(a["hit"] for a in answers) >= 5
    gone = run("finger", "delete", home, answers[0]["candidates"][0]["reference"], "NOPE")
    assert gone.returncode == 1 and json.loads(gone.stdout)["not_found"] == ["NOPE"]

"""benchmarks/finger_search.py and its modules (_finger_openset, _finger_bozorth): the open-set
statistics on hand-made searches, the bozorth3 template layout, and a run at a tiny size that
prints the contract line and writes the plots."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
SCRIPT = BENCHMARKS / "finger_search.py"
LAST_LINE = re.compile(r"finger_search gallery=(\d+) rank1=(\d\.\d+) fnir_at_fpir1=(\d\.\d+) "
                       r"ms_per_search=(\d+\.\d+) bozorth3_fnir_at_fpir1=(\d\.\d+|n/a)")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _load(name: str):
    """A benchmark module by file name (benchmarks/ is no package: its modules import each
    other as top-level modules, as when the script runs)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


def test_open_set_definitions():
    openset = _load("_finger_openset")
    outcome = openset.Outcome()
    ids = np.arange(4)
    # mated, mate (0) first with 0.9; mated, mate (1) second; mated, mate (2) tied first: a miss
    outcome.add(0, ids, np.array([0.9, 0.1, 0.2, 0.3]))
    outcome.add(1, ids, np.array([0.5, 0.4, 0.1, 0.1]))
    outcome.add(2, ids, np.array([0.1, 0.6, 0.6, 0.1]))
    for top in (0.05, 0.15, 0.25, 0.35):   # non-mated searches
        outcome.add(-1, ids, np.array([top, 0.0, 0.0, 0.0]))
    assert outcome.rank1() == pytest.approx(1 / 3)
    # Non-mated searches: 4 probes plus the 3 mated ones without their mate (0.3, 0.5, 0.6).
    assert len(outcome.arrays()[2]) == 7
    fnir, limited = outcome.fnir_at(1 / 7)   # one false positive allowed: t just above 0.5
    assert limited is False and fnir == pytest.approx(2 / 3)
    fnir, limited = outcome.fnir_at(0.01)    # none allowed: t just above 0.6, yet 0.9 passes
    assert limited is True and fnir == pytest.approx(2 / 3)
    fpir, fnir_curve = outcome.det()
    assert fpir[0] == 1.0 and fnir_curve[0] == pytest.approx(2 / 3) and np.all(np.diff(fpir) < 0)


@pytest.mark.skipif(not _installed("nbis"), reason="nbis-py is not installed")
def test_nbis_template_layout_and_sorting():
    bozorth = _load("_finger_bozorth")
    extractor = bozorth.load_nbis()            # raises when the wrapper reads another layout
    from matcher.finger.model import Finger, Minutia
    minutiae = [Minutia(300 - 10 * i, 100 + (i % 3), 45.0, "bifurcation", 50) for i in range(16)]
    finger = Finger(minutiae=minutiae, width=500, height=500)
    loaded = extractor.load_iso_19794_2_2005(bozorth._nbis_template(finger)).get()
    assert [m.x() for m in loaded] == sorted(m.x for m in minutiae)


def test_tiny_run_prints_the_contract_line(tmp_path):
    command = [sys.executable, str(SCRIPT), "--gallery", "300", "--probes", "20", "--seed", "3",
               "--out-dir", str(tmp_path)]
    if _installed("nbis"):
        command += ["--bozorth-gallery", "100", "--bozorth-probes", "10"]
    else:
        command.append("--no-bozorth")
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    assert int(match[1]) == 300 and 0.0 <= float(match[2]) <= 1.0 and float(match[4]) > 0
    assert (match[5] == "n/a") == (not _installed("nbis"))
    assert "index 256 bytes per finger" in proc.stdout   # the deployed sq8 index by default
    assert "latent probes -> exhaustive MCC" in proc.stdout   # latent_shortlist_fraction = 1
    if not _installed("matplotlib"):
        pytest.skip("matplotlib is not installed: plots not checked")
    assert (tmp_path / "finger_det.png").stat().st_size > 1000
    assert (tmp_path / "finger_penetration.png").stat().st_size > 1000


@pytest.mark.parametrize("kind, code_bytes", [("sq8", 256), ("flat", 1024), ("binary", 32)])
def test_shortlist_index_finds_an_enrolled_vector_first(kind, code_bytes):
    shortlist = _load("_finger_index")
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(300, 256)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = shortlist.ShortlistIndex(kind)
    index.add(vectors[:150])
    index.add(vectors[150:])
    assert index.bytes_per_finger() == code_bytes
    for number in (0, 149, 150, 299):
        ids = index.search(vectors[number], 7)
        assert len(ids) == 7 and ids[0] == number


def test_balanced_sample_takes_half_mated_probes():
    openset = _load("_finger_openset")
    mate = np.array([4, -1, 7, -1, -1, 2, 9, -1])
    assert openset.balanced_sample(mate, None) == list(range(8))
    assert openset.balanced_sample(mate, 3) == [0, 1, 2]
    assert openset.balanced_sample(mate, 4) == [0, 1, 2, 3]

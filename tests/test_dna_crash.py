"""Durability: a process killed during ``matcher dna add`` loses nothing acknowledged and
leaves no half-written record; the home reopens and answers correctly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

import matcher
from matcher.dna.database import ADD_BATCH

LOCI = ["D3S1358", "vWA", "D8S1179", "D21S11", "D18S51", "TH01", "FGA", "D1S1656",
        "D2S441", "D10S1248", "D12S391", "D22S1045"]
RECORDS = 120_000


def _write_big_file(path):
    rng = np.random.default_rng(11)
    alleles = rng.integers(8, 20, size=(RECORDS, len(LOCI), 2))
    with open(path, "w") as fh:
        for i in range(RECORDS):
            loci = {l: f"{alleles[i, j, 0]},{alleles[i, j, 1]}" for j, l in enumerate(LOCI)}
            fh.write(json.dumps({"reference": f"NL-{i:07d}", "kind": "person", "loci": loci}) + "\n")
    return alleles


def _committed(store_path):
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
    try:
        return [r[0] for r in db.execute("SELECT reference FROM records ORDER BY rowid")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


@pytest.mark.slow
def test_kill_during_add_loses_nothing_acknowledged(tmp_path):
    home = tmp_path / "home"
    matcher.init_home(home, partner="NL")
    big = tmp_path / "big.jsonl"
    alleles = _write_big_file(big)
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "dna", "add", str(home), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while len(seen) < 4 * ADD_BATCH and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        seen = _committed(home / "store.sqlite")
    assert proc.poll() is None, "ingest finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(seen) >= 4 * ADD_BATCH

    with matcher.open_home(home) as h:
        assert h.store.integrity_check() == "ok"
        stored = _committed(home / "store.sqlite")
        # Everything acknowledged (seen committed) survived, and what is there is a clean
        # prefix of whole batches (stored in locus-pattern order within a batch): no gap,
        # no half batch.
        assert set(seen) <= set(stored)
        assert sorted(stored) == [f"NL-{i:07d}" for i in range(len(stored))]
        assert len(stored) % ADD_BATCH == 0 and len(stored) < RECORDS
        assert h.dna.stats()["profiles"] == len(stored)
        last = len(stored) - 1
        probe = {l: f"{alleles[last, j, 0]},{alleles[last, j, 1]}" for j, l in enumerate(LOCI)}
        [answer] = h.dna.search([{"reference": "probe", "loci": probe}])
        assert answer["hits"][0]["reference"] == f"NL-{last:07d}"
        assert answer["hits"][0]["quality"] == "FULL"
        record = h.store.get("dna", f"NL-{last:07d}")
        body = json.loads(record.body)
        assert body["TH01"] == sorted(probe["TH01"].split(","), key=int)

    # Running the same ingest again completes it: the killed part is replaced, not doubled.
    done = subprocess.run([sys.executable, "-m", "matcher.cli", "dna", "add", str(home), str(big)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["added"] + summary["replaced"] == RECORDS
    assert summary["replaced"] == len(stored)
    with matcher.open_home(home) as h:
        assert h.dna.stats()["profiles"] == RECORDS

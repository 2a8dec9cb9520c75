"""The demo and the benchmark run end to end at a small size and print their contract lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_network_demo_small(tmp_path):
    """Three nodes on loopback with mutual TLS ask each other; planted matches come back,
    every audit chain verifies, the nodes stop and the work folder is what it made."""
    code = ("from matcher.demo_network import run_network_demo\n"
            "from matcher.demo_partners import DemoSize\n"
            "size = DemoSize(profiles=3000, dna_queries=40, finger_records=60, finger_queries=4,"
            " vehicles=1000, vehicle_queries=20)\n"
            f"raise SystemExit(run_network_demo(size, workdir={str(tmp_path)!r}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for asker in ("NL", "DE", "BE"):
        assert f"{asker} asks" in out
    lines = [l for l in out.splitlines() if l.startswith("  dna ")]
    assert len(lines) == 6 and all("refused" not in l for l in lines)
    for line in lines:      # every re-submitted or mistyped profile comes back
        found, planted = map(int, re.search(r"profiles (\d+)/(\d+)", line).groups())
        assert planted > 0 and found == planted, line
        assert re.search(r"relatives 0/\d+ \(none expected\)", line), line
    for line in (l for l in out.splitlines() if l.startswith("  finger ")):
        first, mated = map(int, re.search(r"ranked first (\d+)/(\d+)", line).groups())
        assert mated > 0 and first == mated, line
    assert out.count("chain intact") == 3
    assert "nodes stopped" in out


def test_demo_small(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "matcher.cli", "demo", "--local",
                           "--profiles", "4000",
                           "--queries", "60", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "loaded 4,000 profiles" in out and "0 rejected" in out
    assert re.search(r"searched 60 queries against 4,000 stored profiles", out)
    assert re.search(r"exact\s+(\d+) of\s+\1\b", out)  # every re-submitted profile is found
    answer = json.loads(next(l for l in out.splitlines() if l.startswith("    {")))
    assert answer["hits"] and set(answer["hits"][0]) == {
        "reference", "kind", "quality", "matching_loci", "compared_loci", "mismatches",
        "rmp", "likelihood_ratio", "expected_adventitious", "rmp_loci"}
    assert "loaded 2,000 in" in out and "0 rejected" in out.split("vehicle register")[1]
    assert re.search(r"searched 60 queries \(\d+ ANPR-tolerant\)", out)


def test_benchmark_small():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dna_search.py"),
                           "--profiles", "6000", "--queries", "30", "--single", "5"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"dna_search N=\d+ single_ns_per_profile=[\d.]+ batched_ns_per_profile=[\d.]+"
                        r" vs_numpy=[\d.]+x bandwidth_fraction=[\d.]+", last), last


def test_synth_through_the_cli(tmp_path):
    out = tmp_path / "db.jsonl"
    queries = tmp_path / "q.jsonl"
    proc = subprocess.run([sys.executable, "-m", "matcher.cli", "dna", "synth", "--count", "500",
                           "--seed", "3", "--out", str(out), "--queries", "20",
                           "--queries-out", str(queries)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 500 and len(queries.read_text().splitlines()) == 20
    assert set(json.loads(lines[0])) >= {"reference", "kind", "loci"}

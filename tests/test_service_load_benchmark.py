"""The partner-service load benchmark runs end to end at a tiny size (its own node
subprocess, mutual TLS on loopback, in-process baseline) and prints its contract line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_LINE = re.compile(r"service_load profiles=(\d+) qps=(\d+) p99_ms=(\d+\.\d) "
                       r"vs_inprocess=(\d+\.\d\d)")


def test_service_load_benchmark_tiny(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "service_load.py"), "--profiles", "3000",
         "--queries", "200", "--seconds", "1", "--warmup", "0.3", "--callers", "1,8",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    last = out.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    profiles, qps, p99, ratio = match.groups()
    assert int(profiles) == 3000 and int(qps) > 0 and float(p99) > 0 and float(ratio) > 0
    # Every stage ran and reported: the baseline, the audit share, the levels, half load.
    for text in ("in-process, 1 query per call", "in-process + audit append",
                 "audit append per query adds", "over mTLS, 1 concurrent caller",
                 "over mTLS, 8 concurrent callers", "open loop at", "p99 at half load"):
        assert text in out, text
    assert "PROBLEM" not in out
    # The home is cached by N and seed: a second run reuses it.
    assert (tmp_path / "service_load_n3000_s1" / "built.json").exists()

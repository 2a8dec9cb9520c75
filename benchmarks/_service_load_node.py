"""The benchmark's node: a cached home of N synthetic DNA profiles, certificates, a node
configuration, a query pool, and the node itself as a ``matcher serve`` subprocess.

Cache layout (``--out``, default benchmarks/out)::

    service_load_n<N>_s<seed>/   home/ (unless --home), certs/, node.toml, server.log,
                                 queries-<count>-s<seed>.json, built.json (home complete)

The home is built once per (N, seed) and reused; a folder without ``built.json`` is an
interrupted build and is rebuilt.  A home given with ``--home`` is used as it is (built there
only when it holds no DNA profile) and never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matcher
from matcher.dna.profile import ProfileRejected
from matcher.dna.synth import generate_database, generate_queries
from matcher.service import certs

ROOT = Path(__file__).resolve().parents[1]
#: The serving node and the calling partner (the load generator's certificate).
SERVER, CALLER = "NL", "DE"
#: Daily DNA quota granted to the caller: far above what a bounded run can use (~10^4 per
#: second for minutes), so the quota, counted in the store across runs, never refuses.
DAILY_QUOTA = 10**12
#: Longest wait for the node to open its home and listen (s); a 1M-profile home opens from
#: its snapshot in seconds, the first start also loads the numba cache.
START_TIMEOUT_S = 300
#: SIGTERM grace of the node (s): the load has stopped by then, so little is in flight.
GRACE_S = 5


@dataclass
class Prepared:
    workdir: Path
    home: Path
    config: Path
    certs: Path
    profiles: int
    queries: list[dict]     # accepted by the home's rules: none is answered with an error
    built_s: float          # 0 when the home was reused


def workdir_for(out: Path, profiles: int, seed: int, home: Path | None) -> Path:
    if home is None:
        return out / f"service_load_n{profiles}_s{seed}"
    tag = hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:10]
    return out / f"service_load_home_{tag}"


def prepare(out: Path, profiles: int, seed: int, n_queries: int, home: Path | None = None,
            say=print) -> Prepared:
    """Build or reuse the home, make fresh certificates and the config, load the pool."""
    workdir = workdir_for(out, profiles, seed, home)
    workdir.mkdir(parents=True, exist_ok=True)
    built_s = 0.0
    if home is None:
        home = workdir / "home"
        marker = workdir / "built.json"
        if not marker.exists():
            if home.exists():
                say(f"removing the interrupted build in {home}")
                shutil.rmtree(home)
            built_s = _build(home, profiles, seed, say)
            marker.write_text(json.dumps({"profiles": profiles, "seed": seed}))
    elif not (home / "config.toml").exists() or _stored(home) == 0:
        built_s = _build(home, profiles, seed, say)
    # Certificates every run: cheap, and a cached one could have expired.
    cert_dir = workdir / "certs"
    certs.create_development_pki(cert_dir, [SERVER, CALLER], force=True)
    config = write_config(workdir, home, cert_dir)
    queries, stored = _query_pool(workdir, home, n_queries, seed, say)
    return Prepared(workdir, home, config, cert_dir, stored, queries, built_s)


def _stored(home: Path) -> int:
    with matcher.open_home(home, create=False) as opened:
        return int(opened.dna.index.live)


def _build(home: Path, profiles: int, seed: int, say) -> float:
    say(f"building a home of {profiles:,} synthetic DNA profiles (seed {seed}) in {home} ...")
    started = time.perf_counter()
    if not (home / "config.toml").exists():
        matcher.init_home(home, partner=SERVER)
    with matcher.open_home(home, create=False) as opened:
        report = opened.dna.add(generate_database(profiles, seed=seed, prefix=SERVER))
        opened.dna.snapshot()
    seconds = time.perf_counter() - started
    say(f"  added {report.added:,} ({len(report.rejected)} rejected) in {seconds:.1f} s")
    return seconds


def write_config(workdir: Path, home: Path, cert_dir: Path) -> Path:
    path = workdir / "node.toml"
    path.write_text(f"""# written by benchmarks/service_load.py
[node]
partner = "{SERVER}"
home = "{home.resolve().as_posix()}"
listen = "127.0.0.1:0"
grace_seconds = {GRACE_S}

[tls]
ca = "{(cert_dir / 'ca.pem').as_posix()}"
cert = "{(cert_dir / f'{SERVER}.pem').as_posix()}"
key = "{(cert_dir / f'{SERVER}.key').as_posix()}"

[policy.{CALLER}]
categories = ["dna"]
daily_quota = {{ dna = {DAILY_QUOTA} }}
""", encoding="utf-8")
    return path


def _query_pool(workdir: Path, home: Path, count: int, seed: int, say) -> tuple[list[dict], int]:
    """``generate_queries`` over the home's stored profiles (so ``--home`` works too), kept
    only when the home's rules accept them; cached per store generation."""
    with matcher.open_home(home, create=False) as opened:
        stored = int(opened.dna.index.live)
        generation = opened.store.generation()
        cache = workdir / f"queries-{count}-s{seed}.json"
        if cache.exists():
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data["generation"] == generation and data["home"] == str(home.resolve()):
                return data["queries"], stored
        say(f"drawing {count:,} queries from the stored profiles ...")
        records = ({"reference": r.reference, "kind": r.kind, "loci": json.loads(r.body)}
                   for r in opened.store.records("dna"))
        queries = []
        for query in generate_queries(records, count, seed=seed + 1, prefix="BQ"):
            try:
                opened.dna.normaliser.normalise(query, query=True)
            except ProfileRejected:
                continue
            queries.append(query)
    cache.write_text(json.dumps({"generation": generation, "home": str(home.resolve()),
                                 "queries": queries}), encoding="utf-8")
    return queries, stored


# ----------------------------------------------------------------------------- the node
class NodeProcess:
    """``python -m matcher.cli serve CONFIG`` in a fresh interpreter (never a fork of this
    process, which has imported faiss), stopped with SIGTERM."""

    def __init__(self, config: Path, log_path: Path):
        self.log_path = log_path
        self.ready_path = log_path.with_suffix(".ready")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with open(log_path, "wb") as log, open(self.ready_path, "wb") as ready:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "matcher.cli", "serve", str(config),
                 "--log-level", "WARNING"],
                stdout=ready, stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
        self.port = self._wait_ready()

    def _wait_ready(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            text = self.ready_path.read_text(encoding="utf-8")
            if text.endswith("\n"):
                return int(json.loads(text.splitlines()[0])["port"])
            if self.process.poll() is not None:
                raise RuntimeError(f"the node exited with status {self.process.returncode}: "
                                   f"{self.log_path.read_text(encoding='utf-8')[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the node did not listen within {START_TIMEOUT_S} s")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the node so far (Linux /proc; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(GRACE_S + 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

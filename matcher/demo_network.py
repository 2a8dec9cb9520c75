"""``matcher demo``: three partner nodes (NL, DE, BE) on loopback asking each other.

Builds the states of ``demo_partners`` (certificates, homes, configs, outgoing queries with
planted cross-border matches), starts one ``matcher serve`` process per state (mutual TLS on
127.0.0.1, a free port each), sends every state's DNA, fingerprint and vehicle queries to
the other two concurrently, prints what each state learnt (hits by category and quality,
how many planted matches came back, latency), checks every node's audit chain, stops the
nodes with SIGTERM and removes everything it made.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from matcher.demo_partners import STATES, DemoSize, build_states, write_config

#: How long a node may take to start listening (loads its home; first start compiles).
START_SECONDS = 120.0
#: How long a node may take to stop after SIGTERM (its grace period is 10 s).
STOP_SECONDS = 30.0
OFFICER = "demo-officer-0042"
PURPOSE = "demo: cross-border check of open cases"
#: DNA query relations whose source person must come back as a hit: the profile as stored,
#: or with one allele mistyped.  A degraded stain ("dropout") hits only while it lost at most
#: one allele at the loci it still shows; relatives are other people and must not hit.
DNA_EXPECTED = ("exact", "typing_error")


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_network_demo(size: DemoSize = DemoSize(), workdir: str | None = None) -> int:
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="prum-demo-")) if owned else Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    nodes: dict[str, subprocess.Popen] = {}
    try:
        return _run(root, size, nodes)
    finally:
        _stop(nodes)
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, size: DemoSize, nodes: dict) -> int:
    started = time.perf_counter()
    _say(f"prum-matcher demo: three partner nodes ({', '.join(STATES)}) on loopback, mutual TLS")
    _say(f"work folder: {root}")
    states = build_states(root, size, _say)
    _say(f"  built in {time.perf_counter() - started:.1f} s: development CA and a certificate "
         "per state, three homes, three node configs")
    addresses = {}
    for state in states:
        nodes[state.code], addresses[state.code] = _start(state.config, root)
    _say("  nodes listening: " + ", ".join(f"{c} {a}" for c, a in addresses.items()))
    _say()
    from matcher.service.client import FanOut
    from matcher.service.settings import load_settings

    failures = 0
    for state in states:
        partners = {c: a for c, a in addresses.items() if c != state.code}
        config = write_config(root, state.code, addresses[state.code], partners)
        with FanOut(load_settings(config)) as fan_out:
            failures += _ask(state, fan_out)
    _say()
    failures += _audits(root)
    _stop(nodes)
    _say(f"demo finished in {time.perf_counter() - started:.1f} s; nodes stopped")
    return 0 if failures == 0 else 1


def _start(config: Path, root: Path) -> tuple[subprocess.Popen, str]:
    log = open(root / f"{config.stem}.log", "wb")
    node = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", str(config)],
                            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_SECONDS
    line = node.stdout.readline()     # the node prints one JSON line once it listens
    if not line or time.monotonic() > deadline:
        node.kill()
        raise RuntimeError(f"node {config.stem} did not start; see {root / (config.stem + '.log')}")
    return node, json.loads(line)["listen"]


def _stop(nodes: dict) -> None:
    for node in nodes.values():
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
    for code, node in list(nodes.items()):
        try:
            node.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        if node.stdout:
            node.stdout.close()
        del nodes[code]


def _ask(state, fan_out) -> int:
    """Send the state's queries of every category to its partners; print what came back."""
    _say(f"{state.code} asks {', '.join(p for p in STATES if p != state.code)}:")
    failures = 0
    for category in ("dna", "finger", "vehicle"):
        queries = state.queries[category]
        sent = [{k: v for k, v in q.items() if k != "truth"} for q in queries]
        results = fan_out.query(category, sent, officer=OFFICER, purpose=PURPOSE,
                                case_reference=f"{state.code}-CASE-2026-0815")
        for result in results:
            if not result.ok:
                failures += 1
                _say(f"  {category:<7} {result.partner}: refused {result.status} {result.message}")
                continue
            _say(f"  {category:<7} {result.partner}: " + _describe(category, result, queries)
                 + f"; {result.seconds * 1e3:,.0f} ms")
    return failures


def _describe(category: str, result, queries: list[dict]) -> str:
    answers = {a.get("query"): a for a in result.answers}
    truth = {q["reference"]: q["truth"] for q in queries}
    with_hit = sum(bool(a.get("hit") or a.get("hits")) for a in answers.values())
    text = f"{len(answers):,} queries, {with_hit:,} with a hit"
    if category == "dna":
        qualities = Counter(h["quality"] for a in answers.values() for h in a.get("hits", []))
        def found(relations):
            planted = [r for r, t in truth.items() if t["relation"] in relations
                       and t.get("of", "").startswith(result.partner + "-")]
            return sum(any(h["reference"] == truth[r]["of"] for h in answers[r].get("hits", []))
                       for r in planted if r in answers), len(planted)
        text += (" (" + ", ".join(f"{q} {n}" for q, n in sorted(qualities.items())) + ")"
                 "; planted found: profiles {}/{}, degraded stains {}/{}, relatives {}/{} "
                 "(none expected)".format(
                     *found(DNA_EXPECTED), *found(("dropout",)),
                     *found(("parent_child", "sibling"))))
    elif category == "finger":
        planted = [r for r, t in truth.items() if (t.get("mate") or "").startswith(result.partner)]
        first = sum(bool(answers[r]["candidates"]) and
                    answers[r]["candidates"][0]["reference"] == truth[r]["mate"]
                    for r in planted if r in answers)
        text += f"; planted mates ranked first {first}/{len(planted)}"
    else:
        mine = [r for r, t in truth.items() if t["partner"] == result.partner]
        hits = sum(bool(answers[r].get("hits")) for r in mine if r in answers)
        text += (f"; of the {len(mine)} derived from its register {hits} found (the rest: "
                 "unregistered plates and misreads)")
    return text


def _audits(root: Path) -> int:
    """Every node's audit chain must verify after the exchange."""
    from matcher.service.audit import AuditLog
    from matcher.store import STORE_FILE, Store

    failures = 0
    for code in STATES:
        home = root / f"{code.lower()}-home"
        store = Store(home / STORE_FILE)
        try:
            with AuditLog(store, home / "audit.key", create_key=False) as log:
                check = log.verify()
        finally:
            store.close()
        failures += not check.ok
        _say(f"audit {code}: {check.entries} entries, chain "
             f"{'intact' if check.ok else 'BROKEN: ' + str(check.problem)}")
    return failures

"""``matcher demo``: a synthetic national DNA database, loaded and searched end to end.

Generates a realistic database (kit mix, stains, relatives, duplicates), loads it into a new
home through the same path as ``matcher dna add``, reopens it from its snapshot, runs a
batch of searches whose ground truth is known (stains of stored persons, typing errors,
relatives, unrelated people) and prints what an operator would want to see.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from matcher._progress import Progress
from matcher.dna.formats import read_records
from matcher.dna.synth import generate_database, generate_queries, write_jsonl
from matcher.home import init_home, open_home
from matcher.vehicle.synth import generate_queries as vehicle_queries
from matcher.vehicle.synth import generate_registrations

DEMO_SEED = 2026
#: Queries timed one at a time for the latency figure (the rest go in one batch).
LATENCY_SAMPLE = 100
#: The demo's vehicle register: half the DNA database's size, like a small state's.
VEHICLE_SHARE = 0.5


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_demo(profiles: int = 200_000, queries: int = 1_000, workdir: str | None = None) -> int:
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="prum-demo-")) if owned else Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    try:
        return _run(root, profiles, queries)
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, n_profiles: int, n_queries: int) -> int:
    _say(f"prum-matcher demo: a national DNA database of {n_profiles:,} synthetic profiles")
    _say(f"work folder: {root}")
    source = root / "nl-dna.jsonl"
    started = time.perf_counter()
    with open(source, "w", encoding="utf-8") as fh:
        write_jsonl(generate_database(n_profiles, seed=DEMO_SEED, prefix="NL"), fh)
    _say(f"  generated {source.name} in {time.perf_counter() - started:.1f} s "
         "(norSTR Europe frequencies; SGM+, NGM SElect, ESS-12, GlobalFiler, Fusion kits)")

    home_path = root / "nl-home"
    if (home_path / "config.toml").exists():
        shutil.rmtree(home_path)
    init_home(home_path, partner="NL")
    started = time.perf_counter()
    with open_home(home_path) as home:
        progress = Progress("  loading", n_profiles)
        report = home.dna.add_raw(read_records(source), progress=progress)
        progress.close()
    load_s = time.perf_counter() - started
    _say(f"  loaded {report.added:,} profiles in {load_s:.1f} s ({report.added / load_s:,.0f}/s), "
         f"{len(report.rejected)} rejected")

    started = time.perf_counter()
    home = open_home(home_path)
    open_s = time.perf_counter() - started
    try:
        stats = home.dna.stats()
        _say(f"  reopened from snapshot in {open_s:.2f} s: {stats['persons']:,} persons, "
             f"{stats['stains']:,} stains, {stats['mixtures']:,} mixtures, "
             f"{stats['index_bytes_per_profile']} index bytes per profile")
        _say()
        truth = generate_queries(generate_database(n_profiles, seed=DEMO_SEED, prefix="NL"),
                                 n_queries, seed=DEMO_SEED + 1, truth=True)
        plain = [{k: v for k, v in q.items() if k != "truth"} for q in truth]
        home.dna.search(plain[:2])  # warm-up: loads compiled kernels
        started = time.perf_counter()
        answers = home.dna.search(plain)
        batch_s = time.perf_counter() - started
        latencies = []
        for query in plain[:LATENCY_SAMPLE]:
            started = time.perf_counter()
            home.dna.search([query])
            latencies.append(time.perf_counter() - started)
        _summary(truth, answers, batch_s, sorted(latencies), stats["profiles"])
        _say()
        _vehicles(home, max(1_000, int(n_profiles * VEHICLE_SHARE)), n_queries)
    finally:
        home.close()
    return 0


def _vehicles(home, n_records: int, n_queries: int) -> None:
    """Load a synthetic vehicle register and run plate and VIN lookups, some ANPR-tolerant."""
    _say(f"vehicle register: {n_records:,} synthetic registrations in 33 European plate formats")
    records = list(generate_registrations(n_records, seed=DEMO_SEED, prefix="NL-V"))
    started = time.perf_counter()
    report = home.vehicle.add(records)
    _say(f"  loaded {report.added:,} in {time.perf_counter() - started:.1f} s, "
         f"{len(report.rejected)} rejected")
    queries = vehicle_queries(records, n_queries, seed=DEMO_SEED + 2)
    started = time.perf_counter()
    answers = home.vehicle.search(queries)
    elapsed = time.perf_counter() - started
    by_key = Counter((h["matched_on"], h["tolerant"]) for a in answers for h in a.get("hits", []))
    with_hit = sum(bool(a.get("hits")) for a in answers)
    tolerant = sum(bool(q.get("tolerant")) for q in queries)
    _say(f"  searched {len(queries):,} queries ({tolerant:,} ANPR-tolerant) in {elapsed * 1e3:,.0f} ms "
         f"including parsing: {with_hit:,} with a hit, {len(queries) - with_hit:,} no hit")
    _say(f"  hits: plate {by_key[('plate', False)]:,}, VIN {by_key[('vin', False)]:,}, "
         f"tolerant plate {by_key[('plate', True)]:,}, tolerant VIN {by_key[('vin', True)]:,}")


def _summary(truth, answers, batch_s, latencies, n_stored) -> None:
    qualities: Counter = Counter()
    found_by_relation: Counter = Counter()
    total_by_relation: Counter = Counter()
    errors = with_hit = 0
    for query, answer in zip(truth, answers):
        relation = query["truth"]["relation"]
        total_by_relation[relation] += 1
        if "error" in answer:
            errors += 1
            continue
        hits = answer["hits"]
        with_hit += bool(hits)
        qualities.update(h["quality"] for h in hits)
        source = query["truth"].get("of")
        if source and any(h["reference"] == source for h in hits):
            found_by_relation[relation] += 1
    n = len(answers)
    _say(f"searched {n:,} queries against {n_stored:,} stored profiles")
    _say(f"  batch      : {batch_s * 1e3:,.0f} ms, {n / batch_s:,.0f} searches/s (one core)")
    median = latencies[len(latencies) // 2] * 1e3
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3
    _say(f"  one by one : median {median:.2f} ms, p99 {p99:.2f} ms per search")
    _say(f"  answers    : {with_hit:,} with a hit, {n - with_hit - errors:,} no hit, "
         f"{errors:,} refused (below the 6-locus minimum)")
    _say("  hits by quality: " + ", ".join(
        f"{q} {qualities.get(q, 0):,}" for q in ("FULL", "WILDCARD", "MICROVARIANT", "NEAR")))
    _say("  planted truth: the stored person a query was derived from, among its hits")
    notes = {
        "exact": "the stored profile itself, re-submitted",
        "dropout": "degraded stain: each dropped allele counts as a mismatch under the rules",
        "typing_error": "one allele off by a repeat (NEAR) or a base pair (MICROVARIANT)",
        "parent_child": "a relative is another person: no hit expected",
        "sibling": "a relative is another person: no hit expected",
    }
    for relation, note in notes.items():
        total = total_by_relation.get(relation, 0)
        if total:
            _say(f"    {relation:<13} {found_by_relation.get(relation, 0):>5,} of {total:>5,}  ({note})")
    unrelated = total_by_relation.get("unrelated", 0)
    if unrelated:
        _say(f"    unrelated     {unrelated:>5,} queries of people not in the database")
    example = next((a for a in answers if a.get("hits")), None)
    if example is not None:
        shown = dict(example, hits=example["hits"][:1])
        _say("  an answer line, as `matcher dna search` prints it:")
        _say("    " + json.dumps(shown, ensure_ascii=False))

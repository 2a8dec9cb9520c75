"""The synthetic register: plausible national formats, valid VINs, determinism, its CLI
entry, and a small run of the lookup benchmark."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from matcher.vehicle.countries import normalise_country
from matcher.vehicle.plates import normalise_plate
from matcher.vehicle.synth import FORMATS, generate_queries, generate_registrations, synth_main
from matcher.vehicle.vin import parse_vin

ROOT = Path(__file__).resolve().parent.parent

#: Written formats per country, as regular expressions over the display form.
SHAPES = {
    "NL": r"(\d{2}-[A-Z]{3}-\d|\d-[A-Z]{3}-\d{2}|[A-Z]{2}-\d{3}-[A-Z]|[A-Z]-\d{3}-[A-Z]{2}"
          r"|[A-Z]{3}-\d{2}-[A-Z]|[A-Z]-\d{2}-[A-Z]{3}|\d-[A-Z]{2}-\d{3})",
    "DE": r"[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} \d{1,4}E?",
    "FR": r"[A-Z]{2}-\d{3}-[A-Z]{2}", "BE": r"\d-[A-Z]{3}-\d{3}", "IT": r"[A-Z]{2} \d{3}[A-Z]{2}",
    "ES": r"\d{4} [B-DF-HJ-NP-TV-Z]{3}",
    "BG": r"[АВЕКМНОРСТУХ]{1,2} \d{4} [АВЕКМНОРСТУХ]{2}",
    "GR": r"[ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ]{3}-\d{4}", "GB": r"[A-Z]{2}\d{2} [A-Z]{3}",
    "CZ": r"\d[A-Z]\d \d{4}", "PL": r"[A-Z]{2,3} \d{3,5}[A-Z]{0,2}",
}


def test_deterministic_plausible_and_normalisable():
    records = list(generate_registrations(6_000, seed=11))
    assert records == list(generate_registrations(6_000, seed=11))
    assert records != list(generate_registrations(6_000, seed=12))
    seen = Counter()
    for record in records:
        assert record["reference"].startswith("V-")
        if "plate" in record:
            country = normalise_country(record["country"])
            seen[country] += 1
            normalise_plate(record["plate"])  # every synthetic plate is acceptable
            if country in SHAPES:
                assert re.fullmatch(SHAPES[country], record["plate"]), record
        if "vin" in record:
            vin = parse_vin(record["vin"])
            if vin.text[0] in "12345":  # North America: the check digit is mandatory
                assert vin.check_digit_ok, vin
    assert set(seen) == set(FORMATS)
    assert any(r.get("country") in ("D", "F", "UK", "B") for r in records)  # signs too
    vins = [parse_vin(r["vin"]) for r in records if "vin" in r]
    european = [v for v in vins if v.text[0] in "STUVWXYZ"]
    assert 0 < sum(v.check_digit_ok for v in european) < len(european)


def test_reissued_plates_and_reregistered_vins_occur():
    records = list(generate_registrations(3_000, seed=5, reissued_plate_fraction=0.2,
                                          reregistered_vin_fraction=0.2))
    plates = Counter((r["country"], r["plate"]) for r in records if "plate" in r)
    vins = Counter(r["vin"] for r in records if "vin" in r)
    assert max(plates.values()) > 1 and max(vins.values()) > 1


def test_queries_mix_plates_vins_tolerant_and_misses():
    records = list(generate_registrations(2_000, seed=1))
    queries = generate_queries(records, 500, seed=2, tolerant_fraction=0.5)
    assert queries == generate_queries(records, 500, seed=2, tolerant_fraction=0.5)
    assert sum("vin" in q for q in queries) > 50
    assert sum(q.get("tolerant", False) for q in queries) > 50
    assert all(("plate" in q) != ("vin" in q) for q in queries)


def test_synth_main_writes_records_and_queries(tmp_path, capsys):
    out, queries = tmp_path / "v.jsonl", tmp_path / "q.jsonl"
    assert synth_main(["--count", "300", "--seed", "2", "--countries", "nl,bg,gr",
                       "--out", str(out), "--queries", "40", "--queries-out", str(queries)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 300 and len(queries.read_text().splitlines()) == 40
    assert {normalise_country(r["country"]) for r in lines if "country" in r} == {"NL", "BG", "GR"}
    assert synth_main(["--count", "5", "--countries", "XX"]) == 2
    assert "no plate format for XX" in capsys.readouterr().err
    assert synth_main(["--count", "5", "--queries", "3"]) == 2


def test_benchmark_small_run_prints_its_contract_line():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "vehicle_lookup.py"),
                           "--records", "100000", "--queries", "20000", "--tolerant-queries",
                           "2000", "--repeats", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"vehicle_lookup N=100000 lookups_per_s=\d+ vs_dict=[\d.]+x "
                        r"bytes_per_record=[\d.]+", last), last

"""`matcher vehicle add|search|delete|stats|synth` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "matcher.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    out = [json.loads(l) for l in proc.stdout.splitlines()
           if l.startswith("{") and l.endswith("}")]  # stats prints one indented object
    err = [json.loads(l) for l in proc.stderr.splitlines() if l.startswith("{")]
    return proc.returncode, out, err, proc.stdout


def test_vehicle_commands(tmp_path):
    home = tmp_path / "home"
    assert run("init", home, "--partner", "BE")[0] == 0
    records = tmp_path / "v.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in [
        {"reference": "BE-V-9", "country": "BE", "plate": "1-ABC-234", "vin": "WVWZZZ1JZXW000001"},
        {"reference": "BE-V-10", "country": "B", "plate": "1 abc 234"},
        {"reference": "GR-V-1", "country": "GR", "plate": "ΙΚΧ-1234"},
        {"reference": "BAD-1", "country": "BE", "vin": "WVWZZZ1JZXW00000I"},
    ]) + "\n")
    code, out, err, _ = run("vehicle", "add", home, records)
    assert code == 1 and out[0]["added"] == 3
    assert err[0]["reference"] == "BAD-1" and err[0]["line"] == 4
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(q) for q in [
        {"reference": "Q1", "country": "BE", "plate": "1ABC234"},
        {"reference": "Q2", "vin": "wvwzzz1jzxw000001"},
        {"reference": "Q3", "country": "GR", "plate": "IKX1234"},
        {"reference": "Q4", "country": "BE", "plate": "1-A8C-234", "tolerant": True},
    ]) + "\n")
    code, out, _, text = run("vehicle", "search", home, queries)
    assert code == 0
    assert [h["reference"] for h in out[0]["hits"]] == ["BE-V-10", "BE-V-9"]
    assert out[1]["hits"] == [{"reference": "BE-V-9", "matched_on": "vin", "tolerant": False}]
    assert out[2]["hits"][0]["reference"] == "GR-V-1"       # Greek letters read as Latin
    assert {h["tolerant"] for h in out[3]["hits"]} == {True}
    assert "1ABC234" not in text and "WVWZZZ" not in text   # answers never carry plates or VINs
    code, out, _, _ = run("vehicle", "delete", home, "BE-V-10")
    assert code == 0
    code, out, _, _ = run("vehicle", "search", home, queries)
    assert [h["reference"] for h in out[0]["hits"]] == ["BE-V-9"]
    code, _, _, text = run("vehicle", "stats", home)
    assert code == 0 and json.loads(text)["records"] == 2

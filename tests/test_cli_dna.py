"""The CLI contract of architecture.md: shapes of stdout/stderr lines and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ESS7 = {"D3S1358": "15,16", "vWA": "17,18", "D8S1179": "13,14", "D21S11": "29,30",
        "D18S51": "14,15", "TH01": "6,9.3", "FGA": "21,22"}


def run(*args, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "matcher.cli", *map(str, args)],
                          capture_output=True, text=True, input=stdin, timeout=120)
    out = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()] \
        if not args[:2] == ("dna", "stats") else json.loads(proc.stdout or "null")
    err = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    return proc.returncode, out, err, proc.stderr


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def home(tmp_path):
    code, out, _, _ = run("init", tmp_path / "home", "--partner", "NL")
    assert code == 0 and out == [{"home": str(tmp_path / "home"), "partner": "NL"}]
    return tmp_path / "home"


def test_init_refuses_existing_home(home):
    code, _, _, text = run("init", home)
    assert code == 2 and "already a home" in text


def test_missing_home_and_file_are_usage_errors(tmp_path, home):
    code, _, _, text = run("dna", "stats", tmp_path / "nowhere")
    assert code == 2 and "not a home" in text
    code, _, _, text = run("dna", "add", home, tmp_path / "absent.jsonl")
    assert code == 2 and "no such file" in text


def test_add_search_delete_stats(tmp_path, home):
    records = [
        {"reference": "NL-1", "kind": "person", "loci": ESS7},
        {"reference": "NL-2", "kind": "stain", "loci": dict(ESS7, TH01="6,10")},
        {"reference": "NL-3", "kind": "stain", "loci": dict(ESS7, D3S1358="15,17")},
    ]
    code, out, err, _ = run("dna", "add", home, write_jsonl(tmp_path / "a.jsonl", records))
    assert (code, err) == (0, []) and out[0]["added"] == 3 and out[0]["rejected"] == 0
    queries = write_jsonl(tmp_path / "q.jsonl", [
        {"reference": "Q-1", "loci": ESS7},
        {"reference": "Q-2", "loci": {"TH01": "6"}},
        {"reference": "NL-1", "kind": "person", "loci": ESS7},
    ])
    code, out, err, _ = run("dna", "search", home, queries)
    assert code == 1  # Q-2 is below the minimum: answered with an error
    assert [a["query"] for a in out] == ["Q-1", "Q-2", "NL-1"]
    contract = ("reference", "kind", "quality", "matching_loci", "compared_loci", "mismatches")
    assert {k: out[0]["hits"][0][k] for k in contract} == {
        "reference": "NL-1", "kind": "person", "quality": "FULL", "matching_loci": 7,
        "compared_loci": 7, "mismatches": 0}
    assert out[0]["hits"][0]["rmp_loci"] == 7 and 0 < out[0]["hits"][0]["rmp"] < 1e-6
    assert [h["quality"] for h in out[0]["hits"]] == ["FULL", "MICROVARIANT", "NEAR"]
    assert set(out[1]) == {"query", "error"} and "at least 6" in out[1]["error"]
    assert "NL-1" not in [h["reference"] for h in out[2]["hits"]]   # never itself
    assert err[0]["line"] == 2 and err[0]["reference"] == "Q-2"
    code, out, err, _ = run("dna", "delete", home, "NL-2", "NL-404")
    assert code == 1 and out == [{"deleted": ["NL-2"], "not_found": ["NL-404"], "generation": 2}]
    assert err[0]["reference"] == "NL-404"
    code, stats, _, _ = run("dna", "stats", home)
    assert code == 0 and stats["profiles"] == 2 and stats["persons"] == 1
    assert stats["tombstones"] == 1 and stats["loci"]["TH01"] == 2
    assert stats["index_bytes_per_profile"] <= 100


def test_rejections_name_line_reference_and_field(tmp_path, home):
    text = "\n".join([
        json.dumps({"reference": "OK-1", "kind": "stain", "loci": ESS7}),
        json.dumps({"reference": "BAD-1", "kind": "stain", "loci": dict(ESS7, D99S9="12")}),
        json.dumps({"reference": "BAD-2", "kind": "robot", "loci": dict(ESS7, TH01="9.35")}),
        json.dumps({"kind": "stain", "loci": ESS7}),
        json.dumps({"reference": "BAD-4", "kind": "stain", "loci": dict(ESS7, vWA="17", VWA="18")}),
        '{"reference": "BAD-5", "kind": "st',
    ]) + "\n"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(text.encode() + b'{"reference": "BAD-6\xff"}\n')
    code, out, err, _ = run("dna", "add", home, path)
    assert code == 1 and out[0]["added"] == 1 and out[0]["rejected"] == 6
    by_line = {e["line"]: e for e in err}
    assert by_line[2]["reference"] == "BAD-1" and "loci.D99S9" in by_line[2]["reasons"][0]
    assert len(by_line[3]["reasons"]) == 2 and by_line[3]["reference"] == "BAD-2"
    assert by_line[4]["reference"] is None and "reference: missing" in by_line[4]["reasons"]
    assert "twice" in by_line[5]["reasons"][0]
    assert "invalid JSON" in by_line[6]["reasons"][0]
    assert "UTF-8" in by_line[7]["reasons"][0]
    assert all(e["file"] == str(path) for e in err)


def test_empty_file_is_an_error_and_harms_nothing(tmp_path, home):
    run("dna", "add", home, write_jsonl(tmp_path / "a.jsonl", [{"reference": "A", "kind": "stain", "loci": ESS7}]))
    (tmp_path / "empty.jsonl").write_text("")
    code, out, err, _ = run("dna", "add", home, tmp_path / "empty.jsonl")
    assert code == 1 and "empty" in err[0]["reasons"][0]
    code, stats, _, _ = run("dna", "stats", home)
    assert stats["profiles"] == 1


def test_replace_is_atomic_and_visible(tmp_path, home):
    run("dna", "add", home, write_jsonl(tmp_path / "a.jsonl", [{"reference": "A", "kind": "stain", "loci": ESS7}]))
    changed = dict(ESS7, FGA="24,25")
    code, out, _, _ = run("dna", "add", home, write_jsonl(tmp_path / "b.jsonl", [{"reference": "A", "kind": "stain", "loci": changed}]))
    assert code == 0 and out[0]["replaced"] == 1 and out[0]["added"] == 0
    queries = write_jsonl(tmp_path / "q.jsonl", [{"reference": "Q", "loci": changed}])
    code, out, _, _ = run("dna", "search", home, queries)
    assert out[0]["hits"][0]["quality"] == "FULL"


def test_genemapper_csv(tmp_path, home):
    rows = ["Sample Name\tSample Type\tMarker\tAllele 1\tAllele 2\tAllele 3"]
    for locus, value in ESS7.items():
        a = value.split(",")
        rows.append(f"ST-1\tSample\t{locus}\t{a[0]}\t{a[1]}\t")
        rows.append(f"LADDER\tAllelic Ladder\t{locus}\t8\t9\t10")
    rows.append("ST-1\tSample\tAMEL\tX\tY\t")
    rows += [f"ST-2\tSample\t{l}\t{v.split(',')[0]}\t\t" for l, v in ESS7.items()]
    rows.append("ST-2\tSample\tTH01\t6\t\t")
    path = tmp_path / "run.txt"
    path.write_text("\n".join(rows) + "\n")
    code, out, err, _ = run("dna", "add", home, path)   # no Kind column: stored as stains
    assert code == 1 and out[0]["added"] == 1
    assert err[0]["reference"] == "ST-2" and "twice" in err[0]["reasons"][0]
    assert err[0]["line"] == 17                            # ST-2 first row
    code, stats, _, _ = run("dna", "stats", home)
    assert stats["profiles"] == 1 and stats["stains"] == 1
    code, out, err, _ = run("dna", "add", home, path, "--kind", "person")
    assert out[0]["replaced"] == 1
    code, stats, _, _ = run("dna", "stats", home)
    assert stats["persons"] == 1 and stats["stains"] == 0


def test_csv_with_kind_column_and_commas(tmp_path, home):
    rows = ["Sample Name,Kind,Marker,Allele 1,Allele 2"]
    rows += [f"P-1,person,{l},{v.split(',')[0]},{v.split(',')[1]}" for l, v in ESS7.items()]
    rows += [f"S-1,stain,{l},{v.split(',')[0]},OL" for l, v in ESS7.items()]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(rows) + "\n")
    code, out, err, _ = run("dna", "add", home, path)
    assert code == 1 and out[0]["added"] == 1           # S-1 has no fully designated locus
    assert err[0]["reference"] == "S-1" and err[0]["line"] == 9
    queries = write_jsonl(tmp_path / "q.jsonl", [{"reference": "Q", "loci": ESS7}])
    code, out, _, _ = run("dna", "search", home, queries)
    assert out[0]["hits"][0]["reference"] == "P-1" and out[0]["hits"][0]["kind"] == "person"

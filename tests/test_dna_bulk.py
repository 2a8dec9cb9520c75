"""Bulk DNA comparison: API equals single searches, CLI shapes and exit statuses, resume after
an interruption, and the benchmark's last line on a tiny size."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.dna import bulk
from matcher.dna.bulk import BulkComparer, compare, compare_to_file, file_records
from matcher.dna.compare_cli import add_compare_arguments, run_compare
from matcher.dna.synth import generate_database, generate_queries, write_jsonl
from matcher.home import open_home

ROOT = Path(__file__).resolve().parent.parent


def _plain(records):
    return [{k: v for k, v in r.items() if k != "truth"} for r in records]


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    """A home of 2,000 synthetic profiles and a source file of 1,500 queries (relatives,
    typing errors, exact copies, unrelated) plus 300 records copied from the home."""
    base = tmp_path_factory.mktemp("bulk")
    stored = _plain(generate_database(2_000, seed=11, prefix="NL"))
    queries = _plain(generate_queries(stored, 1_500, seed=12))
    for q in queries:
        q.setdefault("kind", "stain")
    source = queries + [dict(r, reference="COPY-" + r["reference"]) for r in stored[:300]]
    source.append({"reference": "BAD-1", "kind": "stain", "loci": {"TH01": "6,9.3"}})
    with open_home(base / "home") as home:
        home.dna.add(stored)
    with open_home(base / "other") as other:
        other.dna.add(source[:-1])
    path = base / "source.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        write_jsonl(source, fh)
    return base, source, path


def test_comparer_answers_equal_single_searches(homes):
    base, source, _ = homes
    with open_home(base / "home") as home:
        singles = home.dna.search(source)
        assert BulkComparer(home.dna).search(source) == singles
        assert sum(len(a.get("hits", [])) for a in singles) > 300  # copies, relatives, errors
        streamed = list(compare(home.dna, file_records(base / "source.jsonl"), chunk_size=400))
    wanted = [dict(a) for a in singles if a.get("hits") or "error" in a]
    assert streamed == wanted


def test_comparer_sees_changes_and_never_hits_own_reference(homes):
    base, _, _ = homes
    with open_home(base / "other") as other:
        comparer = BulkComparer(other.dna)
        stored = list(bulk.store_records(other.store))[:50]
        queries = [r.data for r in stored]
        assert comparer.search(queries) == other.dna.search(queries)
        assert all(h["reference"] != a["query"] for a in comparer.search(queries)
                   for h in a["hits"])
        before = comparer.bulk_index()
        other.dna.delete([queries[0]["reference"]])
        assert comparer.bulk_index() is not before
        assert comparer.search(queries) == other.dna.search(queries)


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_compare_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def _answers(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_cli_file_source_stdout_and_summary(homes, capsys):
    base, source, path = homes
    code = run_compare(_args(base / "home", path))
    out, err = capsys.readouterr()
    assert code == 1  # BAD-1 has too few loci
    lines = _answers(out)
    with open_home(base / "home") as home:
        expected = [a for a in home.dna.search(source) if a.get("hits")]
    assert lines == expected
    err_lines = _answers(err)
    assert err_lines[0]["reference"] == "BAD-1" and err_lines[0]["reasons"]
    summary = err_lines[-1]["summary"]
    assert summary["answers"] == len(expected) and summary["rejected"] == 1
    assert summary["hits"] == sum(len(a["hits"]) for a in expected)


def test_cli_home_source_kinds_and_since(homes, capsys):
    base, source, _ = homes
    code = run_compare(_args(base / "home", base / "other", "--kinds", "person"))
    out, _ = capsys.readouterr()
    assert code == 0
    persons = [r for r in source[:-1] if r["kind"] == "person"]
    with open_home(base / "home") as home:
        expected = [a for a in home.dna.search(persons) if a.get("hits")]
    by_query = lambda answers: sorted(answers, key=lambda a: a["query"])  # noqa: E731
    assert expected and by_query(_answers(out)) == by_query(expected)  # in the source's row order
    with open_home(base / "other") as other:
        generation = other.dna.generation
        other.dna.add([dict(source[0], reference="LATE-1")])
    code = run_compare(_args(base / "home", base / "other", "--since", generation))
    out, _ = capsys.readouterr()
    assert code == 0
    assert [a["query"] for a in _answers(out)] in ([], ["LATE-1"])
    with open_home(base / "home") as home:
        assert _answers(out) == [a for a in home.dna.search([dict(source[0], reference="LATE-1")])
                                 if a["hits"]]


def test_cli_usage_errors(homes, capsys, tmp_path):
    base, _, path = homes
    assert run_compare(_args(base / "home", tmp_path / "absent.jsonl")) == 2
    assert run_compare(_args(base / "home", path, "--since", 3)) == 2
    assert run_compare(_args(tmp_path / "nohome", path)) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "--since" in err and "not a home" in err


def test_resume_after_interruption_gives_the_same_file(homes, tmp_path):
    base, _, path = homes
    fingerprint = {"test": 1}
    with open_home(base / "home") as home:
        whole = tmp_path / "whole.jsonl"
        full = compare_to_file(home.dna, lambda: file_records(path), whole,
                               fingerprint=fingerprint, chunk_size=300)
        assert full.complete and full.compared == 1801

        cut = tmp_path / "cut.jsonl"
        calls = []

        def interrupt(n):
            calls.append(n)
            if len(calls) == 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            compare_to_file(home.dna, lambda: file_records(path), cut, fingerprint=fingerprint,
                            chunk_size=300, progress=interrupt)
        state = json.loads((tmp_path / "cut.jsonl.checkpoint").read_text())
        assert state["records"] == 600 and cut.stat().st_size == state["bytes"]
        with open(cut, "ab") as fh:  # a half-written line after the checkpoint
            fh.write(b'{"query": "partial')
        resumed = compare_to_file(home.dna, lambda: file_records(path), cut,
                                  fingerprint=fingerprint, chunk_size=300)
        assert resumed.resumed_from == 600 and resumed.complete
        assert cut.read_bytes() == whole.read_bytes()
        assert (resumed.answers, resumed.hits, resumed.rejected) == (full.answers, full.hits,
                                                                      full.rejected)
        # another fingerprint (e.g. the home changed) starts over
        again = compare_to_file(home.dna, lambda: file_records(path), cut,
                                fingerprint={"test": 2}, chunk_size=300)
        assert again.resumed_from == 0 and cut.read_bytes() == whole.read_bytes()


def test_cli_out_resumes_from_checkpoint(homes, capsys, tmp_path):
    base, _, path = homes
    out = tmp_path / "hits.jsonl"
    assert run_compare(_args(base / "home", path, "--out", out)) == 1
    first = out.read_bytes()
    assert run_compare(_args(base / "home", path, "--out", out)) == 1  # complete: unchanged
    summary = _answers(capsys.readouterr().err)[-1]["summary"]
    assert summary["resumed_from"] == 1801 and out.read_bytes() == first
    assert run_compare(_args(base / "home", path, "--out", out, "--restart")) == 1
    assert out.read_bytes() == first


def test_benchmark_tiny_last_line():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dna_bulk.py"), "--n", "3000",
                           "--m", "3000", "--single", "20"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"dna_bulk N=3000 M=3000 seconds=[0-9.]+ vs_bruteforce=[0-9.]+x "
                        r"planted_recall=1\.000 single_us=[0-9.]+", last), last

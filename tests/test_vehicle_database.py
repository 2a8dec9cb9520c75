"""VehicleDatabase with a real store: answers, replace, delete, reopen, other writers, bad
input, and the CLI functions' contract."""

from __future__ import annotations

import io
import json

import pytest

from matcher.store import Store
from matcher.records import read_jsonl
from matcher.vehicle.database import CATEGORY, SNAPSHOT_FILE, VehicleDatabase
from matcher.vehicle.synth import generate_queries, generate_registrations

RECORDS = [
    {"reference": "BE-V-9", "country": "B", "plate": "1-ABC-234", "vin": "WVWZZZ1JZXW000001"},
    {"reference": "BE-V-3", "country": "BE", "plate": "1 abc 234"},             # re-issued
    {"reference": "BE-V-5", "country": "be", "plate": "1-A8C-234"},             # ANPR twin
    {"reference": "US-1", "vin": "1M8GDM9AXKP042788"},
    {"reference": "BG-1", "country": "BG", "plate": "СВ 1234 АК", "vin": "1M8GDM9AXKP042788"},
    {"reference": "GR-1", "country": "GR", "plate": "ΙΚΥ-1234"},
    {"reference": "DE-1", "country": "D", "plate": "MÜ-AB 123"},
]


def _open(path):
    store = Store(path / "store.sqlite", create=True)
    return store, VehicleDatabase(store, path)


@pytest.fixture()
def db(tmp_path):
    store, database = _open(tmp_path)
    report = database.add(RECORDS)
    assert (report.added, report.rejected, report.vins, report.vin_check_digit_valid) == (7, [], 3, 2)
    yield database
    database.close()
    store.close()


def _refs(answer):
    return [(h["reference"], h["matched_on"], h["tolerant"]) for h in answer["hits"]]


def test_answers_exact_first_then_tolerant_each_by_reference(db):
    answers = db.search([
        {"reference": "Q1", "country": "BE", "plate": "1ABC234", "tolerant": True},
        {"country": "BE", "plate": "1ABC234"},
        {"reference": "Q3", "vin": "1m8 gdm9a xkp042788"},
        {"country": "BG", "plate": "CB1234AK"}, {"country": "GR", "plate": "iky 1234"},
        {"country": "DE", "plate": "mü ab 123"}, {"country": "DE", "plate": "MUAB123"},
        {"country": "NL", "plate": "1ABC234"},
    ])
    assert answers[0] == {"query": "Q1", "hits": [
        {"reference": "BE-V-3", "matched_on": "plate", "tolerant": False},
        {"reference": "BE-V-9", "matched_on": "plate", "tolerant": False},
        {"reference": "BE-V-5", "matched_on": "plate", "tolerant": True}]}
    assert answers[1]["query"] is None and _refs(answers[1]) == [
        ("BE-V-3", "plate", False), ("BE-V-9", "plate", False)]
    assert _refs(answers[2]) == [("BG-1", "vin", False), ("US-1", "vin", False)]
    assert [_refs(a) for a in answers[3:]] == [
        [("BG-1", "plate", False)], [("GR-1", "plate", False)], [("DE-1", "plate", False)], [], []]


def test_answers_and_store_hold_normalised_data_only(db):
    text = json.dumps(db.search([{"country": "BE", "plate": "1ABC234", "tolerant": True},
                                 {"vin": "1M8GDM9AXKP042788"}]))
    for secret in ("1ABC234", "ABC", "1M8GDM9AXKP042788", "WVWZZZ"):
        assert secret not in text
    body = json.loads(db.store.get(CATEGORY, "BG-1").body)
    assert body == {"country": "BG", "plate": "CB1234AK", "vin": "1M8GDM9AXKP042788"}
    assert json.loads(db.store.get(CATEGORY, "US-1").body) == {"vin": "1M8GDM9AXKP042788"}


def test_query_errors_name_the_field_and_keep_their_place(db):
    answers = db.search([
        {"reference": "A", "plate": "1ABC234"}, {"reference": "B", "vin": "1M8GDM9AXKP04278O"},
        {"reference": "C", "country": "BE", "plate": "1ABC234", "vin": "1M8GDM9AXKP042788"},
        {"reference": "D", "country": "BE", "plate": "1ABC234", "tolerant": "yes"},
        {"reference": "E"}, ["not", "an", "object"], {"reference": "G", "country": "ZZ", "plate": "X1"},
        {"reference": "H", "vin": "1M8GDM9AXKP042788"},
    ])
    errors = [a.get("error", "") for a in answers]
    assert errors[0].startswith("country: missing")
    assert "vin: letter O at position 17" in errors[1]
    assert "not both" in errors[2]
    assert errors[3] == "tolerant: must be true or false, got \"yes\""
    assert "a query needs country + plate, or vin" in errors[4]
    assert errors[5] == "record: expected a JSON object, got array"
    assert errors[6].startswith("country: 'ZZ'")
    assert answers[7]["hits"] and answers[6]["query"] == "G"


def test_replace_is_atomic_and_delete_removes(db):
    report = db.add([{"reference": "BE-V-9", "country": "NL", "plate": "12-BDF-3"}])
    assert (report.added, report.replaced) == (0, 1)
    old, new, vin = db.search([{"country": "BE", "plate": "1ABC234"},
                               {"country": "NL", "plate": "12BDF3"}, {"vin": "WVWZZZ1JZXW000001"}])
    assert _refs(old) == [("BE-V-3", "plate", False)]
    assert _refs(new) == [("BE-V-9", "plate", False)] and vin["hits"] == []
    report = db.delete(["BE-V-3", "nope", "BE-V-3"])
    assert (report.deleted, report.not_found) == (["BE-V-3"], ["nope"])
    assert db.search([{"country": "BE", "plate": "1ABC234"}])[0]["hits"] == []
    stats = db.stats()
    assert (stats["records"], stats["plates"], stats["vins"], stats["tombstones"]) == (6, 5, 2, 2)
    assert stats["plates_by_country"] == {"BE": 1, "BG": 1, "DE": 1, "GR": 1, "NL": 1}
    assert stats["vin_check_digit_valid"] == 2


def test_reopen_from_snapshot_from_store_and_from_stale_snapshot(tmp_path):
    records = list(generate_registrations(3_000, seed=3))
    queries = generate_queries(records, 300, seed=4)
    store, db = _open(tmp_path)
    db.add(records[:2_000])
    db.snapshot()
    db.add(records[2_000:])
    db.add([dict(r, plate="ZZ 999") for r in records[10:20] if "plate" in r])
    db.delete([r["reference"] for r in records[500:700]])
    before = db.search(queries)
    assert sum(bool(a["hits"]) for a in before) > 200
    store.close()                             # no close(): the snapshot on disk is stale
    store, again = _open(tmp_path)
    assert again.search(queries) == before
    again.close()
    store.close()
    store, fresh = _open(tmp_path)            # from the snapshot written on close
    assert fresh.generation == again.generation and fresh.search(queries) == before
    store.close()
    (tmp_path / SNAPSHOT_FILE).unlink()
    store, rebuilt = _open(tmp_path)          # from the store alone
    assert rebuilt.search(queries) == before
    store.close()


def test_another_writer_is_seen_after_refresh(tmp_path):
    store_a, a = _open(tmp_path)
    store_b, b = _open(tmp_path)
    b.add([{"reference": "X-1", "country": "NL", "plate": "99-XX-99"}])
    assert _refs(a.search([{"country": "NL", "plate": "99XX99"}])[0]) == [("X-1", "plate", False)]
    b.delete(["X-1"])
    assert a.search([{"country": "NL", "plate": "99XX99"}])[0]["hits"] == []
    store_a.close()
    store_b.close()


def test_a_write_racing_another_writer_replays_what_came_between(tmp_path):
    store_a, a = _open(tmp_path)
    store_b, b = _open(tmp_path)
    a.refresh = lambda: None  # as if b committed between a's refresh and a's own write
    b.add([{"reference": "X-1", "country": "NL", "plate": "11-XX-11"}])
    a.add([{"reference": "X-2", "country": "NL", "plate": "22-XX-22"}])
    b.add([{"reference": "X-3", "country": "NL", "plate": "33-XX-33"}])
    b.delete(["X-1"])
    a.delete(["X-2"])
    del a.refresh
    assert a.generation == store_a.generation() == 5
    assert a.index.live == 1
    hits = a.search([{"country": "NL", "plate": p} for p in ("11XX11", "22XX22", "33XX33")])
    assert [_refs(h) for h in hits] == [[], [], [("X-3", "plate", False)]]
    store_a.close()
    store_b.close()


def test_bad_records_are_rejected_with_line_reference_and_field(tmp_path):
    lines = [
        b'{"reference": "OK-1", "country": "NL", "plate": "12-BDF-3"}',
        b'{"reference": "BAD-1", "country": "NL", "plate": "12-BD\xc3\x89-3"}',
        b'{"reference": "BAD-2", "country": "XQ", "plate": "AB 12", "vin": "WVWZZZ1JZXW00000I"}',
        b'{"reference": "BAD-3"}',
        b'{"country": "NL", "plate": "1-ABC-2"}',
        b'{"reference": "BAD-5", "plate": "1", "plate": "2", "country": "NL"}',
        b"not json", b"\xff\xfe", b"[1, 2]", b"",
        b'{"reference": "OK-2", "vin": "1M8GDM9AXKP042788"}',
    ]
    store, db = _open(tmp_path)
    report = db.add_raw(read_jsonl(io.BytesIO(b"\n".join(lines) + b"\n")))
    assert report.added == 2
    rejected = {r["line"]: r for r in report.rejected}
    assert sorted(rejected) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert rejected[2]["reference"] == "BAD-1" and rejected[2]["reasons"] == [
        "plate: character 'É' (U+00C9 LATIN CAPITAL LETTER E WITH ACUTE) is not used on "
        "registration plates"]
    assert [r.split(":")[0] for r in rejected[3]["reasons"]] == ["country", "vin"]
    assert rejected[4]["reasons"] == ["plate, vin: a record needs a plate (with its country) or a VIN"]
    assert rejected[5]["reasons"] == ["reference: missing"] and rejected[5]["reference"] is None
    assert rejected[6]["reasons"] == ["plate: field given twice"]
    assert rejected[7]["reasons"][0].startswith("line 7: invalid JSON")
    assert rejected[8]["reasons"] == ["line 8: not UTF-8 text (byte 1)"]
    assert rejected[9]["reasons"] == ["record: expected a JSON object, got array"]
    store.close()


def test_cli_follows_the_contract(tmp_path, capsys, monkeypatch):
    from matcher.cli import main
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS)
                       + '\n{"reference": "BAD", "country": "NL"}\n', encoding="utf-8")
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"reference": "Q1", "country": "B", "plate": "1abc234"}\n'
                       '{"reference": "Q2", "vin": "1M8GDM9AXKP04278Q"}\n'
                       '{"vin": "1M8GDM9AXKP042788"}\n', encoding="utf-8")
    home = tmp_path / "home"
    assert main(["init", str(home)]) == 0
    capsys.readouterr()

    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run("vehicle", "add", home, tmp_path / "missing.jsonl", records)
    assert code == 2 and "missing.jsonl: no such file" in err
    code, out, err = run("vehicle", "add", home, records)
    assert code == 1
    assert json.loads(out) == {"added": 7, "replaced": 0, "rejected": 1, "generation": 1}
    rejection = json.loads(err)
    assert (rejection["line"], rejection["reference"], rejection["file"]) == (8, "BAD", str(records))
    code, out, err = run("vehicle", "search", home, queries)
    assert code == 1
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["query"] for a in answers] == ["Q1", "Q2", None]
    assert len(answers[0]["hits"]) == 2 and "error" in answers[1] and len(answers[2]["hits"]) == 2
    (rejected,) = [json.loads(line) for line in err.splitlines()]
    assert (rejected["line"], rejected["reference"]) == (2, "Q2")
    assert rejected["reasons"][0].startswith("vin: letter Q at position 17")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"vin":"1M8GDM9AXKP042788"}\n')))
    code, out, err = run("vehicle", "search", home, "-")
    assert code == 0 and len(json.loads(out)["hits"]) == 2
    code, out, err = run("vehicle", "delete", home, "US-1", "nope")
    assert code == 1 and json.loads(out)["deleted"] == ["US-1"]
    assert json.loads(err)["reference"] == "nope"
    code, out, err = run("vehicle", "stats", home)
    assert code == 0 and json.loads(out)["records"] == 6
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, out, err = run("vehicle", "search", home, empty)
    assert code == 1 and out == "" and "file is empty" in err

"""Audit log: the hash chain catches every edit, insertion, deletion and reordering; purging
keeps the rest verifiable; concurrent appends share commits and keep the chain valid."""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
import stat
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from matcher.service import audit as audit_module
from matcher.service.audit import (KEY_FILE, AuditEntry, AuditError, AuditLog, AuditVerification,
                                   format_time)
from matcher.service.cli_admin import add_audit_arguments, run_audit
from matcher.store import STORE_FILE, Store

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def home(tmp_path):
    store = Store(tmp_path / STORE_FILE, create=True)
    yield tmp_path, store
    store.close()


@pytest.fixture
def log(home):
    path, store = home
    with AuditLog(store, path / KEY_FILE) as opened:
        yield opened


def _entry(i: int, **overrides) -> AuditEntry:
    fields = dict(partner="DE", category="dna", outcome="answered", officer=f"officer-{i % 3}",
                  purpose="criminal investigation", case_reference=f"CASE-{i}",
                  request_id=f"req-{i}", answer_id=f"ans-{i}", queries=1 + i % 4,
                  hits=(f"NL-{i}",) if i % 2 else (), time=T0 + timedelta(minutes=i))
    fields.update(overrides)
    return AuditEntry(**fields)


def _fill(log: AuditLog, count: int) -> None:
    for i in range(1, count + 1):
        assert log.append(_entry(i)) == i


def _sql(home, statement: str, *params) -> None:
    """What a tamperer with write access to the database (but not the key) can do."""
    db = sqlite3.connect(home[0] / STORE_FILE, isolation_level=None)
    try:
        db.execute(statement, params)
    finally:
        db.close()


def test_append_verify_export(log):
    digest = log.digest(b'{"loci": {"TH01": ["6", "9.3"]}}')
    assert len(digest) == 64 and digest == log.digest(b'{"loci": {"TH01": ["6", "9.3"]}}')
    assert digest != log.digest(b"other query")
    refused = AuditEntry(partner="BE", category="finger", outcome="refused",
                         status="RESOURCE_EXHAUSTED", detail="daily quota finger: 100 of 100 used",
                         officer="o-9", ordering_officer="chief-1", purpose="missing person",
                         request_id="r-2", queries=3, query_digest=digest, time=T0)
    assert log.append(_entry(1)) == 1
    assert log.append(refused) == 2
    report = log.verify()
    assert report == AuditVerification(True, 2, None, None, 1, 2, report.head_hash, 0)
    stream = io.StringIO()
    assert log.export(stream) == 2
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["sequence"] for line in lines] == [1, 2]
    assert lines[0]["hits"] == ["NL-1"] and lines[0]["time"] == "2024-01-01T12:01:00.000000Z"
    assert lines[1] | {"hash": None} == {
        "sequence": 2, "time": "2024-01-01T12:00:00.000000Z", "direction": "inbound",
        "partner": "BE", "officer": "o-9", "ordering_officer": "chief-1",
        "purpose": "missing person", "case_reference": "", "category": "finger",
        "request_id": "r-2", "answer_id": "", "queries": 3, "outcome": "refused",
        "status": "RESOURCE_EXHAUSTED", "detail": "daily quota finger: 100 of 100 used",
        "hits": [], "query_digest": digest, "hash": None}
    assert lines[1]["hash"] == report.head_hash
    assert "9.3" not in stream.getvalue()  # the digest, never the query data
    tail = io.StringIO()
    assert log.export(tail, after=1) == 1 and json.loads(tail.getvalue())["sequence"] == 2


def test_key_file_is_private_and_shared(home):
    path, store = home
    with AuditLog(store, path / KEY_FILE) as first:
        digest = first.digest(b"x")
    assert stat.S_IMODE((path / KEY_FILE).stat().st_mode) == 0o600
    with AuditLog(store, path / KEY_FILE) as second:  # the same key: same digests
        assert second.digest(b"x") == digest
    (path / KEY_FILE).chmod(0o644)
    with pytest.raises(AuditError, match="chmod 600"):
        AuditLog(store, path / KEY_FILE)
    with pytest.raises(AuditError, match="no audit key"):
        AuditLog(store, path / "missing.key", create_key=False)
    assert not (path / "missing.key").exists()


@pytest.mark.parametrize("bad, message", [
    (dict(outcome="maybe"), "outcome"), (dict(queries=-1), "queries"),
    (dict(queries=True), "queries"), (dict(hits="NL-1"), "hits"),
    (dict(officer=None), "officer"), (dict(time=datetime(2024, 1, 1)), "time zone"),
    (dict(direction="sideways"), "direction"),
])
def test_malformed_entries_write_nothing(log, bad, message):
    with pytest.raises(ValueError, match=message):
        log.append(_entry(1, **bad))
    assert log.verify().entries == 0 and log.append(_entry(1)) == 1


def test_entry_is_durable_and_visible_to_a_new_connection(home, log):
    log.append(_entry(1))
    db = sqlite3.connect(home[0] / STORE_FILE)
    assert db.execute("SELECT request_id FROM audit").fetchall() == [("req-1",)]
    db.close()


TAMPERING = {
    "edit a field": ("UPDATE audit SET officer = 'someone-else' WHERE sequence = 4", 4),
    "edit a hit list": ("UPDATE audit SET hits = '[]' WHERE sequence = 5", 5),
    "edit a count": ("UPDATE audit SET queries = queries + 0.5 WHERE sequence = 3", 3),
    "edit the time": ("UPDATE audit SET time = '2020-01-01T00:00:00.000000Z' WHERE sequence = 2", 2),
    "delete a middle row": ("DELETE FROM audit WHERE sequence = 4", 4),
    "delete the first row": ("DELETE FROM audit WHERE sequence = 1", 1),
    "delete the last row": ("DELETE FROM audit WHERE sequence = 8", 8),
    "delete the last rows": ("DELETE FROM audit WHERE sequence >= 6", 6),
    "delete everything": ("DELETE FROM audit", 1),
    "insert a row at the end": (
        "INSERT INTO audit SELECT 9, time, direction, partner, officer, ordering_officer,"
        " purpose, case_reference, category, request_id, answer_id, queries, outcome, status,"
        " detail, hits, query_digest, hash FROM audit WHERE sequence = 8", 9),
    "insert a row in the middle": (
        "UPDATE audit SET sequence = sequence + 100 WHERE sequence >= 5;"
        "UPDATE audit SET sequence = sequence - 99 WHERE sequence >= 105;"
        "INSERT INTO audit SELECT 5, time, direction, partner, officer, ordering_officer,"
        " purpose, case_reference, category, 'forged', answer_id, queries, outcome, status,"
        " detail, hits, query_digest, hash FROM audit WHERE sequence = 4", 5),
    "reorder two rows": (
        "UPDATE audit SET sequence = -3 WHERE sequence = 3;"
        "UPDATE audit SET sequence = 3 WHERE sequence = 6;"
        "UPDATE audit SET sequence = 6 WHERE sequence = -3", 3),
    "copy another row's hash": (
        "UPDATE audit SET hash = (SELECT hash FROM audit WHERE sequence = 2) WHERE sequence = 7", 7),
    "move the head mark back": (
        "UPDATE audit_marks SET sequence = 7, hash = (SELECT hash FROM audit WHERE sequence = 7)"
        " WHERE name = 'head'", None),
    "delete the head mark": ("DELETE FROM audit_marks WHERE name = 'head'", 9),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_detected(home, log, name):
    statements, first_bad = TAMPERING[name]
    _fill(log, 8)
    assert log.verify().ok
    for statement in statements.split(";"):
        _sql(home, statement)
    report = log.verify()
    assert not report.ok, name
    assert report.problem
    assert report.sequence == first_bad, report.problem


def test_truncation_with_a_consistent_head_needs_the_key(home, log):
    """Deleting the newest entries and pointing the head at the new last one is the attack
    the head MAC is for: without the key its MAC cannot be recomputed."""
    _fill(log, 5)
    _sql(home, "DELETE FROM audit WHERE sequence = 5")
    _sql(home, "UPDATE audit_marks SET sequence = 4, hash = (SELECT hash FROM audit WHERE"
               " sequence = 4), mac = 'f' || substr(mac, 2) WHERE name = 'head'")
    report = log.verify()
    assert not report.ok and "head mark altered" in report.problem


def test_appending_after_the_head_mark_was_removed_is_refused(home, log):
    _fill(log, 3)
    _sql(home, "DELETE FROM audit_marks WHERE name = 'head'")
    with pytest.raises(AuditError, match="head mark missing"):
        log.append(_entry(4))
    assert not log.verify().ok


def test_purge_keeps_the_rest_verifiable(home):
    path, store = home
    with AuditLog(store, path / KEY_FILE, retention_days=30) as log:
        _fill(log, 10)                            # minutes 1..10 after T0
        now = T0 + timedelta(days=30, minutes=6, seconds=30)  # cutoff between entries 6 and 7
        assert log.purge(now) == 6
        report = log.verify()
        assert report.ok and report.entries == 4
        assert (report.first_sequence, report.last_sequence, report.anchor_sequence) == (7, 10, 6)
        assert log.purge(now) == 0                # nothing more is old enough
        assert log.append(_entry(11)) == 11 and log.verify().ok
        stream = io.StringIO()
        assert log.export(stream) == 5
        # Deleting the oldest entry that is left, or moving the anchor, is still caught.
        _sql(home, "DELETE FROM audit WHERE sequence = 7")
        report = log.verify()
        assert not report.ok and report.sequence == 7
        _sql(home, "UPDATE audit_marks SET sequence = 7 WHERE name = 'anchor'")
        assert "anchor mark altered" in log.verify().problem
        # Everything old enough: the log is empty but its marks still verify.
    with AuditLog(Store(path / STORE_FILE), path / KEY_FILE, retention_days=1) as log2:
        _sql(home, "DELETE FROM audit_marks WHERE name = 'anchor'")
        _sql(home, "DELETE FROM audit")
        _sql(home, "DELETE FROM audit_marks")
        _fill(log2, 3)
        assert log2.purge(T0 + timedelta(days=5)) == 3
        report = log2.verify()
        assert report.ok and report.entries == 0 and report.anchor_sequence == 3
        log2.store.close()


def test_purge_only_removes_a_prefix_and_refuses_tampered_parts(home):
    path, store = home
    with AuditLog(store, path / KEY_FILE, retention_days=1) as log:
        times = [0, 1, 30, 2, 40]   # hours after T0; entry 3 arrived "late" (slow request)
        for i, hours in enumerate(times, 1):
            log.append(_entry(i, time=T0 + timedelta(hours=hours)))
        # Cutoff at T0 + 20 h: entries 1, 2 go; 4 is old but follows the newer 3, so stays.
        assert log.purge(T0 + timedelta(days=1, hours=20)) == 2
        assert log.verify().ok and log.verify().first_sequence == 3
        _sql(home, "UPDATE audit SET officer = 'x' WHERE sequence = 3")
        with pytest.raises(AuditError, match="entry 3 does not verify"):
            log.purge(T0 + timedelta(days=30))
        assert log.verify().first_sequence == 3   # nothing was deleted


def test_retention_must_be_positive(home):
    path, store = home
    with pytest.raises(ValueError, match="retention"):
        AuditLog(store, path / KEY_FILE, retention_days=0)


def test_eight_threads_share_commits_and_keep_the_chain(home, log, monkeypatch):
    batches: list[int] = []
    commit = AuditLog._commit

    def slow_commit(self, batch):  # a slower disk: lets the queue build up
        batches.append(len(batch))
        time.sleep(0.002)
        commit(self, batch)

    monkeypatch.setattr(AuditLog, "_commit", slow_commit)
    per_thread, threads = 40, 8
    sequences: list[list[int]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(k: int) -> None:
        start.wait()
        for i in range(per_thread):
            sequences[k].append(log.append(_entry(k * 1000 + i, partner=f"P{k}")))

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    everything = sorted(s for seqs in sequences for s in seqs)
    assert everything == list(range(1, threads * per_thread + 1))
    assert all(seqs == sorted(seqs) for seqs in sequences)  # each thread's own order kept
    assert max(batches) > 1 and len(batches) < threads * per_thread  # commits were shared
    report = log.verify()
    assert report.ok and report.entries == threads * per_thread
    rows = {(e["partner"], e["request_id"]): e["sequence"] for e in log.entries()}
    assert all(rows[(f"P{k}", f"req-{k * 1000 + i}")] == sequences[k][i]
               for k in range(threads) for i in range(per_thread))


def test_a_failed_commit_fails_every_entry_of_its_batch(home, log, monkeypatch):
    log.append(_entry(1))
    monkeypatch.setattr(audit_module, "_INSERT", "INSERT INTO no_such_table VALUES (?)")
    with pytest.raises(AuditError, match="cannot append"):
        log.append(_entry(2))
    monkeypatch.undo()
    assert log.append(_entry(2)) == 2 and log.verify().ok


def test_close_refuses_later_appends(home):
    path, store = home
    log = AuditLog(store, path / KEY_FILE)
    log.append(_entry(1))
    log.close()
    with pytest.raises(AuditError, match="closed"):
        log.append(_entry(2))


def test_format_time_is_fixed_width_utc():
    assert format_time(datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)) == "2024-05-01T09:30:00.000000Z"
    cet = timezone(timedelta(hours=2))
    assert format_time(datetime(2024, 5, 1, 1, 0, 0, 7, tzinfo=cet)) == "2024-04-30T23:00:00.000007Z"


# ---------------------------------------------------------------------------- command line
def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_audit_arguments(parser)
    return run_audit(parser.parse_args(argv))


def test_cli_verify_export_purge(home, capsys):
    path, store = home
    assert _cli(["verify", str(path)]) == 0   # nothing logged yet, no key: an intact empty log
    assert json.loads(capsys.readouterr().out)["entries"] == 0
    with AuditLog(store, path / KEY_FILE) as log:
        _fill(log, 4)
        log.append(_entry(5, time=datetime.now(timezone.utc)))
    assert _cli(["verify", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] and summary["entries"] == 5 and summary["last_sequence"] == 5
    assert _cli(["export", str(path)]) == 0
    assert [json.loads(x)["sequence"] for x in capsys.readouterr().out.splitlines()] == [1, 2, 3, 4, 5]
    out = path / "export.jsonl"
    assert _cli(["export", str(path), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 5
    assert len(out.read_text().splitlines()) == 5 and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert _cli(["purge", str(path), "--retention-days", "30"]) == 0   # entries 1-4 are from 2024
    assert json.loads(capsys.readouterr().out)["purged"] == 4
    assert _cli(["verify", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["anchor_sequence"] == 4
    _sql(home, "UPDATE audit SET purpose = 'curiosity' WHERE sequence = 5")
    assert _cli(["verify", str(path)]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert not summary["ok"] and summary["sequence"] == 5 and "entry 5" in summary["problem"]


def test_cli_purge_takes_retention_from_the_node_config(home, capsys, tmp_path):
    path, store = home
    with AuditLog(store, path / KEY_FILE) as log:
        log.append(_entry(1, time=datetime.now(timezone.utc) - timedelta(days=10)))
        log.append(_entry(2, time=datetime.now(timezone.utc)))
    config = tmp_path / "node.toml"
    config.write_text('[node]\npartner = "NL"\nhome = "."\naudit_retention_days = 5\n'
                      '[tls]\nca = "ca.pem"\ncert = "NL.pem"\nkey = "NL.key"\n')
    assert _cli(["purge", str(path), "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == {"home": str(path), "purged": 1,
                                                   "retention_days": 5}
    assert _cli(["purge", str(path)]) == 0   # default two years: nothing more
    assert json.loads(capsys.readouterr().out)["purged"] == 0


def test_cli_usage_and_environment_errors(home, capsys, tmp_path):
    path, store = home
    assert _cli(["verify", str(tmp_path / "nowhere")]) == 2
    assert "not a home" in capsys.readouterr().err
    with AuditLog(store, path / KEY_FILE) as log:
        _fill(log, 2)
    (path / KEY_FILE).rename(path / "elsewhere.key")
    assert _cli(["verify", str(path)]) == 2           # entries but no key: cannot check
    assert "no audit key" in capsys.readouterr().err
    assert _cli(["purge", str(path), "--retention-days", "0"]) == 2
    with pytest.raises(SystemExit) as exit_:
        _cli(["inspect", str(path)])
    assert exit_.value.code == 2


def test_for_home_uses_the_home_store_and_key(tmp_path):
    import matcher
    path = matcher.init_home(tmp_path / "nl", partner="NL")
    with matcher.open_home(path) as home, AuditLog.for_home(home) as log:
        assert log.append(_entry(1)) == 1 and log.verify().ok
    assert stat.S_IMODE((path / KEY_FILE).stat().st_mode) == 0o600
    store = Store(path / STORE_FILE)
    with pytest.raises(AuditError, match="cannot create"):
        AuditLog(store, tmp_path / "no" / "such" / KEY_FILE)
    store.close()


def test_sync_interval_decides_when_entries_reach_the_disk(home):
    path, store = home
    with AuditLog(store, path / KEY_FILE, sync_seconds=0) as every:
        assert every._db.execute("PRAGMA synchronous").fetchone()[0] == 2      # FULL
        every.append(_entry(1))
    with AuditLog(store, path / KEY_FILE) as interval:
        assert interval.sync_seconds == 1.0
        assert interval._db.execute("PRAGMA synchronous").fetchone()[0] == 1   # NORMAL
        interval._synced = synced = time.monotonic() + 600    # just synced, whatever the load
        interval.append(_entry(2))
        assert interval._synced == synced          # committed, not yet due for a sync
        interval._synced = time.monotonic() - interval.sync_seconds   # a second ago
        interval.append(_entry(3))
        assert interval._synced > synced - 600     # the commit synced the log
        assert interval.verify().ok and interval.verify().entries == 3
    with pytest.raises(ValueError, match="sync interval"):
        AuditLog(store, path / KEY_FILE, sync_seconds=-1)

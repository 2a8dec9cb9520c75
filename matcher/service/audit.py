"""The node's audit log: every partner request and answer, refused ones included (Prüm
Decision 2008/615/JHA Art. 30; notes/prum.md "Logging").

One row per request in the home's store (table ``audit``): when, who asked (partner, officer,
ordering officer), why (purpose, case reference), what (category, number of queries, a keyed
hash of the query data — never the data), and how it ended (outcome, gRPC status, the
references of the hits).  Rows are hash-chained with a per-home secret key::

    hash[n] = HMAC-SHA256(chain_key, hash[n-1] + "\\n" + n + "\\n" + canonical JSON of entry n)

(canonical JSON: the entry's other fields, keys sorted, no spaces, UTF-8).  The ``head``
mark (last sequence and hash, MACed, written in the same transaction as the rows) makes
deleting the newest entries detectable; the ``anchor`` mark (last purged sequence and hash)
lets the log stay verifiable after retention has deleted its oldest part.  Without the key
nobody can forge a hash, so ``verify`` detects any edit, insertion, deletion or reordering of
rows.  Limits: whoever holds the key can rewrite history, and replacing the whole database
(or rows *and* marks) with an older copy of itself is only caught against a head hash kept
elsewhere (``verify`` prints it).  Appends use group commit; ``append`` returns once its own
entry is committed, and on disk within ``sync_seconds`` (see ``AuditLog``).

    log = AuditLog.for_home(home)               # or AuditLog(store, home / "audit.key")
    digest = log.digest(request_bytes)
    sequence = log.append(AuditEntry(partner="DE", category="dna", outcome="answered", ...))
    report = log.verify()                       # AuditVerification(ok, entries, problem, ...)
    log.export(stream); log.purge()

The parts: ``_audit_entry`` (entries, rows), ``_audit_chain`` (hashes, marks, verification),
``_audit_commit`` (group commit), ``_audit_key`` (the key file).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from matcher.service import _audit_entry
from matcher.service._audit_chain import GENESIS_HASH, AuditVerification
from matcher.service._audit_chain import Chain as _Chain
from matcher.service._audit_commit import GroupCommit as _GroupCommit
from matcher.service._audit_commit import Pending as _Pending
from matcher.service._audit_entry import (DIRECTIONS, FIELDS, OUTCOMES, AuditEntry, AuditError,
                                          format_time, utc_now)
from matcher.service._audit_key import KEY_BYTES, KEY_FILE, load_key
from matcher.store import Store, StoreError

__all__ = ["DEFAULT_RETENTION_DAYS", "DEFAULT_SYNC_SECONDS", "DIRECTIONS", "FIELDS", "GENESIS_HASH", "KEY_BYTES",
           "KEY_FILE", "OUTCOMES", "AuditEntry", "AuditError", "AuditLog", "AuditVerification",
           "format_time", "load_key", "utc_now"]

#: Prüm Art. 30(4): log data are deleted after two years.
DEFAULT_RETENTION_DAYS = 730
# Globals of this module, not attribute look-ups, on purpose: tests swap ``_INSERT`` here to
# make a commit fail.
_INSERT = _audit_entry.INSERT
_SELECT = _audit_entry.SELECT


#: Default ``sync_seconds``: entries reach the disk at most this long after their commit.
#: auditd's default (incremental asynchronous flushing) makes the same trade: an fsync per
#: entry cost ~0.1 ms of CPU and ~0.2 ms of wall time, 40 % of a 1M-profile DNA query
#: (benchmarks/service_load.py), against a target of 10 %.
DEFAULT_SYNC_SECONDS = 1.0


class AuditLog:
    """The audit log of one home.  Thread-safe.

    Durability: with ``sync_seconds`` = 0 an entry is on disk when ``append`` returns
    (``synchronous=FULL``).  With ``sync_seconds`` > 0 (the default, 1 s) it is committed
    when ``append`` returns -- it survives a crash of the process at once -- and reaches the
    disk with the first commit at least ``sync_seconds`` after the last sync, or on ``close``
    (SQLite WAL with ``synchronous=NORMAL``: the log is synced before each checkpoint): a
    power loss can lose the entries of about the last second, never a part of one, and the
    chain of what remains still verifies.

    Group commit, measured with ~400-byte entries on the project machine (fsync ~0.2 ms):
    ~3,000 appends/s from one thread (p50 0.27 ms, mostly the fsync; ~60 µs of CPU) and
    ~7,500/s from eight (p50 0.9 ms); ~4,000/s from eight that also take a quota each.
    """

    def __init__(self, store: Store, key_path: str | Path, *,
                 retention_days: int = DEFAULT_RETENTION_DAYS, create_key: bool = True,
                 sync_seconds: float = DEFAULT_SYNC_SECONDS):
        if isinstance(retention_days, bool) or not isinstance(retention_days, int) \
                or retention_days < 1:
            raise ValueError(f"audit retention must be a whole number of days >= 1, "
                             f"got {retention_days!r}")
        self.store = store
        self.key_path = Path(key_path)
        self.retention_days = retention_days
        self._chain = _Chain(load_key(self.key_path, create=create_key))
        if not 0 <= sync_seconds <= 60:
            raise ValueError(f"audit sync interval must be 0..60 s, got {sync_seconds!r}")
        self.sync_seconds = float(sync_seconds)
        self._db = store.connect(synchronous="NORMAL" if sync_seconds else "FULL")
        self._synced = time.monotonic()
        self._db_lock = threading.Lock()     # one transaction at a time on self._db
        self._group = _GroupCommit()

    @classmethod
    def for_home(cls, home, *, retention_days: int = DEFAULT_RETENTION_DAYS,
                 create_key: bool = True) -> "AuditLog":
        """The log of an open ``Home`` (its store; key file ``HOME/audit.key``)."""
        return cls(home.store, Path(home.path) / KEY_FILE, retention_days=retention_days,
                   create_key=create_key)

    def close(self) -> None:
        self._group.close()
        with self._db_lock:
            if self.sync_seconds:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")   # syncs the log first
            self._db.close()

    def _sync_if_due(self) -> None:
        """Sync the write-ahead log when ``sync_seconds`` have passed since the last sync:
        a passive checkpoint syncs it before copying pages (and never waits for readers)."""
        if self.sync_seconds and time.monotonic() - self._synced >= self.sync_seconds:
            with self._db_lock:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._synced = time.monotonic()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def digest(self, data: bytes) -> str:
        """Keyed hash (HMAC-SHA256, hex) of inbound query data: lets the data-protection
        authority check whether given data was queried, without the log holding it."""
        return self._chain.digest(data)

    @contextmanager
    def _writing(self):
        """One write transaction on the log's own connection, queued behind the store's other
        in-process writers and this log's other threads."""
        with self.store.writer_lock, self._db_lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ append
    def append(self, entry: AuditEntry) -> int:
        """Append one entry; returns its sequence number once it is committed (on disk then,
        or within ``sync_seconds``; see the class docstring).  ValueError for
        a malformed entry (nothing written), AuditError/StoreError when the log cannot be
        written: the caller must then not answer."""
        # ValueError here, before queueing: one bad entry never fails its batch.
        return self._group.submit(_Pending(entry), self._commit)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self._writing() as db:
                sequence, previous = self._chain.tip(db, self.store.path)
                rows = []
                for item in batch:
                    sequence += 1
                    previous = self._chain.link(previous, sequence, item.canonical)
                    rows.append((sequence, *item.values, previous))
                    item.sequence = sequence
                db.executemany(_INSERT, rows)
                self._chain.put_mark(db, "head", sequence, previous)
            for item in batch:
                item.error = None
            self._sync_if_due()
        except Exception as exc:  # every waiter learns that its entry was not written
            error = exc if isinstance(exc, (AuditError, StoreError)) else \
                AuditError(f"{self.store.path}: cannot append to the audit log: {exc}")
            for item in batch:
                item.sequence, item.error = 0, error

    # ------------------------------------------------------------------ reading
    def entries(self, *, after: int = 0) -> Iterator[dict]:
        """Stored entries with sequence > ``after``, oldest first, as dicts (``FIELDS`` and
        ``hash``).  Reads through its own connection, so appends go on meanwhile."""
        db = self.store.connect()
        try:
            for row in db.execute(_SELECT + " WHERE sequence > ? ORDER BY sequence", (after,)):
                yield _audit_entry.from_row(row)
        finally:
            db.close()

    def verify(self) -> AuditVerification:
        """Walk the chain from the anchor to the head; report the first problem."""
        db = self.store.connect()
        try:
            db.execute("BEGIN")  # one snapshot: appends meanwhile are not half-seen
            try:
                return self._chain.verify(db)
            finally:
                db.execute("ROLLBACK")
        finally:
            db.close()

    def export(self, stream: IO[str], *, after: int = 0) -> int:
        """Write entries as JSON lines, oldest first, each with its chain hash; returns how
        many.  Only the key holder can re-check the hashes."""
        count = 0
        for record in self.entries(after=after):
            stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        return count

    # ------------------------------------------------------------------ retention
    def purge(self, now: datetime | None = None) -> int:
        """Delete entries older than the retention period; returns how many.  Only a prefix
        of the chain goes (everything before the oldest entry still within retention), and
        the last purged entry becomes the anchor the rest is verified from.  Refuses
        (AuditError) when the part to be deleted does not verify: tampering evidence is not
        purged silently."""
        now = utc_now() if now is None else now
        cutoff = format_time(now - timedelta(days=self.retention_days))
        with self._writing() as db:
            return self._purge(db, cutoff)

    def _purge(self, db, cutoff: str) -> int:
        anchor = self._chain.mark(db, "anchor") or (0, GENESIS_HASH)
        head = self._chain.mark(db, "head")
        if head is None:
            return 0
        kept = db.execute("SELECT sequence FROM audit WHERE time >= ? ORDER BY sequence LIMIT 1",
                          (cutoff,)).fetchone()
        last = head[0] if kept is None else kept[0] - 1
        if last <= anchor[0]:
            return 0
        previous = self._chain.purgeable(db, anchor, last)
        count = db.execute("DELETE FROM audit WHERE sequence <= ?", (last,)).rowcount
        self._chain.put_mark(db, "anchor", last, previous)
        return count

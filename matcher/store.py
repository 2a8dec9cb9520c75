"""The durable store: one SQLite database per home, the truth every index is rebuilt from.

WAL journal with ``synchronous=FULL``: a write is acknowledged only when its transaction has
committed and the WAL is on disk, so a crash or a kill loses nothing acknowledged and never
leaves half a batch.  Each committed write gets the next *generation* number; records carry
the generation that wrote them and deletions leave a tombstone with theirs, so an index
snapshot tagged with generation G is brought up to date by replaying what came after G.

Replacing a record deletes the old row (tombstone, reason ``replaced``) and inserts a new
one: row ids only grow (AUTOINCREMENT), which lets indexes keep rows in row-id order.

The same database holds the partner service's audit log (``audit``, ``audit_marks``) and its
daily quota counters (``quota_usage``).  Their logic lives in ``matcher.service.audit`` and
``matcher.service.quotas``; each writes through its own connection from ``Store.connect``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STORE_FILE = "store.sqlite"
SCHEMA_VERSION = 1
#: SQLite's default limit on host parameters is 32,766; stay well below it.
_IN_CHUNK = 900
#: Wait this long for another writer's lock before failing (ms).
_BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    UNIQUE (category, reference)
);
CREATE INDEX IF NOT EXISTS records_by_generation ON records (category, generation);
CREATE TABLE IF NOT EXISTS tombstones (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    reference TEXT NOT NULL,
    record_rowid INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    generation INTEGER NOT NULL,
    deleted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tombstones_by_generation ON tombstones (category, generation);
-- Partner-service audit log (matcher.service.audit): one row per request, hash-chained.
CREATE TABLE IF NOT EXISTS audit (
    sequence INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    direction TEXT NOT NULL,
    partner TEXT NOT NULL,
    officer TEXT NOT NULL,
    ordering_officer TEXT,
    purpose TEXT NOT NULL,
    case_reference TEXT NOT NULL,
    category TEXT NOT NULL,
    request_id TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    queries INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    hits TEXT NOT NULL,
    query_digest TEXT,
    hash TEXT NOT NULL
);
-- 'head' (last entry) and 'anchor' (last purged entry) of the audit chain, each with a MAC.
CREATE TABLE IF NOT EXISTS audit_marks (
    name TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
-- Daily quota counters (matcher.service.quotas): searches used per partner, category, UTC day.
CREATE TABLE IF NOT EXISTS quota_usage (
    partner TEXT NOT NULL,
    category TEXT NOT NULL,
    day TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (partner, category, day)
) WITHOUT ROWID;
"""


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by path (a folder: so a rename in it survives a power loss).
    For the index snapshots the categories keep beside the store."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(tmp: Path, path: Path) -> None:
    """Rename the fully written and fsynced ``tmp`` over ``path`` and make the rename
    durable: a crash leaves the old file or the new one, never a mix."""
    os.replace(tmp, path)
    fsync_path(path.parent)


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    rowid: int
    reference: str
    kind: str
    body: str
    flags: int


@dataclass(slots=True)
class WriteResult:
    """What one committed write did; ``generation`` is the number it committed under."""

    generation: int
    inserted: list[int] = field(default_factory=list)  # new row ids ...
    inserted_references: list[str] = field(default_factory=list)  # ... and their references
    replaced: list[int] = field(default_factory=list)  # row ids that a new version replaced
    deleted: list[int] = field(default_factory=list)   # row ids removed by delete
    not_found: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DeleteReport:
    """What a category's ``delete(references)`` did: deleted and unknown references, and the
    generation the deletion committed under."""

    deleted: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    generation: int = 0


class Store:
    """A home's SQLite database.  One writer at a time; readers never block it (WAL)."""

    def __init__(self, path: Path, *, create: bool = False):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"{self.path}: no store here (run 'matcher init' first)")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch to WAL journal (got {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('generation', '0')",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        #: Held around each write transaction by in-process writers on their own connections
        #: (audit log, quotas): they then queue on this lock, which wakes the next writer the
        #: moment it is free, instead of on SQLite's busy handler, which sleeps 1, 2, 5, 10 ...
        #: ms between retries.  Other processes still meet the busy handler.
        self.writer_lock = threading.Lock()

    def connect(self, *, synchronous: str = "FULL") -> sqlite3.Connection:
        """A new connection to this store's database, in autocommit mode (explicit BEGIN), for
        a component that writes from its own threads: the store's own connection must not
        carry two threads' transactions at once.  ``synchronous`` is ``FULL`` (a commit is on
        disk when it returns) or ``NORMAL`` (it survives a crash of the process but not of
        the machine until the next FULL commit or checkpoint syncs the WAL).  The caller
        closes it and keeps it to one thread at a time."""
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute(f"PRAGMA synchronous = {synchronous}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        return db

    def close(self) -> None:
        self._db.close()

    def generation(self) -> int:
        """The generation of the last committed write."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def write(self, category: str, upserts: Sequence[tuple[str, str, str, int]] = (),
              deletes: Sequence[str] = ()) -> WriteResult:
        """Atomically delete ``deletes`` and add or replace ``upserts`` (reference, kind, body,
        flags), all under one new generation.  Nothing of it is visible until it commits."""
        db = self._db
        now = time.time()
        try:
            db.execute("BEGIN IMMEDIATE")
            generation = self.generation() + 1
            result = WriteResult(generation)
            wanted = list(deletes) + [u[0] for u in upserts]
            existing = self._existing(category, wanted)
            gone: list[tuple] = []
            for reference in deletes:
                row = existing.pop(reference, None)
                if row is None:
                    result.not_found.append(reference)
                    continue
                result.deleted.append(row[0])
                gone.append((category, reference, row[0], row[1], "deleted", generation, now))
            if upserts:
                latest = {u[0]: u for u in upserts}  # within one write the last version wins
                for reference in latest:
                    row = existing.get(reference)
                    if row is not None:
                        result.replaced.append(row[0])
                        gone.append((category, reference, row[0], row[1], "replaced", generation, now))
            if gone:
                db.executemany("DELETE FROM records WHERE rowid = ?", [(g[2],) for g in gone])
                db.executemany(
                    "INSERT INTO tombstones (category, reference, record_rowid, kind, reason,"
                    " generation, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?)", gone,
                )
            if upserts:
                rows = [(category, ref, kind, body, flags, generation, now)
                        for ref, kind, body, flags in latest.values()]
                before = self._sequence()
                db.executemany(
                    "INSERT INTO records (category, reference, kind, body, flags, generation,"
                    " stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
                )
                after = self._sequence()
                result.inserted_references = list(latest)
                if after - before == len(rows):
                    result.inserted = list(range(before + 1, after + 1))
                else:  # not expected with AUTOINCREMENT and one writer, but never guess
                    result.inserted = [self._rowid(category, r[1]) for r in rows]
            db.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation),))
            db.execute("COMMIT")
            return result
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _sequence(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        return int(row[0]) if row else 0

    def _rowid(self, category: str, reference: str) -> int:
        return self._db.execute(
            "SELECT rowid FROM records WHERE category = ? AND reference = ?", (category, reference)
        ).fetchone()[0]

    def _existing(self, category: str, references: list[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        unique = list(dict.fromkeys(references))
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i:i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for rowid, reference, kind in self._db.execute(
                f"SELECT rowid, reference, kind FROM records WHERE category = ? AND reference IN ({marks})",
                (category, *chunk),
            ):
                found[reference] = (rowid, kind)
        return found

    def records(self, category: str, *, after_generation: int = 0) -> Iterator[StoredRecord]:
        """Live records written after ``after_generation``, in row-id order."""
        cursor = self._db.execute(
            "SELECT rowid, reference, kind, body, flags FROM records"
            " WHERE category = ? AND generation > ? ORDER BY rowid",
            (category, after_generation),
        )
        for row in cursor:
            yield StoredRecord(*row)

    def removed_rowids(self, category: str, *, after_generation: int) -> list[int]:
        """Row ids deleted or replaced after ``after_generation``."""
        return [r[0] for r in self._db.execute(
            "SELECT record_rowid FROM tombstones WHERE category = ? AND generation > ?",
            (category, after_generation),
        )]

    def references(self, rowids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """rowid -> (reference, kind) for the given live rows."""
        out: dict[int, tuple[str, str]] = {}
        ids = list(dict.fromkeys(int(r) for r in rowids))
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i:i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for rowid, reference, kind in self._db.execute(
                f"SELECT rowid, reference, kind FROM records WHERE rowid IN ({marks})", chunk
            ):
                out[rowid] = (reference, kind)
        return out

    def get(self, category: str, reference: str) -> StoredRecord | None:
        row = self._db.execute(
            "SELECT rowid, reference, kind, body, flags FROM records WHERE category = ? AND reference = ?",
            (category, reference),
        ).fetchone()
        return StoredRecord(*row) if row else None

    def counts(self, category: str) -> dict[str, int]:
        """Live records per kind, and tombstones."""
        out = {k: n for k, n in self._db.execute(
            "SELECT kind, COUNT(*) FROM records WHERE category = ? GROUP BY kind", (category,)
        )}
        out["tombstones"] = self._db.execute(
            "SELECT COUNT(*) FROM tombstones WHERE category = ?", (category,)
        ).fetchone()[0]
        return out

    def count_flags(self, category: str, mask: int) -> int:
        return self._db.execute(
            "SELECT COUNT(*) FROM records WHERE category = ? AND flags & ? != 0", (category, mask)
        ).fetchone()[0]

    def integrity_check(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

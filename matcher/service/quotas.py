"""Daily search quotas: how many queries each partner has used per category and UTC day.

Prüm fixes daily search capacities per partner (e.g. 100 tenprint and 20 latent fingerprint
searches a day; notes/prum.md).  The counters live in the home's store (table
``quota_usage``), so restarting the node does not hand out a fresh day.  A request counts
with its number of queries and is granted whole or refused whole::

    quotas = Quotas(home.store)
    decision = quotas.take("DE", "dna", count=len(queries), limit=policy.daily_quota["dna"])
    if not decision.granted:
        ...  # RESOURCE_EXHAUSTED, QuotaFailure; decision.used / decision.limit say why

Durability: the counters commit with ``synchronous=NORMAL`` (~10 µs instead of an fsync), so
they survive a crash or kill of the process at once and a power loss from the next FULL
commit on the same database on; the audit entry that follows every request is such a commit
and syncs the shared WAL, counters included.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone

from matcher.store import Store


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """The answer to ``take``.  ``used`` counts today's queries after this decision (a refused
    request adds nothing); ``limit`` is None for no limit, and then ``remaining`` is None."""

    granted: bool
    used: int
    limit: int | None
    remaining: int | None


def quota_day(now: datetime | None = None) -> str:
    """The UTC day a moment counts against, e.g. ``2025-03-01``; quotas reset at 00:00 UTC."""
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        raise ValueError(f"time must carry a time zone (UTC), got naive {now.isoformat()}")
    return now.astimezone(timezone.utc).date().isoformat()


def _check(partner: str, category: str) -> None:
    for name, value in (("partner", partner), ("category", category)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"quota: {name} must be non-empty text, got {value!r}")


class Quotas:
    """Per partner, per category, per UTC day counters.  Thread-safe, and safe between
    processes on the same home (each ``take`` is one IMMEDIATE transaction)."""

    def __init__(self, store: Store):
        self.store = store
        self._db = store.connect(synchronous="NORMAL")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Quotas":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def take(self, partner: str, category: str, count: int, limit: int | None,
             now: datetime | None = None) -> QuotaDecision:
        """Grant ``count`` queries if today's use plus ``count`` stays within ``limit``, and
        count them; otherwise refuse and count nothing.  Check and increment are one
        transaction, so concurrent takers never pass the limit together."""
        _check(partner, category)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"quota: count must be an integer >= 0, got {count!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            raise ValueError(f"quota: limit must be an integer >= 0 or None, got {limit!r}")
        day = quota_day(now)
        key = (partner, category, day)
        with self.store.writer_lock, self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                used = self._used(db, key)
                granted = limit is None or used + count <= limit
                if granted and count:
                    db.execute(
                        "INSERT INTO quota_usage VALUES (?, ?, ?, ?) ON CONFLICT"
                        " (partner, category, day) DO UPDATE SET used = used + excluded.used",
                        (*key, count))
                    used += count
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        remaining = None if limit is None else max(0, limit - used)
        return QuotaDecision(granted, used, limit, remaining)

    def usage(self, partner: str, category: str, now: datetime | None = None) -> int:
        """Queries ``partner`` has been granted in ``category`` on the UTC day of ``now``."""
        _check(partner, category)
        with self._lock:
            return self._used(self._db, (partner, category, quota_day(now)))

    def forget_before(self, day: date | str) -> int:
        """Delete counters of days before ``day`` (they decide nothing any more); returns
        how many rows went."""
        if isinstance(day, datetime):
            day = quota_day(day)
        day = day.isoformat() if isinstance(day, date) else date.fromisoformat(day).isoformat()
        with self.store.writer_lock, self._lock:
            cursor = self._db.execute("DELETE FROM quota_usage WHERE day < ?", (day,))
            return cursor.rowcount

    @staticmethod
    def _used(db, key: tuple[str, str, str]) -> int:
        row = db.execute("SELECT used FROM quota_usage WHERE partner = ? AND category = ?"
                         " AND day = ?", key).fetchone()
        return row[0] if row else 0

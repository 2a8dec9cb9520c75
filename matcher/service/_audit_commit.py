"""Group commit for the audit log (``matcher.service.audit``): threads that append while a
commit is in flight queue their entries, and the next commit writes all of them under one
fsync.  The thread that finds no commit running leads: it takes the whole queue, its own
entry included, and commits it while the others wait; each learns afterwards whether its
own entry was written."""

from __future__ import annotations

import threading
from collections.abc import Callable

from matcher.service._audit_entry import AuditEntry, AuditError, canonical, stored_values


class Pending:
    """An entry waiting for its commit, already encoded by the appending thread, so the
    commit (the part every appender waits for in turn) only numbers, hashes and inserts.
    ValueError from the constructor for a malformed entry: it never joins a batch."""

    __slots__ = ("canonical", "values", "sequence", "error", "done")

    def __init__(self, entry: AuditEntry):
        record = entry.record(0)
        self.canonical = canonical(record)
        self.values = stored_values(record)
        self.sequence, self.done = 0, False
        # Cleared only by a commit that wrote it: a leader interrupted mid-commit (e.g. by
        # KeyboardInterrupt) must not let its batch-mates believe they were logged.
        self.error: Exception | None = AuditError("audit append interrupted before its commit")


class GroupCommit:
    """The queue of entries waiting for a commit."""

    def __init__(self):
        self._lock = threading.Condition()
        self._queue: list[Pending] = []
        self._committing = False
        self._closed = False

    def submit(self, pending: Pending, commit: Callable[[list[Pending]], None]) -> int:
        """Queue ``pending``; returns its sequence once its batch is committed, or raises the
        error that kept the batch from being written.  When this thread leads, it calls
        ``commit(batch)``, which must set each item's ``sequence`` and clear its ``error``
        once the batch is durable, or set ``error`` on every item."""
        with self._lock:
            if self._closed:
                raise AuditError("audit log is closed")
            self._queue.append(pending)
            while not pending.done:
                if self._committing:
                    self._lock.wait()
                    continue
                # Lead: commit everything queued so far, our own entry included.
                self._committing = True
                batch, self._queue = self._queue, []
                self._lock.release()
                try:
                    commit(batch)
                finally:
                    self._lock.acquire()
                    self._committing = False
                    for item in batch:
                        item.done = True
                    self._lock.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.sequence

    def close(self) -> None:
        """Wait for queued entries to be committed, then refuse new ones."""
        with self._lock:
            while self._committing or self._queue:
                self._lock.wait()
            self._closed = True

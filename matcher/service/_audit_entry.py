"""What one audit-log entry is: its fields and their checks, its time format, the row it is
stored as and the canonical JSON the hash chain covers (``matcher.service.audit``).

An entry never carries query data: ``query_digest`` is a keyed hash of it and ``hits`` are
record references.  ``AuditEntry.record`` validates and turns an entry into plain JSON types
in ``FIELDS`` order; ``stored_values`` / ``from_row`` map such a record to and from a row of
the ``audit`` table (schema in ``matcher.store``); ``canonical`` is what gets hashed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

#: What an exchange can end as.  ``refused``: the node said no (authentication, permission,
#: quota, invalid request); ``failed``: it could not answer (deadline, internal error).
OUTCOMES = ("answered", "refused", "failed")
DIRECTIONS = ("inbound", "outbound")
#: Column order of the ``audit`` table and of exported lines (``hash`` last).
FIELDS = ("sequence", "time", "direction", "partner", "officer", "ordering_officer", "purpose",
          "case_reference", "category", "request_id", "answer_id", "queries", "outcome",
          "status", "detail", "hits", "query_digest")
#: Fields that must be text (``ordering_officer`` and ``query_digest`` may also be None).
_TEXT_FIELDS = ("direction", "partner", "officer", "purpose", "case_reference", "category",
                "request_id", "answer_id", "outcome", "status", "detail")

_COLUMNS = ", ".join(FIELDS + ("hash",))
#: Statements on the ``audit`` table, columns in ``FIELDS`` order then ``hash``.
INSERT = f"INSERT INTO audit ({_COLUMNS}) VALUES ({', '.join('?' * (len(FIELDS) + 1))})"
SELECT = f"SELECT {_COLUMNS} FROM audit"


class AuditError(RuntimeError):
    """The audit log cannot be used (key missing or readable by others, chain marks
    altered); the message says what and what to do.  A node must not answer while its
    audit log fails."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    """UTC text with microseconds, e.g. ``2025-03-01T09:30:00.000123Z``."""
    if moment.tzinfo is None:
        raise ValueError(f"time must carry a time zone (UTC), got naive {moment.isoformat()}")
    # Fixed width (microseconds always written), so text order is time order.
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(
        timespec="microseconds") + "Z"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One request and its answer as the log keeps it.  ``hits`` are the references of the
    records that matched (this node's, for an inbound request), ``query_digest`` is
    ``AuditLog.digest`` of the request's query data; neither profile, template, plate nor VIN
    is ever stored.  ``partner`` is the caller (inbound) or the partner asked (outbound);
    empty when the caller could not be identified."""

    partner: str
    category: str                       # dna | finger | vehicle | capabilities
    outcome: str                        # one of OUTCOMES
    status: str = "OK"                  # gRPC status code name, e.g. RESOURCE_EXHAUSTED
    officer: str = ""
    ordering_officer: str | None = None
    purpose: str = ""
    case_reference: str = ""
    request_id: str = ""
    answer_id: str = ""
    queries: int = 0
    hits: tuple[str, ...] = ()
    query_digest: str | None = None
    detail: str = ""                    # why it was refused or failed; never query data
    direction: str = "inbound"
    time: datetime = field(default_factory=utc_now)

    def record(self, sequence: int) -> dict:
        """The entry as stored and hashed: plain JSON types, keys in ``FIELDS`` order.
        ValueError naming the field when the entry is malformed."""
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit entry: outcome must be one of {', '.join(OUTCOMES)}, "
                             f"got {self.outcome!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"audit entry: direction must be inbound or outbound, "
                             f"got {self.direction!r}")
        if isinstance(self.queries, bool) or not isinstance(self.queries, int) or self.queries < 0:
            raise ValueError(f"audit entry: queries must be an integer >= 0, got {self.queries!r}")
        if isinstance(self.hits, str):
            raise ValueError("audit entry: hits must be a list of references, not one string")
        texts = {name: getattr(self, name) for name in _TEXT_FIELDS}
        for name, value in texts.items():
            if not isinstance(value, str):
                raise ValueError(f"audit entry: {name} must be text, got {value!r}")
        for name in ("ordering_officer", "query_digest"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"audit entry: {name} must be text or None, got {value!r}")
        hits = [str(h) for h in self.hits]
        return {"sequence": sequence, "time": format_time(self.time), **texts,
                "ordering_officer": self.ordering_officer, "queries": self.queries,
                "hits": hits, "query_digest": self.query_digest}


def canonical(record: dict) -> str:
    """The JSON the chain hashes: every field but sequence and hash, keys sorted."""
    fields = {name: value for name, value in record.items() if name not in ("sequence", "hash")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stored_values(record: dict) -> tuple:
    """A record's columns between ``sequence`` and ``hash``, as the table stores them (the
    hit list as compact JSON text)."""
    hits = json.dumps(record["hits"], separators=(",", ":"), ensure_ascii=False)
    return tuple(hits if name == "hits" else record[name] for name in FIELDS[1:])


def from_row(row: tuple) -> dict:
    """A stored row (``SELECT`` order) back as a record with its ``hash``.  ValueError or
    TypeError when its hit list is not JSON."""
    record = dict(zip(FIELDS + ("hash",), row))
    record["hits"] = json.loads(record["hits"])
    return record

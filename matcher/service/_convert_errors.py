"""Rejections of partner queries: what ``matcher.service.convert`` raises for bad queries.

A query that cannot be converted, or that the home refused, becomes one ``FieldViolation``;
all of a request's violations travel together in one ``QueryRejected``.  A violation's
``path`` (``queries[3].loci.TH01``) and ``reason`` make a google.rpc.BadRequest field
violation, so a partner learns which query and which field of it to fix.

Converters signal one bad field by raising ``BadField``; ``each`` collects those per query,
and ``error_violations`` maps a home error text onto the query message's field paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from matcher.records import DuplicateKeys

#: Top-level query fields of every category; a home error reason starting with one names
#: that field (anything else is about the query as a whole).
QUERY_FIELDS = frozenset({"reference", "kind", "loci", "fingers", "country", "plate", "vin",
                          "tolerant"})


class FieldViolation(NamedTuple):
    """One rejected query: its 0-based ``index`` in the request, its ``reference`` (None when
    it had no usable one), the ``field`` path inside it ('' = the query as a whole), why."""

    index: int
    reference: str | None
    field: str
    reason: str

    @property
    def path(self) -> str:
        return f"queries[{self.index}]" + (f".{self.field}" if self.field else "")


class QueryRejected(ValueError):
    """Queries that cannot be converted or that the home refused.  ``violations`` lists one
    per query; ``index``, ``reference``, ``field`` and ``reason`` are the first one's."""

    def __init__(self, violations: list[FieldViolation]):
        super().__init__("; ".join(f"{v.path}: {v.reason}" for v in violations))
        self.violations = violations
        self.index, self.reference, self.field, self.reason = violations[0]


class BadField(Exception):
    """Raised by a single-query converter: ``field`` (a path inside the query, '' = all of
    it) is wrong because of ``reason``.  ``each`` turns it into a FieldViolation."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason


def each(items: Iterable, convert: Callable) -> list:
    """``convert`` applied to every item; every failure collected into one QueryRejected."""
    out, violations = [], []
    for index, item in enumerate(items):
        try:
            out.append(convert(item))
        except BadField as bad:
            violations.append(FieldViolation(index, _item_reference(item) or None,
                                             bad.field, bad.reason))
    if violations:
        raise QueryRejected(violations)
    return out


def _item_reference(item: object) -> str | None:
    """The reference of a query message or JSON query dict, if it has a text one."""
    if hasattr(item, "DESCRIPTOR"):     # a protobuf message: the field always exists
        return item.reference  # type: ignore[attr-defined]
    ref = dict(item).get("reference") if isinstance(item, (dict, DuplicateKeys)) else None
    return ref if isinstance(ref, str) else None


def error_violations(index: int, reference: str | None, error: str) -> list[FieldViolation]:
    """The violations of query ``index`` from a home error text (the ``error`` of a home
    answer, or a validator's reasons joined by '; '), each ``field: why`` reason naming its
    field in the query message's terms."""
    out = []
    for part in error.split("; "):
        field, sep, reason = part.partition(": ")
        if sep and re.split(r"[.\[]", field, maxsplit=1)[0] in QUERY_FIELDS:
            # The JSON point's "angle" is the message's Minutia.angle_degrees.
            field = re.sub(r"(points\[\d+\])\.angle$", r"\1.angle_degrees", field)
            out.append(FieldViolation(index, reference, field, reason))
        else:
            out.append(FieldViolation(index, reference, "", part))
    return out

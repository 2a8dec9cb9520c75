"""Answers of a vehicle search, one per query in query order: ``{"query", "hits"}`` for a
query that normalised, ``{"query", "error", "line"}`` for one that did not."""

from __future__ import annotations

from collections.abc import Iterable

from matcher.records import RawRecord
from matcher.vehicle._records import RecordRejected, VehicleQuery, normalise_query
from matcher.vehicle.index import Found


def read_queries(raws: Iterable[RawRecord]) -> tuple[list[dict], list[tuple[int, VehicleQuery]]]:
    """Answers in query order (error answers final, the others with no hits yet) and each
    normalised query with the position of its answer."""
    answers: list[dict] = []
    valid: list[tuple[int, VehicleQuery]] = []
    for raw in raws:
        if raw.error is not None:
            answers.append({"query": raw.reference, "error": raw.error, "line": raw.line})
            continue
        try:
            query = normalise_query(raw.data)
        except RecordRejected as exc:
            answers.append({"query": exc.reference, "error": "; ".join(exc.reasons),
                            "line": raw.line})
            continue
        valid.append((len(answers), query))
        answers.append({"query": query.reference, "hits": []})
    return answers, valid


def fill_hits(answers: list[dict], valid: list[tuple[int, VehicleQuery]], found: Found,
              names: dict[int, tuple[str, str]]) -> None:
    """Put the hits ``found`` for the ``valid`` queries into their answers, in the form and
    order ``VehicleDatabase.search`` promises; ``names`` is the store's row id ->
    (reference, kind) of the rows found."""
    hits: dict[int, list] = {}
    for q, rowid, tolerant in zip(found.query.tolist(), found.rowid.tolist(),
                                  found.tolerant.tolist()):
        if rowid in names:  # else deleted by another process meanwhile
            hits.setdefault(q, []).append((tolerant, names[rowid][0]))
    for q, listed in hits.items():
        position, query = valid[q]
        answers[position]["hits"] = [
            {"reference": reference, "matched_on": query.matched_on, "tolerant": tolerant}
            for tolerant, reference in sorted(listed)]

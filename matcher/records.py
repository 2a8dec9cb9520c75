"""Input records shared by every category: JSON Lines reading that never raises for bad
content, duplicate-key detection, and the reference rule.  Below the categories in the
house (stdlib only), so DNA, fingerprints and vehicles read input the same way.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

#: Spec (dna-matching.md 4) and the other categories: references are 1–64 printable
#: characters, unique within a category of a home.
MAX_REFERENCE_LENGTH = 64


@dataclass(slots=True)
class RawRecord:
    """One input record: ``data`` when it parsed, else ``error`` naming what is wrong.
    ``line`` counts from 1; 0 is a problem with the whole file."""

    line: int
    data: object = None
    error: str | None = None
    reference: str | None = None


class DuplicateKeys(list):
    """A JSON object that repeated a key: kept as its list of (key, value) pairs so the
    validator can name the repeated field (``json`` would silently keep the last)."""


def _pairs(pairs: list[tuple[str, object]]):
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else DuplicateKeys(pairs)


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs)


def check_reference(value: object, *, required: bool = True) -> str | None:
    """The problem with a reference value, or None when it is acceptable."""
    if value is None:
        return "reference: missing" if required else None
    if not isinstance(value, str):
        return f"reference: must be a string, got {type(value).__name__}"
    if not 1 <= len(value) <= MAX_REFERENCE_LENGTH:
        return f"reference: must be 1..{MAX_REFERENCE_LENGTH} characters, got {len(value)}"
    if not value.isprintable():
        return "reference: contains a non-printable character"
    return None


def parse_json_line(raw: bytes, line: int) -> RawRecord:
    """One JSON Lines line (bytes, newline stripped) as a RawRecord."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(line, error=f"line {line}: not UTF-8 text (byte {exc.start + 1})")
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return RawRecord(line, error=f"line {line}: invalid JSON: {exc.msg} at column {exc.colno}")
    reference = None
    if isinstance(data, (dict, DuplicateKeys)):
        ref = dict(data).get("reference")
        reference = ref if isinstance(ref, str) else None
    return RawRecord(line, data=data, reference=reference)


def read_jsonl(stream: io.BufferedIOBase) -> Iterator[RawRecord]:
    """Records of a JSON Lines byte stream; blank lines are skipped, a BOM is allowed; an
    empty stream yields one error record at line 0."""
    seen = False
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        seen = True
        yield parse_json_line(raw, number)
    if not seen:
        yield RawRecord(0, error="file is empty: no records")


def valid_batches(raws: Iterable[RawRecord], normalise: Callable[[object], object],
                  rejected_error: type[Exception], batch_size: int,
                  rejected: list[dict]) -> Iterator[list]:
    """The valid records of ``raws``, normalised, in source order, in batches of
    ``batch_size`` (the last one may be shorter or empty).  Every other record is appended to
    ``rejected`` as ``{"line", "reference", "reasons"}`` when it is met: the line in the
    source, the reference when it could be read and every reason (``rejected_error`` carries
    ``reference`` and ``reasons``), never the record's data."""
    batch: list = []
    for raw in raws:
        if raw.error is not None:
            rejected.append({"line": raw.line, "reference": raw.reference,
                             "reasons": [raw.error]})
            continue
        try:
            batch.append(normalise(raw.data))
        except rejected_error as exc:
            rejected.append({"line": raw.line, "reference": exc.reference,
                             "reasons": exc.reasons})
            continue
        if len(batch) >= batch_size:
            yield batch
            batch = []
    yield batch

"""Fingerprint records and queries: validation and normalisation.

A record is ``{"reference", "kind": "person"|"latent", "fingers": [{"position", "template"
| "minutiae"}]}`` (architecture note).  ``person`` is a tenprint card of a known person,
``latent`` an unsolved mark from a crime scene.  A query has the same shape; its ``kind``
and ``reference`` are optional: a query without ``kind`` is a tenprint search (``person``;
the common Prüm case), so a latent mark must say ``"kind": "latent"`` to be searched as
one (every eligible finger scored, see ``FingerSettings.latent_shortlist_fraction``).  Every problem is reported at once, each naming its field.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.finger.model import Finger
from matcher.finger.templates import TemplateError, finger_from_json
from matcher.records import DuplicateKeys, check_reference

KINDS = ("person", "latent")
#: A tenprint card holds at most ten fingers; a record with more is malformed.
MAX_FINGERS = 10


class FingerRecordRejected(ValueError):
    """A record or query that fails validation; ``reasons`` names every problem's field."""

    def __init__(self, reference: str | None, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reference = reference
        self.reasons = reasons


@dataclass(slots=True)
class FingerRecord:
    reference: str | None
    kind: str
    fingers: list[Finger]


def normalise_record(raw: object, *, query: bool = False) -> FingerRecord:
    """A FingerRecord, or FingerRecordRejected with every reason."""
    if isinstance(raw, DuplicateKeys):
        names = [k for k, _ in raw]
        repeated = sorted({k for k in names if names.count(k) > 1})
        reference = dict(raw).get("reference")
        raise FingerRecordRejected(reference if isinstance(reference, str) else None,
                                   [f"{k}: field given twice" for k in repeated])
    if not isinstance(raw, dict):
        raise FingerRecordRejected(None, ["record: expected a JSON object"])
    reasons: list[str] = []
    reference = raw.get("reference")
    problem = check_reference(reference, required=not query)
    if problem:
        reasons.append(problem)
        reference = reference if isinstance(reference, str) else None
    kind = raw.get("kind")
    if kind is None and query:
        kind = "person"
    elif kind not in KINDS:
        reasons.append("kind: missing, expected 'person' or 'latent'" if kind is None
                       else f"kind: {kind!r} is not 'person' or 'latent'")
    fingers: list[Finger] = []
    raw_fingers = raw.get("fingers")
    if not isinstance(raw_fingers, list) or not raw_fingers:
        reasons.append("fingers: a record needs at least one finger" if raw_fingers in (None, [])
                       else "fingers: expected a list of fingers")
    elif len(raw_fingers) > MAX_FINGERS:
        reasons.append(f"fingers: {len(raw_fingers)} fingers, at most {MAX_FINGERS}")
    else:
        seen: dict[int, int] = {}
        for number, raw_finger in enumerate(raw_fingers):
            field = f"fingers[{number}]"
            try:
                finger = finger_from_json(raw_finger, field=field)
            except TemplateError as exc:
                reasons.append(str(exc))
                continue
            if not finger.minutiae:
                reasons.append(f"{field}.minutiae: no minutiae (an empty finger cannot be searched)")
                continue
            if finger.position and finger.position in seen:
                reasons.append(f"{field}.position: finger {finger.position} given twice "
                               f"(also fingers[{seen[finger.position]}])")
                continue
            seen[finger.position] = number
            fingers.append(finger)
    if reasons:
        raise FingerRecordRejected(reference, reasons)
    return FingerRecord(reference, kind, fingers)

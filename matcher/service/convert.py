"""Conversions between the JSON shapes of the CLI / home API and the ``prum.v1`` messages.

Per category (``dna``, ``finger``, ``vehicle``, the ``Home`` attribute names):

- ``queries_to_proto``: JSON query dicts -> query messages (client, before sending);
- ``queries_from_proto``: query messages -> the dicts ``home.<category>.search`` takes (server);
- ``answers_to_proto``: home answer dicts -> answer messages (server);
- ``answers_from_proto`` / ``response_to_json``: answer messages -> dicts of the local CLI's
  answer shape, the latter with the answer header's fields added (client, printing).

An answer message is built from the home answer's listed fields only, so nothing of the
query but its reference can reach the wire.  Finger templates are bytes on the wire and
base64 text in JSON.  Anything wrong with a query raises ``QueryRejected``, one
``FieldViolation`` per rejected query: its ``path`` (``queries[3].loci.TH01``) and ``reason``
make a google.rpc.BadRequest field violation.  A home answer carrying ``error`` is such a
rejection too (``error_violations`` maps a home error text to violations).  Any other
exception from ``answers_to_proto`` is a home answer of unexpected shape: a bug (INTERNAL),
never the caller's fault.

Deliberately one module of ~19 KB: the three categories share the rejection machinery and
the kind tables; split it per category (``_convert_<category>.py``) if it grows further.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from matcher._proto.prum.v1 import common_pb2, dna_pb2, finger_pb2, vehicle_pb2
from matcher.records import DuplicateKeys, check_reference

CATEGORY_ENUM = {"dna": common_pb2.CATEGORY_DNA, "finger": common_pb2.CATEGORY_FINGER,
                 "vehicle": common_pb2.CATEGORY_VEHICLE}
REQUESTS = {"dna": dna_pb2.SearchDnaRequest, "finger": finger_pb2.SearchFingerRequest,
            "vehicle": vehicle_pb2.LookupVehicleRequest}
RESPONSES = {"dna": dna_pb2.SearchDnaResponse, "finger": finger_pb2.SearchFingerResponse,
             "vehicle": vehicle_pb2.LookupVehicleResponse}
_KINDS = {"dna": ("person", "stain"), "finger": ("person", "latent")}
_KIND = {"person": common_pb2.RECORD_KIND_PERSON, "stain": common_pb2.RECORD_KIND_STAIN,
         "latent": common_pb2.RECORD_KIND_LATENT}
_QUALITY = {name: getattr(dna_pb2, f"DNA_MATCH_QUALITY_{name}")
            for name in ("FULL", "WILDCARD", "MICROVARIANT", "NEAR")}
_MINUTIA = {name: getattr(finger_pb2, f"MINUTIA_TYPE_{name.upper()}")
            for name in ("ending", "bifurcation", "other")}
_KEY = {"plate": vehicle_pb2.VEHICLE_KEY_PLATE, "vin": vehicle_pb2.VEHICLE_KEY_VIN}
_INT32 = range(-2**31, 2**31)
#: Top-level query fields; a home error reason starting with one names that field.
_FIELDS = frozenset({"reference", "kind", "loci", "fingers", "country", "plate", "vin", "tolerant"})


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


class _Bad(Exception):
    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason


def _each(items: Iterable, convert: Callable) -> list:
    """``convert`` applied to every item; every failure collected into one QueryRejected."""
    out, violations = [], []
    for index, item in enumerate(items):
        try:
            out.append(convert(item))
        except _Bad as bad:
            ref = item.reference if hasattr(item, "DESCRIPTOR") else _dict_reference(item)
            violations.append(FieldViolation(index, ref or None, bad.field, bad.reason))
    if violations:
        raise QueryRejected(violations)
    return out


def _dict_reference(item: object) -> str | None:
    ref = dict(item).get("reference") if isinstance(item, (dict, DuplicateKeys)) else None
    return ref if isinstance(ref, str) else None


def _object(raw: object, field: str = "") -> dict:
    """``raw`` as a dict; _Bad naming a repeated key (``DuplicateKeys``) or the wrong type."""
    if isinstance(raw, DuplicateKeys):
        keys = [k for k, _ in raw]
        repeated = next(k for k in keys if keys.count(k) > 1)
        raise _Bad(f"{field}.{repeated}" if field else repeated, "field given twice")
    if not isinstance(raw, dict):
        raise _Bad(field, f"expected a JSON object, got {type(raw).__name__}")
    return raw


def _reference(value: object) -> str:
    """A partner query's reference: required on the wire (the home allows none locally)."""
    if value is None or value == "":
        raise _Bad("reference", "missing: every partner query carries the requesting "
                                "state's reference")
    problem = check_reference(value)
    if problem:
        raise _Bad("reference", problem.split(": ", 1)[1])
    return value  # type: ignore[return-value]


def _kind_to_proto(data: dict, category: str) -> int:
    kind = data.get("kind")
    if kind is None:
        return common_pb2.RECORD_KIND_UNSPECIFIED
    if kind not in _KINDS[category]:
        raise _Bad("kind", f"{kind!r} is not {' or '.join(map(repr, _KINDS[category]))}")
    return _KIND[kind]


def _kind_from_proto(value: int, category: str, out: dict) -> None:
    if value == common_pb2.RECORD_KIND_UNSPECIFIED:
        return  # the home's default: stain (DNA), latent (fingerprints)
    name = _name(_KIND, value)
    if name not in _KINDS[category]:
        allowed = " or ".join(f"RECORD_KIND_{k.upper()}" for k in _KINDS[category])
        raise _Bad("kind", f"{common_pb2.RecordKind.Name(value) if name else value} is not "
                           f"a {category} kind: expected {allowed}")
    out["kind"] = name


def _name(table: dict, value: int) -> str | None:
    return next((name for name, number in table.items() if number == value), None)


def _shown(table: dict, value: int) -> str:
    """An enum value's JSON text; a value this version does not know stays visible."""
    return _name(table, value) or f"unknown({value})"


def _int32(value: object, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in _INT32:
        raise _Bad(field, f"expected an integer, got {value!r:.40}")
    return value


# ------------------------------------------------------------------------------ DNA
def dna_query_to_proto(raw: object) -> dna_pb2.DnaQuery:
    data = _object(raw)
    query = dna_pb2.DnaQuery(reference=_reference(data.get("reference")),
                             kind=_kind_to_proto(data, "dna"))
    loci = data.get("loci")
    if loci is None:
        raise _Bad("loci", "missing")
    for name, value in _object(loci, "loci").items():
        if isinstance(value, str):
            value = value.split(",")  # the spec's "6,9.3" form; the home trims and drops ""
        if not (isinstance(name, str) and isinstance(value, list)
                and all(isinstance(v, str) for v in value)):
            raise _Bad(f"loci.{name}", "alleles must be a string or a list of strings")
        query.loci[name].values.extend(value)
    return query


def dna_query_from_proto(query: dna_pb2.DnaQuery) -> dict:
    out = {"reference": _reference(query.reference)}
    _kind_from_proto(query.kind, "dna", out)
    out["loci"] = {name: list(alleles.values) for name, alleles in query.loci.items()}
    return out


def dna_answer_to_proto(answer: dict) -> dna_pb2.DnaAnswer:
    hits = [dna_pb2.DnaHit(reference=h["reference"], kind=_KIND[h["kind"]],
                           quality=_QUALITY[h["quality"]], matching_loci=h["matching_loci"],
                           compared_loci=h["compared_loci"], mismatches=h["mismatches"])
            for h in answer["hits"]]
    return dna_pb2.DnaAnswer(query=answer["query"] or "", hit=bool(hits), hits=hits)


def dna_answer_from_proto(answer: dna_pb2.DnaAnswer) -> dict:
    return {"query": answer.query, "hits": [
        {"reference": h.reference, "kind": _shown(_KIND, h.kind),
         "quality": _shown(_QUALITY, h.quality), "matching_loci": h.matching_loci,
         "compared_loci": h.compared_loci, "mismatches": h.mismatches} for h in answer.hits]}


# ------------------------------------------------------------------------ fingerprints
def finger_query_to_proto(raw: object) -> finger_pb2.FingerQuery:
    data = _object(raw)
    query = finger_pb2.FingerQuery(reference=_reference(data.get("reference")),
                                   kind=_kind_to_proto(data, "finger"))
    fingers = data.get("fingers", [])
    if not isinstance(fingers, list):
        raise _Bad("fingers", "expected a list of fingers")
    for i, finger in enumerate(fingers):
        query.fingers.append(_impression_to_proto(finger, f"fingers[{i}]"))
    return query


def _impression_to_proto(raw: object, field: str) -> finger_pb2.FingerImpression:
    if not isinstance(raw, dict):
        raise _Bad(field, "expected an object with 'position' and 'minutiae' or 'template'")
    if "position" not in raw:
        raise _Bad(f"{field}.position", "missing: expected the finger position 0-10")
    out = finger_pb2.FingerImpression(position=_int32(raw["position"], f"{field}.position"))
    if ("template" in raw) == ("minutiae" in raw):
        raise _Bad(field, "expected exactly one of 'minutiae' or 'template'")
    if "template" in raw:
        try:
            out.template = base64.b64decode(raw["template"], validate=True)
        except (TypeError, ValueError, binascii.Error):
            raise _Bad(f"{field}.template", "not valid base64 text (standard alphabet, padded)")
        return out
    field, minutiae = f"{field}.minutiae", raw["minutiae"]
    if not isinstance(minutiae, dict):
        raise _Bad(field, "expected an object with width, height, resolution_dpi and points")
    for key in ("width", "height"):
        if key not in minutiae:
            raise _Bad(f"{field}.{key}", f"missing: expected the image {key} in pixels")
        setattr(out.minutiae, key, _int32(minutiae[key], f"{field}.{key}"))
    if minutiae.get("resolution_dpi") is not None:
        dpi = _int32(minutiae["resolution_dpi"], f"{field}.resolution_dpi")
        out.minutiae.resolution_dpi = dpi
    points = minutiae.get("points")
    if not isinstance(points, list):
        raise _Bad(f"{field}.points", "expected a list of [x, y, angle_degrees, type, quality]")
    for j, point in enumerate(points):
        where = f"{field}.points[{j}]"
        if not isinstance(point, (list, tuple)) or len(point) != 5:
            raise _Bad(where, "expected [x, y, angle_degrees, type, quality]")
        x, y, angle, kind, quality = point
        if isinstance(angle, bool) or not isinstance(angle, (int, float)):
            raise _Bad(f"{where}.angle", f"expected degrees as a number, got {angle!r:.40}")
        if kind not in _MINUTIA:
            raise _Bad(f"{where}.type", f"{kind!r:.40}: expected 'ending', 'bifurcation' "
                                        "or 'other'")
        out.minutiae.points.add(x=_int32(x, f"{where}.x"), y=_int32(y, f"{where}.y"),
                                angle_degrees=angle, type=_MINUTIA[kind],
                                quality=_int32(quality, f"{where}.quality"))
    return out


def finger_query_from_proto(query: finger_pb2.FingerQuery) -> dict:
    out = {"reference": _reference(query.reference)}
    _kind_from_proto(query.kind, "finger", out)
    out["fingers"] = [_impression_from_proto(f, i) for i, f in enumerate(query.fingers)]
    return out


def _impression_from_proto(finger: finger_pb2.FingerImpression, i: int) -> dict:
    data = finger.WhichOneof("data")
    if data is None:
        raise _Bad(f"fingers[{i}]", "no data: set exactly one of template or minutiae")
    if data == "template":
        return {"position": finger.position,
                "template": base64.b64encode(finger.template).decode("ascii")}
    m = finger.minutiae
    minutiae = {"width": m.width, "height": m.height}
    if m.resolution_dpi:   # 0: not given, the home reads 500 dpi
        minutiae["resolution_dpi"] = m.resolution_dpi
    for j, p in enumerate(m.points):
        if _name(_MINUTIA, p.type) is None:
            raise _Bad(f"fingers[{i}].minutiae.points[{j}].type",
                       "expected MINUTIA_TYPE_ENDING, _BIFURCATION or _OTHER")
    minutiae["points"] = [[p.x, p.y, p.angle_degrees, _name(_MINUTIA, p.type), p.quality]
                          for p in m.points]
    return {"position": finger.position, "minutiae": minutiae}


def finger_answer_to_proto(answer: dict) -> finger_pb2.FingerAnswer:
    candidates = [finger_pb2.FingerCandidate(
        reference=c["reference"], kind=_KIND[c["kind"]], position=c["position"],
        score=c["score"], hit=c["hit"]) for c in answer["candidates"]]
    return finger_pb2.FingerAnswer(query=answer["query"] or "", hit=bool(answer["hit"]),
                                   candidates=candidates)


def finger_answer_from_proto(answer: finger_pb2.FingerAnswer) -> dict:
    return {"query": answer.query, "hit": answer.hit, "candidates": [
        {"reference": c.reference, "kind": _shown(_KIND, c.kind), "position": c.position,
         "score": c.score, "hit": c.hit} for c in answer.candidates]}


# ----------------------------------------------------------------------------- vehicles
def vehicle_query_to_proto(raw: object) -> vehicle_pb2.VehicleQuery:
    data = _object(raw)
    query = vehicle_pb2.VehicleQuery(reference=_reference(data.get("reference")))
    for key in ("country", "plate", "vin"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise _Bad(key, f"expected text, got {type(value).__name__}")
        setattr(query, key, value or "")
    tolerant = data.get("tolerant", False)
    if not isinstance(tolerant, bool):
        raise _Bad("tolerant", f"must be true or false, got {tolerant!r:.40}")
    query.tolerant = tolerant
    return query


def vehicle_query_from_proto(query: vehicle_pb2.VehicleQuery) -> dict:
    out = {"reference": _reference(query.reference)}
    out.update((k, getattr(query, k)) for k in ("country", "plate", "vin") if getattr(query, k))
    if query.tolerant:
        out["tolerant"] = True
    return out


def vehicle_answer_to_proto(answer: dict) -> vehicle_pb2.VehicleAnswer:
    hits = [vehicle_pb2.VehicleHit(reference=h["reference"], matched_on=_KEY[h["matched_on"]],
                                   tolerant=h["tolerant"]) for h in answer["hits"]]
    return vehicle_pb2.VehicleAnswer(query=answer["query"] or "", hit=bool(hits), hits=hits)


def vehicle_answer_from_proto(answer: vehicle_pb2.VehicleAnswer) -> dict:
    return {"query": answer.query, "hits": [
        {"reference": h.reference, "matched_on": _shown(_KEY, h.matched_on),
         "tolerant": h.tolerant} for h in answer.hits]}


# ------------------------------------------------------------------- per category
_CONVERT = {
    "dna": (dna_query_to_proto, dna_query_from_proto, dna_answer_to_proto, dna_answer_from_proto),
    "finger": (finger_query_to_proto, finger_query_from_proto, finger_answer_to_proto,
               finger_answer_from_proto),
    "vehicle": (vehicle_query_to_proto, vehicle_query_from_proto, vehicle_answer_to_proto,
                vehicle_answer_from_proto),
}


def queries_to_proto(category: str, queries: Iterable[object]) -> list:
    """Query messages of JSON query dicts; QueryRejected names every bad query."""
    return _each(queries, _CONVERT[category][0])


def request_to_proto(category: str, header: common_pb2.RequestHeader, queries: Iterable[object]):
    """The category's request message (``REQUESTS``) carrying ``header`` and ``queries``."""
    return REQUESTS[category](header=header, queries=queries_to_proto(category, queries))


def queries_from_proto(category: str, queries: Iterable) -> list[dict]:
    """The dicts ``home.<category>.search`` takes; QueryRejected names every bad query."""
    return _each(queries, _CONVERT[category][1])


def answers_to_proto(category: str, answers: Iterable[dict]) -> list:
    """Answer messages of home answers (same order); error answers raise QueryRejected."""
    out, violations = [], []
    for index, answer in enumerate(answers):
        if "error" in answer:
            violations += error_violations(index, answer.get("query"), answer["error"])
        else:
            out.append(_CONVERT[category][2](answer))
    if violations:
        raise QueryRejected(violations)
    return out


def error_violations(index: int, reference: str | None, error: str) -> list[FieldViolation]:
    """The violations of query ``index`` from a home error text (the ``error`` of a home
    answer, or a validator's reasons joined by '; '), each ``field: why`` reason naming its
    field in the query message's terms."""
    out = []
    for part in error.split("; "):
        field, sep, reason = part.partition(": ")
        if sep and re.split(r"[.\[]", field, maxsplit=1)[0] in _FIELDS:
            # The JSON point's "angle" is the message's Minutia.angle_degrees.
            field = re.sub(r"(points\[\d+\])\.angle$", r"\1.angle_degrees", field)
            out.append(FieldViolation(index, reference, field, reason))
        else:
            out.append(FieldViolation(index, reference, "", part))
    return out


def answers_from_proto(category: str, answers: Iterable) -> list[dict]:
    """The local CLI's answer dicts of answer messages, same order."""
    return [_CONVERT[category][3](answer) for answer in answers]


def header_to_json(header: common_pb2.AnswerHeader) -> dict:
    """The answer header as JSON fields; timestamps as RFC 3339 UTC text, None when unset."""
    def stamp(name: str) -> str | None:
        return getattr(header, name).ToJsonString() if header.HasField(name) else None
    return {"partner": header.partner, "request_id": header.request_id,
            "answer_id": header.answer_id, "received_at": stamp("received_at"),
            "answered_at": stamp("answered_at")}


def response_to_json(category: str, response) -> list[dict]:
    """One dict per answer: the answering ``partner``, the local CLI's answer fields, then
    the rest of the answer header (ids and timestamps)."""
    head = header_to_json(response.header)
    partner = {"partner": head.pop("partner")}
    return [{**partner, **answer, **head} for answer in answers_from_proto(category, response.answers)]

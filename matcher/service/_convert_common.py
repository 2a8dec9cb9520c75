"""Pieces every category's conversion shares: the query head (reference and record kind),
JSON field readers that raise ``BadField``, enum names, and the answer header as JSON.

JSON side = the dicts of the CLI and ``home.<category>.search``; proto side = ``prum.v1``.
"""

from __future__ import annotations

from matcher._proto.prum.v1 import common_pb2
from matcher.records import DuplicateKeys, check_reference
from matcher.service._convert_errors import BadField

#: The record kinds a query of each category may name (vehicles have none).
KINDS = {"dna": ("person", "stain"), "finger": ("person", "latent")}
KIND = {"person": common_pb2.RECORD_KIND_PERSON, "stain": common_pb2.RECORD_KIND_STAIN,
        "latent": common_pb2.RECORD_KIND_LATENT}
#: The values a protobuf int32 field can hold.
INT32 = range(-2**31, 2**31)


# ------------------------------------------------------------------------ query head
def head_to_proto(data: dict, category: str) -> dict:
    """The query message keywords every category starts with: ``reference`` and, for DNA and
    fingerprints, ``kind``, read from the JSON query ``data`` (see ``as_object``)."""
    head = {"reference": _reference(data.get("reference"))}
    if category in KINDS:
        head["kind"] = _kind_to_proto(data, category)
    return head


def head_from_proto(query, category: str) -> dict:
    """The start of a query dict for the home: ``reference`` and, when the message names
    one, ``kind``."""
    out = {"reference": _reference(query.reference)}
    if category in KINDS:
        _kind_from_proto(query.kind, category, out)
    return out


def _reference(value: object) -> str:
    """A partner query's reference: required on the wire (the home allows none locally)."""
    if value is None or value == "":
        raise BadField("reference", "missing: every partner query carries the requesting "
                                    "state's reference")
    problem = check_reference(value)
    if problem:
        raise BadField("reference", problem.split(": ", 1)[1])
    return value  # type: ignore[return-value]


def _kind_to_proto(data: dict, category: str) -> int:
    kind = data.get("kind")
    if kind is None:
        return common_pb2.RECORD_KIND_UNSPECIFIED
    if kind not in KINDS[category]:
        raise BadField("kind", f"{kind!r} is not {' or '.join(map(repr, KINDS[category]))}")
    return KIND[kind]


def _kind_from_proto(value: int, category: str, out: dict) -> None:
    if value == common_pb2.RECORD_KIND_UNSPECIFIED:
        return  # the home's default: stain (DNA), latent (fingerprints)
    name = enum_name(KIND, value)
    if name not in KINDS[category]:
        allowed = " or ".join(f"RECORD_KIND_{k.upper()}" for k in KINDS[category])
        raise BadField("kind", f"{common_pb2.RecordKind.Name(value) if name else value} is "
                               f"not a {category} kind: expected {allowed}")
    out["kind"] = name


# ----------------------------------------------------------------------- JSON fields
def as_object(raw: object, field: str = "") -> dict:
    """``raw`` as a dict; BadField naming a repeated key (``DuplicateKeys``) or wrong type."""
    if isinstance(raw, DuplicateKeys):
        keys = [k for k, _ in raw]
        repeated = next(k for k in keys if keys.count(k) > 1)
        raise BadField(f"{field}.{repeated}" if field else repeated, "field given twice")
    if not isinstance(raw, dict):
        raise BadField(field, f"expected a JSON object, got {type(raw).__name__}")
    return raw


def int32(value: object, field: str) -> int:
    """``value`` as an int32; a float with no fraction counts (JSON has one number type)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in INT32:
        raise BadField(field, f"expected an integer, got {value!r:.40}")
    return value


# ------------------------------------------------------------------------- answers
def enum_name(table: dict, value: int) -> str | None:
    """The JSON name ``table`` gives the enum ``value``, None when it gives none."""
    return next((name for name, number in table.items() if number == value), None)


def shown(table: dict, value: int) -> str:
    """An enum value's JSON text; a value this version does not know stays visible."""
    return enum_name(table, value) or f"unknown({value})"


def answer_query(answer: dict) -> str:
    """A home answer's query reference for the wire ('' stands for the home's None, a query
    without a reference, which proto3 text cannot hold)."""
    return answer["query"] or ""


def header_to_json(header: common_pb2.AnswerHeader) -> dict:
    """The answer header as JSON fields; timestamps as RFC 3339 UTC text, None when unset."""
    def stamp(name: str) -> str | None:
        return getattr(header, name).ToJsonString() if header.HasField(name) else None
    return {"partner": header.partner, "request_id": header.request_id,
            "answer_id": header.answer_id, "received_at": stamp("received_at"),
            "answered_at": stamp("answered_at")}

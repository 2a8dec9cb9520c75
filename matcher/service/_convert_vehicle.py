"""Vehicle lookups and answers: JSON dicts <-> ``prum.v1`` VehicleQuery / VehicleAnswer.

A query names a country + plate, or a VIN, and may ask for ``tolerant`` matching.  An
answer message carries each hit's reference, which key matched and whether tolerantly,
never a stored plate or VIN.
"""

from __future__ import annotations

from matcher._proto.prum.v1 import vehicle_pb2
from matcher.service._convert_common import (answer_query, as_object, head_from_proto,
                                             head_to_proto, shown)
from matcher.service._convert_errors import BadField

#: The key a vehicle hit matched on -> wire enum.
KEY = {"plate": vehicle_pb2.VEHICLE_KEY_PLATE, "vin": vehicle_pb2.VEHICLE_KEY_VIN}
#: The optional text fields of a query; empty on the wire = not given.
_TEXT_FIELDS = ("country", "plate", "vin")


def vehicle_query_to_proto(raw: object) -> vehicle_pb2.VehicleQuery:
    """The VehicleQuery of one JSON query dict; BadField names the offending field."""
    data = as_object(raw)
    query = vehicle_pb2.VehicleQuery(**head_to_proto(data, "vehicle"))
    for key in _TEXT_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise BadField(key, f"expected text, got {type(value).__name__}")
        setattr(query, key, value or "")
    tolerant = data.get("tolerant", False)
    if not isinstance(tolerant, bool):
        raise BadField("tolerant", f"must be true or false, got {tolerant!r:.40}")
    query.tolerant = tolerant
    return query


def vehicle_query_from_proto(query: vehicle_pb2.VehicleQuery) -> dict:
    """The dict ``home.vehicle.search`` takes for one VehicleQuery (unset fields left out)."""
    out = head_from_proto(query, "vehicle")
    out.update((k, getattr(query, k)) for k in _TEXT_FIELDS if getattr(query, k))
    if query.tolerant:
        out["tolerant"] = True
    return out


def vehicle_answer_to_proto(answer: dict) -> vehicle_pb2.VehicleAnswer:
    """The VehicleAnswer of one home answer (without ``error``)."""
    hits = [vehicle_pb2.VehicleHit(reference=h["reference"], matched_on=KEY[h["matched_on"]],
                                   tolerant=h["tolerant"]) for h in answer["hits"]]
    return vehicle_pb2.VehicleAnswer(query=answer_query(answer), hit=bool(hits), hits=hits)


def vehicle_answer_from_proto(answer: vehicle_pb2.VehicleAnswer) -> dict:
    """The local CLI's answer dict of one VehicleAnswer."""
    return {"query": answer.query, "hits": [
        {"reference": h.reference, "matched_on": shown(KEY, h.matched_on),
         "tolerant": h.tolerant} for h in answer.hits]}

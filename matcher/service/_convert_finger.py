"""Fingerprint queries and answers: JSON dicts <-> ``prum.v1`` FingerQuery / FingerAnswer.

Each finger of a query carries either minutiae (image size, optional resolution, points
``[x, y, angle_degrees, type, quality]``) or a standard template: bytes on the wire, base64
text (standard alphabet, padded) in JSON.  An answer message carries each candidate's
reference, kind, finger position, score and hit flag, never a stored template.
"""

from __future__ import annotations

import base64
import binascii

from matcher._proto.prum.v1 import finger_pb2
from matcher.service._convert_common import (KIND, answer_query, as_object, enum_name,
                                             head_from_proto, head_to_proto, int32, shown)
from matcher.service._convert_errors import BadField

#: Minutia type names of the JSON point -> wire enum.
MINUTIA = {name: getattr(finger_pb2, f"MINUTIA_TYPE_{name.upper()}")
           for name in ("ending", "bifurcation", "other")}
_POINT_SHAPE = "[x, y, angle_degrees, type, quality]"


def finger_query_to_proto(raw: object) -> finger_pb2.FingerQuery:
    """The FingerQuery of one JSON query dict; BadField names the offending field."""
    data = as_object(raw)
    query = finger_pb2.FingerQuery(**head_to_proto(data, "finger"))
    fingers = data.get("fingers", [])
    if not isinstance(fingers, list):
        raise BadField("fingers", "expected a list of fingers")
    for i, finger in enumerate(fingers):
        query.fingers.append(_impression_to_proto(finger, f"fingers[{i}]"))
    return query


def _impression_to_proto(raw: object, field: str) -> finger_pb2.FingerImpression:
    if not isinstance(raw, dict):
        raise BadField(field, "expected an object with 'position' and 'minutiae' or 'template'")
    if "position" not in raw:
        raise BadField(f"{field}.position", "missing: expected the finger position 0-10")
    out = finger_pb2.FingerImpression(position=int32(raw["position"], f"{field}.position"))
    if ("template" in raw) == ("minutiae" in raw):
        raise BadField(field, "expected exactly one of 'minutiae' or 'template'")
    if "template" in raw:
        try:
            out.template = base64.b64decode(raw["template"], validate=True)
        except (TypeError, ValueError, binascii.Error):
            raise BadField(f"{field}.template",
                           "not valid base64 text (standard alphabet, padded)")
        return out
    _minutiae_to_proto(raw["minutiae"], f"{field}.minutiae", out.minutiae)
    return out


def _minutiae_to_proto(minutiae: object, field: str, out: finger_pb2.Minutiae) -> None:
    if not isinstance(minutiae, dict):
        raise BadField(field, "expected an object with width, height, resolution_dpi and points")
    for key in ("width", "height"):
        if key not in minutiae:
            raise BadField(f"{field}.{key}", f"missing: expected the image {key} in pixels")
        setattr(out, key, int32(minutiae[key], f"{field}.{key}"))
    if minutiae.get("resolution_dpi") is not None:
        out.resolution_dpi = int32(minutiae["resolution_dpi"], f"{field}.resolution_dpi")
    points = minutiae.get("points")
    if not isinstance(points, list):
        raise BadField(f"{field}.points", f"expected a list of {_POINT_SHAPE}")
    for j, point in enumerate(points):
        where = f"{field}.points[{j}]"
        if not isinstance(point, (list, tuple)) or len(point) != 5:
            raise BadField(where, f"expected {_POINT_SHAPE}")
        x, y, angle, kind, quality = point
        if isinstance(angle, bool) or not isinstance(angle, (int, float)):
            raise BadField(f"{where}.angle", f"expected degrees as a number, got {angle!r:.40}")
        if kind not in MINUTIA:
            raise BadField(f"{where}.type", f"{kind!r:.40}: expected 'ending', 'bifurcation' "
                                            "or 'other'")
        out.points.add(x=int32(x, f"{where}.x"), y=int32(y, f"{where}.y"),
                       angle_degrees=angle, type=MINUTIA[kind],
                       quality=int32(quality, f"{where}.quality"))


def finger_query_from_proto(query: finger_pb2.FingerQuery) -> dict:
    """The dict ``home.finger.search`` takes for one FingerQuery."""
    out = head_from_proto(query, "finger")
    out["fingers"] = [_impression_from_proto(f, i) for i, f in enumerate(query.fingers)]
    return out


def _impression_from_proto(finger: finger_pb2.FingerImpression, i: int) -> dict:
    data = finger.WhichOneof("data")
    if data is None:
        raise BadField(f"fingers[{i}]", "no data: set exactly one of template or minutiae")
    if data == "template":
        return {"position": finger.position,
                "template": base64.b64encode(finger.template).decode("ascii")}
    m = finger.minutiae
    minutiae = {"width": m.width, "height": m.height}
    if m.resolution_dpi:   # 0: not given, the home reads 500 dpi
        minutiae["resolution_dpi"] = m.resolution_dpi
    points = []
    for j, p in enumerate(m.points):
        kind = enum_name(MINUTIA, p.type)
        if kind is None:
            raise BadField(f"fingers[{i}].minutiae.points[{j}].type",
                           "expected MINUTIA_TYPE_ENDING, _BIFURCATION or _OTHER")
        points.append([p.x, p.y, p.angle_degrees, kind, p.quality])
    minutiae["points"] = points
    return {"position": finger.position, "minutiae": minutiae}


def finger_answer_to_proto(answer: dict) -> finger_pb2.FingerAnswer:
    """The FingerAnswer of one home answer (without ``error``)."""
    candidates = [finger_pb2.FingerCandidate(
        reference=c["reference"], kind=KIND[c["kind"]], position=c["position"],
        score=c["score"], hit=c["hit"]) for c in answer["candidates"]]
    return finger_pb2.FingerAnswer(query=answer_query(answer), hit=bool(answer["hit"]),
                                   candidates=candidates)


def finger_answer_from_proto(answer: finger_pb2.FingerAnswer) -> dict:
    """The local CLI's answer dict of one FingerAnswer."""
    return {"query": answer.query, "hit": answer.hit, "candidates": [
        {"reference": c.reference, "kind": shown(KIND, c.kind), "position": c.position,
         "score": c.score, "hit": c.hit} for c in answer.candidates]}

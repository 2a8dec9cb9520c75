"""JSON views of fingers and templates.

* The architecture note's finger form (``notes/architecture.md``, "Fingerprint records"):
  ``{"position": 7, "minutiae": {"width", "height", "resolution_dpi", "points": [[x, y,
  angle, type, quality], ...]}}`` or ``{"position": 2, "template": "<base64 record>"}``.
  Points are pixels (origin top-left, y down), degrees counter-clockwise in [0, 360), type
  ``ending`` / ``bifurcation`` / ``other``, quality 0-100.
* :func:`template_to_json`, the readable dump of a whole binary record that ``matcher finger
  inspect FILE`` prints.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import numbers
import sys
from dataclasses import asdict
from pathlib import Path

from matcher.finger import _iso2005 as iso
from matcher.finger.model import MAX_MINUTIAE, MINUTIA_TYPES, POSITION_NAMES, Finger, Minutia
from matcher.finger.templates import (
    ANSI2004, ANSI2009, ISO2005, ISO2011, ExtendedBlock, TemplateError, TemplateRecord,
    read_template,
)

#: Resolution assumed when a JSON finger gives none (the architecture's example value).
DEFAULT_RESOLUTION_DPI = 500
#: Longest base64 template accepted.  A tenprint record of 10 views with 255 minutiae each
#: is under 20 KB; 1 MiB leaves room for extended data without unbounded allocation.
MAX_TEMPLATE_BASE64_CHARS = 1 << 20
#: Largest file ``inspect`` will read: far above any real record, far below harm.
MAX_TEMPLATE_FILE_BYTES = 16 << 20
BLOCK_KINDS = {1: "ridge_counts", 2: "cores_and_deltas", 3: "zonal_quality"}
RIDGE_COUNT_METHODS = {0: "unspecified", 1: "quadrants", 2: "octants"}
RIDGE_COUNT_EDGE_BYTES = 3            # from index, to index, count
IMPRESSION_NAMES = {0: "live_plain", 1: "live_rolled", 2: "nonlive_plain",
                    3: "nonlive_rolled", 8: "swipe"}


def finger_from_json(obj: object, *, field: str = "fingers[0]") -> Finger:
    """One finger of a JSON record, validated; errors name the JSON path under ``field``."""
    if not isinstance(obj, dict):
        raise TemplateError(field, f"expected an object with 'position' and 'minutiae' or "
                                   f"'template', got {type(obj).__name__}")
    if "position" not in obj:
        raise TemplateError(f"{field}.position", "missing: expected the finger position 0-10")
    position = iso.check_position(obj["position"], f"{field}.position")
    if ("minutiae" in obj) == ("template" in obj):
        raise TemplateError(field, "expected exactly one of 'minutiae' or 'template'")
    if "template" in obj:
        return _finger_from_template(obj["template"], position, f"{field}.template")
    return _finger_from_minutiae(obj["minutiae"], position, f"{field}.minutiae")


def finger_to_json(finger: Finger) -> dict:
    """The architecture's minutiae form of ``finger``."""
    return {"position": finger.position, "minutiae": {
        "width": finger.width, "height": finger.height, "resolution_dpi": finger.resolution_dpi,
        "points": [[m.x, m.y, m.angle, m.type, m.quality] for m in finger.minutiae]}}


def _json_int(obj: dict, key: str, field: str, low: int, high: int, what: str, default=None) -> int:
    if key not in obj and default is not None:
        return default
    if key not in obj:
        raise TemplateError(f"{field}.{key}", f"missing: expected {what} ({low}-{high})")
    value = obj[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return iso.check_int(value, low, high, f"{field}.{key}", what)


def _finger_from_minutiae(obj: object, position: int, field: str) -> Finger:
    if not isinstance(obj, dict):
        raise TemplateError(field, f"expected an object with width, height, resolution_dpi and "
                                   f"points, got {type(obj).__name__}")
    width = _json_int(obj, "width", field, 1, 0xFFFF, "the image width in pixels")
    height = _json_int(obj, "height", field, 1, 0xFFFF, "the image height in pixels")
    dpi = _json_int(obj, "resolution_dpi", field, 1, 0xFFFF, "dots per inch",
                    DEFAULT_RESOLUTION_DPI)
    points = obj.get("points")
    if not isinstance(points, list):
        raise TemplateError(f"{field}.points", "expected a list of [x, y, angle_degrees, type, "
                                               "quality]")
    if len(points) > MAX_MINUTIAE:
        raise TemplateError(f"{field}.points", f"{len(points)} minutiae: at most "
                                               f"{MAX_MINUTIAE} per finger")
    if not points:
        raise TemplateError(f"{field}.points", "no minutiae: an empty finger cannot be "
                                               "matched; expected at least one point")
    minutiae = [_point(point, f"{field}.points[{j}]", width, height)
                for j, point in enumerate(points)]
    return Finger(position, minutiae, width=width, height=height, resolution_dpi=dpi)


def _point(point: object, field: str, width: int, height: int) -> Minutia:
    if not isinstance(point, (list, tuple)) or len(point) != 5:
        raise TemplateError(field, f"{point!r:.60}: expected [x, y, angle_degrees, type, quality]")
    x, y, angle, kind, quality = point
    coords = []
    for axis, value, limit, size in (("x", x, width, "width"), ("y", y, height, "height")):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        coords.append(iso.check_inside(value, limit, f"{field}.{axis}", axis, size))
    if (isinstance(angle, bool) or not isinstance(angle, numbers.Real)
            or not math.isfinite(angle) or not 0 <= angle < 360):
        raise TemplateError(f"{field}.angle", f"{angle!r} is out of range: expected degrees "
                                              "counter-clockwise in [0, 360)")
    if kind not in MINUTIA_TYPES:
        raise TemplateError(f"{field}.type", f"unknown minutia type {kind!r}: expected "
                                             "'ending', 'bifurcation' or 'other'")
    quality = iso.check_int(quality, 0, iso.MAX_QUALITY, f"{field}.quality",
                            "quality, 0 = not reported")
    return Minutia(coords[0], coords[1], float(angle), kind, quality)


def _finger_from_template(value: object, position: int, field: str) -> Finger:
    if not isinstance(value, str):
        raise TemplateError(field, f"expected a base64 string, got {type(value).__name__}")
    if len(value) > MAX_TEMPLATE_BASE64_CHARS:
        raise TemplateError(field, f"{len(value)} characters: at most "
                                   f"{MAX_TEMPLATE_BASE64_CHARS} for one template")
    try:
        data = base64.b64decode(value, validate=True)
    except ValueError:
        raise TemplateError(field, "not valid base64 (standard alphabet, padded)") from None
    try:
        record = read_template(data)
    except TemplateError as error:
        raise error.within(field) from None
    fingers = record.fingers
    chosen = next((f for f in fingers if f.position == position), None)
    if chosen is None and len(fingers) == 1 and (position == 0 or fingers[0].position == 0):
        chosen = fingers[0]   # one view: an unknown position on either side is filled in
        chosen.position = chosen.position or position
    if chosen is None:
        held = sorted({f.position for f in fingers})
        raise TemplateError(field, f"holds no view of finger position {position} "
                                   f"(it holds positions {held})")
    return chosen


def template_to_json(record: TemplateRecord) -> dict:
    """The whole record as plain JSON values (see ``templates.template_to_json``)."""
    fmt = record.format
    header: dict = {}
    if fmt in (ANSI2004, ANSI2009):
        header.update(cbeff_owner=record.cbeff_owner, cbeff_type=record.cbeff_type)
    if fmt != ISO2011:
        header.update(equipment_compliance=record.equipment_compliance,
                      sensor_certified=record.sensor_certified, equipment_id=record.equipment_id)
    if fmt in (ISO2005, ANSI2004):
        header.update(width=record.width, height=record.height,
                      resolution_x_ppcm=record.resolution_x, resolution_y_ppcm=record.resolution_y)
    if fmt == ISO2011:
        header["certification_flag"] = record.certification_flag
    if record.long_length_field:
        header["long_length_field"] = True
    if record.length_skew:
        header["declared_length_minus_actual"] = record.length_skew
    if record.padding:
        header["padding_bytes"] = len(record.padding)
    return {"format": fmt, "header": header,
            "fingers": [_finger_json(f, record.view(i), fmt) for i, f in enumerate(record.fingers)]}


def _finger_json(finger: Finger, detail, fmt: str) -> dict:
    position = finger.position
    known = isinstance(position, int) and 0 <= position < len(POSITION_NAMES)
    out = {"position": position, "position_name": POSITION_NAMES[position] if known else None,
           "view": finger.view, "impression": finger.impression,
           "impression_name": IMPRESSION_NAMES.get(finger.impression), "quality": finger.quality,
           "width": finger.width, "height": finger.height, "resolution_dpi": finger.resolution_dpi}
    if fmt in (ANSI2009, ISO2011):
        out.update(resolution_x_ppcm=detail.resolution_x, resolution_y_ppcm=detail.resolution_y)
    if fmt == ANSI2009:
        out.update(quality_vendor=detail.quality_vendor, quality_algorithm=detail.quality_algorithm)
        if detail.raw_quality is not None:
            out["raw_quality"] = detail.raw_quality
    if fmt == ISO2011:
        out.update(capture_time=asdict(detail.capture_time),
                   device_technology=detail.device_technology, device_vendor=detail.device_vendor,
                   device_id=detail.device_id,
                   quality_blocks=[asdict(b) for b in detail.quality_blocks],
                   certification_blocks=[asdict(b) for b in detail.certification_blocks],
                   ending_type=detail.ending_type, minutia_record_size=detail.minutia_record_size)
    out["minutiae_count"] = len(finger.minutiae)
    out["points"] = [[m.x, m.y, m.angle, m.type, m.quality] for m in finger.minutiae]
    if detail.raw_angles:
        out["raw_angles"] = list(detail.raw_angles)
    if any(q in iso.SPECIAL_QUALITIES for q in detail.raw_qualities):
        out["raw_qualities"] = list(detail.raw_qualities)
    out["extended_data"] = [_block_json(block) for block in detail.extended]
    if detail.block_length_includes_header is not None:
        out["block_length_includes_header"] = detail.block_length_includes_header
    return out


def _block_json(block: ExtendedBlock) -> dict:
    out = {"type": block.type, "kind": BLOCK_KINDS.get(block.type, "vendor"),
           "bytes": len(block.data), "data_base64": base64.b64encode(block.data).decode("ascii")}
    if block.type == 1:
        out["ridge_counts"] = decode_ridge_counts(block.data)
    return out


def decode_ridge_counts(data: bytes) -> dict:
    """A ridge-count block for display: edge-picking method, then ``[from, to, count]``
    edges (minutia indices, ridges crossed); bytes that do not make a whole edge are counted
    as ``trailing_bytes`` (some producers leave them)."""
    if not data:
        return {"method": None, "method_name": None, "edges": [], "trailing_bytes": 0}
    whole = (len(data) - 1) // RIDGE_COUNT_EDGE_BYTES * RIDGE_COUNT_EDGE_BYTES
    edges = [list(data[k:k + RIDGE_COUNT_EDGE_BYTES])
             for k in range(1, 1 + whole, RIDGE_COUNT_EDGE_BYTES)]
    return {"method": data[0], "method_name": RIDGE_COUNT_METHODS.get(data[0]), "edges": edges,
            "trailing_bytes": len(data) - 1 - whole}


def dumps_readable(value: object, level: int = 0) -> str:
    """JSON with objects and nested lists indented, lists of plain values on one line."""
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {dumps_readable(v, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [inner + dumps_readable(v, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{outer}]"
    return json.dumps(value, ensure_ascii=False)


def inspect_main(argv: list[str]) -> int:
    """``matcher finger inspect FILE``; see :func:`matcher.finger.templates.inspect_main`."""
    parser = argparse.ArgumentParser(
        prog="matcher finger inspect",
        description="Print an ISO/IEC 19794-2 or ANSI INCITS 378 minutiae record as JSON.")
    parser.add_argument("file", help="binary template file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_TEMPLATE_FILE_BYTES:
            print(f"matcher finger inspect: {path}: {path.stat().st_size} bytes is too large for a "
                  f"template (at most {MAX_TEMPLATE_FILE_BYTES})", file=sys.stderr)
            return 1
        data = path.read_bytes()
    except OSError as error:
        print(f"matcher finger inspect: cannot read {path}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    try:
        record = read_template(data)
    except TemplateError as error:
        print(f"matcher finger inspect: {path}: not a valid template: {error}", file=sys.stderr)
        return 1
    print(dumps_readable({"file": str(path), "bytes": len(data), **template_to_json(record)}))
    return 0

"""The architecture note's JSON finger form (``notes/architecture.md``, "Fingerprint records"):
``{"position": 7, "minutiae": {"width", "height", "resolution_dpi", "points": [[x, y, angle,
type, quality], ...]}}`` or ``{"position": 2, "template": "<base64 record>"}``.  Points are
pixels (origin top-left, y down), degrees counter-clockwise in [0, 360), type ``ending`` /
``bifurcation`` / ``other``, quality 0-100.
"""

from __future__ import annotations

import base64
import math
import numbers

from matcher.finger._template_binary import check_int
from matcher.finger._template_codec import read_template
from matcher.finger._template_error import TemplateError
from matcher.finger._template_fields import MAX_QUALITY, check_inside, check_position
from matcher.finger.model import MAX_MINUTIAE, MINUTIA_TYPES, Finger, Minutia

#: Resolution assumed when a JSON finger gives none (the architecture's example value).
DEFAULT_RESOLUTION_DPI = 500
#: Longest base64 template accepted.  A tenprint record of 10 views with 255 minutiae each
#: is under 20 KB; 1 MiB leaves room for extended data without unbounded allocation.
MAX_TEMPLATE_BASE64_CHARS = 1 << 20


def finger_from_json(obj: object, *, field: str = "fingers[0]") -> Finger:
    """Parse one finger of the architecture's JSON record form, either
    ``{"position": 7, "minutiae": {"width", "height", "resolution_dpi", "points": [...]}}``
    or ``{"position": 2, "template": "<base64 ISO/ANSI record>"}``, taking the record's first
    view of that position (a lone view with the position unknown on either side is taken
    too).  Errors name the JSON path under ``field``, e.g. ``fingers[0].minutiae.points[3].x``."""
    if not isinstance(obj, dict):
        raise TemplateError(field, f"expected an object with 'position' and 'minutiae' or "
                                   f"'template', got {type(obj).__name__}")
    if "position" not in obj:
        raise TemplateError(f"{field}.position", "missing: expected the finger position 0-10")
    position = check_position(obj["position"], f"{field}.position")
    if ("minutiae" in obj) == ("template" in obj):
        raise TemplateError(field, "expected exactly one of 'minutiae' or 'template'")
    if "template" in obj:
        return _finger_from_template(obj["template"], position, f"{field}.template")
    return _finger_from_minutiae(obj["minutiae"], position, f"{field}.minutiae")


def finger_to_json(finger: Finger) -> dict:
    """The architecture's JSON minutiae form of ``finger`` (inverse of finger_from_json)."""
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
    return check_int(value, low, high, f"{field}.{key}", what)


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
        coords.append(check_inside(value, limit, f"{field}.{axis}", axis, size))
    if (isinstance(angle, bool) or not isinstance(angle, numbers.Real)
            or not math.isfinite(angle) or not 0 <= angle < 360):
        raise TemplateError(f"{field}.angle", f"{angle!r} is out of range: expected degrees "
                                              "counter-clockwise in [0, 360)")
    if kind not in MINUTIA_TYPES:
        raise TemplateError(f"{field}.type", f"unknown minutia type {kind!r}: expected "
                                             "'ending', 'bifurcation' or 'other'")
    quality = check_int(quality, 0, MAX_QUALITY, f"{field}.quality",
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

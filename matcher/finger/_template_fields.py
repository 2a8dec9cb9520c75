"""Checks and conversions of the field values all editions share: finger position, minutia
coordinates, quality codes, image size and resolution, and the record-level checks made
before writing.
"""

from __future__ import annotations

import numbers

from matcher.finger._template_binary import Cursor, check_int
from matcher.finger._template_error import TemplateError
from matcher.finger._template_record import TemplateRecord, ViewDetail
from matcher.finger.model import Finger

COORDINATE_LIMIT = 1 << 14       # minutia x and y are 14-bit fields
MAX_POSITION = 10                # 0 unknown, 1-5 right thumb..little, 6-10 left thumb..little
MAX_QUALITY = 100
SPECIAL_QUALITIES = (254, 255)   # 2009/2011 editions: not reported, failed to compute
CM_PER_INCH = 2.54


def check_position(position: object, field: str) -> int:
    return check_int(position, 0, MAX_POSITION, field, "a known finger position (0 unknown, "
                     "1-5 right thumb..little, 6-10 left thumb..little)")


def check_inside(value: object, limit: int, field: str, axis: str, size: str) -> int:
    """A minutia coordinate, which must lie inside the image and fit 14 bits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TemplateError(field, f"got {value!r:.40}, expected an integer pixel coordinate")
    if not 0 <= value < min(limit, COORDINATE_LIMIT):
        raise TemplateError(field, f"{value} is outside the image: expected 0 <= {axis} < "
                                   f"{size} {limit} (and < {COORDINATE_LIMIT}, a 14-bit field)")
    return int(value)


def decode_quality(raw: int, special_ok: bool, field: str) -> int:
    """Model quality 0-100 of a stored quality byte; the special codes become 0."""
    if raw <= MAX_QUALITY:
        return raw
    if special_ok and raw in SPECIAL_QUALITIES:
        return 0
    extra = ", 254 (not reported) or 255 (failed)" if special_ok else ""
    raise TemplateError(field, f"quality {raw} is out of range: expected 0-100{extra}")


def encode_quality(value: object, raw: object, special_ok: bool, field: str) -> int:
    """The quality byte for model quality ``value``; a special raw code stands for 0."""
    value = check_int(value, 0, MAX_QUALITY, field, "a quality (0 = not reported)")
    return raw if special_ok and value == 0 and raw in SPECIAL_QUALITIES else value


def ppcm_to_dpi(ppcm: int) -> int:
    return round(ppcm * CM_PER_INCH)


def dpi_to_ppcm(dpi: int) -> int:
    return round(dpi / CM_PER_INCH)


def read_geometry(cursor: Cursor, field: str) -> list[int]:
    """Width, height (pixels), x and y resolution (pixels per cm), each non-zero."""
    values = []
    for name in ("width", "height", "resolution_x", "resolution_y"):
        values.append(cursor.u16(f"{field}.{name}"))
        if not values[-1]:
            raise TemplateError(f"{field}.{name}", "0: expected a non-zero size or resolution")
    return values


def geometry(record: TemplateRecord, finger: Finger, detail: ViewDetail, field: str) -> list[int]:
    """Width, height, x/y resolution of a per-view edition's view: the view's own, else the
    record's, else derived from the finger's dpi; each a non-zero 16-bit value."""
    fallback = dpi_to_ppcm(finger.resolution_dpi)
    return _checked_geometry([finger.width or record.width, finger.height or record.height,
                              detail.resolution_x or record.resolution_x or fallback,
                              detail.resolution_y or record.resolution_y or fallback], field)


def record_geometry(record: TemplateRecord) -> list[int]:
    """Header geometry of a 2004/2005 record: the record's, else its first view's."""
    first, detail = record.fingers[0], record.view(0)
    fallback = dpi_to_ppcm(first.resolution_dpi)
    return _checked_geometry([record.width or first.width, record.height or first.height,
                              record.resolution_x or detail.resolution_x or fallback,
                              record.resolution_y or detail.resolution_y or fallback], "header")


def _checked_geometry(values: list, field: str) -> list[int]:
    for name, value in zip(("width", "height", "resolution_x", "resolution_y"), values):
        check_int(value, 1, 0xFFFF, f"{field}.{name}", "a non-zero 16-bit value")
    return values


def with_first_view_geometry(record: TemplateRecord) -> TemplateRecord:
    """``record``, read in a per-view edition, with its record-level geometry set to repeat
    the first view's, which is what a conversion to a 2004/2005 edition puts in its header."""
    record.width, record.height = record.fingers[0].width, record.fingers[0].height
    record.resolution_x = record.views[0].resolution_x
    record.resolution_y = record.views[0].resolution_y
    return record


def check_fingers(record: TemplateRecord, limit: int) -> None:
    check_int(len(record.fingers), 1, limit, "fingers", "a number of finger views")
    for i, finger in enumerate(record.fingers):
        if not isinstance(finger, Finger):
            raise TemplateError(f"fingers[{i}]", f"expected a Finger, got {type(finger).__name__}")


def check_padding(record: TemplateRecord) -> bytes:
    if not isinstance(record.padding, (bytes, bytearray)):
        raise TemplateError("padding", "expected bytes")
    return bytes(record.padding)

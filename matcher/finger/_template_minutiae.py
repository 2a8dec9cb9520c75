"""The minutia record every edition shares: type << 14 | x (2 bytes), reserved << 14 | y
(2 bytes), angle code (1 byte) and quality (1 byte; ISO 19794-2:2011 may leave it out).
"""

from __future__ import annotations

import math
import numbers
import struct

from matcher.finger._template_binary import Cursor
from matcher.finger._template_error import TemplateError
from matcher.finger._template_fields import check_inside, decode_quality, encode_quality
from matcher.finger._template_record import ANGLE_UNIT_DEGREES, ViewDetail
from matcher.finger.model import MAX_MINUTIAE, MINUTIA_TYPES, TYPE_CODES, Finger, Minutia

MIN_MINUTIAE = 1                 # a view without minutiae cannot be matched
ISO_ANGLE_UNIT = 360 / 256       # degrees per ISO angle code


def read_minutiae(cursor: Cursor, count: int, field: str, width: int, height: int, fmt: str,
                  special_ok: bool, with_quality: bool = True):
    """``count`` minutiae (6 bytes, or 5 without quality): model minutiae with angle
    ``code * unit``, raw angle codes, raw quality bytes."""
    unit = ANGLE_UNIT_DEGREES[fmt]
    minutiae, raw_angles, raw_qualities = [], [], []
    for j in range(count):
        name = f"{field}.minutiae[{j}]"
        word_x, word_y = cursor.u16(f"{name}.x"), cursor.u16(f"{name}.y")
        angle = cursor.u8(f"{name}.angle")
        quality = cursor.u8(f"{name}.quality") if with_quality else 0
        if word_x >> 14 >= len(MINUTIA_TYPES):
            raise TemplateError(f"{name}.type", "unknown minutia type code 3: expected 0 other, "
                                                "1 ridge ending, 2 bifurcation")
        if word_y >> 14:
            raise TemplateError(f"{name}.y", "reserved bits 15-14 are set: expected 0")
        x = check_inside(word_x & 0x3FFF, width, f"{name}.x", "x", "width")
        y = check_inside(word_y, height, f"{name}.y", "y", "height")
        minutiae.append(Minutia(x, y, angle * unit, MINUTIA_TYPES[word_x >> 14],
                                decode_quality(quality, special_ok, f"{name}.quality")))
        raw_angles.append(angle)
        raw_qualities.append(quality)
    return minutiae, raw_angles, raw_qualities


def write_minutiae(finger: Finger, detail: ViewDetail, field: str, width: int, height: int,
                   unit: float, special_ok: bool, with_quality: bool = True) -> bytes:
    """A finger's minutiae with ``unit`` degrees per angle code, reusing ``detail``'s raw
    codes where they still encode the value exactly."""
    minutiae = finger.minutiae
    if not MIN_MINUTIAE <= len(minutiae) <= MAX_MINUTIAE:
        raise TemplateError(f"{field}.minutiae", f"{len(minutiae)} minutiae: expected "
                                                 f"{MIN_MINUTIAE}-{MAX_MINUTIAE} per finger view")
    codes = round(360 / unit)
    out = bytearray()
    for j, m in enumerate(minutiae):
        name = f"{field}.minutiae[{j}]"
        kind = TYPE_CODES.get(m.type) if isinstance(m.type, str) else None
        if kind is None:
            raise TemplateError(f"{name}.type", f"unknown minutia type {m.type!r:.40}: expected "
                                                "'ending', 'bifurcation' or 'other'")
        x = check_inside(m.x, width, f"{name}.x", "x", "width")
        y = check_inside(m.y, height, f"{name}.y", "y", "height")
        if (isinstance(m.angle, bool) or not isinstance(m.angle, numbers.Real)
                or not math.isfinite(m.angle) or not 0 <= m.angle < 360):
            raise TemplateError(f"{name}.angle", f"angle {m.angle!r:.40} is out of range: "
                                                 "expected degrees in [0, 360)")
        raw = detail.raw_angles[j] if j < len(detail.raw_angles) else None
        if not (isinstance(raw, int) and 0 <= raw < codes and raw * unit == m.angle):
            raw = round(m.angle / unit) % codes
        raw_quality = detail.raw_qualities[j] if j < len(detail.raw_qualities) else None
        out += struct.pack(">HHB", kind << 14 | x, y, raw)
        quality = encode_quality(m.quality, raw_quality, special_ok, f"{name}.quality")
        if with_quality:
            out.append(quality)
    return bytes(out)

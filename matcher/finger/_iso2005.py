"""ISO/IEC 19794-2:2005 finger minutiae record (spec ``minutiae.md`` section 2) and the parts
every edition reuses: a bounded byte cursor, field checks, the 6-byte minutia, the 4-byte
finger view header (shared with ANSI 378-2004) and the extended-data area.

Reads go through :class:`Cursor`, which raises TemplateError at the end of its window, and
every loop consumes bytes each turn: no length field can make a reader hang, read past the
input or allocate more than the input's size.
"""

from __future__ import annotations

import math
import numbers
import struct

from matcher.finger.model import MAX_MINUTIAE, MINUTIA_TYPES, TYPE_CODES, Finger, Minutia
from matcher.finger.templates import (
    ANGLE_UNIT_DEGREES, ISO2005, ExtendedBlock, TemplateError, TemplateRecord, ViewDetail,
)

MAGIC = b"FMR\0"
VERSION_2005 = b" 20\0"          # ISO 19794-2:2005 and ANSI 378-2004
VERSION_030 = b"030\0"           # ISO 19794-2:2011 and ANSI 378-2009
#: Spellings of the 2005/2004 version met in practice: standard, and "020" with a zero for
#: the space (the shared ANSI 378-2004 sample).
VERSIONS_2005 = (VERSION_2005, b"020\0")
HEADER_BYTES = 24
BLOCK_HEADER_BYTES = 4           # extended-data block: type (2) + length (2)
COORDINATE_LIMIT = 1 << 14       # minutia x and y are 14-bit fields
MAX_POSITION = 10                # 0 unknown, 1-5 right thumb..little, 6-10 left thumb..little
MAX_QUALITY = 100
SPECIAL_QUALITIES = (254, 255)   # 2009/2011 editions: not reported, failed to compute
MIN_MINUTIAE = 1                 # a view without minutiae cannot be matched
ISO_ANGLE_UNIT = 360 / 256       # degrees per ISO angle code
#: Spec section 3: an ISO length reads as uint16 0 then >= 24, or a high uint16 of 1-25.
ISO_MIN_LOW_LENGTH = 24
ISO_MAX_LENGTH = (26 << 16) - 1
CM_PER_INCH = 2.54
_FIELD_BITS = {"B": 8, "H": 16, "I": 32}


class Cursor:
    """Big-endian reads from ``data[pos:end]``; running past ``end`` raises TemplateError
    naming the field being read."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def take(self, count: int, field: str) -> bytes:
        left = self.end - self.pos
        if count > left:
            raise TemplateError(field, f"truncated: needs {count} byte(s) at offset {self.pos}, "
                                       f"only {max(left, 0)} left")
        self.pos += count
        return self.data[self.pos - count:self.pos]

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "big")

    def u32(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "big")


def check_magic(data: bytes) -> bytes:
    """The version of a record starting ``FMR\\0``; TemplateError for anything else."""
    if data[:4] != MAGIC:
        raise TemplateError("header.format_identifier", f"starts {data[:4]!r}: expected "
                                                        "b'FMR\\x00' (a finger minutiae record)")
    version = Cursor(data, 4).take(4, "header.version")
    if version not in (*VERSIONS_2005, VERSION_030):
        raise TemplateError("header.version", f"{version!r}: expected b' 20\\x00' (ISO 2005, "
                                              "ANSI 2004) or b'030\\x00' (ISO 2011, ANSI 2009)")
    return version


def check_int(value: object, low: int, high: int, field: str, what: str) -> int:
    """``value`` as an int when it is an integer in [low, high]; TemplateError otherwise."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not low <= value <= high):
        raise TemplateError(field, f"got {value!r:.40}, expected {what} in {low}-{high}")
    return int(value)


def pack_checked(layout: str, *named: tuple[str, object]) -> bytes:
    """``struct.pack(layout, ...)`` of ``(field, value)`` pairs, each value checked to be an
    unsigned integer that fits its slot."""
    values = [check_int(value, 0, (1 << _FIELD_BITS[code]) - 1, name,
                        f"an unsigned {_FIELD_BITS[code]}-bit value")
              for code, (name, value) in zip(layout[1:], named)]
    return struct.pack(layout, *values)


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


def declared_length(total: int, skew: int, low: int, high: int) -> int:
    """The length field to write: the true ``total`` plus the producer's ``skew`` kept from
    reading, unless that leaves the range a reader accepts."""
    return total + skew if low <= total + skew <= high else total


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


def _split_blocks(area: bytes, includes_header: bool) -> list[ExtendedBlock] | None:
    blocks, pos = [], 0
    while pos < len(area):  # each block advances at least BLOCK_HEADER_BYTES
        if len(area) - pos < BLOCK_HEADER_BYTES:
            return None
        block_type, length = struct.unpack_from(">HH", area, pos)
        size = length if includes_header else length + BLOCK_HEADER_BYTES
        if size < BLOCK_HEADER_BYTES or pos + size > len(area):
            return None
        blocks.append(ExtendedBlock(block_type, area[pos + BLOCK_HEADER_BYTES:pos + size]))
        pos += size
    return blocks


def read_extended(cursor: Cursor, field: str, includes_header_first: bool):
    """An extended-data area: its blocks and whether their lengths counted the 4-byte block
    header.  Producers disagree, so the area is split under the format's usual convention,
    then the other, and accepted when the block lengths add up exactly."""
    total = cursor.u16(f"{field}.length")
    area = cursor.take(total, field)
    if not total:
        return [], None
    for includes_header in (includes_header_first, not includes_header_first):
        blocks = _split_blocks(area, includes_header)
        if blocks is not None:
            return blocks, includes_header
    raise TemplateError(field, f"block lengths do not add up to the declared {total} bytes, "
                               "with or without counting each block's 4-byte header")


def write_extended(detail: ViewDetail, field: str, includes_header_default: bool) -> bytes:
    includes_header = detail.block_length_includes_header
    header_share = BLOCK_HEADER_BYTES if (includes_header_default if includes_header is None
                                          else includes_header) else 0
    area = bytearray()
    for k, block in enumerate(detail.extended):
        if not isinstance(block.data, (bytes, bytearray)):
            raise TemplateError(f"{field}[{k}].data", "expected bytes")
        area += pack_checked(">HH", (f"{field}[{k}].type", block.type),
                             (f"{field}[{k}].data", len(block.data) + header_share)) + block.data
    return pack_checked(">H", (field, len(area))) + bytes(area)


def read_views(cursor: Cursor, count: int, width: int, height: int, resolution: int, fmt: str):
    """2004/2005 finger views: position, view << 4 | impression, quality, minutia count,
    then minutiae and extended data."""
    if not count:
        raise TemplateError("header.finger_count", "0 finger views: expected at least one")
    fingers, views = [], []
    for i in range(count):
        field = f"fingers[{i}]"
        position = check_position(cursor.u8(f"{field}.position"), f"{field}.position")
        packed = cursor.u8(f"{field}.view")
        quality = decode_quality(cursor.u8(f"{field}.quality"), False, f"{field}.quality")
        number = cursor.u8(f"{field}.minutiae_count")
        if number < MIN_MINUTIAE:
            raise TemplateError(f"{field}.minutiae", "no minutiae: expected at least one")
        minutiae, raw_angles, raw_qualities = read_minutiae(
            cursor, number, field, width, height, fmt, special_ok=False)
        blocks, includes = read_extended(cursor, f"{field}.extended_data", fmt != ISO2005)
        fingers.append(Finger(position, minutiae, packed >> 4, packed & 0xF, quality,
                              width, height, ppcm_to_dpi(resolution)))
        views.append(ViewDetail(raw_angles, raw_qualities, extended=blocks,
                                block_length_includes_header=includes))
    return fingers, views


def write_views(record: TemplateRecord, width: int, height: int, fmt: str, unit: float) -> bytes:
    """The 2004/2005 finger views of ``record``, angles in ``unit`` degrees per code."""
    out = bytearray()
    for i, finger in enumerate(record.fingers):
        field, detail = f"fingers[{i}]", record.view(i)
        position = check_position(finger.position, f"{field}.position")
        view = check_int(finger.view, 0, 15, f"{field}.view", "a 4-bit view number")
        impression = check_int(finger.impression, 0, 15, f"{field}.impression", "a 4-bit code")
        quality = encode_quality(finger.quality, None, False, f"{field}.quality")
        minutiae = write_minutiae(finger, detail, field, width, height, unit, special_ok=False)
        out += bytes((position, view << 4 | impression, quality, len(finger.minutiae)))
        out += minutiae + write_extended(detail, f"{field}.extended_data", fmt != ISO2005)
    return bytes(out)


def check_fingers(record: TemplateRecord, limit: int) -> None:
    check_int(len(record.fingers), 1, limit, "fingers", "a number of finger views")
    for i, finger in enumerate(record.fingers):
        if not isinstance(finger, Finger):
            raise TemplateError(f"fingers[{i}]", f"expected a Finger, got {type(finger).__name__}")


def check_padding(record: TemplateRecord) -> bytes:
    if not isinstance(record.padding, (bytes, bytearray)):
        raise TemplateError("padding", "expected bytes")
    return bytes(record.padding)


def read(data: bytes, fmt: str = ISO2005) -> TemplateRecord:
    """An ISO/IEC 19794-2:2005 record: 24-byte header, then the finger views."""
    cursor = Cursor(data, 8)
    declared = cursor.u32("header.record_length")
    equipment = cursor.u16("header.capture_equipment")
    width, height, resolution_x, resolution_y = read_geometry(cursor, "header")
    count = cursor.u8("header.finger_count")
    cursor.u8("header.reserved")
    fingers, views = read_views(cursor, count, width, height, resolution_x, fmt)
    return TemplateRecord(fmt, fingers, views, width, height, resolution_x, resolution_y,
                          equipment >> 12, equipment & 0xFFF, padding=data[cursor.pos:],
                          length_skew=declared - len(data),
                          version=data[4:8] if data[4:8] != VERSION_2005 else None)


def write(record: TemplateRecord, fmt: str = ISO2005) -> bytes:
    """``record`` as an ISO/IEC 19794-2:2005 record."""
    check_fingers(record, 0xFF)
    width, height, resolution_x, resolution_y = record_geometry(record)
    equipment = check_int(record.equipment_compliance, 0, 15, "header.equipment_compliance",
                          "a 4-bit field") << 12 | check_int(
        record.equipment_id, 0, 0xFFF, "header.equipment_id", "a 12-bit device id")
    views = write_views(record, width, height, fmt, ISO_ANGLE_UNIT)
    padding = check_padding(record)
    total = HEADER_BYTES + len(views) + len(padding)
    check_int(total, HEADER_BYTES, ISO_MAX_LENGTH, "header.record_length", "a record size")
    length = declared_length(total, record.length_skew, ISO_MIN_LOW_LENGTH, ISO_MAX_LENGTH)
    version = record.version if record.version in VERSIONS_2005 else VERSION_2005
    return MAGIC + version + struct.pack(
        ">IHHHHHBB", length, equipment, width, height, resolution_x, resolution_y,
        len(record.fingers), 0) + views + padding

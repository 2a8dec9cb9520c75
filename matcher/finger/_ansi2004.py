"""ANSI INCITS 378-2004 finger minutiae record (spec ``minutiae.md`` section 3), and the
angle-unit rule both ANSI editions share.

Same magic, version, finger views and minutiae as ISO 19794-2:2005, except that angles count
2 degrees per code (0-179).  The 26-byte header: record length (2 bytes; or 0 then 4 bytes,
which moves every later field by 4), CBEFF product owner and type (2 each), capture equipment
(compliance << 12 | device id), width, height, x and y resolution (2 each), number of views
(1), reserved (1).
"""

from __future__ import annotations

import math
import numbers
import struct
from dataclasses import replace

from matcher.finger._iso2005 import ISO_MIN_LOW_LENGTH
from matcher.finger._template_binary import (
    MAGIC, VERSION_2005, VERSIONS_2005, Cursor, check_int, declared_length, pack_checked,
)
from matcher.finger._template_fields import (
    check_fingers, check_padding, read_geometry, record_geometry,
)
from matcher.finger._template_minutiae import ISO_ANGLE_UNIT
from matcher.finger._template_record import ANGLE_UNIT_DEGREES, ANSI2004, TemplateRecord, ViewDetail
from matcher.finger._template_views2005 import read_views, write_views
from matcher.finger.model import Finger

HEADER_BYTES = 26
ANSI_ANGLE_CODES = 180               # codes 0-179, 2 degrees each
#: Spec section 3: a uint16 >= 26 at offset 8 is ANSI's 2-byte length; 0 then a uint16
#: below 24 starts ANSI's 6-byte length form (4 more header bytes).
MIN_SHORT_LENGTH = 26
SHORT_LENGTH_MAX = 0xFFFF
LONG_LENGTH_EXTRA_BYTES = 4
LONG_LENGTH_MAX = (ISO_MIN_LOW_LENGTH << 16) - 1


def is_ansi2004(data: bytes) -> bool:
    """Tell a 2004/2005-version record's edition by its length field (spec section 3)."""
    cursor = Cursor(data, 8)
    first = cursor.u16("header.record_length")
    if first:
        return first >= MIN_SHORT_LENGTH
    return cursor.u16("header.record_length") < ISO_MIN_LOW_LENGTH


def settle_ansi_angles(fingers: list[Finger], views: list[ViewDetail]) -> bool:
    """Re-read an ANSI record's angles in ISO units (360/256 degrees) when a code exceeds 179.

    Some producers write ISO angle codes under an ANSI header.  The shared ANSI 2004 sample
    does: its minutiae are byte for byte the ISO 2005 sample's, with codes up to 249, while
    the ANSI 2009 sample holds the same minutiae in true 2-degree codes (ISO 213 and 249,
    299.5 and 350.2 degrees, are ANSI 150 and 175 there).  A code above 179 can only mean
    that, so the whole record is read in ISO units.  Returns whether it was.
    """
    if not any(code >= ANSI_ANGLE_CODES for view in views for code in view.raw_angles):
        return False
    for finger, view in zip(fingers, views):
        finger.minutiae = [replace(m, angle=code * ISO_ANGLE_UNIT)
                           for m, code in zip(finger.minutiae, view.raw_angles)]
    return True


def ansi_angle_unit(record: TemplateRecord, fmt: str) -> float:
    """Degrees per angle code for writing ``record`` as ANSI ``fmt``: 2, or ISO's unit when
    rewriting a record read with ISO-unit angles while some code still exceeds 179 (so that
    a reader can tell; otherwise true 2-degree codes are written)."""
    if record.ansi_angles_in_iso_units and record.format == fmt:
        for finger in record.fingers:
            for m in finger.minutiae:
                if (isinstance(m.angle, numbers.Real) and math.isfinite(m.angle)
                        and round(m.angle / ISO_ANGLE_UNIT) % 256 >= ANSI_ANGLE_CODES):
                    return ISO_ANGLE_UNIT
    return ANGLE_UNIT_DEGREES[fmt]


def read(data: bytes, fmt: str = ANSI2004) -> TemplateRecord:
    """An ANSI INCITS 378-2004 record."""
    cursor = Cursor(data, 8)
    declared = cursor.u16("header.record_length")
    long_length_field = declared == 0
    if long_length_field:
        declared = cursor.u32("header.record_length")
    owner, product_type = cursor.u16("header.cbeff_owner"), cursor.u16("header.cbeff_type")
    equipment = cursor.u16("header.capture_equipment")
    width, height, resolution_x, resolution_y = read_geometry(cursor, "header")
    count = cursor.u8("header.finger_count")
    cursor.u8("header.reserved")
    fingers, views = read_views(cursor, count, width, height, resolution_x, fmt)
    return TemplateRecord(fmt, fingers, views, width, height, resolution_x, resolution_y,
                          equipment >> 12, equipment & 0xFFF, owner, product_type,
                          long_length_field=long_length_field, padding=data[cursor.pos:],
                          length_skew=declared - len(data),
                          version=data[4:8] if data[4:8] != VERSION_2005 else None,
                          ansi_angles_in_iso_units=settle_ansi_angles(fingers, views))


def write(record: TemplateRecord, fmt: str = ANSI2004) -> bytes:
    """``record`` as an ANSI INCITS 378-2004 record (angles rounded to 2 degrees)."""
    check_fingers(record, 0xFF)
    width, height, resolution_x, resolution_y = record_geometry(record)
    fixed = pack_checked(
        ">HHHHHHHBB", ("header.cbeff_owner", record.cbeff_owner),
        ("header.cbeff_type", record.cbeff_type),
        ("header.capture_equipment", check_int(
            record.equipment_compliance, 0, 15, "header.equipment_compliance", "a 4-bit field")
         << 12 | check_int(record.equipment_id, 0, 0xFFF, "header.equipment_id",
                           "a 12-bit device id")),
        ("header.width", width), ("header.height", height),
        ("header.resolution_x", resolution_x), ("header.resolution_y", resolution_y),
        ("fingers", len(record.fingers)), ("header.reserved", 0))
    views = write_views(record, width, height, fmt, ansi_angle_unit(record, fmt))
    padding = check_padding(record)
    total = HEADER_BYTES + len(views) + len(padding)
    if record.long_length_field or total > SHORT_LENGTH_MAX:
        total += LONG_LENGTH_EXTRA_BYTES
        check_int(total, 0, LONG_LENGTH_MAX, "header.record_length", "a record size")
        length = struct.pack(">HI", 0, declared_length(total, record.length_skew, 0,
                                                       LONG_LENGTH_MAX))
    else:
        length = struct.pack(">H", declared_length(total, record.length_skew,
                                                   MIN_SHORT_LENGTH, SHORT_LENGTH_MAX))
    version = record.version if record.version in VERSIONS_2005 else VERSION_2005
    return MAGIC + version + length + fixed + views + padding

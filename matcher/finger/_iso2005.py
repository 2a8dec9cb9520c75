"""ISO/IEC 19794-2:2005 finger minutiae record (spec ``minutiae.md`` section 2).

The 24-byte header: magic ``FMR\\0``, version `` 20\\0``, record length (4 bytes), capture
equipment (compliance << 12 | device id, 2), width, height, x and y resolution (2 each),
number of views (1), reserved (1); then the finger views (``_template_views2005``).
"""

from __future__ import annotations

import struct

from matcher.finger._template_binary import (
    MAGIC, VERSION_2005, VERSIONS_2005, Cursor, check_int, declared_length,
)
from matcher.finger._template_fields import (
    check_fingers, check_padding, read_geometry, record_geometry,
)
from matcher.finger._template_minutiae import ISO_ANGLE_UNIT
from matcher.finger._template_record import ISO2005, TemplateRecord
from matcher.finger._template_views2005 import read_views, write_views

HEADER_BYTES = 24
#: Spec section 3: an ISO length reads as uint16 0 then >= 24, or a high uint16 of 1-25.
ISO_MIN_LOW_LENGTH = 24
ISO_MAX_LENGTH = (26 << 16) - 1


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

"""ANSI INCITS 378-2009 finger minutiae record.

It starts ``FMR\\0 030\\0`` and a 4-byte record length, as ISO/IEC 19794-2:2011 does, and
continues with CBEFF owner and type (2 each), equipment compliance (high nibble of 1), device
id (2), view count (1), reserved (1); each view: position, view number, impression type,
quality (1 each), quality vendor and algorithm (2 each), width, height, x and y resolution (2
each), minutia count (1), 6-byte minutiae, extended data.  Angles count 2 degrees per code;
producers that write ISO codes instead are handled as in ANSI 378-2004 (``_ansi2004``).

Layout checked byte by byte against the shared sample (FingerprintIO test resources).
"""

from __future__ import annotations

from matcher.finger._ansi2004 import ansi_angle_unit, settle_ansi_angles
from matcher.finger._template_binary import (
    MAGIC, VERSION_030, Cursor, check_int, declared_length, pack_checked,
)
from matcher.finger._template_error import TemplateError
from matcher.finger._template_extended import read_extended, write_extended
from matcher.finger._template_fields import (
    SPECIAL_QUALITIES, check_fingers, check_padding, check_position, decode_quality,
    encode_quality, geometry, ppcm_to_dpi, read_geometry, with_first_view_geometry,
)
from matcher.finger._template_minutiae import MIN_MINUTIAE, read_minutiae, write_minutiae
from matcher.finger._template_record import ANSI2009, TemplateRecord, ViewDetail
from matcher.finger.model import Finger

ANSI_HEADER_BYTES = 21


def read(data: bytes, fmt: str = ANSI2009) -> TemplateRecord:
    """An ANSI INCITS 378-2009 record."""
    cursor = Cursor(data, 8)
    declared = cursor.u32("header.record_length")
    owner, product_type = cursor.u16("header.cbeff_owner"), cursor.u16("header.cbeff_type")
    compliance = cursor.u8("header.capture_equipment") >> 4
    device = cursor.u16("header.equipment_id")
    count = cursor.u8("header.finger_count")
    cursor.u8("header.reserved")
    if not count:
        raise TemplateError("header.finger_count", "0 finger views: expected at least one")
    fingers, views = [], []
    for i in range(count):
        field = f"fingers[{i}]"
        position = check_position(cursor.u8(f"{field}.position"), f"{field}.position")
        view, impression = cursor.u8(f"{field}.view"), cursor.u8(f"{field}.impression")
        raw_quality = cursor.u8(f"{field}.quality")
        quality = decode_quality(raw_quality, True, f"{field}.quality")
        quality_by = [cursor.u16(f"{field}.quality_vendor"),
                      cursor.u16(f"{field}.quality_algorithm")]
        width, height, resolution_x, resolution_y = read_geometry(cursor, field)
        number = cursor.u8(f"{field}.minutiae_count")
        if number < MIN_MINUTIAE:
            raise TemplateError(f"{field}.minutiae", "no minutiae: expected at least one")
        minutiae, raw_angles, raw_qualities = read_minutiae(
            cursor, number, field, width, height, fmt, special_ok=True)
        blocks, includes = read_extended(cursor, f"{field}.extended_data", True)
        fingers.append(Finger(position, minutiae, view, impression, quality, width, height,
                              ppcm_to_dpi(resolution_x)))
        views.append(ViewDetail(raw_angles, raw_qualities,
                                raw_quality if raw_quality in SPECIAL_QUALITIES else None,
                                blocks, includes, resolution_x, resolution_y, *quality_by))
    return with_first_view_geometry(TemplateRecord(
        fmt, fingers, views, equipment_compliance=compliance, equipment_id=device,
        cbeff_owner=owner, cbeff_type=product_type, padding=data[cursor.pos:],
        length_skew=declared - len(data),
        ansi_angles_in_iso_units=settle_ansi_angles(fingers, views)))


def write(record: TemplateRecord, fmt: str = ANSI2009) -> bytes:
    """``record`` as an ANSI INCITS 378-2009 record."""
    check_fingers(record, 0xFF)
    unit = ansi_angle_unit(record, fmt)
    compliance = check_int(record.equipment_compliance, 0, 15, "header.equipment_compliance",
                           "a 4-bit field")
    out = bytearray()
    for i, finger in enumerate(record.fingers):
        field, detail = f"fingers[{i}]", record.view(i)
        width, height, resolution_x, resolution_y = geometry(record, finger, detail, field)
        minutiae = write_minutiae(finger, detail, field, width, height, unit, special_ok=True)
        out += pack_checked(
            ">BBBBHHHHHHB",
            (f"{field}.position", check_position(finger.position, f"{field}.position")),
            (f"{field}.view", finger.view), (f"{field}.impression", finger.impression),
            (f"{field}.quality", encode_quality(finger.quality, detail.raw_quality, True,
                                                f"{field}.quality")),
            (f"{field}.quality_vendor", detail.quality_vendor),
            (f"{field}.quality_algorithm", detail.quality_algorithm),
            (f"{field}.width", width), (f"{field}.height", height),
            (f"{field}.resolution_x", resolution_x), (f"{field}.resolution_y", resolution_y),
            (f"{field}.minutiae", len(finger.minutiae)))
        out += minutiae + write_extended(detail, f"{field}.extended_data", True)
    padding = check_padding(record)
    total = ANSI_HEADER_BYTES + len(out) + len(padding)
    length = declared_length(total, record.length_skew, ANSI_HEADER_BYTES, 0xFFFFFFFF)
    return MAGIC + VERSION_030 + pack_checked(
        ">IHHBHBB", ("header.record_length", length), ("header.cbeff_owner", record.cbeff_owner),
        ("header.cbeff_type", record.cbeff_type), ("header.capture_equipment", compliance << 4),
        ("header.equipment_id", record.equipment_id), ("fingers", len(record.fingers)),
        ("header.reserved", 0)) + bytes(out) + padding

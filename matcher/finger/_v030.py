"""The ``030\\0`` editions: ISO/IEC 19794-2:2011 and ANSI INCITS 378-2009.

Both start ``FMR\\0 030\\0`` and a 4-byte record length.  ISO 2011 (an ISO/IEC 19794-1:2011
container) continues with the representation count (2) and certification flag (1); each
representation: its length (4, counting itself), capture time (year 2, month, day, hour,
minute, second, millisecond 2), device technology (1), vendor (2), device id (2), quality
blocks (count 1; quality 1, vendor 2, algorithm 2 each), certification blocks if the flag is
set (count 1; authority 2, scheme 1 each), finger position (1), representation number (1),
x and y resolution (2 each), impression type (1), width, height (2 each), minutia record size
<< 4 | ridge ending type (1), minutia count (1), minutiae of 6 bytes (5 without quality),
extended data.  ANSI 2009 continues with CBEFF owner and type (2 each), equipment compliance
(high nibble of 1), device id (2), view count (1), reserved (1); each view: position, view
number, impression type, quality (1 each), quality vendor and algorithm (2 each), width,
height, x and y resolution (2 each), minutia count (1), 6-byte minutiae, extended data.

Layouts checked byte by byte against the shared samples (FingerprintIO test resources).
"""

from __future__ import annotations

import struct

from matcher.finger import _ansi2004 as ansi
from matcher.finger import _iso2005 as iso
from matcher.finger.model import Finger
from matcher.finger.templates import (
    ISO2011, CaptureTime, CertificationBlock, QualityBlock, TemplateError, TemplateRecord,
    ViewDetail,
)

ISO_HEADER_BYTES = 15
ANSI_HEADER_BYTES = 21
#: Smallest ISO 2011 representation: length, time, device, quality count, finger header,
#: extended-data length; no minutiae.
ISO_MIN_REPRESENTATION_BYTES = 34
MINUTIA_RECORD_SIZES = (5, 6)      # without / with the quality byte


def looks_like_iso2011(data: bytes) -> bool:
    """Whether a ``030`` record's representation lengths add up as ISO 2011's do, to the
    record length (or to the data, when the length counts trailing padding)."""
    if len(data) < ISO_HEADER_BYTES or data[14] > 1:
        return False
    total, count = struct.unpack_from(">IH", data, 8)
    if not count:  # an empty ISO record is its bare header; in ANSI these bytes are the owner
        return total == ISO_HEADER_BYTES
    pos = ISO_HEADER_BYTES
    for _ in range(count):  # each turn advances at least 34 bytes or returns
        length = int.from_bytes(data[pos:pos + 4], "big")
        if pos + 4 > len(data) or length < ISO_MIN_REPRESENTATION_BYTES or pos + length > len(data):
            return False
        pos += length
    return total in (pos, len(data))


def read(data: bytes, fmt: str) -> TemplateRecord:
    record = _read_iso(data) if fmt == ISO2011 else _read_ansi(data, fmt)
    # Per-view editions: the record-level geometry repeats the first view's, which is what
    # a conversion to a 2004/2005 edition puts in its header.
    record.width, record.height = record.fingers[0].width, record.fingers[0].height
    record.resolution_x = record.views[0].resolution_x
    record.resolution_y = record.views[0].resolution_y
    return record


def write(record: TemplateRecord, fmt: str) -> bytes:
    return _write_iso(record, fmt) if fmt == ISO2011 else _write_ansi(record, fmt)


def _read_iso(data: bytes) -> TemplateRecord:
    cursor = iso.Cursor(data, 8)
    declared = cursor.u32("header.record_length")
    count = cursor.u16("header.finger_count")
    flag = cursor.u8("header.certification_flag")
    if flag > 1:
        raise TemplateError("header.certification_flag", f"{flag}: expected 0 or 1")
    if not count:
        raise TemplateError("header.finger_count", "0 representations: expected at least one")
    fingers, views = [], []
    for i in range(count):
        field, start = f"fingers[{i}]", cursor.pos
        length = cursor.u32(f"{field}.representation_length")
        if not ISO_MIN_REPRESENTATION_BYTES <= length <= len(data) - start:
            raise TemplateError(f"{field}.representation_length", f"{length}: expected "
                                f"{ISO_MIN_REPRESENTATION_BYTES}-{len(data) - start} (a header at "
                                "least, what is left of the record at most)")
        body = iso.Cursor(data, cursor.pos, start + length)
        finger, detail = _read_representation(body, field, flag)
        if body.pos != body.end:
            raise TemplateError(f"{field}.representation_length", f"declares {length} bytes "
                                f"but its content ends after {body.pos - start}")
        fingers.append(finger)
        views.append(detail)
        cursor.pos = body.end
    return TemplateRecord(ISO2011, fingers, views, certification_flag=flag,
                          padding=data[cursor.pos:], length_skew=declared - len(data))


def _read_representation(body: iso.Cursor, field: str, flag: int):
    time = CaptureTime(body.u16(f"{field}.capture_time"), *body.take(5, f"{field}.capture_time"),
                       body.u16(f"{field}.capture_time"))
    technology = body.u8(f"{field}.device_technology")
    vendor, device = body.u16(f"{field}.device_vendor"), body.u16(f"{field}.device_id")
    qualities, certifications = [], []
    for k in range(body.u8(f"{field}.quality_blocks")):
        name = f"{field}.quality_blocks[{k}]"
        quality = body.u8(f"{name}.quality")
        iso.decode_quality(quality, True, f"{name}.quality")
        qualities.append(QualityBlock(quality, body.u16(f"{name}.vendor"),
                                      body.u16(f"{name}.algorithm")))
    for k in range(body.u8(f"{field}.certification_blocks") if flag else 0):
        name = f"{field}.certification_blocks[{k}]"
        certifications.append(CertificationBlock(body.u16(f"{name}.authority"),
                                                 body.u8(f"{name}.scheme")))
    position = iso.check_position(body.u8(f"{field}.position"), f"{field}.position")
    view = body.u8(f"{field}.view")
    resolution = [body.u16(f"{field}.resolution_x"), body.u16(f"{field}.resolution_y")]
    impression = body.u8(f"{field}.impression")
    size = [body.u16(f"{field}.width"), body.u16(f"{field}.height")]
    for name, value in zip(("resolution_x", "resolution_y", "width", "height"), resolution + size):
        if not value:
            raise TemplateError(f"{field}.{name}", "0: expected a non-zero size or resolution")
    packed = body.u8(f"{field}.minutia_record_size")
    if packed >> 4 not in MINUTIA_RECORD_SIZES:
        raise TemplateError(f"{field}.minutia_record_size", f"{packed >> 4}: expected 5 or 6")
    number = body.u8(f"{field}.minutiae_count")
    if number < iso.MIN_MINUTIAE:
        raise TemplateError(f"{field}.minutiae", "no minutiae: expected at least one")
    minutiae, raw_angles, raw_qualities = iso.read_minutiae(
        body, number, field, *size, ISO2011, special_ok=True, with_quality=packed >> 4 == 6)
    blocks, includes = iso.read_extended(body, f"{field}.extended_data", True)
    quality = qualities[0].quality if qualities and qualities[0].quality <= iso.MAX_QUALITY else 0
    finger = Finger(position, minutiae, view, impression, quality, *size,
                    iso.ppcm_to_dpi(resolution[0]))
    detail = ViewDetail(raw_angles, raw_qualities, None, blocks, includes, *resolution,
                        capture_time=time, device_technology=technology, device_vendor=vendor,
                        device_id=device, quality_blocks=qualities,
                        certification_blocks=certifications, ending_type=packed & 0xF,
                        minutia_record_size=packed >> 4)
    return finger, detail


def _write_iso(record: TemplateRecord, fmt: str) -> bytes:
    iso.check_fingers(record, 0xFFFF)
    flag = 1 if record.certification_flag or any(
        v.certification_blocks for v in record.views[:len(record.fingers)]) else 0
    body = b"".join(_write_representation(record, i, flag) for i in range(len(record.fingers)))
    padding = iso.check_padding(record)
    total = ISO_HEADER_BYTES + len(body) + len(padding)
    # Only the lengths detection accepts as ISO 2011: with or without the padding.
    length = total + record.length_skew if record.length_skew == -len(padding) else total
    return iso.MAGIC + iso.VERSION_030 + iso.pack_checked(
        ">IHB", ("header.record_length", length), ("fingers", len(record.fingers)),
        ("header.certification_flag", flag)) + body + padding


def _write_representation(record: TemplateRecord, i: int, flag: int) -> bytes:
    finger, detail, field = record.fingers[i], record.view(i), f"fingers[{i}]"
    width, height, resolution_x, resolution_y = iso.geometry(record, finger, detail, field)
    t, name = detail.capture_time, f"{field}.capture_time"
    out = bytearray(iso.pack_checked(
        ">HBBBBBHBHH", (name, t.year), (name, t.month), (name, t.day), (name, t.hour),
        (name, t.minute), (name, t.second), (name, t.millisecond),
        (f"{field}.device_technology", detail.device_technology),
        (f"{field}.device_vendor", detail.device_vendor), (f"{field}.device_id", detail.device_id)))
    # The model's finger quality is the first quality block's.
    qualities = list(detail.quality_blocks) or ([QualityBlock(0)] if finger.quality else [])
    if qualities:
        first = qualities[0]
        quality = iso.encode_quality(finger.quality, first.quality, True, f"{field}.quality")
        qualities[0] = QualityBlock(quality, first.vendor, first.algorithm)
    out += iso.pack_checked(">B", (f"{field}.quality_blocks", len(qualities)))
    for k, block in enumerate(qualities):
        name = f"{field}.quality_blocks[{k}]"
        out += iso.pack_checked(">BHH", (f"{name}.quality", block.quality),
                                (f"{name}.vendor", block.vendor),
                                (f"{name}.algorithm", block.algorithm))
    if flag:
        out += iso.pack_checked(">B", (f"{field}.certification_blocks",
                                       len(detail.certification_blocks)))
        for k, block in enumerate(detail.certification_blocks):
            name = f"{field}.certification_blocks[{k}]"
            out += iso.pack_checked(">HB", (f"{name}.authority", block.authority),
                                    (f"{name}.scheme", block.scheme))
    size = detail.minutia_record_size
    if size not in MINUTIA_RECORD_SIZES or any(m.quality for m in finger.minutiae):
        size = 6  # a minutia quality needs the 6-byte record
    minutiae = iso.write_minutiae(finger, detail, field, width, height, iso.ISO_ANGLE_UNIT,
                                  special_ok=True, with_quality=size == 6)
    ending_type = iso.check_int(detail.ending_type, 0, 15, f"{field}.ending_type", "a 4-bit code")
    position = iso.check_position(finger.position, f"{field}.position")
    out += iso.pack_checked(
        ">BBHHBHHBB", (f"{field}.position", position),
        (f"{field}.view", finger.view), (f"{field}.resolution_x", resolution_x),
        (f"{field}.resolution_y", resolution_y), (f"{field}.impression", finger.impression),
        (f"{field}.width", width), (f"{field}.height", height),
        (f"{field}.minutia_record_size", size << 4 | ending_type),
        (f"{field}.minutiae", len(finger.minutiae)))
    out += minutiae + iso.write_extended(detail, f"{field}.extended_data", True)
    return iso.pack_checked(">I", (f"{field}.representation_length", 4 + len(out))) + bytes(out)


def _read_ansi(data: bytes, fmt: str) -> TemplateRecord:
    cursor = iso.Cursor(data, 8)
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
        position = iso.check_position(cursor.u8(f"{field}.position"), f"{field}.position")
        view, impression = cursor.u8(f"{field}.view"), cursor.u8(f"{field}.impression")
        raw_quality = cursor.u8(f"{field}.quality")
        quality = iso.decode_quality(raw_quality, True, f"{field}.quality")
        quality_by = [cursor.u16(f"{field}.quality_vendor"),
                      cursor.u16(f"{field}.quality_algorithm")]
        width, height, resolution_x, resolution_y = iso.read_geometry(cursor, field)
        number = cursor.u8(f"{field}.minutiae_count")
        if number < iso.MIN_MINUTIAE:
            raise TemplateError(f"{field}.minutiae", "no minutiae: expected at least one")
        minutiae, raw_angles, raw_qualities = iso.read_minutiae(
            cursor, number, field, width, height, fmt, special_ok=True)
        blocks, includes = iso.read_extended(cursor, f"{field}.extended_data", True)
        fingers.append(Finger(position, minutiae, view, impression, quality, width, height,
                              iso.ppcm_to_dpi(resolution_x)))
        views.append(ViewDetail(raw_angles, raw_qualities,
                                raw_quality if raw_quality in iso.SPECIAL_QUALITIES else None,
                                blocks, includes, resolution_x, resolution_y, *quality_by))
    return TemplateRecord(fmt, fingers, views, equipment_compliance=compliance,
                          equipment_id=device, cbeff_owner=owner, cbeff_type=product_type,
                          padding=data[cursor.pos:], length_skew=declared - len(data),
                          ansi_angles_in_iso_units=ansi.settle_ansi_angles(fingers, views))


def _write_ansi(record: TemplateRecord, fmt: str) -> bytes:
    iso.check_fingers(record, 0xFF)
    unit = ansi.ansi_angle_unit(record, fmt)
    compliance = iso.check_int(record.equipment_compliance, 0, 15, "header.equipment_compliance",
                               "a 4-bit field")
    out = bytearray()
    for i, finger in enumerate(record.fingers):
        field, detail = f"fingers[{i}]", record.view(i)
        width, height, resolution_x, resolution_y = iso.geometry(record, finger, detail, field)
        minutiae = iso.write_minutiae(finger, detail, field, width, height, unit, special_ok=True)
        out += iso.pack_checked(
            ">BBBBHHHHHHB",
            (f"{field}.position", iso.check_position(finger.position, f"{field}.position")),
            (f"{field}.view", finger.view), (f"{field}.impression", finger.impression),
            (f"{field}.quality", iso.encode_quality(finger.quality, detail.raw_quality, True,
                                                    f"{field}.quality")),
            (f"{field}.quality_vendor", detail.quality_vendor),
            (f"{field}.quality_algorithm", detail.quality_algorithm),
            (f"{field}.width", width), (f"{field}.height", height),
            (f"{field}.resolution_x", resolution_x), (f"{field}.resolution_y", resolution_y),
            (f"{field}.minutiae", len(finger.minutiae)))
        out += minutiae + iso.write_extended(detail, f"{field}.extended_data", True)
    padding = iso.check_padding(record)
    total = ANSI_HEADER_BYTES + len(out) + len(padding)
    length = iso.declared_length(total, record.length_skew, ANSI_HEADER_BYTES, 0xFFFFFFFF)
    return iso.MAGIC + iso.VERSION_030 + iso.pack_checked(
        ">IHHBHBB", ("header.record_length", length), ("header.cbeff_owner", record.cbeff_owner),
        ("header.cbeff_type", record.cbeff_type), ("header.capture_equipment", compliance << 4),
        ("header.equipment_id", record.equipment_id), ("fingers", len(record.fingers)),
        ("header.reserved", 0)) + bytes(out) + padding

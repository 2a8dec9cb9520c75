"""ISO/IEC 19794-2:2011 finger minutiae record, an ISO/IEC 19794-1:2011 container.

It starts ``FMR\\0 030\\0`` and a 4-byte record length, as ANSI INCITS 378-2009 does
(:func:`looks_like_iso2011` tells them apart), and continues with the representation count
(2) and certification flag (1); each representation: its length (4, counting itself), capture
time (year 2, month, day, hour, minute, second, millisecond 2), device technology (1), vendor
(2), device id (2), quality blocks (count 1; quality 1, vendor 2, algorithm 2 each),
certification blocks if the flag is set (count 1; authority 2, scheme 1 each), finger position
(1), representation number (1), x and y resolution (2 each), impression type (1), width,
height (2 each), minutia record size << 4 | ridge ending type (1), minutia count (1),
minutiae of 6 bytes (5 without quality), extended data.

Layout checked byte by byte against the shared sample (FingerprintIO test resources).
"""

from __future__ import annotations

import struct

from matcher.finger._template_binary import MAGIC, VERSION_030, Cursor, check_int, pack_checked
from matcher.finger._template_error import TemplateError
from matcher.finger._template_extended import read_extended, write_extended
from matcher.finger._template_fields import (
    MAX_QUALITY, check_fingers, check_padding, check_position, geometry, ppcm_to_dpi,
    with_first_view_geometry,
)
from matcher.finger._template_iso_blocks import (
    read_certification_blocks, read_quality_blocks, write_certification_blocks,
    write_quality_blocks,
)
from matcher.finger._template_minutiae import (
    ISO_ANGLE_UNIT, MIN_MINUTIAE, read_minutiae, write_minutiae,
)
from matcher.finger._template_record import ISO2011, CaptureTime, TemplateRecord, ViewDetail
from matcher.finger.model import Finger

ISO_HEADER_BYTES = 15
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


def read(data: bytes, fmt: str = ISO2011) -> TemplateRecord:
    """An ISO/IEC 19794-2:2011 record."""
    cursor = Cursor(data, 8)
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
        body = Cursor(data, cursor.pos, start + length)
        finger, detail = _read_representation(body, field, flag)
        if body.pos != body.end:
            raise TemplateError(f"{field}.representation_length", f"declares {length} bytes "
                                f"but its content ends after {body.pos - start}")
        fingers.append(finger)
        views.append(detail)
        cursor.pos = body.end
    return with_first_view_geometry(TemplateRecord(
        ISO2011, fingers, views, certification_flag=flag, padding=data[cursor.pos:],
        length_skew=declared - len(data)))


def _read_representation(body: Cursor, field: str, flag: int):
    time = CaptureTime(body.u16(f"{field}.capture_time"), *body.take(5, f"{field}.capture_time"),
                       body.u16(f"{field}.capture_time"))
    technology = body.u8(f"{field}.device_technology")
    vendor, device = body.u16(f"{field}.device_vendor"), body.u16(f"{field}.device_id")
    qualities = read_quality_blocks(body, field)
    certifications = read_certification_blocks(body, field) if flag else []
    position = check_position(body.u8(f"{field}.position"), f"{field}.position")
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
    if number < MIN_MINUTIAE:
        raise TemplateError(f"{field}.minutiae", "no minutiae: expected at least one")
    minutiae, raw_angles, raw_qualities = read_minutiae(
        body, number, field, *size, ISO2011, special_ok=True, with_quality=packed >> 4 == 6)
    blocks, includes = read_extended(body, f"{field}.extended_data", True)
    quality = qualities[0].quality if qualities and qualities[0].quality <= MAX_QUALITY else 0
    finger = Finger(position, minutiae, view, impression, quality, *size,
                    ppcm_to_dpi(resolution[0]))
    detail = ViewDetail(raw_angles, raw_qualities, None, blocks, includes, *resolution,
                        capture_time=time, device_technology=technology, device_vendor=vendor,
                        device_id=device, quality_blocks=qualities,
                        certification_blocks=certifications, ending_type=packed & 0xF,
                        minutia_record_size=packed >> 4)
    return finger, detail


def write(record: TemplateRecord, fmt: str = ISO2011) -> bytes:
    """``record`` as an ISO/IEC 19794-2:2011 record."""
    check_fingers(record, 0xFFFF)
    flag = 1 if record.certification_flag or any(
        v.certification_blocks for v in record.views[:len(record.fingers)]) else 0
    body = b"".join(_write_representation(record, i, flag) for i in range(len(record.fingers)))
    padding = check_padding(record)
    total = ISO_HEADER_BYTES + len(body) + len(padding)
    # Only the lengths detection accepts as ISO 2011: with or without the padding.
    length = total + record.length_skew if record.length_skew == -len(padding) else total
    return MAGIC + VERSION_030 + pack_checked(
        ">IHB", ("header.record_length", length), ("fingers", len(record.fingers)),
        ("header.certification_flag", flag)) + body + padding


def _write_representation(record: TemplateRecord, i: int, flag: int) -> bytes:
    finger, detail, field = record.fingers[i], record.view(i), f"fingers[{i}]"
    width, height, resolution_x, resolution_y = geometry(record, finger, detail, field)
    t, name = detail.capture_time, f"{field}.capture_time"
    out = bytearray(pack_checked(
        ">HBBBBBHBHH", (name, t.year), (name, t.month), (name, t.day), (name, t.hour),
        (name, t.minute), (name, t.second), (name, t.millisecond),
        (f"{field}.device_technology", detail.device_technology),
        (f"{field}.device_vendor", detail.device_vendor), (f"{field}.device_id", detail.device_id)))
    out += write_quality_blocks(finger.quality, detail.quality_blocks, field)
    if flag:
        out += write_certification_blocks(detail.certification_blocks, field)
    size = detail.minutia_record_size
    if size not in MINUTIA_RECORD_SIZES or any(m.quality for m in finger.minutiae):
        size = 6  # a minutia quality needs the 6-byte record
    minutiae = write_minutiae(finger, detail, field, width, height, ISO_ANGLE_UNIT,
                              special_ok=True, with_quality=size == 6)
    ending_type = check_int(detail.ending_type, 0, 15, f"{field}.ending_type", "a 4-bit code")
    position = check_position(finger.position, f"{field}.position")
    out += pack_checked(
        ">BBHHBHHBB", (f"{field}.position", position),
        (f"{field}.view", finger.view), (f"{field}.resolution_x", resolution_x),
        (f"{field}.resolution_y", resolution_y), (f"{field}.impression", finger.impression),
        (f"{field}.width", width), (f"{field}.height", height),
        (f"{field}.minutia_record_size", size << 4 | ending_type),
        (f"{field}.minutiae", len(finger.minutiae)))
    out += minutiae + write_extended(detail, f"{field}.extended_data", True)
    return pack_checked(">I", (f"{field}.representation_length", 4 + len(out))) + bytes(out)

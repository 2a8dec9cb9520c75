"""The finger views of the `` 20`` editions, ISO/IEC 19794-2:2005 and ANSI INCITS 378-2004:
position (1 byte), view << 4 | impression (1), quality (1), minutia count (1), 6-byte
minutiae, extended data.  The editions differ here only in the angle unit and in whether
extended-data block lengths usually count the block header (ANSI) or not (ISO).
"""

from __future__ import annotations

from matcher.finger._template_binary import Cursor, check_int
from matcher.finger._template_error import TemplateError
from matcher.finger._template_extended import read_extended, write_extended
from matcher.finger._template_fields import (
    check_position, decode_quality, encode_quality, ppcm_to_dpi,
)
from matcher.finger._template_minutiae import MIN_MINUTIAE, read_minutiae, write_minutiae
from matcher.finger._template_record import ISO2005, TemplateRecord, ViewDetail
from matcher.finger.model import Finger


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

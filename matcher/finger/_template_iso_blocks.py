"""The quality and certification blocks of an ISO/IEC 19794-2:2011 representation (layout
in ``_iso2011``).  The first quality block carries the model's finger quality; certification
blocks are present only when the record's certification flag is set.
"""

from __future__ import annotations

from matcher.finger._template_binary import Cursor, pack_checked
from matcher.finger._template_fields import decode_quality, encode_quality
from matcher.finger._template_record import CertificationBlock, QualityBlock


def read_quality_blocks(body: Cursor, field: str) -> list[QualityBlock]:
    qualities = []
    for k in range(body.u8(f"{field}.quality_blocks")):
        name = f"{field}.quality_blocks[{k}]"
        quality = body.u8(f"{name}.quality")
        decode_quality(quality, True, f"{name}.quality")
        qualities.append(QualityBlock(quality, body.u16(f"{name}.vendor"),
                                      body.u16(f"{name}.algorithm")))
    return qualities


def read_certification_blocks(body: Cursor, field: str) -> list[CertificationBlock]:
    certifications = []
    for k in range(body.u8(f"{field}.certification_blocks")):
        name = f"{field}.certification_blocks[{k}]"
        certifications.append(CertificationBlock(body.u16(f"{name}.authority"),
                                                 body.u8(f"{name}.scheme")))
    return certifications


def write_quality_blocks(finger_quality: object, blocks: list[QualityBlock], field: str) -> bytes:
    """The quality blocks of a view whose model quality is ``finger_quality``."""
    # The model's finger quality is the first quality block's.
    qualities = list(blocks) or ([QualityBlock(0)] if finger_quality else [])
    if qualities:
        first = qualities[0]
        quality = encode_quality(finger_quality, first.quality, True, f"{field}.quality")
        qualities[0] = QualityBlock(quality, first.vendor, first.algorithm)
    out = bytearray(pack_checked(">B", (f"{field}.quality_blocks", len(qualities))))
    for k, block in enumerate(qualities):
        name = f"{field}.quality_blocks[{k}]"
        out += pack_checked(">BHH", (f"{name}.quality", block.quality),
                            (f"{name}.vendor", block.vendor),
                            (f"{name}.algorithm", block.algorithm))
    return bytes(out)


def write_certification_blocks(blocks: list[CertificationBlock], field: str) -> bytes:
    out = bytearray(pack_checked(">B", (f"{field}.certification_blocks", len(blocks))))
    for k, block in enumerate(blocks):
        name = f"{field}.certification_blocks[{k}]"
        out += pack_checked(">HB", (f"{name}.authority", block.authority),
                            (f"{name}.scheme", block.scheme))
    return bytes(out)

"""Extended data, which ends every finger view in all editions: a 2-byte area length, then
blocks of type (2 bytes), length (2 bytes) and data, each kept verbatim as an
:class:`~matcher.finger._template_record.ExtendedBlock`.
"""

from __future__ import annotations

import struct

from matcher.finger._template_binary import Cursor, pack_checked
from matcher.finger._template_error import TemplateError
from matcher.finger._template_record import ExtendedBlock, ViewDetail

BLOCK_HEADER_BYTES = 4           # extended-data block: type (2) + length (2)


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

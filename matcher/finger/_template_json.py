"""The readable JSON dump of a whole binary record that ``matcher finger inspect FILE`` prints:
header fields, then per finger view its fields, points, raw codes and decoded extended data.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from dataclasses import asdict
from pathlib import Path

from matcher.finger._template_codec import read_template
from matcher.finger._template_error import TemplateError
from matcher.finger._template_fields import SPECIAL_QUALITIES
from matcher.finger._template_record import (
    ANSI2004, ANSI2009, ISO2005, ISO2011, ExtendedBlock, TemplateRecord,
)
from matcher.finger.model import POSITION_NAMES, Finger

#: Largest file ``inspect`` will read: far above any real record, far below harm.
MAX_TEMPLATE_FILE_BYTES = 16 << 20
BLOCK_KINDS = {1: "ridge_counts", 2: "cores_and_deltas", 3: "zonal_quality"}
RIDGE_COUNT_METHODS = {0: "unspecified", 1: "quadrants", 2: "octants"}
RIDGE_COUNT_EDGE_BYTES = 3            # from index, to index, count
IMPRESSION_NAMES = {0: "live_plain", 1: "live_rolled", 2: "nonlive_plain",
                    3: "nonlive_rolled", 8: "swipe"}


def template_to_json(record: TemplateRecord) -> dict:
    """A readable JSON-ready dict of the whole record (``matcher finger inspect``): header,
    then per finger its fields and ``points`` as ``[x, y, angle_degrees, type, quality]``."""
    fmt = record.format
    header: dict = {}
    if fmt in (ANSI2004, ANSI2009):
        header.update(cbeff_owner=record.cbeff_owner, cbeff_type=record.cbeff_type)
    if fmt != ISO2011:
        header.update(equipment_compliance=record.equipment_compliance,
                      sensor_certified=record.sensor_certified, equipment_id=record.equipment_id)
    if fmt in (ISO2005, ANSI2004):
        header.update(width=record.width, height=record.height,
                      resolution_x_ppcm=record.resolution_x, resolution_y_ppcm=record.resolution_y)
    if fmt == ISO2011:
        header["certification_flag"] = record.certification_flag
    if record.long_length_field:
        header["long_length_field"] = True
    if record.length_skew:
        header["declared_length_minus_actual"] = record.length_skew
    if record.padding:
        header["padding_bytes"] = len(record.padding)
    return {"format": fmt, "header": header,
            "fingers": [_finger_json(f, record.view(i), fmt) for i, f in enumerate(record.fingers)]}


def _finger_json(finger: Finger, detail, fmt: str) -> dict:
    position = finger.position
    known = isinstance(position, int) and 0 <= position < len(POSITION_NAMES)
    out = {"position": position, "position_name": POSITION_NAMES[position] if known else None,
           "view": finger.view, "impression": finger.impression,
           "impression_name": IMPRESSION_NAMES.get(finger.impression), "quality": finger.quality,
           "width": finger.width, "height": finger.height, "resolution_dpi": finger.resolution_dpi}
    if fmt in (ANSI2009, ISO2011):
        out.update(resolution_x_ppcm=detail.resolution_x, resolution_y_ppcm=detail.resolution_y)
    if fmt == ANSI2009:
        out.update(quality_vendor=detail.quality_vendor, quality_algorithm=detail.quality_algorithm)
        if detail.raw_quality is not None:
            out["raw_quality"] = detail.raw_quality
    if fmt == ISO2011:
        out.update(capture_time=asdict(detail.capture_time),
                   device_technology=detail.device_technology, device_vendor=detail.device_vendor,
                   device_id=detail.device_id,
                   quality_blocks=[asdict(b) for b in detail.quality_blocks],
                   certification_blocks=[asdict(b) for b in detail.certification_blocks],
                   ending_type=detail.ending_type, minutia_record_size=detail.minutia_record_size)
    out["minutiae_count"] = len(finger.minutiae)
    out["points"] = [[m.x, m.y, m.angle, m.type, m.quality] for m in finger.minutiae]
    if detail.raw_angles:
        out["raw_angles"] = list(detail.raw_angles)
    if any(q in SPECIAL_QUALITIES for q in detail.raw_qualities):
        out["raw_qualities"] = list(detail.raw_qualities)
    out["extended_data"] = [_block_json(block) for block in detail.extended]
    if detail.block_length_includes_header is not None:
        out["block_length_includes_header"] = detail.block_length_includes_header
    return out


def _block_json(block: ExtendedBlock) -> dict:
    out = {"type": block.type, "kind": BLOCK_KINDS.get(block.type, "vendor"),
           "bytes": len(block.data), "data_base64": base64.b64encode(block.data).decode("ascii")}
    if block.type == 1:
        out["ridge_counts"] = decode_ridge_counts(block.data)
    return out


def decode_ridge_counts(data: bytes) -> dict:
    """A ridge-count block for display: edge-picking method, then ``[from, to, count]``
    edges (minutia indices, ridges crossed); bytes that do not make a whole edge are counted
    as ``trailing_bytes`` (some producers leave them)."""
    if not data:
        return {"method": None, "method_name": None, "edges": [], "trailing_bytes": 0}
    whole = (len(data) - 1) // RIDGE_COUNT_EDGE_BYTES * RIDGE_COUNT_EDGE_BYTES
    edges = [list(data[k:k + RIDGE_COUNT_EDGE_BYTES])
             for k in range(1, 1 + whole, RIDGE_COUNT_EDGE_BYTES)]
    return {"method": data[0], "method_name": RIDGE_COUNT_METHODS.get(data[0]), "edges": edges,
            "trailing_bytes": len(data) - 1 - whole}


def dumps_readable(value: object, level: int = 0) -> str:
    """JSON with objects and nested lists indented, lists of plain values on one line."""
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {dumps_readable(v, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [inner + dumps_readable(v, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + f"\n{outer}]"
    return json.dumps(value, ensure_ascii=False)


def inspect_main(argv: list[str]) -> int:
    """``matcher finger inspect FILE``: print the parsed record as JSON.  Exit status 0 on
    success, 1 when the file is not a valid template, 2 on a usage or file error."""
    parser = argparse.ArgumentParser(
        prog="matcher finger inspect",
        description="Print an ISO/IEC 19794-2 or ANSI INCITS 378 minutiae record as JSON.")
    parser.add_argument("file", help="binary template file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_TEMPLATE_FILE_BYTES:
            print(f"matcher finger inspect: {path}: {path.stat().st_size} bytes is too large for a "
                  f"template (at most {MAX_TEMPLATE_FILE_BYTES})", file=sys.stderr)
            return 1
        data = path.read_bytes()
    except OSError as error:
        print(f"matcher finger inspect: cannot read {path}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    try:
        record = read_template(data)
    except TemplateError as error:
        print(f"matcher finger inspect: {path}: not a valid template: {error}", file=sys.stderr)
        return 1
    print(dumps_readable({"file": str(path), "bytes": len(data), **template_to_json(record)}))
    return 0

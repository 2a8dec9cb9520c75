"""Bounded big-endian reading and checked packing, shared by every template codec: the
``FMR\\0`` magic and the edition versions, a :class:`Cursor` that cannot read past its window,
and the unsigned-integer checks of values being written.

Reads go through :class:`Cursor`, which raises TemplateError at the end of its window, and
every loop consumes bytes each turn: no length field can make a reader hang, read past the
input or allocate more than the input's size.
"""

from __future__ import annotations

import numbers
import struct

from matcher.finger._template_error import TemplateError

MAGIC = b"FMR\0"
VERSION_2005 = b" 20\0"          # ISO 19794-2:2005 and ANSI 378-2004
VERSION_030 = b"030\0"           # ISO 19794-2:2011 and ANSI 378-2009
#: Spellings of the 2005/2004 version met in practice: standard, and "020" with a zero for
#: the space (the shared ANSI 378-2004 sample).
VERSIONS_2005 = (VERSION_2005, b"020\0")
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


def declared_length(total: int, skew: int, low: int, high: int) -> int:
    """The length field to write: the true ``total`` plus the producer's ``skew`` kept from
    reading, unless that leaves the range a reader accepts."""
    return total + skew if low <= total + skew <= high else total

"""Binary records of any supported edition: format detection (spec ``minutiae.md`` section 3)
and dispatch to the edition's codec module, each of which has ``read(data, fmt)`` and
``write(record, fmt)``.
"""

from __future__ import annotations

from matcher.finger import _ansi2004, _ansi2009, _iso2005, _iso2011
from matcher.finger._template_binary import VERSIONS_2005, check_magic
from matcher.finger._template_error import TemplateError
from matcher.finger._template_record import (
    ANSI2004, ANSI2009, FORMATS, ISO2005, ISO2011, TemplateRecord,
)

_CODECS = {ISO2005: _iso2005, ANSI2004: _ansi2004, ISO2011: _iso2011, ANSI2009: _ansi2009}


def _codec(fmt: str):
    if fmt not in _CODECS:
        raise TemplateError("format", f"unknown format {fmt!r}: expected one of "
                                      f"{', '.join(FORMATS)}")
    return _CODECS[fmt]


def detect_format(data: bytes) -> str:
    """The format of a binary record (spec ``minutiae.md`` section 3), one of :data:`FORMATS`.

    ``FMR\\0`` + `` 20\\0`` (or the variant ``020\\0``) is ISO 2005 or ANSI 2004, told
    apart by the length field;
    ``FMR\\0`` + ``030\\0`` is ISO 2011 when its representation lengths add up, else ANSI 2009.
    Raises TemplateError for anything else.
    """
    data = _as_bytes(data)
    version = check_magic(data)
    if version in VERSIONS_2005:
        return ANSI2004 if _ansi2004.is_ansi2004(data) else ISO2005
    return ISO2011 if _iso2011.looks_like_iso2011(data) else ANSI2009


def read_template(data: bytes) -> TemplateRecord:
    """Parse a binary ISO/IEC 19794-2 or ANSI INCITS 378 record of any supported edition."""
    data = _as_bytes(data)
    fmt = detect_format(data)
    return _codec(fmt).read(data, fmt)


def write_template(record: TemplateRecord, format: str | None = None) -> bytes:
    """Encode ``record`` in its own format, or in ``format`` (one of :data:`FORMATS`).

    Writing a record back in the format it was read from gives the original bytes.  Writing
    it in another format converts angles (rounding to the target's unit) and fills fields
    the source lacked with defaults.  Raises TemplateError for values the target cannot hold.
    """
    if not isinstance(record, TemplateRecord):
        raise TemplateError("record", f"expected a TemplateRecord, got {type(record).__name__}")
    fmt = format or record.format
    data = _codec(fmt).write(record, fmt)
    # The editions share magic and version; never emit bytes that read back as another one.
    if detect_format(data) != fmt:
        raise TemplateError("header", f"these header values would make the {fmt} record read "
                                      f"back as {detect_format(data)}; change the CBEFF ids or "
                                      "equipment id")
    return data


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TemplateError("data", f"expected bytes, got {type(data).__name__}")

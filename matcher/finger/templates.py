"""Finger minutiae templates: ISO/IEC 19794-2 (2005, 2011) and ANSI INCITS 378 (2004, 2009)
records read and written losslessly, and the architecture note's JSON finger form.

A record becomes a :class:`TemplateRecord`: the header fields its format has, and one
:class:`~matcher.finger.model.Finger` per finger view with minutiae in the model's units
(pixels, degrees counter-clockwise in [0, 360), quality 0-100 with 0 = not reported).  What
the model has no room for (raw angle codes, extended-data blocks, ISO 2011 capture time and
quality blocks, producer quirks) is kept in a parallel :class:`ViewDetail` per view, so that
``write_template(read_template(data)) == data`` for conforming records and for the producer
quirks met in practice (a record length a few bytes off, trailing padding, the version
spelled ``020``, block lengths with or without their header, ISO angle codes under an ANSI
header).  Reserved bits are not kept: they are written as 0.

Every malformed, truncated or inconsistent input raises :class:`TemplateError`, which names
the field (``fingers[1].minutiae[17].x``, ``header.record_length``) and says what was expected.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from matcher.finger.model import Finger

__all__ = [
    "FORMATS", "CaptureTime", "CertificationBlock", "ExtendedBlock", "QualityBlock",
    "TemplateError", "TemplateRecord", "ViewDetail", "detect_format", "finger_from_json",
    "finger_to_json", "inspect_main", "read_template", "template_to_json", "write_template",
]

ISO2005 = "iso19794-2:2005"
ISO2011 = "iso19794-2:2011"
ANSI2004 = "ansi378-2004"
ANSI2009 = "ansi378-2009"
FORMATS = (ISO2005, ISO2011, ANSI2004, ANSI2009)

#: Degrees per raw angle unit: ISO 360/256 (1.40625), ANSI 2 (raw 0-179).
ANGLE_UNIT_DEGREES = {ISO2005: 360 / 256, ISO2011: 360 / 256, ANSI2004: 2.0, ANSI2009: 2.0}
#: Resolution the binary formats assume when a record built in memory gives none:
#: 197 pixels per cm = 500 dpi.
DEFAULT_RESOLUTION_PPCM = 197

_CODECS = {ISO2005: "_iso2005", ANSI2004: "_ansi2004", ISO2011: "_v030", ANSI2009: "_v030"}


class TemplateError(ValueError):
    """A template or JSON finger that cannot be accepted.

    ``field`` locates the problem (``header.record_length``, ``fingers[1].minutiae[17].x``,
    ``fingers[0].template.fingers[0].position``); ``message`` says what was found and what
    was expected; ``record`` optionally names the record (its reference) for callers that
    handle many.
    """

    def __init__(self, field: str, message: str, record: str | None = None):
        self.field = field
        self.message = message
        self.record = record
        super().__init__(f"{record}: {field}: {message}" if record else f"{field}: {message}")

    def __reduce__(self):
        return (type(self), (self.field, self.message, self.record))

    def within(self, prefix: str) -> "TemplateError":
        """The same error with its field nested under ``prefix`` (e.g. ``fingers[2].template``)."""
        return TemplateError(f"{prefix}.{self.field}", self.message, self.record)


@dataclass(frozen=True, slots=True)
class ExtendedBlock:
    """One extended-data block of a finger view, kept verbatim.

    ``type``: 1 ridge counts, 2 cores and deltas, 3 zonal quality (ISO), other codes
    vendor-defined.  ``data``: the block's bytes after its 4-byte type/length header.
    """

    type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class QualityBlock:
    """An ISO 19794-2:2011 quality block: ``quality`` 0-100 (255 = failed to compute), and
    the IBIA-registered ``vendor`` and ``algorithm`` that computed it (0 = not reported)."""

    quality: int
    vendor: int = 0
    algorithm: int = 0


@dataclass(frozen=True, slots=True)
class CertificationBlock:
    """An ISO 19794-2:2011 certification block: certifying ``authority`` id (2 bytes) and
    certification ``scheme`` id (1 byte)."""

    authority: int
    scheme: int


@dataclass(frozen=True, slots=True)
class CaptureTime:
    """ISO 19794-2:2011 capture date and time (UTC) as stored; 0xFF (0xFFFF for year and
    millisecond) marks a part that was not given.  The default is "not given" throughout."""

    year: int = 0xFFFF
    month: int = 0xFF
    day: int = 0xFF
    hour: int = 0xFF
    minute: int = 0xFF
    second: int = 0xFF
    millisecond: int = 0xFFFF


@dataclass(slots=True)
class ViewDetail:
    """What one finger view carries beyond the shared :class:`Finger` model.

    Raw codes are only hints for a lossless rewrite: the writer uses ``raw_angles[j]`` when it
    still encodes the minutia's angle exactly in the target format (else it converts the
    degrees), and ``raw_qualities[j]`` / ``raw_quality`` only for the special codes 254 (not
    reported) and 255 (failed) of the 2009/2011 editions while the model quality is 0.
    """

    raw_angles: list[int] = field(default_factory=list)
    raw_qualities: list[int] = field(default_factory=list)
    raw_quality: int | None = None
    extended: list[ExtendedBlock] = field(default_factory=list)
    #: Whether block length fields count the 4-byte block header (producers disagree);
    #: None = the format's usual convention.
    block_length_includes_header: bool | None = None
    #: Per-view resolution in pixels per cm (ANSI 2009, ISO 2011); 0 = the record's.
    resolution_x: int = 0
    resolution_y: int = 0
    #: ANSI 378-2009: who computed the view quality (IBIA ids).
    quality_vendor: int = 0
    quality_algorithm: int = 0
    #: ISO 19794-2:2011 representation header.
    capture_time: CaptureTime = field(default_factory=CaptureTime)
    device_technology: int = 0
    device_vendor: int = 0
    device_id: int = 0
    quality_blocks: list[QualityBlock] = field(default_factory=list)
    certification_blocks: list[CertificationBlock] = field(default_factory=list)
    ending_type: int = 0
    minutia_record_size: int = 6


@dataclass(slots=True)
class TemplateRecord:
    """A parsed finger minutiae record.

    ``format`` is one of :data:`FORMATS`.  Header fields a format lacks keep their defaults:
    image size and resolution (pixels per cm) sit in the record header in the 2004/2005
    editions and per view in the 2009/2011 ones (there ``Finger.width``/``height`` and
    ``ViewDetail.resolution_x``/``y`` rule, and reading copies the first view's into the
    record's fields); 197 pixels per cm is 500 dpi.  ``cbeff_owner``/``cbeff_type`` exist in
    ANSI only, ``certification_flag`` in ISO 2011 only.  ``equipment_compliance`` is the
    4-bit capture equipment compliance field (bit 3 = certified), ``equipment_id`` the
    capture device id.

    ``views[i]`` details ``fingers[i]`` (a missing entry means all defaults).  ``padding`` is
    whatever followed the last view; ``length_skew`` is the declared record length minus the
    bytes actually present (some producers are a few bytes off) and is reproduced on writing;
    ``long_length_field`` marks an ANSI 2004 record using the 6-byte length form; ``version``
    keeps a variant spelling of the 2004/2005 version (``b"020\\0"`` for ``b" 20\\0"``);
    ``ansi_angles_in_iso_units`` marks an ANSI record whose producer wrote ISO angle codes
    (360/256 degrees), recognised by codes above ANSI's 179.
    """

    format: str
    fingers: list[Finger] = field(default_factory=list)
    views: list[ViewDetail] = field(default_factory=list)
    width: int = 0
    height: int = 0
    resolution_x: int = DEFAULT_RESOLUTION_PPCM
    resolution_y: int = DEFAULT_RESOLUTION_PPCM
    equipment_compliance: int = 0
    equipment_id: int = 0
    cbeff_owner: int = 0
    cbeff_type: int = 0
    certification_flag: int = 0
    long_length_field: bool = False
    padding: bytes = b""
    length_skew: int = 0
    version: bytes | None = None
    ansi_angles_in_iso_units: bool = False

    @property
    def sensor_certified(self) -> bool:
        """Whether the capture equipment declares certification (compliance bit 3)."""
        return bool(self.equipment_compliance & 0b1000)

    def view(self, index: int) -> ViewDetail:
        """The detail of finger ``index``, or defaults when the record has none for it."""
        return self.views[index] if index < len(self.views) else ViewDetail()


def _codec(fmt: str):
    # Imported on use: the codec modules import the record types defined above.
    if fmt not in _CODECS:
        raise TemplateError("format", f"unknown format {fmt!r}: expected one of "
                                      f"{', '.join(FORMATS)}")
    return importlib.import_module(f"matcher.finger.{_CODECS[fmt]}")


def detect_format(data: bytes) -> str:
    """The format of a binary record (spec ``minutiae.md`` section 3), one of :data:`FORMATS`.

    ``FMR\\0`` + `` 20\\0`` (or the variant ``020\\0``) is ISO 2005 or ANSI 2004, told
    apart by the length field;
    ``FMR\\0`` + ``030\\0`` is ISO 2011 when its representation lengths add up, else ANSI 2009.
    Raises TemplateError for anything else.
    """
    from matcher.finger import _ansi2004, _iso2005, _v030

    data = _as_bytes(data)
    version = _iso2005.check_magic(data)
    if version in _iso2005.VERSIONS_2005:
        return ANSI2004 if _ansi2004.is_ansi2004(data) else ISO2005
    return ISO2011 if _v030.looks_like_iso2011(data) else ANSI2009


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


def template_to_json(record: TemplateRecord) -> dict:
    """A readable JSON-ready dict of the whole record (``matcher finger inspect``): header,
    then per finger its fields and ``points`` as ``[x, y, angle_degrees, type, quality]``."""
    from matcher.finger import _template_json

    return _template_json.template_to_json(record)


def finger_from_json(obj: object, *, field: str = "fingers[0]") -> Finger:
    """Parse one finger of the architecture's JSON record form, either
    ``{"position": 7, "minutiae": {"width", "height", "resolution_dpi", "points": [...]}}``
    or ``{"position": 2, "template": "<base64 ISO/ANSI record>"}``, taking the record's first
    view of that position (a lone view with the position unknown on either side is taken
    too).  Errors name the JSON path under ``field``, e.g. ``fingers[0].minutiae.points[3].x``."""
    from matcher.finger import _template_json

    return _template_json.finger_from_json(obj, field=field)


def finger_to_json(finger: Finger) -> dict:
    """The architecture's JSON minutiae form of ``finger`` (inverse of finger_from_json)."""
    from matcher.finger import _template_json

    return _template_json.finger_to_json(finger)


def inspect_main(argv: list[str]) -> int:
    """``matcher finger inspect FILE``: print the parsed record as JSON.  Exit status 0 on
    success, 1 when the file is not a valid template, 2 on a usage or file error."""
    from matcher.finger import _template_json

    return _template_json.inspect_main(argv)


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TemplateError("data", f"expected bytes, got {type(data).__name__}")

"""The parsed form of a finger minutiae record: the supported formats, :class:`TemplateRecord`
and the :class:`ViewDetail` that keeps, per finger view, what the shared
:class:`~matcher.finger.model.Finger` model has no room for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matcher.finger.model import Finger

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

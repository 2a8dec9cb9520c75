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

# The implementation lives in private modules, one concept each: _template_record (the parsed
# form), _template_error, _template_codec (detection and dispatch), the edition codecs
# _iso2005, _ansi2004, _iso2011 and _ansi2009 over the shared _template_binary,
# _template_fields, _template_minutiae, _template_extended, _template_views2005 and
# _template_iso_blocks, and the JSON forms _template_finger_json and _template_json.
from matcher.finger._template_codec import detect_format, read_template, write_template
from matcher.finger._template_error import TemplateError
from matcher.finger._template_finger_json import finger_from_json, finger_to_json
from matcher.finger._template_json import inspect_main, template_to_json
from matcher.finger._template_record import (
    ANGLE_UNIT_DEGREES, ANSI2004, ANSI2009, DEFAULT_RESOLUTION_PPCM, FORMATS, ISO2005, ISO2011,
    CaptureTime, CertificationBlock, ExtendedBlock, QualityBlock, TemplateRecord, ViewDetail,
)
from matcher.finger.model import Finger  # what the JSON functions take and return

__all__ = [
    "FORMATS", "CaptureTime", "CertificationBlock", "ExtendedBlock", "QualityBlock",
    "TemplateError", "TemplateRecord", "ViewDetail", "detect_format", "finger_from_json",
    "finger_to_json", "inspect_main", "read_template", "template_to_json", "write_template",
]

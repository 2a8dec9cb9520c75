"""The minutiae model every fingerprint module shares (spec ``minutiae.md`` section 1).

Coordinates are pixels at the template's resolution, origin top-left, y growing downwards;
angles are degrees counter-clockwise *as seen on the image*, in [0, 360).  A minutia's
direction on the image is therefore the vector (cos a, -sin a) in (x, y) pixel terms:
modules that do geometry convert to a right-handed frame with y_up = -y first.

Binary formats carry resolution in pixels per centimetre (197 ppcm = 500 dpi); the JSON
form of the architecture note carries dpi.  Both are kept so a round trip is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MINUTIA_TYPES = ("other", "ending", "bifurcation")   # index = the 2-bit code of ISO/ANSI
TYPE_CODES = {name: code for code, name in enumerate(MINUTIA_TYPES)}
#: Finger positions (ISO/IEC 19794-2, ANSI 378): 0 unknown, 1-5 right thumb..little,
#: 6-10 left thumb..little.
POSITIONS = tuple(range(11))
POSITION_NAMES = (
    "UNKNOWN", "RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE",
    "LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE",
)
#: Most minutiae one finger view may hold in the binary formats (one count byte).
MAX_MINUTIAE = 255
PPCM_PER_DPI = 1 / 2.54


@dataclass(frozen=True, slots=True)
class Minutia:
    """One minutia: position (px), angle (degrees CCW on the image, [0, 360)), type, quality
    0-100 (0 = not reported)."""

    x: int
    y: int
    angle: float
    type: str = "ending"
    quality: int = 0


@dataclass(slots=True)
class Finger:
    """One finger view: where it sits on the hands, how it was captured, its minutiae."""

    position: int = 0
    minutiae: list[Minutia] = field(default_factory=list)
    view: int = 0
    impression: int = 0   # 0 live plain, 1 live rolled, 2 non-live plain, 3 non-live rolled, 8 swipe, ...
    quality: int = 0
    width: int = 0        # image size in pixels (the record's, repeated per finger for convenience)
    height: int = 0
    resolution_dpi: int = 500

    def arrays(self) -> "MinutiaArrays":
        return MinutiaArrays.from_minutiae(self.minutiae)


@dataclass(slots=True)
class MinutiaArrays:
    """Column arrays for kernels: x, y (float32 px, image frame), angle (float32 radians,
    CCW on the image), type (uint8 code), quality (uint8)."""

    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    type: np.ndarray
    quality: np.ndarray

    @classmethod
    def from_minutiae(cls, minutiae: list[Minutia]) -> "MinutiaArrays":
        n = len(minutiae)
        return cls(
            np.fromiter((m.x for m in minutiae), np.float32, n),
            np.fromiter((m.y for m in minutiae), np.float32, n),
            np.fromiter((np.deg2rad(m.angle) for m in minutiae), np.float32, n),
            np.fromiter((TYPE_CODES[m.type] for m in minutiae), np.uint8, n),
            np.fromiter((m.quality for m in minutiae), np.uint8, n),
        )

    def __len__(self) -> int:
        return len(self.x)

"""Vehicle identification numbers (ISO 3779): normalisation and the check digit.

A VIN is 17 characters from digits and capital Latin letters without I, O and Q (left out
by ISO 3779 because they read as 1 and 0).  Input is NFKC-normalised, spaces removed and
upper-cased; anything else is refused with an error naming the character and its position.

Position 9 is a check digit in North America (49 CFR 565) and China: letters are
transliterated to numbers (``TRANSLITERATION``), multiplied by the position weights
``WEIGHTS`` and summed; the remainder modulo 11 is the digit, 10 being written ``X``.
European VINs need not carry it (position 9 is often ``Z`` or part of the model code), so
the check digit is computed and reported, never required.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

VIN_LENGTH = 17
#: The 33 characters a VIN may hold, in the order the index numbers them.
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
#: Letters ISO 3779 never uses, with the character an operator most likely meant.
FORBIDDEN_LETTERS = {"I": "1", "O": "0", "Q": "0"}
CHECK_DIGIT_POSITION = 9  # 1-based
#: 49 CFR 565.15: value of each letter (digits count as themselves).
TRANSLITERATION = {
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
#: 49 CFR 565.15: weight of each position 1..17 (the check digit's own weight is 0).
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

_VALUES = {**{str(d): d for d in range(10)}, **TRANSLITERATION}
_ALLOWED = frozenset(VIN_ALPHABET)


class VinError(ValueError):
    """A VIN that cannot be normalised; the message names the field and what is wrong."""


@dataclass(frozen=True, slots=True)
class Vin:
    """A normalised VIN.  ``check_digit`` is the digit position 9 would carry under the
    North American rule; ``check_digit_ok`` says whether it does (False is normal for
    European VINs and no reason to doubt them)."""

    text: str
    check_digit: str
    check_digit_ok: bool


def normalise_vin(value: object) -> str:
    """The canonical 17-character VIN, or VinError naming what is wrong."""
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise VinError(f"vin: expected text, got {shown}")
    text = unicodedata.normalize("NFKC", value)
    text = "".join(text.split())
    upper = text.upper()
    if len(upper) != len(text):  # a character whose capital is two letters (ß)
        upper = "".join(c if len(c.upper()) != 1 else c.upper() for c in text)
    for position, (char, capital) in enumerate(zip(text, upper), start=1):
        if capital in _ALLOWED:
            continue
        if capital in FORBIDDEN_LETTERS:
            raise VinError(f"vin: letter {char} at position {position} is never used in a VIN "
                           f"(I, O and Q are excluded by ISO 3779; "
                           f"did you mean {FORBIDDEN_LETTERS[capital]}?)")
        name = unicodedata.name(char, "unnamed character")
        shown = repr(char) if char.isprintable() else "(not printable)"
        raise VinError(f"vin: character {shown} (U+{ord(char):04X} {name}) at position "
                       f"{position} is not a VIN character (digits and A-Z without I, O, Q)")
    if len(text) != VIN_LENGTH:
        raise VinError(f"vin: must be {VIN_LENGTH} characters without spaces, got {len(text)}")
    return upper


def check_digit(vin: str) -> str:
    """The check digit (``0``-``9`` or ``X``) for a normalised VIN; position 9 is ignored."""
    total = sum(_VALUES[c] * w for c, w in zip(vin, WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def parse_vin(value: object) -> Vin:
    """Normalise a VIN and report its check digit."""
    text = normalise_vin(value)
    digit = check_digit(text)
    return Vin(text, digit, text[CHECK_DIGIT_POSITION - 1] == digit)


def with_check_digit(vin: str) -> str:
    """``vin`` with position 9 replaced by its correct check digit (for synthetic data)."""
    return vin[:CHECK_DIGIT_POSITION - 1] + check_digit(vin) + vin[CHECK_DIGIT_POSITION:]

"""Registration-plate normalisation and the ANPR confusion classes.

A plate as typed by an officer, read by a camera or exported by a register becomes one
canonical string, the form stored, indexed and compared:

1. Unicode NFKC (full-width ``ＡＢ１２`` becomes ``AB12``, a combining diaeresis joins its
   letter), then upper case.
2. Separators are removed: white space, hyphens and dashes, full stop, middle dot, slash
   (and their look-alikes listed in ``SEPARATORS``), so ``B-AB 1234`` is ``BAB1234``.
3. Cyrillic and Greek capitals drawn like a Latin capital become that Latin letter.
   Bulgarian, Ukrainian and Greek plates are issued in exactly these letters so that
   foreign cameras can read them: ``СВ 1234 АК`` is ``CB1234AK``, ``ΙΚΥ-1234`` is
   ``IKY1234`` (lower-case input is upper-cased first).
4. The national letters ``NATIONAL_LETTERS`` are kept as they are: Ä Ö Ü (German district
   codes such as MÜ, LÖ, TÜ; Swedish personalised plates) and Å Æ Ø (Danish, Norwegian and
   Swedish personalised plates).  No current European series issues Ñ, Ç, É, Č, Ł, Ş or any
   other accented letter: such a character is a typing error and is refused, so that the
   operator corrects the plate rather than searching for a plate that cannot exist.
5. Any other character is an error naming it (character, code point and Unicode name).

ANPR cameras confuse characters of the same shape class (``CONFUSION_CLASSES``);
``tolerant_plate`` maps each character to its class representative, so two plates that a
camera could mistake for each other have the same tolerant form.
"""

from __future__ import annotations

import re
import unicodedata

#: Every character a normalised plate may hold, in the order the index numbers them.
LATIN_AND_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NATIONAL_LETTERS = "ÄÅÆÖØÜ"
PLATE_ALPHABET = LATIN_AND_DIGITS + NATIONAL_LETTERS
#: Longest normalised plate accepted.  The longest current European series hold 8 or 9
#: characters (German ``MÜ-AB 1234E``, Swiss ``ZH 123456``); 15 leaves room for diplomatic,
#: military and trade plates and is what the index's 96-bit packed key holds.
MAX_PLATE_CHARS = 15

#: Characters removed from plates: white space (any, after NFKC), and the hyphen, dot and
#: slash families people type or paste from documents.
SEPARATORS = frozenset(
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"   # hyphen-minus, hyphens, dashes, minus
    ".\u00b7\u2027\u2219\u22c5\u30fb"               # full stop, middle dots
    "/\u2044\u2215"                                  # slash, fraction and division slash
)

#: Cyrillic capitals drawn like Latin ones: the 12 letters of Bulgarian plates, plus the
#: Ukrainian І and the Macedonian/Serbian Ј and Ѕ.
CYRILLIC_LOOKALIKES = {
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
}
#: Greek capitals drawn like Latin ones: the 14 letters of Greek plates.
GREEK_LOOKALIKES = {
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}

#: Shape classes ANPR readers confuse (the issue's list); the first character of each class
#: is its representative in the tolerant form.
CONFUSION_CLASSES = ("0ODQ", "1IL", "2Z", "5S", "8B", "6G")
#: Our extension: readers trained on plain Latin drop diacritics, and a slashed Ø reads as
#: zero, so national letters fall into the class of the letter they are drawn on.
DIACRITIC_CONFUSIONS = {"Ä": "A", "Å": "A", "Ü": "U", "Ö": "0", "Ø": "0"}

_TOLERANT = {c: cls[0] for cls in CONFUSION_CLASSES for c in cls}
_TOLERANT.update(DIACRITIC_CONFUSIONS)
TOLERANT_MAP = {c: _TOLERANT.get(c, c) for c in PLATE_ALPHABET}
_TOLERANT_TABLE = str.maketrans({c: t for c, t in TOLERANT_MAP.items() if c != t})

_ASCII_DELETE = str.maketrans("", "", " \t\n\r\v\f-./")
_ASCII_PLATE = re.compile(f"[{LATIN_AND_DIGITS}]+")
_KEPT = frozenset(PLATE_ALPHABET)
#: Characters already classified (kept or mapped letter, "" for a separator, None when
#: refused); bounded by the number of distinct characters ever seen.
_CHAR_CACHE: dict[str, str | None] = {}


class PlateError(ValueError):
    """A plate that cannot be normalised; the message names the field and the character."""


def normalise_plate(value: object) -> str:
    """The canonical form of a plate (see the module docstring), or PlateError."""
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise PlateError(f"plate: expected text, got {shown}")
    if value.isascii():  # fast path: NFKC leaves ASCII unchanged
        text = value.upper().translate(_ASCII_DELETE)
        if _ASCII_PLATE.fullmatch(text):
            return _checked_length(text)
    text = unicodedata.normalize("NFKC", value)
    out = []
    for char in text:
        mapped = _CHAR_CACHE.get(char, "?")
        if mapped == "?":
            mapped = _classify(char)
            _CHAR_CACHE[char] = mapped
        if mapped is None:
            raise PlateError(f"plate: character {_describe(char)} is not used on registration plates")
        out.append(mapped)
    return _checked_length("".join(out))


def _classify(char: str) -> str | None:
    if char.isspace() or char in SEPARATORS:
        return ""
    upper = char.upper()
    if len(upper) != 1:  # ß -> SS and the like: no plate holds them
        return None
    if upper in _KEPT:
        return upper
    return CYRILLIC_LOOKALIKES.get(upper) or GREEK_LOOKALIKES.get(upper)


def _checked_length(text: str) -> str:
    if not text:
        raise PlateError("plate: no letters or digits")
    if len(text) > MAX_PLATE_CHARS:
        raise PlateError(f"plate: {len(text)} characters without separators, at most "
                         f"{MAX_PLATE_CHARS}")
    return text


def _describe(char: str) -> str:
    name = unicodedata.name(char, "unnamed character")
    shown = repr(char) if char.isprintable() else "(not printable)"
    return f"{shown} (U+{ord(char):04X} {name})"


def tolerant_plate(plate: str) -> str:
    """A normalised plate with each character replaced by its confusion-class
    representative: two plates an ANPR reader could mistake for each other map to the same
    string (``O8ZS1`` and ``0825I`` both give ``08251``)."""
    return plate.translate(_TOLERANT_TABLE)

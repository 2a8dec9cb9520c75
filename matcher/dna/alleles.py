"""Allele designations: from the text a lab writes to the integer code the kernels compare.

Spec section 2.  An allele N.d at a locus with repeat unit R is coded ``R*N + d``: codes
one apart are one base pair apart, which is what "microvariant-equivalent" means.  Code 0 is
the wildcard (valid codes start at 2*R >= 6, so 0 never collides).
"""

from __future__ import annotations

WILDCARD = 0
WILDCARD_TEXT = "*"

#: Spec 2: repeat numbers 2..98 are alleles; 0, 1 and 99 are wildcard conventions.
MIN_REPEAT = 2
MAX_REPEAT = 98
WILDCARD_NUMBERS = frozenset({0, 1, 99})
#: Integers above this are malformed (spec 2: "an integer above 99").
MAX_WILDCARD_INTEGER = 99


class AlleleError(ValueError):
    """An allele designation the spec calls malformed; the message says what was expected."""


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_allele(text: str, repeat_unit: int) -> int:
    """Code of one trimmed, non-empty allele designation at a locus with unit ``repeat_unit``.

    Returns ``WILDCARD`` (0) for ``*``, ``0``, ``1``, ``99`` and non-numeric text (``OL``,
    ``<8``, ``>24``, ``F`` ...).  Raises AlleleError for the malformed numbers of spec 2.
    """
    if text[0] in "+-":
        raise AlleleError(f"allele {text!r} starts with a sign; write the repeat number alone")
    whole, dot, decimal = text.partition(".")
    if not dot:
        if not _is_ascii_digits(whole):
            return WILDCARD  # non-numeric text: an off-ladder or unreadable call
        repeats = int(whole)
        if MIN_REPEAT <= repeats <= MAX_REPEAT:
            return repeat_unit * repeats
        if repeats in WILDCARD_NUMBERS:
            return WILDCARD
        raise AlleleError(f"allele {text!r} is above {MAX_WILDCARD_INTEGER}: expected 2..98")
    if not (_is_ascii_digits(whole) and _is_ascii_digits(decimal)):
        return WILDCARD  # e.g. '.5', '9.', '9.3.1', '9.x': not a number in the spec's sense
    repeats = int(whole)
    if len(decimal) != 1:
        raise AlleleError(
            f"allele {text!r} has {len(decimal)} decimal digits: a microvariant is N.d with one digit"
        )
    variant = int(decimal)
    if not MIN_REPEAT <= repeats <= MAX_REPEAT:
        raise AlleleError(f"microvariant {text!r}: repeat number must be 2..98")
    if not 1 <= variant <= repeat_unit - 1:
        raise AlleleError(
            f"microvariant {text!r}: the part after '.' must be 1..{repeat_unit - 1} "
            f"(repeat unit {repeat_unit} bp)"
        )
    return repeat_unit * repeats + variant


def allele_text(code: int, repeat_unit: int) -> str:
    """Canonical designation of a code: ``'9'``, ``'9.3'`` or ``'*'``."""
    if code == WILDCARD:
        return WILDCARD_TEXT
    repeats, variant = divmod(code, repeat_unit)
    return f"{repeats}.{variant}" if variant else str(repeats)

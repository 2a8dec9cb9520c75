"""Synthetic registration plates.

Plates follow each country's current format as it is written (separators included):
Dutch sidecodes ``12-BDF-3``, German ``B-AB 1234`` with real district codes (umlauts too),
French ``AB-123-CD``, Belgian ``1-ABC-234``, Italian ``AB 123 CD``, Spanish ``1234 BCD``,
Bulgarian and Ukrainian plates in Cyrillic, Greek plates in Greek capitals, and so on
(``FORMATS``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_NO_IOU = "ABCDEFGHJKLMNPQRSTVWXYZ"
_CONSONANTS = "BCDFGHJKLMNPRSTVWXYZ"
_CYRILLIC = "АВЕКМНОРСТУХ"
#: country -> [(pattern, letters, regions)]: in a pattern ``9`` is a digit, ``1`` a digit
#: 1-9, ``L`` one of ``letters``, each ``R`` the next character of a region code drawn
#: from ``regions`` (all of one length); anything else is written as is.
FORMATS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "NL": [(p, "BDFGHJKLNPRSTVXZ", ()) for p in
           ("19-LLL-9", "1-LLL-99", "LL-199-L", "L-199-LL", "LLL-19-L", "L-19-LLL", "1-LL-199")],
    "DE": [("R-LL 1999", _NO_IOU, ("B", "M", "K", "F", "S", "D", "H", "N", "L", "E")),
           ("RR-L 199", _NO_IOU, ("HH", "HB", "DO", "BO", "KA", "MÜ", "LÖ", "TÜ", "GÖ", "FR")),
           ("RRR-LL 199E", _NO_IOU, ("TÖL", "DÜW", "SÜW", "BGL", "LDS", "OHV"))],
    "FR": [("LL-199-LL", _NO_IOU.replace("Q", ""), ())],
    "BE": [("1-LLL-199", _NO_IOU, ())],
    "IT": [("LL 199LL", _NO_IOU.replace("Q", ""), ())],
    "ES": [("1999 LLL", _CONSONANTS, ())],
    "PT": [("LL-19-LL", _NO_IOU, ())],
    "PL": [("RR 19999", "", ("WA", "WE", "KR", "PO", "GD", "WR", "LU")),
           ("RRR 199LL", _NO_IOU, ("WPI", "KRA", "PZA", "SKA"))],
    "CZ": [("1R9 9999", "", ("A", "B", "C", "E", "H", "J", "K", "L", "M", "P", "S", "T"))],
    "SK": [("RR-199LL", _NO_IOU, ("BA", "BB", "KE", "NR", "PO", "TT", "ZA", "TN"))],
    "AT": [("R-1999L", _NO_IOU, ("W", "L", "G", "S")),
           ("RR 199LL", _NO_IOU, ("GU", "LL", "KU", "BR", "VB", "IL"))],
    "CH": [("RR 199999", "", ("ZH", "BE", "LU", "ZG", "BS", "SG", "AG", "TI", "VD", "GE"))],
    "LU": [("LL 1999", _NO_IOU, ())],
    "GB": [("LL19 LLL", _NO_IOU.replace("Q", ""), ())],
    "IE": [("RRR-R-1999", "", ("191D", "201C", "222G", "241L")),
           ("RRR-RR-199", "", ("192KY", "211MO", "231WX", "242LK"))],
    "DK": [("LL 19 999", _NO_IOU, ())],
    "NO": [("LL 19999", _NO_IOU.replace("Q", ""), ())],
    "SE": [("LLL 19L", _NO_IOU.replace("Q", "").replace("V", ""), ())],
    "FI": [("LLL-199", _NO_IOU, ())],
    "EE": [("199 LLL", _NO_IOU, ())],
    "LV": [("LL-1999", _NO_IOU, ())],
    "LT": [("LLL 199", _NO_IOU, ())],
    "HU": [("LL LL-199", _NO_IOU, ())],
    "RO": [("RR 19 LLL", _NO_IOU, ("CJ", "TM", "IS", "CT", "BV", "AG"))],
    "HR": [("RR 1999-LL", _NO_IOU, ("ZG", "ST", "RI", "OS", "ZD", "PU"))],
    "SI": [("RR LL-199", _NO_IOU, ("LJ", "MB", "CE", "KR", "NM", "KP"))],
    "BG": [("RR 1999 LL", _CYRILLIC, ("СА", "СВ", "РВ", "ВТ", "СТ", "ЕН", "КН", "РА")),
           ("R 1999 LL", _CYRILLIC, ("В", "А", "Е", "Х", "Н", "М", "Р"))],
    "UA": [("RR 1999 LL", "АВСЕНІКМОРТХ", ("АА", "АІ", "ВС", "АЕ", "ВН", "АХ"))],
    "GR": [("LLL-1999", "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", ())],
    "CY": [("LLL 199", _NO_IOU, ())],
    "MT": [("LLL 199", _NO_IOU, ())],
    "RS": [("RR 199-LL", _NO_IOU, ("BG", "NS", "NI", "KG", "SU"))],
    "TR": [("RR LLL 199", _NO_IOU, ("34", "06", "35", "16", "07"))],
}


def _fill(rng, pattern: str, letters: str, regions: tuple[str, ...], n: int) -> list[str]:
    """``n`` plates of one pattern, built column by column as code points."""
    codes = np.empty((n, len(pattern)), np.uint32)
    region = rng.integers(0, max(len(regions), 1), n)
    region_codes = np.array([[ord(c) for c in r] for r in regions] or [[0]], np.uint32)
    r_position = 0
    for i, char in enumerate(pattern):
        if char == "9":
            codes[:, i] = 48 + rng.integers(0, 10, n)
        elif char == "1":
            codes[:, i] = 49 + rng.integers(0, 9, n)
        elif char == "L":
            alphabet = np.array([ord(c) for c in letters], np.uint32)
            codes[:, i] = alphabet[rng.integers(0, len(letters), n)]
        elif char == "R":
            codes[:, i] = region_codes[region, r_position]
            r_position += 1
        else:
            codes[:, i] = ord(char)
    return codes.view(f"<U{len(pattern)}").ravel().tolist()


def random_plates(rng: np.random.Generator, countries: Sequence[str], n: int):
    """(country codes, plates) for ``n`` vehicles drawn evenly from ``countries``."""
    chosen = rng.integers(0, len(countries), n)
    plates: list[str | None] = [None] * n
    for c, country in enumerate(countries):
        rows = np.flatnonzero(chosen == c)
        formats = FORMATS[country]
        which = rng.integers(0, len(formats), len(rows))
        for f, (pattern, letters, regions) in enumerate(formats):
            picked = rows[which == f]
            made = _fill(rng, pattern, letters, regions, len(picked))
            for row, plate in zip(picked.tolist(), made):
                plates[row] = plate
    return [countries[c] for c in chosen.tolist()], plates

"""Countries of registration: ISO 3166-1 alpha-2 codes and international distinguishing signs.

A vehicle record or a plate query names its country either by its ISO 3166-1 alpha-2 code
(``DE``) or by the distinguishing sign shown on the vehicle (``D``, the oval sticker or the
left band of an EU plate; signs from the 1949 Geneva and 1968 Vienna road-traffic
conventions as notified to the UN).  Both are accepted case-insensitively and normalised to
the alpha-2 code, which is what the store and the index hold.

Two-letter signs are only listed where they cannot be read as another country's alpha-2
code (``UK`` and ``FL`` are not assigned ISO codes; ``ET`` is Egypt's sign but Ethiopia's
code, so it is left out).  A test checks this for every entry.
"""

from __future__ import annotations

#: ISO 3166-1 alpha-2, the officially assigned codes (249), plus ``XK`` for Kosovo, the
#: user-assigned code the EU, EUCARIS and most registers use.
ISO_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW XK
""".split())

#: International distinguishing signs -> alpha-2, for Europe, its neighbours and the few
#: non-European registrations European police meet most.  Signs equal to their alpha-2 code
#: (NL, DK, PL, ...) need no entry: the alpha-2 table already accepts them.
DISTINGUISHING_SIGNS = {
    "A": "AT", "AND": "AD", "B": "BE", "BIH": "BA", "CDN": "CA", "D": "DE", "E": "ES",
    "EST": "EE", "F": "FR", "FIN": "FI", "FL": "LI", "GBA": "GG", "GBG": "GG", "GBJ": "JE",
    "GBM": "IM", "GBZ": "GI", "H": "HU", "I": "IT", "IRL": "IE", "J": "JP", "L": "LU",
    "M": "MT", "MNE": "ME", "N": "NO", "NMK": "MK", "P": "PT", "RKS": "XK", "RL": "LB",
    "RSM": "SM", "RUS": "RU", "S": "SE", "SLO": "SI", "SRB": "RS", "SYR": "SY", "UK": "GB",
    "USA": "US", "V": "VA",
}


class CountryError(ValueError):
    """The country field is missing, not text, or names no known country."""


def normalise_country(value: object) -> str:
    """The alpha-2 code for an alpha-2 code or distinguishing sign, any case, surrounding
    spaces ignored; CountryError (message naming the field and the value) otherwise."""
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise CountryError(f"country: expected an ISO 3166-1 alpha-2 code or a "
                           f"distinguishing sign as text, got {shown}")
    text = value.strip().upper()
    if text in ISO_ALPHA2:
        return text
    code = DISTINGUISHING_SIGNS.get(text)
    if code is None:
        raise CountryError(f"country: {value!r} is neither an ISO 3166-1 alpha-2 code nor a "
                           f"known international distinguishing sign")
    return code


def country_number(code: str) -> int:
    """A stable number 0..675 for an alpha-2 code (first letter * 26 + second letter), the
    form the index packs into its keys; stable because it depends on the letters only."""
    return (ord(code[0]) - 65) * 26 + (ord(code[1]) - 65)


def country_code(number: int) -> str:
    """The alpha-2 code of ``country_number``'s result."""
    return chr(65 + number // 26) + chr(65 + number % 26)

"""Every normalisation rule of issue 4: countries, plates, VINs."""

from __future__ import annotations

import pytest

from matcher.vehicle.countries import (
    DISTINGUISHING_SIGNS, ISO_ALPHA2, CountryError, country_code, country_number,
    normalise_country,
)
from matcher.vehicle.plates import (
    CYRILLIC_LOOKALIKES, GREEK_LOOKALIKES, MAX_PLATE_CHARS, PlateError, normalise_plate,
    tolerant_plate,
)
from matcher.vehicle.vin import VinError, check_digit, normalise_vin, parse_vin


# ---------------------------------------------------------------------- countries
@pytest.mark.parametrize("sign, code", [
    ("D", "DE"), ("F", "FR"), ("I", "IT"), ("A", "AT"), ("E", "ES"), ("P", "PT"), ("B", "BE"),
    ("L", "LU"), ("NL", "NL"), ("S", "SE"), ("FIN", "FI"), ("DK", "DK"), ("IRL", "IE"),
    ("GR", "GR"), ("CZ", "CZ"), ("SK", "SK"), ("PL", "PL"), ("H", "HU"), ("SLO", "SI"),
    ("HR", "HR"), ("RO", "RO"), ("BG", "BG"), ("CY", "CY"), ("M", "MT"), ("EST", "EE"),
    ("LV", "LV"), ("LT", "LT"), ("CH", "CH"), ("N", "NO"), ("UK", "GB"), ("GB", "GB"),
    ("IS", "IS"), ("FL", "LI"), ("MC", "MC"), ("RSM", "SM"), ("V", "VA"), ("AND", "AD"),
    ("SRB", "RS"), ("MNE", "ME"), ("MK", "MK"), ("NMK", "MK"), ("AL", "AL"), ("BIH", "BA"),
    ("MD", "MD"), ("UA", "UA"), ("BY", "BY"), ("TR", "TR"), ("RUS", "RU"), ("RKS", "XK"),
    ("GBZ", "GI"), ("GBJ", "JE"), ("GBM", "IM"), ("GBG", "GG"),
])
def test_distinguishing_signs_and_alpha2(sign, code):
    assert normalise_country(sign) == code
    assert normalise_country(sign.lower()) == code
    assert normalise_country(f" {sign} ") == code


def test_every_alpha2_code_is_accepted_and_signs_never_shadow_one():
    assert len(ISO_ALPHA2) == 250  # 249 assigned + XK
    for code in ISO_ALPHA2:
        assert normalise_country(code) == code
        assert country_code(country_number(code)) == code
    for sign, code in DISTINGUISHING_SIGNS.items():
        assert code in ISO_ALPHA2
        assert sign not in ISO_ALPHA2, f"{sign} would be read as another country's alpha-2 code"


@pytest.mark.parametrize("value, fragment", [
    ("XY", "'XY' is neither"), ("Deutschland", "'Deutschland'"), ("", "''"),
    (None, "got null"), (49, "got int"),
])
def test_unknown_country_is_an_error_naming_it(value, fragment):
    with pytest.raises(CountryError, match="^country: ") as info:
        normalise_country(value)
    assert fragment in str(info.value)


# ---------------------------------------------------------------------- plates
@pytest.mark.parametrize("raw, plate", [
    ("B-AB 1234", "BAB1234"), ("12-ABC-3", "12ABC3"), ("ab-123-cd", "AB123CD"),
    ("1.ABC.234", "1ABC234"), ("ZH·123456", "ZH123456"), ("WA/12345", "WA12345"),
    (" 1234\tBCD ", "1234BCD"), ("AB\u00a0123\u2013CD", "AB123CD"),  # no-break space, en dash
    ("ＡＢ－１２３", "AB123"),  # full-width forms (NFKC)
])
def test_separators_case_and_nfkc(raw, plate):
    assert normalise_plate(raw) == plate


def test_bulgarian_plates_in_cyrillic_upper_and_lower_case():
    assert normalise_plate("СВ 1234 АК") == "CB1234AK"
    assert normalise_plate("св 1234 ак") == "CB1234AK"
    assert normalise_plate("ВТ 5678 РХ") == normalise_plate("BT 5678 PX")
    for cyrillic, latin in CYRILLIC_LOOKALIKES.items():
        assert normalise_plate(cyrillic + "1") == latin + "1"
        assert normalise_plate(cyrillic.lower() + "1") == latin + "1"


def test_greek_plates_upper_and_lower_case():
    assert normalise_plate("ΙΚΥ-1234") == "IKY1234"
    assert normalise_plate("ικυ-1234") == "IKY1234"
    assert normalise_plate("ΖΗΝ 9876") == "ZHN9876"
    for greek, latin in GREEK_LOOKALIKES.items():
        assert normalise_plate(greek + "1") == latin + "1"
        assert normalise_plate(greek.lower() + "1") == latin + "1"


def test_national_letters_are_kept():
    assert normalise_plate("MÜ-AB 123") == "MÜAB123"
    assert normalise_plate("tö-l 12") == "TÖL12"
    assert normalise_plate("LÖ-X 1") != normalise_plate("LO-X 1")
    assert normalise_plate("ÆØÅ 123") == "ÆØÅ123"
    assert normalise_plate("Ä1") == "Ä1"
    assert normalise_plate("A\u0308B") == "ÄB"  # A + combining diaeresis, joined by NFKC


@pytest.mark.parametrize("raw, named", [
    ("MÉ 123", "'É' (U+00C9 LATIN CAPITAL LETTER E WITH ACUTE)"),
    ("Ñ-123", "'Ñ'"), ("Ç 12", "'Ç'"), ("straße 1", "'ß'"), ("AB_12", "'_'"),
    ("AB\u200b12", "U+200B ZERO WIDTH SPACE"), ("Б 1234", "CYRILLIC CAPITAL LETTER BE"),
    ("Λ 1234", "GREEK CAPITAL LETTER LAMDA"), ("AB😀1", "U+1F600"),
])
def test_other_characters_are_errors_naming_them(raw, named):
    with pytest.raises(PlateError, match="^plate: character ") as info:
        normalise_plate(raw)
    assert named in str(info.value)


@pytest.mark.parametrize("raw, message", [
    ("", "no letters or digits"), (" - / ", "no letters or digits"),
    ("A" * (MAX_PLATE_CHARS + 1), f"at most {MAX_PLATE_CHARS}"), (1234, "expected text"),
])
def test_empty_long_and_non_text_plates(raw, message):
    with pytest.raises(PlateError, match=message):
        normalise_plate(raw)


def test_anpr_confusion_classes():
    for group in ("0ODQ", "1IL", "2Z", "5S", "8B", "6G"):
        assert len({tolerant_plate(c) for c in group}) == 1, group
    assert tolerant_plate("O8ZS1") == tolerant_plate("0825I") == "08251"
    assert tolerant_plate("AXY") == "AXY"  # no confusable character: unchanged
    assert tolerant_plate("ÖÄÜØ") == tolerant_plate("OAU0")


# ---------------------------------------------------------------------- VINs
def test_vin_check_digit_is_computed_and_reported():
    vin = parse_vin("1M8GDM9AXKP042788")
    assert (vin.text, vin.check_digit, vin.check_digit_ok) == ("1M8GDM9AXKP042788", "X", True)
    assert check_digit("1HGCM82633A004352") == "3"
    european = parse_vin("WVWZZZ1JZXW000001")  # accepted without a valid check digit
    assert european.check_digit_ok is False and european.check_digit == "0"


def test_vin_spaces_removed_and_upper_cased():
    assert normalise_vin(" 1m8 gdm9a xkp042788 ") == "1M8GDM9AXKP042788"
    assert normalise_vin("１M8GDM9AXKP042788") == "1M8GDM9AXKP042788"  # full-width digit


@pytest.mark.parametrize("letter", ["I", "O", "Q", "i", "o", "q"])
def test_vin_letters_i_o_q_refused_clearly(letter):
    raw = "1M8GDM9AXKP04278" + letter
    with pytest.raises(VinError) as info:
        normalise_vin(raw)
    message = str(info.value)
    assert message.startswith(f"vin: letter {letter} at position 17 is never used in a VIN")
    assert "I, O and Q" in message


@pytest.mark.parametrize("raw, message", [
    ("1M8GDM9AXKP04278", "must be 17 characters without spaces, got 16"),
    ("1M8GDM9AXKP0427881", "got 18"), ("1M8GDM9AX-KP04278", "'-' (U+002D HYPHEN-MINUS) at position 10"),
    (None, "expected text, got null"),
])
def test_vin_length_and_characters(raw, message):
    with pytest.raises(VinError, match="^vin: ") as info:
        normalise_vin(raw)
    assert message in str(info.value)

"""Synthetic vehicle registers and query sets, deterministic for a seed.

Plates follow each country's current format as it is written (separators included):
Dutch sidecodes ``12-BDF-3``, German ``B-AB 1234`` with real district codes (umlauts too),
French ``AB-123-CD``, Belgian ``1-ABC-234``, Italian ``AB 123 CD``, Spanish ``1234 BCD``,
Bulgarian and Ukrainian plates in Cyrillic, Greek plates in Greek capitals, and so on
(``FORMATS``).  VINs start with the world manufacturer identifier of a real maker; North
American ones (first character 1-5) always carry a correct check digit, others only for
``check_digit_fraction`` of them, like European production.

Records are JSONL-shaped dicts ``{"reference", "country", "plate", "vin"}``; a share use a
distinguishing sign instead of the alpha-2 code, some plates are re-issued to a second
vehicle and some VINs re-registered under a second plate, as in a real register.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence

import numpy as np

from matcher.vehicle.countries import DISTINGUISHING_SIGNS
from matcher.vehicle.plates import normalise_plate
from matcher.vehicle.vin import VIN_ALPHABET, with_check_digit

#: Records produced per block of array work (a 100,000-record block is ~10 MB of arrays).
CHUNK_RECORDS = 100_000
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
#: World manufacturer identifiers of real makers.  North American ones (1-5) carry check
#: digits by law; the European ones here are often written with ``ZZZ`` filler.
WMIS = ("WVW", "WBA", "WDD", "WAU", "VF1", "VF3", "VF7", "ZFA", "ZAR", "TMB", "VSS", "YV1",
        "YS3", "SAL", "SAJ", "WF0", "W0L", "VNK", "JTD", "JHM", "KMH", "KNA", "1HG", "1FA",
        "1G1", "2T1", "3VW", "5YJ", "1M8")
_MODEL_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"
_SIGN_OF = {code: sign for sign, code in DISTINGUISHING_SIGNS.items()}


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


def random_vins(rng: np.random.Generator, n: int, check_digit_fraction: float = 0.3) -> list[str]:
    """``n`` VINs: real WMI, random descriptor, model year, plant and a 6-digit serial."""
    alphabet = np.array([ord(c) for c in VIN_ALPHABET], np.uint32)
    codes = alphabet[rng.integers(0, len(alphabet), (n, 17))]
    wmi = np.array([[ord(c) for c in w] for w in WMIS], np.uint32)[rng.integers(0, len(WMIS), n)]
    codes[:, :3] = wmi
    codes[:, 9] = np.array([ord(c) for c in _MODEL_YEARS], np.uint32)[
        rng.integers(0, len(_MODEL_YEARS), n)]
    codes[:, 11:] = 48 + rng.integers(0, 10, (n, 6))
    vins = codes.view("<U17").ravel().tolist()
    checked = (codes[:, 0] <= ord("5")) | (rng.random(n) < check_digit_fraction)
    for i in np.flatnonzero(checked).tolist():
        vins[i] = with_check_digit(vins[i])
    return vins


def generate_registrations(count: int, *, seed: int = 0, countries: Sequence[str] | None = None,
                           prefix: str = "V", sign_fraction: float = 0.1,
                           reissued_plate_fraction: float = 0.01,
                           reregistered_vin_fraction: float = 0.01,
                           vin_missing_fraction: float = 0.03,
                           plate_missing_fraction: float = 0.02) -> Iterator[dict]:
    """Stream ``count`` records ``{prefix}-00000001``...; same arguments, same records.
    A re-issued plate or re-registered VIN repeats one of the same block of records.
    Raises ValueError at once (not on first iteration) for an unknown country."""
    countries = list(countries or FORMATS)
    unknown = [c for c in countries if c not in FORMATS]
    if unknown or count < 0:
        raise ValueError(f"no plate format for {', '.join(unknown)}" if unknown
                         else f"count must be ≥ 0, got {count}")
    fractions = (sign_fraction, reissued_plate_fraction, reregistered_vin_fraction,
                 vin_missing_fraction, plate_missing_fraction)
    return _stream(np.random.default_rng(seed), countries, count, prefix, fractions)


def _stream(rng, countries, count, prefix, fractions) -> Iterator[dict]:
    sign_fraction, reissued_plate_fraction, reregistered_vin_fraction, \
        vin_missing_fraction, plate_missing_fraction = fractions
    for start in range(0, count, CHUNK_RECORDS):
        n = min(CHUNK_RECORDS, count - start)
        codes, plates = random_plates(rng, countries, n)
        vins: list[str | None] = list(random_vins(rng, n))
        earlier = rng.integers(0, np.maximum(np.arange(n), 1))
        draw = rng.random((5, n))
        for i in range(n):
            if i and draw[0, i] < reissued_plate_fraction and codes[earlier[i]] == codes[i]:
                plates[i] = plates[earlier[i]]
            if i and draw[1, i] < reregistered_vin_fraction and vins[earlier[i]]:
                vins[i] = vins[earlier[i]]
            if draw[2, i] < vin_missing_fraction:
                vins[i] = None
            elif draw[3, i] < plate_missing_fraction:
                plates[i] = None
        for i in range(n):
            record = {"reference": f"{prefix}-{start + i + 1:08d}"}
            if plates[i] is not None:
                sign = _SIGN_OF.get(codes[i])
                record["country"] = sign if sign and draw[4, i] < sign_fraction else codes[i]
                record["plate"] = plates[i]
            if vins[i] is not None:
                record["vin"] = vins[i]
            yield record


#: Characters an ANPR reader may put in place of each (a tolerant query's corruption).
_MISREAD = {"0": "O", "O": "0", "D": "0", "1": "I", "I": "1", "L": "1", "2": "Z", "Z": "2",
            "5": "S", "S": "5", "8": "B", "B": "8", "6": "G", "G": "6"}


def generate_queries(records: Sequence[dict], count: int, *, seed: int = 1,
                     tolerant_fraction: float = 0.2, miss_fraction: float = 0.1) -> list[dict]:
    """Queries ``Q-00000001``... for stored ``records``: plate queries typed differently
    (no separators, lower case, Cyrillic and Greek plates in Latin), VIN queries with
    spaces, ANPR misreads with ``"tolerant": true``, and plates of vehicles not in the
    register."""
    rng = np.random.default_rng(seed)
    sources = [r for r in records if "plate" in r or "vin" in r]
    queries = []
    for i in range(count):
        reference = f"Q-{i + 1:08d}"
        if not sources or rng.random() < miss_fraction:
            country, plates = random_plates(rng, list(FORMATS), 1)
            queries.append({"reference": reference, "country": country[0], "plate": plates[0]})
            continue
        record = sources[int(rng.integers(0, len(sources)))]
        if "plate" in record and ("vin" not in record or rng.random() < 0.7):
            plate = record["plate"].replace(" ", "").replace("-", "")
            if rng.random() < 0.5:  # as an officer types it: Latin letters, upper case
                plate = normalise_plate(plate)
            query = {"reference": reference, "country": record["country"],
                     "plate": plate.lower() if rng.random() < 0.3 else plate}
            positions = [j for j, c in enumerate(plate) if c in _MISREAD]
            if positions and rng.random() < tolerant_fraction:
                j = positions[int(rng.integers(0, len(positions)))]
                query["plate"] = plate[:j] + _MISREAD[plate[j]] + plate[j + 1:]
                query["tolerant"] = True
        else:
            vin = record["vin"]
            query = {"reference": reference, "vin": f"{vin[:3]} {vin[3:9]} {vin[9:]}"}
        queries.append(query)
    return queries


def synth_main(argv: list[str] | None = None) -> int:
    """``matcher vehicle synth``: write a synthetic register (and optionally queries) as
    JSONL.  Exit status 0 (also for ``--help``), 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="matcher vehicle synth",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, required=True, help="number of records")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same output)")
    parser.add_argument("--countries", help=f"comma-separated alpha-2 codes (default: all of "
                                            f"{','.join(FORMATS)})")
    parser.add_argument("--prefix", default="V", help="reference prefix")
    parser.add_argument("--out", help="records JSONL file (default: standard output)")
    parser.add_argument("--queries", type=int, default=0, help="number of queries to derive")
    parser.add_argument("--queries-out", help="query JSONL file (required with --queries)")
    parser.add_argument("--tolerant-fraction", type=float, default=0.2,
                        help="share of plate queries that are ANPR misreads searched tolerantly")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error argparse already printed
        return exit_request.code if isinstance(exit_request.code, int) else 2
    if args.queries and not args.queries_out:
        print("matcher vehicle synth: --queries needs --queries-out FILE", file=sys.stderr)
        return 2
    countries = args.countries.upper().split(",") if args.countries else None
    try:
        records = generate_registrations(args.count, seed=args.seed, countries=countries,
                                         prefix=args.prefix)
    except ValueError as error:
        print(f"matcher vehicle synth: {error}", file=sys.stderr)
        return 2
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    kept: list[dict] = []
    try:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            if args.queries:
                kept.append(record)
    finally:
        if out is not sys.stdout:
            out.close()
    if args.queries:
        with open(args.queries_out, "w", encoding="utf-8") as fh:
            for query in generate_queries(kept, args.queries, seed=args.seed + 1,
                                          tolerant_fraction=args.tolerant_fraction):
                fh.write(json.dumps(query, ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0

"""Synthetic vehicle registers and query sets, deterministic for a seed.

Plates are drawn in each country's current formats (``_synth_plates``), VINs with the
identifiers of real manufacturers (``_synth_vins``); queries are derived from stored
records (``_synth_queries``).

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

from matcher.vehicle._synth_plates import FORMATS, random_plates
from matcher.vehicle._synth_queries import generate_queries
from matcher.vehicle._synth_vins import WMIS, random_vins
from matcher.vehicle.countries import DISTINGUISHING_SIGNS

__all__ = [
    "CHUNK_RECORDS", "FORMATS", "WMIS", "generate_queries", "generate_registrations",
    "random_plates", "random_vins", "synth_main",
]

#: Records produced per block of array work (a 100,000-record block is ~10 MB of arrays).
CHUNK_RECORDS = 100_000
_SIGN_OF = {code: sign for sign, code in DISTINGUISHING_SIGNS.items()}


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

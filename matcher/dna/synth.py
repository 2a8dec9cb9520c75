"""Realistic synthetic national DNA databases and query sets, deterministic for a seed.

Profiles are drawn from real population allele frequencies (``matcher.dna.frequencies``)
and typed with the kits European databases hold (SGM Plus, NGM SElect, ESS-12, CODIS-20,
GlobalFiler, PowerPlex Fusion).  A database holds persons (reference profiles, always
acceptable under the Prüm rules) and stains (crime-scene traces: degraded partial profiles,
allele drop-out, rare mixtures), plus the structure that makes matching interesting:
duplicates of stored persons, Mendelian relatives, and stains left by stored persons.

Records are JSONL-shaped dicts::

    {"reference": "NL-P-00000001", "kind": "person",
     "loci": {"D3S1358": "15,16", "TH01": "6,9.3", "Amelogenin": "X,Y", ...}}

With ``truth=True`` each record also carries ``truth``: ``relation`` (``none``,
``duplicate``, ``parent_child``, ``sibling``, ``source``; queries: ``exact``, ``dropout``,
``typing_error``, ``parent_child``, ``sibling``, ``unrelated``), ``of`` (the related stored
reference), for database records ``kit`` and flags ``mixture``, ``below_minimum``,
``typing_error``.  The project's readers ignore it; strip it before handing records to
anything that expects exactly the plain shape.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np

from matcher.dna._synth_chunk import SynthParameters, generate_chunk
from matcher.dna._synth_kits import DEFAULT_KIT_MIX, KITS, allele_tables, resolve_kit_mix
from matcher.dna._synth_queries import QUERY_RELATIONS, generate_queries
from matcher.dna.frequencies import DEFAULT_POPULATION, POPULATIONS

__all__ = [
    "KITS", "DEFAULT_KIT_MIX", "QUERY_RELATIONS", "generate_database", "generate_queries",
    "write_jsonl", "synth_main",
]

#: Records generated per batch of array work.  Duplicates, relatives and planted stains are
#: paired within a chunk; 10,000 keeps every array well under 1 MB per locus and still gives
#: each chunk ~240 duplicate/relative pairs at the default rates.
CHUNK_RECORDS = 10_000

_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def generate_database(count: int, *, seed: int = 0, population: str = DEFAULT_POPULATION,
                      prefix: str = "NL", kit_mix: dict[str, float] | None = None,
                      stain_fraction: float = 0.2, duplicate_fraction: float = 0.01,
                      relative_fraction: float = 0.02, partial_fraction: float = 0.05,
                      planted_stain_fraction: float = 0.3, degraded_stain_fraction: float = 0.6,
                      mixture_fraction: float = 0.03, below_minimum_fraction: float = 0.0,
                      typing_error_fraction: float = 0.05, off_ladder_rate: float = 0.0005,
                      off_ladder_microvariant_rate: float = 0.0002, male_fraction: float = 0.8,
                      truth: bool = False) -> Iterator[dict]:
    """Stream ``count`` database records; the same arguments always give the same records.

    - ``population``: allele frequency table (``matcher.dna.frequencies.POPULATIONS``).
    - ``prefix``: country code in references ``{prefix}-P-00000001`` (persons) and
      ``{prefix}-S-00000002`` (stains); numbers run over all records, so references are unique.
    - ``kit_mix``: kit name → relative weight (``KITS``); None is ``DEFAULT_KIT_MIX``.
    - ``stain_fraction``: share of records that are stains; the rest are persons.
    - ``duplicate_fraction``: share of persons stored again under a second reference (same
      DNA, kit drawn afresh).
    - ``relative_fraction``: share of persons that are a parent/child or full sibling of
      another stored person (half each), generated through real Mendelian inheritance.
    - ``partial_fraction``: share of persons missing one or two non-ESS-7 loci (a locus that
      failed); they still meet the acceptance rules.
    - ``planted_stain_fraction``: share of stains that come from a stored person.
    - ``degraded_stain_fraction``: share of stains with degraded DNA (level uniform in 0–1):
      long loci lost first, alleles drop out; such stains still keep ≥ 6 designated loci.
    - ``mixture_fraction``: share of stains mixed with a second person (3–4 alleles at some loci).
    - ``below_minimum_fraction``: share of stains deliberately left with 2–5 designated loci,
      which the rules reject (0 for a database that only holds accepted profiles).
    - ``typing_error_fraction``: share of planted stains with one allele shifted by ± one
      repeat (a near match) or ± one base pair (a microvariant-equivalent match).
    - ``off_ladder_rate``: chance per reported allele of an off-ladder call written ``OL``,
      ``<8``, ``>24`` (wildcards); at most one per person.
    - ``off_ladder_microvariant_rate``: chance per reported allele of a microvariant not on the
      ladder (``10.1``, ``17.2``).
    - ``male_fraction``: share of men (Amelogenin ``X,Y``, DYS391 reported).
    - ``truth``: add the ``truth`` field described in the module docstring.

    Raises ValueError at once (not on first iteration) for a bad population, kit or fraction.
    """
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    params = SynthParameters(
        prefix=prefix, stain_fraction=stain_fraction, duplicate_fraction=duplicate_fraction,
        relative_fraction=relative_fraction, partial_fraction=partial_fraction,
        planted_stain_fraction=planted_stain_fraction, degraded_stain_fraction=degraded_stain_fraction,
        mixture_fraction=mixture_fraction, below_minimum_fraction=below_minimum_fraction,
        typing_error_fraction=typing_error_fraction, off_ladder_rate=off_ladder_rate,
        off_ladder_microvariant_rate=off_ladder_microvariant_rate, male_fraction=male_fraction,
        truth=truth,
    )
    tables = allele_tables(population)
    kits = resolve_kit_mix(kit_mix)
    return _stream(np.random.default_rng(seed), params, tables, kits, count)


def _stream(rng, params, tables, kits, count) -> Iterator[dict]:
    for start in range(0, count, CHUNK_RECORDS):
        yield from generate_chunk(rng, params, tables, kits, start + 1, min(CHUNK_RECORDS, count - start))


def write_jsonl(records: Iterable[dict], fh: IO[str]) -> int:
    """Write each record as one compact JSON line (UTF-8 text as is); returns the line count."""
    encode = _COMPACT_JSON.encode
    written = 0
    for record in records:
        fh.write(encode(record) + "\n")
        written += 1
    return written


def synth_main(argv: list[str] | None = None) -> int:
    """``matcher dna synth``: write a synthetic database (and optionally queries) as JSONL.

    Exit status 0 on success (and for ``--help``), 2 on a usage error or a bad parameter,
    reported on standard error.
    """
    parser = argparse.ArgumentParser(prog="matcher dna synth", description=__doc__.split("\n")[0])
    parser.add_argument("--count", "--profiles", "-n", dest="count", type=int, required=True,
                        help="number of database records")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same output)")
    parser.add_argument("--population", default=DEFAULT_POPULATION, choices=POPULATIONS,
                        help="allele frequency table")
    parser.add_argument("--prefix", default="NL", help="country code in references")
    parser.add_argument("--stain-fraction", type=float, default=0.2, help="share of stain records")
    parser.add_argument("--truth", action="store_true", help="add the generator's ground truth")
    parser.add_argument("--out", help="database JSONL file (default: standard output)")
    parser.add_argument("--queries", type=int, default=0, help="number of queries to derive")
    parser.add_argument("--queries-out", help="query JSONL file (required with --queries)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error argparse already printed
        return exit_request.code if isinstance(exit_request.code, int) else 2
    if args.queries and not args.queries_out:
        print("matcher dna synth: --queries needs --queries-out FILE", file=sys.stderr)
        return 2
    try:
        database = generate_database(args.count, seed=args.seed, population=args.population,
                                     prefix=args.prefix, stain_fraction=args.stain_fraction,
                                     truth=args.truth)
    except ValueError as error:
        print(f"matcher dna synth: {error}", file=sys.stderr)
        return 2
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        if args.queries:
            queries = generate_queries(_written(database, out), args.queries, seed=args.seed + 1,
                                       population=args.population, truth=args.truth)
            with open(args.queries_out, "w", encoding="utf-8") as query_file:
                write_jsonl(queries, query_file)
        else:
            write_jsonl(database, out)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _written(records: Iterable[dict], fh: IO[str]) -> Iterator[dict]:
    """Pass records through while writing each one as a JSON line."""
    for record in records:
        write_jsonl((record,), fh)
        yield record

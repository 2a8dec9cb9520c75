"""Population allele frequencies of STR loci, read from the committed reference tables.

Two sources ship in ``fixtures/str-frequencies/`` (see its README for licences):

- norSTR v2023 (MIT): ``norstr-europe`` (the default), ``norstr-norway``, ``norstr-africa``;
  these files do not state their sample size.
- NIST 1036 U.S. population data, 29 autosomal STRs: ``nist-cauc`` (n = 361), ``nist-afam``
  (342), ``nist-hispanic`` (236), ``nist-asian`` (97), ``nist-all`` (1036).

A table maps each canonical locus name to the allele designations exactly as the file
writes them (``"9.3"``, ``"10"``) and their frequencies, normalised to sum to 1 per locus.
Markers the locus table does not know (norSTR's D2S1360, NIST's LPL, …) are skipped.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from matcher._fixtures import fixtures_path
from matcher.dna.loci import canonical_locus

#: Every population name ``load_population`` accepts, default first.
POPULATIONS: tuple[str, ...] = (
    "norstr-europe", "norstr-norway", "norstr-africa",
    "nist-cauc", "nist-afam", "nist-hispanic", "nist-asian", "nist-all",
)
DEFAULT_POPULATION = "norstr-europe"

_NORSTR_FILES = {
    "norstr-europe": "EuropaDB_v2023.txt",
    "norstr-norway": "NorskDB_v2023.txt",
    "norstr-africa": "AfrikaDB_v2023.txt",
}
_NIST_FILE = "nist1036_us_29str_freqs.csv"
_NIST_POPULATIONS = {
    "nist-cauc": "Cauc", "nist-afam": "AfAm", "nist-hispanic": "Hispanic",
    "nist-asian": "Asian", "nist-all": "all",
}

#: Marker spellings found only in frequency files.  NIST writes the FES locus by its gene
#: name FESFPS; it is not a profile input alias, so it lives here and not in the locus table.
FREQUENCY_FILE_ALIASES: dict[str, str] = {"FESFPS": "FES"}

#: A locus's frequencies as read may sum to slightly more or less than 1 (rounding, the 0.001
#: floor norSTR applies to rare alleles); beyond this the file is damaged, not rounded.
_SUM_TOLERANCE = 0.05

LocusFrequencies = tuple[tuple[str, ...], np.ndarray]


def load_population(name: str = DEFAULT_POPULATION) -> dict[str, LocusFrequencies]:
    """Allele frequencies of one population: canonical locus → (alleles, frequencies).

    ``alleles`` are the designations as strings in file order; ``frequencies`` is a read-only
    float64 array of the same length summing to 1.  Tables are read once and cached; the
    returned dict is a fresh copy, so callers may add or drop entries freely.
    Raises ValueError for an unknown population name or a damaged file.
    """
    return dict(_load_cached(_check_name(name)))


def population_size(name: str = DEFAULT_POPULATION) -> int | None:
    """Number of individuals behind a population's frequencies, or None when not stated.

    Used for the minimum allele frequency floor 5/2N of rare alleles; the norSTR files do not
    state N, NIST's do.
    """
    name = _check_name(name)
    if name in _NORSTR_FILES:
        return None
    return _nist_sizes()[_NIST_POPULATIONS[name]]


def frequency_locus(marker: str) -> str | None:
    """Canonical locus name of a frequency-file marker spelling, or None when unknown."""
    marker = marker.strip()
    return canonical_locus(FREQUENCY_FILE_ALIASES.get(marker.upper(), marker))


def _check_name(name: str) -> str:
    if name not in POPULATIONS:
        raise ValueError(f"unknown population {name!r}; expected one of {', '.join(POPULATIONS)}")
    return name


@lru_cache(maxsize=None)
def _load_cached(name: str) -> dict[str, LocusFrequencies]:
    if name in _NORSTR_FILES:
        path = fixtures_path("str-frequencies", "norstr", _NORSTR_FILES[name])
        raw = _read_norstr(path)
    else:
        path = fixtures_path("str-frequencies", _NIST_FILE)
        raw = _read_nist(path)[_NIST_POPULATIONS[name]]
    return _finish(raw, path)


def _read_norstr(path: Path) -> dict[str, list[tuple[str, float, int]]]:
    """Marker → [(allele, frequency, line number)] from a norSTR text file."""
    tables: dict[str, list[tuple[str, float, int]]] = {}
    marker: str | None = None
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line:
            marker = None
        elif "\t" not in line:
            marker = line
            if marker in tables:
                raise ValueError(f"{path}:{line_number}: marker {marker!r} appears twice")
            tables[marker] = []
        elif marker is None:
            raise ValueError(f"{path}:{line_number}: allele line outside a marker block")
        else:
            allele, frequency = line.split("\t", 1)
            tables[marker].append((allele.strip(), _frequency(frequency, path, line_number), line_number))
    return tables


def _read_nist(path: Path) -> dict[str, dict[str, list[tuple[str, float, int]]]]:
    """Population → marker → [(allele, frequency, line number)] from the NIST CSV."""
    populations: dict[str, dict[str, list[tuple[str, float, int]]]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for line_number, row in enumerate(csv.DictReader(fh), 2):
            entry = (row["allele"].strip(), _frequency(row["frequency"], path, line_number), line_number)
            populations.setdefault(row["population"], {}).setdefault(row["marker"], []).append(entry)
    return populations


@lru_cache(maxsize=1)
def _nist_sizes() -> dict[str, int]:
    sizes: dict[str, int] = {}
    path = fixtures_path("str-frequencies", _NIST_FILE)
    with path.open(encoding="utf-8", newline="") as fh:
        for line_number, row in enumerate(csv.DictReader(fh), 2):
            size = int(row["n_individuals_nominal"])
            if sizes.setdefault(row["population"], size) != size:
                raise ValueError(f"{path}:{line_number}: population {row['population']!r} "
                                 f"states two sample sizes ({sizes[row['population']]} and {size})")
    return sizes


def _frequency(text: str, path: Path, line_number: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}:{line_number}: frequency {text.strip()!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{path}:{line_number}: frequency {value} outside (0, 1]")
    return value


def _finish(raw: dict[str, list[tuple[str, float, int]]], path: Path) -> dict[str, LocusFrequencies]:
    """Map markers to canonical loci, check each block and normalise it to sum 1."""
    tables: dict[str, LocusFrequencies] = {}
    for marker, rows in raw.items():
        locus = frequency_locus(marker)
        if locus is None:
            continue
        if locus in tables:
            raise ValueError(f"{path}: locus {locus} appears twice (marker {marker!r})")
        alleles = tuple(allele for allele, _, _ in rows)
        if len(set(alleles)) != len(alleles):
            raise ValueError(f"{path}:{rows[0][2]}: marker {marker!r} lists an allele twice")
        frequencies = np.array([frequency for _, frequency, _ in rows], dtype=np.float64)
        total = frequencies.sum()
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise ValueError(f"{path}:{rows[0][2]}: marker {marker!r} frequencies sum to {total:.4f}")
        frequencies /= total
        frequencies.setflags(write=False)
        tables[locus] = (alleles, frequencies)
    return tables

"""Readers for DNA input files: JSON Lines and GeneMapper ID-X style CSV exports.

Readers never raise for bad content: each yields ``RawRecord``s carrying either the parsed
object or the problem with that line, so one bad line never stops the good ones.  Lines are
counted from 1; a CSV record is named by the line of its first row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from matcher.records import DuplicateKeys, RawRecord, parse_json_line, read_jsonl

__all__ = ["RawRecord", "parse_json_line", "read_jsonl", "read_genemapper", "read_records"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
#: GeneMapper "Sample Type" values that are run controls, not profiles to store.
CONTROL_SAMPLE_TYPES = frozenset({"allelic ladder", "ladder", "positive control", "negative control"})


def _column(header: list[str], *names: str) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def read_genemapper(stream: io.TextIOBase, default_kind: str | None = None,
                    bad_lines: frozenset[int] = frozenset()) -> Iterator[RawRecord]:
    """Records of a GeneMapper ID-X style export: one row per (sample, marker) with columns
    ``Sample Name``, ``Marker``, ``Allele 1`` .. ``Allele n`` (tab, comma or semicolon
    separated).  An optional ``Kind`` column gives person/stain, else ``default_kind``;
    rows whose ``Sample Type`` is a ladder or control are skipped.  A sample with a row in
    ``bad_lines`` (not UTF-8) is rejected whole, never stored without that row."""
    first = stream.readline()
    if not first.strip():
        yield RawRecord(0, error="file is empty: no records")
        return
    first = first.lstrip("\ufeff")
    delimiter = "\t" if "\t" in first else (";" if first.count(";") > first.count(",") else ",")
    header = next(csv.reader([first], delimiter=delimiter))
    sample_col = _column(header, "sample name", "sample")
    marker_col = _column(header, "marker", "locus")
    kind_col = _column(header, "kind")
    type_col = _column(header, "sample type")
    allele_cols = [i for i, h in enumerate(header) if h.strip().lower().startswith("allele ")]
    missing = [n for n, c in (("Sample Name", sample_col), ("Marker", marker_col)) if c is None]
    if missing or not allele_cols:
        missing += [] if allele_cols else ["Allele 1"]
        yield RawRecord(1, error=f"line 1: header lacks column(s) {', '.join(missing)}")
        return
    samples: dict[str, dict] = {}
    reader = csv.reader(stream, delimiter=delimiter)
    for row in reader:
        number = reader.line_num + 1  # physical line: the header was line 1
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        name = cells[sample_col].strip()
        if not name:
            yield RawRecord(number, error=f"line {number}: Sample Name is empty")
            continue
        if type_col is not None and cells[type_col].strip().lower() in CONTROL_SAMPLE_TYPES:
            continue
        sample = samples.get(name)
        if sample is None:
            kind = cells[kind_col].strip() if kind_col is not None else default_kind
            sample = samples[name] = {"line": number, "kind": kind, "loci": [], "bad": []}
        if number in bad_lines:
            sample["bad"].append(number)
        alleles = [cells[i].strip() for i in allele_cols if cells[i].strip()]
        sample["loci"].append((cells[marker_col].strip(), alleles))
    if not samples:
        yield RawRecord(0, error="file has no sample rows")
    for name, sample in samples.items():
        if sample["bad"]:
            lines = ", ".join(str(n) for n in sample["bad"])
            yield RawRecord(sample["line"], error=f"line {lines}: not UTF-8 text", reference=name)
            continue
        loci = sample["loci"]
        names = [n for n, _ in loci]
        loci_obj = dict(loci) if len(set(names)) == len(names) else DuplicateKeys(loci)
        data = {"reference": name, "loci": loci_obj}
        if sample["kind"]:
            data["kind"] = sample["kind"]
        yield RawRecord(sample["line"], data=data, reference=name)


def read_records(path: Path, default_kind: str | None = None) -> Iterator[RawRecord]:
    """Records of a file, by its suffix: CSV/TSV/TXT exports or JSON Lines.
    Raises OSError when the file cannot be opened."""
    if path.suffix.lower() in CSV_SUFFIXES:
        with open(path, "rb") as fh:
            raw_lines = fh.read().splitlines(keepends=True)
        texts, bad = [], set()
        for number, raw in enumerate(raw_lines, start=1):
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad.add(number)
                texts.append(raw.decode("utf-8", errors="replace"))
        if 1 in bad:
            yield RawRecord(1, error="line 1: header is not UTF-8 text")
            return
        yield from read_genemapper(io.StringIO("".join(texts), newline=""), default_kind, frozenset(bad))
        return
    with open(path, "rb") as fh:
        yield from read_jsonl(fh)

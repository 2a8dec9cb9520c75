"""Command-line actions of ``matcher vehicle add|search|delete|stats``.

Each function takes an opened ``VehicleDatabase`` (``home.vehicle``), does one command and
returns its exit status, printing per the CLI contract: JSON lines on standard output (one
answer per query, in input order), each rejected record or query as one JSON line on
standard error naming file, line, reference and reasons.  Exit status 0 all good, 1 some
input rejected (the valid rest was stored or answered), 2 usage error (a missing file:
then nothing is stored).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from matcher.records import read_jsonl
from matcher.vehicle.database import VehicleDatabase

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
#: Path meaning standard input for ``search_main``.
STDIN = "-"


def _emit(obj: dict, stream) -> None:
    stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def _missing(paths: Iterable[Path], stderr) -> bool:
    for path in paths:
        if not path.is_file():
            print(f"matcher: {path}: no such file", file=stderr)
            return True
    return False


def add_main(database: VehicleDatabase, files: Iterable[str | Path], *, stdout=None,
             stderr=None, progress: Callable[[Path], Callable[[int], None]] | None = None) -> int:
    """``matcher vehicle add HOME FILE...``: store the records of JSON Lines files.
    ``progress(path)``, if given, returns the callback counting records of that file (its
    ``close()`` is called afterwards when it has one).  Prints one summary line."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    paths = [Path(f) for f in files]
    if _missing(paths, stderr):
        return EXIT_USAGE
    rejected = added = replaced = 0
    generation = database.generation
    for path in paths:
        counter = progress(path) if progress else None
        with open(path, "rb") as fh:
            report = database.add_raw(read_jsonl(fh), progress=counter)
        if counter is not None and hasattr(counter, "close"):
            counter.close()
        for entry in report.rejected:
            _emit({"file": str(path), **entry}, stderr)
        rejected += len(report.rejected)
        added += report.added
        replaced += report.replaced
        generation = report.generation
    _emit({"added": added, "replaced": replaced, "rejected": rejected,
           "generation": generation}, stdout)
    return EXIT_REJECTED if rejected else EXIT_OK


def search_main(database: VehicleDatabase, queries_file: str | Path, *, stdout=None,
                stderr=None, stdin=None) -> int:
    """``matcher vehicle search HOME QUERIES.jsonl``: one answer line per query, in input
    order (``-`` reads standard input)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if str(queries_file) == STDIN:
        name, raws = "<stdin>", list(read_jsonl(stdin or sys.stdin.buffer))
    else:
        path = Path(queries_file)
        if _missing([path], stderr):
            return EXIT_USAGE
        with open(path, "rb") as fh:
            name, raws = str(path), list(read_jsonl(fh))
    whole_file = [r for r in raws if r.line == 0]
    for raw in whole_file:
        _emit({"file": name, "line": 0, "reference": None, "reasons": [raw.error]}, stderr)
    failed = 0
    for answer in database.search_raw(r for r in raws if r.line != 0):
        line = answer.pop("line", None)
        if "error" in answer:
            failed += 1
            _emit({"file": name, "line": line, "reference": answer["query"],
                   "reasons": [answer["error"]]}, stderr)
        _emit(answer, stdout)
    return EXIT_REJECTED if failed or whole_file else EXIT_OK


def delete_main(database: VehicleDatabase, references: Iterable[str], *, stdout=None,
                stderr=None) -> int:
    """``matcher vehicle delete HOME REFERENCE...``; an unknown reference is a rejection."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    report = database.delete(references)
    for reference in report.not_found:
        _emit({"line": None, "reference": reference, "reasons": ["reference: not found"]}, stderr)
    _emit({"deleted": report.deleted, "not_found": report.not_found,
           "generation": report.generation}, stdout)
    return EXIT_REJECTED if report.not_found else EXIT_OK


def stats_main(database: VehicleDatabase, *, stdout=None) -> int:
    """``matcher vehicle stats HOME``: counts and index memory as indented JSON."""
    stdout = stdout or sys.stdout
    stdout.write(json.dumps(database.stats(), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK

"""Bulk DNA comparison (Prüm Article 4 initial and nightly comparisons): every hit between a
set of source profiles and one home's DNA profiles.

The result is, by construction and by test, exactly what single searches give: each source
profile goes through ``DnaDatabase.search_raw`` (validation, hit fields, statistics, order,
self-reference rule), only the index scan is replaced by the key index of
``_bulk_index.BulkIndex``, which finds the same hit pairs without comparing every pair.

Answers have the shape of a search answer, ``{"query": reference, "hits": [...]}``, and
only source profiles with at least one hit get one (rejected source profiles give
``{"query", "error", "line"}`` as in a search).  ``compare_to_file`` writes them as JSON
lines with a checkpoint next to the output, so an interrupted run restarted with the same
arguments continues where it stopped and ends with the same file as an uninterrupted run.

Python API::

    comparer = BulkComparer(home.dna)
    comparer.search([...])                       # == home.dna.search([...])
    for answer in compare(home.dna, records):   # records: RawRecord iterable
        ...
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

from matcher.dna._bulk_index import BulkCounters, BulkIndex
from matcher.dna.formats import read_records
from matcher.records import RawRecord
from matcher.store import Store

__all__ = ["BulkComparer", "BulkSummary", "compare", "compare_to_file", "file_records",
           "store_records", "CHUNK_PROFILES"]

#: Source profiles compared per chunk: one checkpoint per chunk, so a crash repeats at most
#: this much work; large enough that per-chunk overhead (planning, the brute-force tiles)
#: is amortised over many queries.
CHUNK_PROFILES = 20_000
CHECKPOINT_SUFFIX = ".checkpoint"
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class BulkComparer:
    """Searches batches of profiles against one home's DNA database through the key index,
    which is built on first use and rebuilt whenever the database changed."""

    def __init__(self, database):
        self.database = database
        self._bulk: BulkIndex | None = None
        self._generation = -1

    def bulk_index(self) -> BulkIndex:
        database = self.database
        if (self._bulk is None or self._generation != database.generation
                or not self._bulk.matches(database.index)):
            self._bulk = BulkIndex(database.index, database.settings.max_mismatches)
            self._generation = database.generation
        return self._bulk

    @property
    def counters(self) -> BulkCounters:
        return self.bulk_index().counters

    def _find(self, codes):
        settings = self.database.settings
        return self.bulk_index().search(codes, settings.min_matching_loci, settings.max_mismatches)

    def search_raw(self, raws: Iterable[RawRecord]) -> list[dict]:
        """Answers as ``DnaDatabase.search_raw`` gives them, one per record, in order."""
        return self.database.search_raw(raws, finder=self._find)

    def search(self, queries: Iterable[dict]) -> list[dict]:
        """Answers as ``DnaDatabase.search`` gives them (the partner service's batch call)."""
        return self.search_raw(RawRecord(i, data=q) for i, q in enumerate(queries, start=1))


def compare(database, source: Iterable[RawRecord], *, chunk_size: int = CHUNK_PROFILES,
            comparer: BulkComparer | None = None,
            on_chunk: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Answers with at least one hit, or with an error, for the source records, in source
    order.  ``on_chunk(records)`` is called after each chunk's answers were yielded."""
    comparer = comparer or BulkComparer(database)
    records = iter(source)
    while chunk := list(islice(records, chunk_size)):
        for answer in comparer.search_raw(chunk):
            if answer.get("hits") or "error" in answer:
                yield answer
        if on_chunk is not None:
            on_chunk(len(chunk))


def file_records(path: Path, kinds: Iterable[str] | None = None) -> Iterator[RawRecord]:
    """Records of a JSON Lines (or GeneMapper CSV) file, only ``kinds`` when given (a record
    whose kind is not one of them is skipped; unreadable lines are kept, to be reported)."""
    wanted = set(kinds) if kinds else None
    for raw in read_records(Path(path)):
        if wanted is not None and raw.error is None and isinstance(raw.data, dict) \
                and raw.data.get("kind") not in wanted:
            continue
        yield raw


def store_records(store: Store, kinds: Iterable[str] | None = None,
                  since: int = 0) -> Iterator[RawRecord]:
    """DNA records of another home's store written after generation ``since`` (its nightly
    delta), only ``kinds`` when given, in row order; ``line`` counts the records read."""
    wanted = set(kinds) if kinds else None
    line = 0
    for record in store.records("dna", after_generation=since):
        if wanted is not None and record.kind not in wanted:
            continue
        line += 1
        yield RawRecord(line, data={"reference": record.reference, "kind": record.kind,
                                    "loci": json.loads(record.body)})


@dataclass
class BulkSummary:
    """What a bulk run did (the summary line): source records compared, answers written
    (profiles with hits), hits, rejected records, and the key index's work."""

    compared: int = 0
    answers: int = 0
    hits: int = 0
    rejected: int = 0
    seconds: float = 0.0
    key_candidates: int = 0
    scanned_pairs: int = 0
    resumed_from: int = 0
    complete: bool = False


def compare_to_file(database, source: Callable[[], Iterable[RawRecord]], out: Path, *,
                    fingerprint: dict, checkpoint: Path | None = None,
                    chunk_size: int = CHUNK_PROFILES,
                    on_error: Callable[[dict], None] | None = None,
                    progress: Callable[[int], None] | None = None) -> BulkSummary:
    """Write the answers of ``compare`` to ``out`` (JSON lines), resumably.

    After each chunk the output is flushed and fsynced, then the checkpoint (``out`` +
    ``.checkpoint`` by default) is replaced atomically with: the run's ``fingerprint``
    (arguments, home and source state), the records done and the output's length.  A run
    finding a checkpoint with the same fingerprint truncates ``out`` to that length, skips
    the records done and continues; otherwise it starts over.  ``source()`` must give the
    same records in the same order each time.  Error answers go to ``on_error``;
    ``progress(records)`` is called after each checkpoint.
    """
    started = time.monotonic()
    out = Path(out)
    checkpoint = Path(checkpoint) if checkpoint else out.with_name(out.name + CHECKPOINT_SUFFIX)
    state = _read_checkpoint(checkpoint, fingerprint)
    if state and (not out.exists() or out.stat().st_size < state.get("bytes", 0)):
        state = {}  # the output it describes is gone or shorter: start over
    summary = BulkSummary(**{k: v for k, v in state.get("summary", {}).items()
                             if k in BulkSummary.__dataclass_fields__})
    done, length = state.get("records", 0), state.get("bytes", 0)
    summary.resumed_from = done
    if summary.complete and out.exists() and out.stat().st_size == length:
        return summary
    comparer = BulkComparer(database)
    with open(out, "r+b" if state and out.exists() else "wb") as fh:
        fh.truncate(length)
        fh.seek(length)
        records = iter(source())
        for _ in islice(records, done):
            pass
        while chunk := list(islice(records, chunk_size)):
            for answer in comparer.search_raw(chunk):
                if "error" in answer:
                    summary.rejected += 1
                    if on_error is not None:
                        on_error(answer)
                elif answer["hits"]:
                    fh.write((_JSON.encode(answer) + "\n").encode("utf-8"))
                    summary.answers += 1
                    summary.hits += len(answer["hits"])
            fh.flush()
            os.fsync(fh.fileno())
            done += len(chunk)
            summary.compared = done
            counters = comparer.counters
            summary.key_candidates = state.get("summary", {}).get("key_candidates", 0) \
                + counters.key_candidates
            summary.scanned_pairs = state.get("summary", {}).get("scanned_pairs", 0) \
                + counters.scanned_pairs
            _write_checkpoint(checkpoint, fingerprint, done, fh.tell(), summary)
            if progress is not None:
                progress(len(chunk))
        summary.complete = True
        summary.seconds = round(time.monotonic() - started, 3)
        _write_checkpoint(checkpoint, fingerprint, done, fh.tell(), summary)
    return summary


def _read_checkpoint(path: Path, fingerprint: dict) -> dict:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if state.get("fingerprint") == fingerprint else {}


def _write_checkpoint(path: Path, fingerprint: dict, records: int, length: int,
                      summary: BulkSummary) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"fingerprint": fingerprint, "records": records, "bytes": length,
                   "summary": asdict(summary)}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

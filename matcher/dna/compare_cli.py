"""``matcher dna compare HOME SOURCE``: bulk comparison of a source set with a home's DNA
profiles (``matcher.dna.bulk``).

SOURCE is a JSON Lines (or GeneMapper CSV) file of profiles, or another home's folder.
Output: one JSON line ``{"query": reference, "hits": [...]}`` per source profile with at
least one hit (the shape of a ``matcher dna search`` answer, same hits and fields), on
standard output or in ``--out FILE``; rejected source profiles are JSON lines on standard
error; a final summary JSON line goes to standard error.  With ``--out`` the run is
resumable: ``FILE.checkpoint`` records progress, and the same command run again after an
interruption continues where it stopped (``--restart`` starts over).

Exit status: 0 all good, 1 some source profiles were rejected, 2 usage or environment error.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from matcher._progress import Progress, count_lines
from matcher.config import CONFIG_FILE
from matcher.store import STORE_FILE, Store, StoreError

# matcher.home and matcher.dna.bulk (numpy, numba) are imported when the command runs, so
# building the command-line parser stays cheap.

HELP = "compare a whole set of profiles (file or another home) with this home's profiles"
EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
KINDS = ("person", "stain")


def add_compare_arguments(parser) -> None:
    """Arguments of ``matcher dna compare`` (parser: its argparse subparser)."""
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("home", help="the home whose profiles are searched")
    parser.add_argument("source", help="JSON Lines/CSV file of profiles, or another home folder")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=None,
                        help="only source profiles of these kinds (e.g. --kinds stain)")
    parser.add_argument("--since", type=int, default=None, metavar="GENERATION",
                        help="home source only: records written after this generation "
                             "(the nightly delta)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="write answers here (resumable via FILE.checkpoint) instead of "
                             "standard output")
    parser.add_argument("--restart", action="store_true",
                        help="with --out: ignore an existing checkpoint and start over")


def _emit(obj: dict, stream) -> None:
    stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def _usage(message: str) -> int:
    print(f"matcher: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_compare(args) -> int:
    """Run ``matcher dna compare``; returns the exit status."""
    source = Path(args.source)
    source_is_home = source.is_dir()
    if source_is_home and not (source / CONFIG_FILE).exists():
        return _usage(f"{source}: not a home (no {CONFIG_FILE}) and not a file")
    if not source_is_home and not source.is_file():
        return _usage(f"{source}: no such file or home")
    if args.since is not None and not source_is_home:
        return _usage("--since GENERATION needs a home as SOURCE (a file has no generations)")
    if args.since is not None and args.since < 0:
        return _usage("--since must be ≥ 0")
    from matcher.home import HomeError, open_home
    source_store = None
    try:
        home = open_home(args.home, create=False)
    except (HomeError, StoreError) as exc:
        return _usage(str(exc))
    try:
        if source_is_home:
            try:
                source_store = Store(source / STORE_FILE)
            except StoreError as exc:
                return _usage(str(exc))
            return _run(home, args, source, source_store)
        return _run(home, args, source, None)
    finally:
        if source_store is not None:
            source_store.close()
        home.close()


def _run(home, args, source: Path, source_store) -> int:
    from matcher.dna.bulk import BulkComparer, compare, compare_to_file, file_records, store_records
    kinds = tuple(args.kinds) if args.kinds else None
    since = args.since or 0
    if source_store is not None:
        records = lambda: store_records(source_store, kinds, since)  # noqa: E731
        total = None if (since or kinds) else sum(
            n for k, n in source_store.counts("dna").items() if k in KINDS)
        source_state = {"home": str(source.resolve()), "generation": source_store.generation()}
    else:
        records = lambda: file_records(source, kinds)  # noqa: E731
        total = None
        stat = source.stat()
        source_state = {"file": str(source.resolve()), "size": stat.st_size,
                        "mtime_ns": stat.st_mtime_ns}
    progress = Progress(f"comparing {source.name}", total)
    if progress.enabled and total is None and source_store is None and kinds is None:
        progress.total = count_lines(source)
    rejected = 0

    def on_error(answer: dict) -> None:
        nonlocal rejected
        rejected += 1
        _emit({"file": str(source), "line": answer.get("line"), "reference": answer["query"],
               "reasons": [answer["error"]]}, sys.stderr)

    settings = home.dna.settings
    started = time.monotonic()
    if args.out:
        out = Path(args.out)
        fingerprint = {"home": str(Path(args.home).resolve()), "home_generation": home.dna.generation,
                       "source": source_state, "kinds": list(kinds or ()), "since": since,
                       "min_matching_loci": settings.min_matching_loci,
                       "max_mismatches": settings.max_mismatches}
        checkpoint = out.with_name(out.name + ".checkpoint")
        if args.restart and checkpoint.exists():
            os.remove(checkpoint)
        try:
            summary = compare_to_file(home.dna, records, out, fingerprint=fingerprint,
                                      checkpoint=checkpoint, on_error=on_error, progress=progress)
        except OSError as exc:
            progress.close()
            return _usage(f"{out}: {exc.strerror or exc}")
        progress.close()
        report = {"compared": summary.compared, "answers": summary.answers, "hits": summary.hits,
                  "rejected": summary.rejected, "resumed_from": summary.resumed_from,
                  "key_candidates": summary.key_candidates,
                  "scanned_pairs": summary.scanned_pairs, "out": str(out)}
        rejected = summary.rejected
    else:
        comparer = BulkComparer(home.dna)
        compared = answers = hits = 0

        def count(n: int) -> None:
            nonlocal compared
            compared += n
            progress(n)

        for answer in compare(home.dna, records(), comparer=comparer, on_chunk=count):
            if "error" in answer:
                on_error(answer)
                continue
            _emit(answer, sys.stdout)
            answers += 1
            hits += len(answer["hits"])
        progress.close()
        counters = comparer.counters
        report = {"compared": compared, "answers": answers, "hits": hits, "rejected": rejected,
                  "key_candidates": counters.key_candidates,
                  "scanned_pairs": counters.scanned_pairs}
    report["seconds"] = round(time.monotonic() - started, 3)
    _emit({"summary": report}, sys.stderr)
    return EXIT_REJECTED if rejected else EXIT_OK

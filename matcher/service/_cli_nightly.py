"""The ``--nightly`` form of ``matcher query``: bulk-compare this node's own DNA profiles
added or replaced since each partner's last completed run with each partner over CompareDna
(``matcher.service.nightly``), and print per partner the answers with hits and one summary
line (``"summary": "nightly"``).  Private to ``matcher.service._cli_query``.
"""

from __future__ import annotations

import argparse

from matcher.service._cli_output import EXIT_OK, EXIT_SOME_FAILED, emit, fail

#: The options (argparse destinations) that only the nightly form takes.
NIGHTLY_ONLY = ("since", "kinds", "batch_size")


def add_nightly_arguments(parser: argparse.ArgumentParser) -> None:
    """The nightly option group of `matcher query` (dna only)."""
    nightly = parser.add_argument_group(
        "nightly bulk comparison (dna only)",
        "compare this node's own profiles added or replaced since each partner's last "
        "completed run (node.home) with each partner, over CompareDna")
    nightly.add_argument("--nightly", action="store_true",
                         help="send the nightly delta instead of a QUERIES file")
    nightly.add_argument("--since", type=int, default=None, metavar="GENERATION",
                         help="send the profiles written after this store generation, "
                              "whatever the recorded marks say (0: all)")
    nightly.add_argument("--kinds", default=None, metavar="KIND[,KIND]",
                         help="record kinds to send, comma separated (default: stain)")
    nightly.add_argument("--batch-size", type=int, default=None, metavar="N",
                         help="profiles per CompareDna batch (default: 500)")



def nightly_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with a `matcher query ... --nightly` command line, or None."""
    if args.category != "dna":
        return f"--nightly compares DNA profiles only, not {args.category}"
    if args.queries is not None:
        return "--nightly reads the node's own home, not a QUERIES file"
    if args.since is not None and args.since < 0:
        return f"--since must be a generation >= 0, got {args.since}"
    if args.batch_size is not None and args.batch_size < 1:
        return f"--batch-size must be >= 1, got {args.batch_size}"
    return None


def run_nightly(args: argparse.Namespace, settings) -> int:
    """`matcher query CONFIG dna --nightly`: per partner its answers with hits, then its
    summary line; 1 when a partner's comparison did not complete."""
    from matcher.service.audit import AuditError
    from matcher.service.client import DEFAULT_COMPARE_BATCH, ClientError
    from matcher.service.nightly import DEFAULT_KINDS, NightlyError, nightly_compare
    from matcher.store import StoreError
    kinds = DEFAULT_KINDS if args.kinds is None else [
        kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    try:
        runs = nightly_compare(
            settings, partners=args.partner, since=args.since, kinds=kinds,
            officer=args.officer, purpose=args.purpose, case_reference=args.case,
            ordering_officer=args.ordering_officer,
            batch_size=args.batch_size or DEFAULT_COMPARE_BATCH, timeout=args.timeout,
            insecure_dev=args.insecure_dev)
    except (ClientError, NightlyError, StoreError, AuditError) as exc:
        return fail(str(exc))
    except OSError as exc:  # the marks file or its lock in the home folder
        return fail(f"{exc.filename or settings.home}: {exc.strerror or exc}")
    for run in runs:
        for line in run.lines():
            emit(line)
    return EXIT_OK if all(run.ok for run in runs) else EXIT_SOME_FAILED

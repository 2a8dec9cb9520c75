"""``matcher serve`` and ``matcher query``: argument parsing and printing around the server
and the fan-out client.  Exit status: 0 all good; 1 some partner failed or refused, or some
query line was rejected; 2 usage, configuration or environment error.

    matcher serve CONFIG.toml [--insecure-dev]
    matcher query CONFIG.toml dna|finger|vehicle QUERIES.jsonl [--partner CODE ...]
                  --officer ID --purpose TEXT [--case REF] [--timeout S]
    matcher query CONFIG.toml dna --nightly [--since GENERATION] [--kinds stain[,person]]
                  [--batch-size N] [--partner CODE ...] --officer ID --purpose TEXT

The nightly form reads no QUERIES file: it bulk-compares the node's own new and changed
profiles (``matcher.service.nightly``) with each partner over CompareDna and prints, per
partner, the answers with hits and one summary line (``"summary": "nightly"``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
#: Where `matcher query` finds the officer and the purpose when the flags are not given (a
#: contact point's shell or scheduler sets them once).  Every partner logs both.
OFFICER_ENV, PURPOSE_ENV = "PRUM_OFFICER", "PRUM_PURPOSE"
#: What the partners' audit logs say when nobody stated a purpose: the gap stays visible.
PURPOSE_NOT_STATED = "not stated"


def _caller(args: argparse.Namespace) -> None:
    """Fill ``args.officer`` and ``args.purpose`` from the environment, else from the login
    name and PURPOSE_NOT_STATED, warning on stderr that the log will say so."""
    import getpass
    import os
    if not args.officer:
        args.officer = os.environ.get(OFFICER_ENV, "").strip()
    if not args.officer:
        args.officer = getpass.getuser()
        _emit({"warning": f"no --officer or ${OFFICER_ENV}: partners will log the login "
                          f"name {args.officer!r}"}, sys.stderr)
    if not args.purpose:
        args.purpose = os.environ.get(PURPOSE_ENV, "").strip()
    if not args.purpose:
        args.purpose = PURPOSE_NOT_STATED
        _emit({"warning": f"no --purpose or ${PURPOSE_ENV}: partners will log the purpose "
                          f"as {PURPOSE_NOT_STATED!r}"}, sys.stderr)


def _emit(obj: dict, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    stream.flush()


def _fail(message: str) -> int:
    print(f"matcher: {message}", file=sys.stderr)
    return EXIT_USAGE


# ------------------------------------------------------------------------------ serve
def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.toml", help="the node configuration")
    parser.add_argument("--insecure-dev", action="store_true",
                        help="plaintext instead of mutual TLS, for development; refused "
                             "unless node.listen is a loopback address")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT.  Prints one JSON line on stdout once listening:
    ``{"partner", "listen", "port", "tls"}``."""
    # Before numba starts its thread pool (it reads the layer then, not at import).
    from matcher.service.server import pin_numba_threading_layer
    pin_numba_threading_layer()
    import asyncio

    from matcher.home import HomeError
    from matcher.service.audit import AuditError
    from matcher.service.server import ServeError, serve
    from matcher.service.settings import SettingsError, load_settings
    from matcher.store import StoreError

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)

        def ready(port: int) -> None:
            host = settings.listen.rpartition(":")[0]
            _emit({"partner": settings.partner, "listen": f"{host}:{port}", "port": port,
                   "tls": not args.insecure_dev})

        asyncio.run(serve(settings, insecure_dev=args.insecure_dev, ready=ready))
    except (SettingsError, ServeError, HomeError, StoreError, AuditError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:  # a second Ctrl-C during the grace period
        return 130
    return EXIT_OK


# ------------------------------------------------------------------------------ query
def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.toml", help="this node's configuration")
    parser.add_argument("category", choices=("dna", "finger", "vehicle"))
    parser.add_argument("queries", metavar="QUERIES.jsonl", nargs="?",
                        help="queries, one JSON per line ('-': standard input); not with "
                             "--nightly")
    parser.add_argument("--partner", action="append", metavar="CODE",
                        help="ask only this partner (repeatable; default: every partner in "
                             "[partners])")
    parser.add_argument("--officer", default=None, metavar="ID",
                        help="the official who runs the search (logged by every partner; "
                             f"default: ${OFFICER_ENV}, else the login name, with a warning)")
    parser.add_argument("--purpose", default=None, metavar="TEXT",
                        help="why the search is made (logged by every partner; default: "
                             f"${PURPOSE_ENV}, else '{PURPOSE_NOT_STATED}', with a warning)")
    parser.add_argument("--case", default="", metavar="REF", help="case or file number")
    parser.add_argument("--ordering-officer", default="", metavar="ID",
                        help="the official who ordered the search, if another")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="deadline of each partner call (default: from the config); "
                             "with --nightly, of each partner's whole CompareDna stream")
    parser.add_argument("--insecure-dev", action="store_true",
                        help="plaintext to loopback partners (development servers)")
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


def _read_queries(path: str, category: str) -> tuple[list[dict], list[dict]]:
    """(queries that can be sent, rejections as stderr lines)."""
    from matcher.records import read_jsonl
    from matcher.service import convert
    if path == "-":
        raws = list(read_jsonl(sys.stdin.buffer))
    else:
        with open(path, "rb") as stream:
            raws = list(read_jsonl(stream))
    good, rejected = [], []
    for raw in raws:
        if raw.error is not None:
            rejected.append({"file": path, "line": raw.line, "reference": raw.reference,
                             "reasons": [raw.error]})
            continue
        try:
            convert.queries_to_proto(category, [raw.data])
        except convert.QueryRejected as exc:
            rejected.append({"file": path, "line": raw.line, "reference": raw.reference,
                             "reasons": [f"{v.field or 'query'}: {v.reason}"
                                         for v in exc.violations]})
            continue
        good.append(raw.data)
    return good, rejected


def run_query(args: argparse.Namespace) -> int:
    from matcher.service.client import ClientError, FanOut
    from matcher.service.settings import SettingsError, is_loopback, load_settings, split_address
    problem = _form_problem(args)
    if problem:
        return _fail(problem)
    _caller(args)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        return _fail(str(exc))
    if not getattr(args, "nightly", False) and args.queries != "-" \
            and not Path(args.queries).is_file():
        return _fail(f"{args.queries}: no such file")
    if args.timeout is not None and args.timeout <= 0:
        return _fail(f"--timeout must be positive, got {args.timeout}")
    if not settings.partners:
        return _fail(f"{settings.path}: no [partners.CODE] table: nobody to ask")
    if args.insecure_dev:
        remote = [p.code for p in settings.partners.values()
                  if not is_loopback(split_address(p.address)[0])]
        if remote:
            return _fail(f"--insecure-dev only talks to loopback partners; not to "
                         f"{', '.join(remote)}")
    if getattr(args, "nightly", False):
        return _run_nightly(args, settings)
    try:
        audit = _outbound_audit(settings)
    except Exception as exc:  # noqa: BLE001 - HomeError, StoreError, AuditError: say which
        return _fail(str(exc))
    queries, rejected = _read_queries(args.queries, args.category)
    for rejection in rejected:
        _emit(rejection, sys.stderr)
    failed = bool(rejected)
    try:
        with FanOut(settings, insecure_dev=args.insecure_dev, audit=audit) as fan_out:
            results = fan_out.query(args.category, queries, args.partner, officer=args.officer,
                                    purpose=args.purpose, case_reference=args.case,
                                    ordering_officer=args.ordering_officer,
                                    timeout=args.timeout) if queries else []
    except ClientError as exc:
        return _fail(str(exc))
    finally:
        audit.close()
    for result in results:
        for line in result.lines():
            _emit(line)
        failed |= not result.ok
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _form_problem(args: argparse.Namespace) -> str | None:
    """Which form of `matcher query` the arguments make, and what is wrong with it."""
    if not getattr(args, "nightly", False):
        if args.queries is None:
            return "QUERIES.jsonl is missing (or use --nightly for the DNA bulk comparison)"
        given = [f"--{name.replace('_', '-')}" for name in ("since", "kinds", "batch_size")
                 if getattr(args, name, None) is not None]
        return f"{', '.join(given)} only with --nightly" if given else None
    if args.category != "dna":
        return f"--nightly compares DNA profiles only, not {args.category}"
    if args.queries is not None:
        return "--nightly reads the node's own home, not a QUERIES file"
    if args.since is not None and args.since < 0:
        return f"--since must be a generation >= 0, got {args.since}"
    if args.batch_size is not None and args.batch_size < 1:
        return f"--batch-size must be >= 1, got {args.batch_size}"
    return None


def _run_nightly(args: argparse.Namespace, settings) -> int:
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
        return _fail(str(exc))
    except OSError as exc:  # the marks file or its lock in the home folder
        return _fail(f"{exc.filename or settings.home}: {exc.strerror or exc}")
    for run in runs:
        for line in run.lines():
            _emit(line)
    return EXIT_OK if all(run.ok for run in runs) else EXIT_SOME_FAILED


def _outbound_audit(settings):
    """This node's audit log, for the outbound side of every exchange (Prüm Art. 30 has
    both sides log).  Opens only the store, not the indexes."""
    from matcher.service.audit import KEY_FILE, AuditLog
    from matcher.store import STORE_FILE, Store
    store_path = settings.home / STORE_FILE
    if not store_path.exists():
        raise FileNotFoundError(f"node.home: no home at {settings.home} (its audit log keeps "
                                "this node's outbound requests); create it with 'matcher init'")
    return _ClosingAudit(AuditLog(Store(store_path), settings.home / KEY_FILE,
                                  retention_days=settings.audit_retention_days))


class _ClosingAudit:
    """An AuditLog that also closes its store."""

    def __init__(self, audit):
        self._audit = audit

    def __getattr__(self, name):
        return getattr(self._audit, name)

    def close(self) -> None:
        try:
            self._audit.close()
        finally:
            self._audit.store.close()


# ------------------------------------------------------------------------------ wiring
def add_arguments(subparsers) -> None:
    """Register ``serve`` and ``query`` on ``matcher``'s subparsers; each sets
    ``handler`` (args -> exit status)."""
    serve = subparsers.add_parser("serve", help="run this node's partner service (gRPC, "
                                                "mutual TLS) until SIGTERM")
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)
    query = subparsers.add_parser("query", help="ask partners concurrently; one JSON line "
                                                "per partner answer")
    add_query_arguments(query)
    query.set_defaults(handler=run_query)

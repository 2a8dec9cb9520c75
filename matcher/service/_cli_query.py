"""``matcher query``: ask partners concurrently, one JSON line per partner answer.

    matcher query CONFIG.toml dna|finger|vehicle QUERIES.jsonl [--partner CODE ...]
                  --officer ID --purpose TEXT [--case REF] [--timeout S]
    matcher query CONFIG.toml dna --nightly [--since GENERATION] [--kinds stain[,person]]
                  [--batch-size N] [--partner CODE ...] --officer ID --purpose TEXT

The QUERIES form sends each valid line to every chosen partner and prints each partner's
answers; rejected lines go to stderr naming file and line.  The nightly form
(``matcher.service._cli_nightly``) reads no QUERIES file.  Every outbound request is also
logged in this node's own audit log.  Private to ``matcher.service.cli_service``, which
re-exports the public names.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matcher.service._cli_nightly import (NIGHTLY_ONLY, add_nightly_arguments, nightly_problem,
                                          run_nightly)
from matcher.service._cli_output import EXIT_OK, EXIT_SOME_FAILED, emit, fail

#: Where `matcher query` finds the officer and the purpose when the flags are not given (a
#: contact point's shell or scheduler sets them once).  Every partner logs both.
OFFICER_ENV, PURPOSE_ENV = "PRUM_OFFICER", "PRUM_PURPOSE"
#: What the partners' audit logs say when nobody stated a purpose: the gap stays visible.
PURPOSE_NOT_STATED = "not stated"


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
    add_nightly_arguments(parser)


def _caller(args: argparse.Namespace) -> None:
    """Fill ``args.officer`` and ``args.purpose`` from the environment, else from the login
    name and PURPOSE_NOT_STATED, warning on stderr that the log will say so."""
    import getpass
    import os
    if not args.officer:
        args.officer = os.environ.get(OFFICER_ENV, "").strip()
    if not args.officer:
        args.officer = getpass.getuser()
        emit({"warning": f"no --officer or ${OFFICER_ENV}: partners will log the login "
                         f"name {args.officer!r}"}, sys.stderr)
    if not args.purpose:
        args.purpose = os.environ.get(PURPOSE_ENV, "").strip()
    if not args.purpose:
        args.purpose = PURPOSE_NOT_STATED
        emit({"warning": f"no --purpose or ${PURPOSE_ENV}: partners will log the purpose "
                         f"as {PURPOSE_NOT_STATED!r}"}, sys.stderr)


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
    """Run `matcher query` (either form); the exit status of the CLI contract."""
    from matcher.service.client import ClientError, FanOut
    from matcher.service.settings import SettingsError, is_loopback, load_settings, split_address
    problem = _form_problem(args)
    if problem:
        return fail(problem)
    _caller(args)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        return fail(str(exc))
    if not getattr(args, "nightly", False) and args.queries != "-" \
            and not Path(args.queries).is_file():
        return fail(f"{args.queries}: no such file")
    if args.timeout is not None and args.timeout <= 0:
        return fail(f"--timeout must be positive, got {args.timeout}")
    if not settings.partners:
        return fail(f"{settings.path}: no [partners.CODE] table: nobody to ask")
    if args.insecure_dev:
        remote = [p.code for p in settings.partners.values()
                  if not is_loopback(split_address(p.address)[0])]
        if remote:
            return fail(f"--insecure-dev only talks to loopback partners; not to "
                        f"{', '.join(remote)}")
    if getattr(args, "nightly", False):
        return run_nightly(args, settings)
    try:
        audit = _outbound_audit(settings)
    except Exception as exc:  # noqa: BLE001 - HomeError, StoreError, AuditError: say which
        return fail(str(exc))
    queries, rejected = _read_queries(args.queries, args.category)
    for rejection in rejected:
        emit(rejection, sys.stderr)
    failed = bool(rejected)
    try:
        with FanOut(settings, insecure_dev=args.insecure_dev, audit=audit) as fan_out:
            results = fan_out.query(args.category, queries, args.partner, officer=args.officer,
                                    purpose=args.purpose, case_reference=args.case,
                                    ordering_officer=args.ordering_officer,
                                    timeout=args.timeout) if queries else []
    except ClientError as exc:
        return fail(str(exc))
    finally:
        audit.close()
    for result in results:
        for line in result.lines():
            emit(line)
        failed |= not result.ok
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _form_problem(args: argparse.Namespace) -> str | None:
    """Which form of `matcher query` the arguments make, and what is wrong with it."""
    if getattr(args, "nightly", False):
        return nightly_problem(args)
    if args.queries is None:
        return "QUERIES.jsonl is missing (or use --nightly for the DNA bulk comparison)"
    given = [f"--{name.replace('_', '-')}" for name in NIGHTLY_ONLY
             if getattr(args, name, None) is not None]
    return f"{', '.join(given)} only with --nightly" if given else None


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

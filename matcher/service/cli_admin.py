"""``matcher certs`` and ``matcher audit verify|export|purge``: arguments and handlers.

``matcher/cli.py`` wires each pair into its parser::

    command = sub.add_parser("certs", help=CERTS_HELP, description=CERTS_DESCRIPTION)
    add_certs_arguments(command); command.set_defaults(handler=run_certs)
    command = sub.add_parser("audit", help=AUDIT_HELP, description=AUDIT_DESCRIPTION)
    add_audit_arguments(command); command.set_defaults(handler=run_audit)

Importing this module is cheap (standard library only); the handlers import what they need.
Exit status as everywhere: 0 all good; 1 the log failed verification (or a purge refused
because of it); 2 usage or environment error (bad arguments, no home, no key).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matcher.service._cli_output import EXIT_OK
from matcher.service._cli_output import emit as _emit
from matcher.service._cli_output import fail as _fail

#: Exit 1 here: the audit log was found tampered with (or a purge refused because of it).
EXIT_REJECTED = 1

CERTS_HELP = "development CA and partner certificates for mutual TLS"
CERTS_DESCRIPTION = (
    "Create a development CA (DIR/ca.pem, DIR/ca.key) and for each partner an EC P-256 key "
    "and a certificate signed by it (DIR/CODE.pem, DIR/CODE.key) that serves as both TLS "
    "server and client certificate: subject CN and O are the partner code, alternative names "
    "the code, localhost, 127.0.0.1 and ::1. Keys are written with mode 0600. For "
    "development and tests only.")
AUDIT_HELP = "verify, export or purge a home's audit log"
AUDIT_DESCRIPTION = (
    "The audit log keeps one hash-chained entry per partner request (Pruem Art. 30): who, "
    "when, why, what category, how many queries, outcome and hit references, never the data.")


# ---------------------------------------------------------------------------- certs
def add_certs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="folder for the CA and the partner files "
                        "(created if needed)")
    parser.add_argument("--partners", required=True, metavar="CODES",
                        help="comma-separated partner codes, e.g. NL,DE,BE")
    parser.add_argument("--days", type=int, default=None, metavar="N",
                        help="validity of the partner certificates in days (default: 365; "
                             "the CA's is 30 days longer)")
    parser.add_argument("--force", action="store_true",
                        help="replace a CA already in DIR (certificates it signed stop verifying)")


def run_certs(args: argparse.Namespace) -> int:
    from matcher.service.certs import DEFAULT_DAYS, CertificateError, create_development_pki
    partners = [code.strip() for code in args.partners.split(",") if code.strip()]
    days = DEFAULT_DAYS if args.days is None else args.days
    try:
        written = create_development_pki(args.dir, partners, days=days, force=args.force)
    except CertificateError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or args.dir}: cannot write: {exc.strerror}")
    _emit({"dir": str(Path(args.dir)), "ca": str(written.pop("ca")), "days": days,
           "partners": {code: {"cert": str(path), "key": str(path.with_suffix(".key"))}
                        for code, path in written.items()}})
    return EXIT_OK


# ---------------------------------------------------------------------------- audit
def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="verify|export|purge")
    verify = sub.add_parser(
        "verify", help="check the hash chain; JSON summary; exit 1 naming the first bad entry")
    verify.add_argument("home", metavar="HOME")
    export = sub.add_parser("export", help="write the entries as JSON lines, oldest first")
    export.add_argument("home", metavar="HOME")
    export.add_argument("--out", metavar="FILE",
                        help="write to FILE (created with mode 0600) instead of standard output")
    export.add_argument("--after", type=int, default=0, metavar="SEQUENCE",
                        help="only entries after this sequence number")
    purge = sub.add_parser("purge", help="delete entries older than the retention period "
                           "(default 730 days); the rest stays verifiable")
    purge.add_argument("home", metavar="HOME")
    source = purge.add_mutually_exclusive_group()
    source.add_argument("--retention-days", type=int, metavar="N",
                        help="keep entries of the last N days (default: 730, Pruem Art. 30)")
    source.add_argument("--config", metavar="CONFIG.toml",
                        help="take node.audit_retention_days from this node configuration")


def run_audit(args: argparse.Namespace) -> int:
    from matcher.service.audit import AuditError
    from matcher.store import StoreError
    handler = {"verify": _verify, "export": _export, "purge": _purge}[args.audit_command]
    try:
        return handler(args)
    except (StoreError, AuditError, OSError) as exc:
        return _fail(str(exc))


class _Empty(Exception):
    """The home has no audit key and no audit entries: nothing was ever logged."""


def _open_log(home: str, retention_days: int | None = None):
    from matcher.service.audit import DEFAULT_RETENTION_DAYS, KEY_FILE, AuditError, AuditLog
    from matcher.store import STORE_FILE, Store, StoreError
    path = Path(home)
    if not (path / STORE_FILE).is_file():
        raise StoreError(f"{path}: not a home (no {STORE_FILE})")
    store = Store(path / STORE_FILE)
    try:
        return AuditLog(store, path / KEY_FILE, create_key=False,
                        retention_days=retention_days or DEFAULT_RETENTION_DAYS)
    except AuditError:
        empty = not _has_audit_data(store)
        store.close()
        if empty and not (path / KEY_FILE).exists():
            raise _Empty() from None
        raise
    except BaseException:
        store.close()
        raise


def _has_audit_data(store) -> bool:
    db = store.connect()
    try:
        return bool(db.execute("SELECT EXISTS (SELECT 1 FROM audit) OR"
                               " EXISTS (SELECT 1 FROM audit_marks)").fetchone()[0])
    finally:
        db.close()


def _close(log) -> None:
    log.close()
    log.store.close()


def _verify(args) -> int:
    from matcher.service.audit import AuditVerification
    try:
        log = _open_log(args.home)
    except _Empty:
        _emit({"home": args.home, **AuditVerification(True, 0).summary()})
        return EXIT_OK
    try:
        report = log.verify()
    finally:
        _close(log)
    _emit({"home": args.home, **report.summary()})
    return EXIT_OK if report.ok else EXIT_REJECTED


def _export(args) -> int:
    try:
        log = _open_log(args.home)
    except _Empty:
        log = None
    try:
        if args.out is None:
            if log is not None:
                log.export(sys.stdout, after=args.after)
            return EXIT_OK
        # Officer ids and case references are personal data: the file is for its owner.
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as stream:
            count = log.export(stream, after=args.after) if log is not None else 0
        _emit({"home": args.home, "out": args.out, "entries": count})
        return EXIT_OK
    finally:
        if log is not None:
            _close(log)


def _purge(args) -> int:
    from matcher.service.audit import AuditError
    retention = args.retention_days
    if retention is not None and retention < 1:
        return _fail(f"--retention-days must be >= 1, got {retention}")
    if args.config:
        from matcher.service.settings import SettingsError, load_settings
        try:
            retention = load_settings(args.config).audit_retention_days
        except SettingsError as exc:
            return _fail(str(exc))
    try:
        log = _open_log(args.home, retention)
    except _Empty:
        _emit({"home": args.home, "purged": 0})
        return EXIT_OK
    try:
        try:
            purged = log.purge()
        except AuditError as exc:
            return _fail(str(exc), EXIT_REJECTED)
        _emit({"home": args.home, "purged": purged, "retention_days": log.retention_days})
        return EXIT_OK
    finally:
        _close(log)

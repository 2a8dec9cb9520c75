"""The audit log's secret key file (``HOME/audit.key``): 32 random bytes as hex text, mode
0600.  Whoever holds it can rewrite the log's history; whoever loses it can no longer verify
the log, so it belongs in the home's backup (``matcher.service.audit``)."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from matcher.service._audit_entry import AuditError

#: The per-home secret key file, created 0600 on first use next to the store.
KEY_FILE = "audit.key"
KEY_BYTES = 32


def load_key(path: Path, *, create: bool) -> bytes:
    """The secret key in ``path`` (hex text); made with 0600 when absent and ``create``."""
    path = Path(path)
    if create and not path.exists():
        try:
            _create_key(path)
        except OSError as exc:
            raise AuditError(f"{path}: cannot create the audit key: {exc.strerror}") from exc
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise AuditError(f"{path}: no audit key; without it the log cannot be verified "
                         "(restore it from backup)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read the audit key: {exc}") from exc
    if mode & 0o077:
        raise AuditError(f"{path}: the audit key is readable by others (mode {mode & 0o777:o}); "
                         f"run 'chmod 600 {path}'")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditError(f"{path}: not an audit key (expected {KEY_BYTES * 2} hex digits)")
    return key


def _create_key(path: Path) -> None:
    # Written whole under a temporary name, then linked into place: two processes starting
    # at once both end up with the one key that won, never a half-written one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()

"""The audit log's keyed hash chain, its ``head``/``anchor`` marks and their verification
(``matcher.service.audit``).

Two keys are derived from the home's secret key, so a query digest can never pass for a
chain hash.  Entry ``n`` is chained as::

    hash[n] = HMAC-SHA256(chain_key, hash[n-1] + "\\n" + n + "\\n" + canonical JSON of entry n)

starting from ``GENESIS_HASH``.  A mark (``head``: newest entry, ``anchor``: newest purged
entry) is a row of ``audit_marks`` holding a sequence and hash with the MAC
``HMAC-SHA256(chain_key, name + "\\n" + sequence + "\\n" + hash)``.  Without the key neither
can be forged, so any edit, insertion, deletion or reordering of rows or marks shows.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from matcher.service._audit_entry import SELECT, AuditError, canonical, from_row

#: The chain's predecessor of entry 1 (and of the first entry after an empty anchor).
GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """What ``verify`` found.  ``ok``: every entry from the anchor to the head is present,
    unaltered and in place.  Otherwise ``problem`` says what is wrong and ``sequence`` names
    the first bad (or first missing) sequence number."""

    ok: bool
    entries: int                        # entries checked before the first problem
    problem: str | None = None
    sequence: int | None = None
    first_sequence: int | None = None   # oldest entry present
    last_sequence: int = 0              # head: newest entry ever appended
    head_hash: str = GENESIS_HASH       # keep a copy elsewhere to catch a restored old database
    anchor_sequence: int = 0            # newest purged entry (0: nothing purged)

    def summary(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class ChainWalk:
    """How far a walk along stored rows got.  ``last``/``previous``: sequence and hash of the
    last entry that chained (the start when none did); ``checked``: how many did; ``first``:
    the first sequence read back; ``problem``/``sequence``: the first thing wrong, if any."""

    last: int
    previous: str
    checked: int = 0
    first: int | None = None
    problem: str | None = None
    sequence: int | None = None

    def stop(self, problem: str, sequence: int | None) -> "ChainWalk":
        self.problem, self.sequence = problem, sequence
        return self


class Chain:
    """The keyed hashes of one home's log, derived from its secret ``key``."""

    def __init__(self, key: bytes):
        self._chain_key = hmac.digest(key, b"prum-matcher audit chain", "sha256")
        self._digest_key = hmac.digest(key, b"prum-matcher query digest", "sha256")

    def digest(self, data: bytes) -> str:
        """Keyed hash (HMAC-SHA256, hex) of query data."""
        return hmac.digest(self._digest_key, data, "sha256").hex()

    def link(self, previous: str, sequence: int, canonical_json: str) -> str:
        """The hash of entry ``sequence`` chained from its predecessor's ``previous``."""
        return self._mac(previous, sequence, canonical_json)

    def _mac(self, first: str, sequence: int, last: str) -> str:
        message = f"{first}\n{sequence}\n{last}".encode("utf-8")
        return hmac.digest(self._chain_key, message, "sha256").hex()

    def check(self, previous: str, row: tuple) -> tuple[int | None, str | None]:
        """(sequence, hash) of a stored row whose hash chains from ``previous``; (sequence,
        None) when it does not; (None, None) when the row cannot even be read back."""
        try:
            record = from_row(row)
            stored = record.pop("hash")
            sequence = record["sequence"]
            expected = self.link(previous, sequence, canonical(record))
        except (TypeError, ValueError):
            return None, None
        return sequence, (expected if hmac.compare_digest(str(stored), expected) else None)

    # ------------------------------------------------------------------ marks
    def mark(self, db, name: str) -> tuple[int, str] | None:
        """The ``head`` or ``anchor`` mark; AuditError when its MAC does not match."""
        row = db.execute("SELECT sequence, hash, mac FROM audit_marks WHERE name = ?",
                         (name,)).fetchone()
        if row is None:
            return None
        sequence, hash_, mac = row
        if not isinstance(sequence, int) or not isinstance(hash_, str) \
                or not hmac.compare_digest(str(mac), self._mac(name, sequence, hash_)):
            raise AuditError(f"audit {name} mark altered (sequence {sequence})")
        return sequence, hash_

    def put_mark(self, db, name: str, sequence: int, hash_: str) -> None:
        db.execute("INSERT OR REPLACE INTO audit_marks VALUES (?, ?, ?, ?)",
                   (name, sequence, hash_, self._mac(name, sequence, hash_)))

    def tip(self, db, where: object) -> tuple[int, str]:
        """Sequence and hash the next entry chains from: the head mark.  Without one the log
        must be empty; otherwise marks were removed, and appending would hide that.
        ``where`` (the store's path) prefixes the error."""
        head = self.mark(db, "head")
        if head is not None:
            return head
        anchor = self.mark(db, "anchor")
        if anchor is not None or db.execute("SELECT 1 FROM audit LIMIT 1").fetchone():
            raise AuditError(f"{where}: audit head mark missing although the log has "
                             "entries; run 'matcher audit verify'")
        return 0, GENESIS_HASH

    # ------------------------------------------------------------------ verification
    def walk(self, rows: Iterable[tuple], start: tuple[int, str]) -> ChainWalk:
        """Follow stored rows (``SELECT`` order, ascending sequence) from ``start`` (sequence
        and hash of the anchor) until the first row that is not the next link."""
        state = ChainWalk(*start)
        for row in rows:
            sequence, expected = self.check(state.previous, row)
            if sequence is None:
                return state.stop(f"entry {row[0]} altered (unreadable fields)", row[0])
            state.first = sequence if state.first is None else state.first
            last = state.last
            if sequence <= last:
                return state.stop(f"entry {sequence} lies at or before the purge anchor {last}",
                                  sequence)
            if sequence != last + 1:
                missing = f"entry {last + 1}" if sequence == last + 2 \
                    else f"entries {last + 1}..{sequence - 1}"
                return state.stop(f"{missing} missing", last + 1)
            if expected is None:
                return state.stop(f"entry {sequence} altered, inserted or out of place "
                                  "(its hash does not match)", sequence)
            state.last, state.previous, state.checked = sequence, expected, state.checked + 1
        return state

    def purgeable(self, db, anchor: tuple[int, str], last: int) -> str:
        """The hash of entry ``last`` once every entry after ``anchor`` up to it verifies (it
        is then safe to purge them); AuditError naming the first that does not."""
        walked = self.walk(db.execute(
            SELECT + " WHERE sequence > ? AND sequence <= ? ORDER BY sequence",
            (anchor[0], last)), anchor)
        if walked.problem is not None:
            raise AuditError(f"audit entry {walked.last + 1} does not verify; not purging "
                             "(run 'matcher audit verify')")
        if walked.last != last:
            raise AuditError(f"audit entries {walked.last + 1}..{last} missing; not purging "
                             "(run 'matcher audit verify')")
        return walked.previous

    def verify(self, db) -> AuditVerification:
        """Walk the whole chain from the anchor to the head (in the caller's snapshot ``db``);
        report the first problem."""
        try:
            anchor = self.mark(db, "anchor")
            head = self.mark(db, "head")
        except AuditError as exc:
            return AuditVerification(False, 0, str(exc), None)
        start = anchor or (0, GENESIS_HASH)
        walked = self.walk(db.execute(SELECT + " ORDER BY sequence"), start)
        if walked.problem is None:
            _compare_head(walked, head, anchor is not None)
        return AuditVerification(
            walked.problem is None, walked.checked, walked.problem, walked.sequence,
            walked.first, anchor_sequence=start[0], last_sequence=head[0] if head else 0,
            head_hash=head[1] if head else GENESIS_HASH)


def _compare_head(walked: ChainWalk, head: tuple[int, str] | None, anchored: bool) -> None:
    """Record in ``walked`` where the intact chain it followed disagrees with the head."""
    last = walked.last
    if head is None:
        if walked.checked or anchored:
            walked.stop("audit head mark missing", last + 1)
    elif head[0] > last:
        walked.stop(f"entries {last + 1}..{head[0]} missing (the head says {head[0]})", last + 1)
    elif head[0] < last:
        walked.stop(f"entries {head[0] + 1}..{last} were added behind the head mark",
                    head[0] + 1)
    elif head[1] != walked.previous:
        walked.stop(f"entry {last} does not match the head mark", last)

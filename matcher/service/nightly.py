"""The nightly delta: this node's new and changed stain profiles, bulk-compared with each
partner (CompareDna), each partner from where its last completed run left off.

Prüm states compare all their unidentified DNA profiles with a partner when they connect,
and afterwards every night the profiles added or changed since (notes/prum.md, "Bulk
comparison").  The home's store numbers every committed write (its *generation*); a record
carries the generation that wrote it, and a replaced record is a new row with a new one.  So
"the profiles of kinds K added or replaced after generation G" is exactly the live records of
those kinds written after G, and a deleted profile, no longer live, is never sent::

    runs = nightly_compare(settings, officer="NL-4711", purpose="Prüm nightly comparison")
    for run in runs:
        for line in run.lines():     # the answers with hits, then one summary line
            ...

Per partner (and kinds selection) the generation reached by the last *completed* run is its
*mark*, kept in ``<home>/nightly-compare.json``: a small JSON file replaced atomically
(written to a temporary file, fsynced, renamed over the old one, folder fsynced) under an
advisory lock, so a crash leaves the old marks or the new ones, never half a file.  A partner
without a mark gets everything (the comparison on connection); ``since`` overrides the marks.
A run records a partner's new mark only when every batch to that partner was answered; after
an unreachable partner, a refused batch or a deadline, the next run sends that partner the
whole delta again (at least once, never lost).  The mark is the generation read *before* the
profiles, so a profile written during a run is sent again next night rather than missed.  A
mark beyond the store's generation (the home was rebuilt) is ignored: everything is resent.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from matcher.dna.database import CATEGORY as DNA_CATEGORY
from matcher.service import convert
from matcher.service.client import DEFAULT_COMPARE_BATCH, ClientError, ComparisonResult, FanOut
from matcher.service.settings import NodeSettings

try:  # advisory lock between concurrent runs; POSIX only, as the rest of the node
    import fcntl
except ImportError:  # pragma: no cover - not a supported platform
    fcntl = None

#: The marks file in the home folder, and the lock file guarding its read-modify-write.
STATE_FILE = "nightly-compare.json"
LOCK_FILE = "nightly-compare.lock"
STATE_FORMAT = 1
#: What a nightly run sends by default: unidentified profiles (Prüm bulk comparison).
DEFAULT_KINDS = ("stain",)


class NightlyError(RuntimeError):
    """The run cannot be made (no home, unreadable marks, bad arguments): exit status 2."""


@dataclass
class NightlyRun:
    """One partner's part of a nightly run."""

    partner: str
    kinds: tuple[str, ...]
    since: int                 # profiles written after this generation were sent
    generation: int            # the home's generation when the profiles were read
    comparison: ComparisonResult
    recorded: bool = False     # completed, and ``generation`` is now this partner's mark
    reset: bool = False        # the old mark lay beyond the store's generation: ignored

    @property
    def ok(self) -> bool:
        return self.comparison.ok

    def summary(self) -> dict:
        """The partner's summary line: the comparison's, with what the run covered."""
        out = self.comparison.summary()
        out.update(summary="nightly", kinds=list(self.kinds), since=self.since,
                   generation=self.generation, recorded=self.recorded)
        if self.reset:
            out["reset"] = True
        return out

    def lines(self) -> list[dict]:
        """The answers kept (those with hits), then the summary line."""
        return [*self.comparison.answers, self.summary()]


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` sorted and unique; NightlyError for an empty selection or another kind."""
    chosen = tuple(sorted(set(kinds)))
    wrong = [k for k in chosen if k not in convert.BULK_KINDS]
    if not chosen or wrong:
        raise NightlyError(f"kinds must be among {', '.join(convert.BULK_KINDS)}, "
                           f"got {', '.join(wrong) or 'none'}")
    return chosen


# ------------------------------------------------------------------------ marks
def read_marks(home: Path) -> dict:
    """partner -> kinds key (``"stain"``, ``"person,stain"``) -> its last completed run
    (``generation``, ``completed_at``, ``profiles``, ``hits``); {} without a file."""
    path = Path(home) / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise NightlyError(f"{path}: cannot read the nightly marks: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT \
            or not isinstance(data.get("partners"), dict):
        raise NightlyError(f"{path}: not a nightly marks file of format {STATE_FORMAT}")
    return data["partners"]


def mark_of(marks: dict, partner: str, kinds: Sequence[str]) -> int | None:
    """The generation recorded for ``partner`` and ``kinds``, None when there is none."""
    entry = marks.get(partner, {}).get(",".join(kinds))
    generation = entry.get("generation") if isinstance(entry, dict) else None
    return generation if isinstance(generation, int) and generation >= 0 else None


def record_marks(home: Path, kinds: Sequence[str], entries: dict[str, dict]) -> None:
    """Set the marks of ``entries`` (partner -> its entry) for ``kinds``, keeping every
    other mark; read, changed and replaced under the lock, atomically."""
    home = Path(home)
    with _locked(home):
        marks = read_marks(home)
        for partner, entry in entries.items():
            marks.setdefault(partner, {})[",".join(kinds)] = entry
        _replace(home / STATE_FILE,
                 json.dumps({"format": STATE_FORMAT, "partners": marks}, indent=1,
                            sort_keys=True) + "\n")


@contextmanager
def _locked(home: Path):
    with open(home / LOCK_FILE, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and durably."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)   # the rename itself survives a power loss
    finally:
        os.close(folder)


# ------------------------------------------------------------------------ the run
def delta(store, since: int, kinds: Sequence[str]) -> list[dict]:
    """The live DNA profiles of ``kinds`` written after generation ``since``, as query dicts
    (reference, kind, loci), in store order."""
    return [convert.stored_dna_to_query(record.reference, record.kind, record.body)
            for record in store.records(DNA_CATEGORY, after_generation=since)
            if record.kind in kinds]


def nightly_compare(settings: NodeSettings, *, officer: str, purpose: str,
                    partners: Sequence[str] | None = None, since: int | None = None,
                    kinds: Iterable[str] = DEFAULT_KINDS, case_reference: str = "",
                    ordering_officer: str = "", batch_size: int = DEFAULT_COMPARE_BATCH,
                    timeout: float | None = None, insecure_dev: bool = False,
                    fan_out: FanOut | None = None) -> list[NightlyRun]:
    """Bulk-compare this node's delta (``settings.home``) with every partner of ``settings``
    (or the named ones), concurrently; one NightlyRun per partner, in partner order, each
    with the answers that have hits.  ``since`` replaces every partner's mark; each partner
    whose comparison completed gets the generation read at the start as its new mark.
    Outbound batches are logged in the home's audit log (unless ``fan_out`` is given: then
    its own audit setting holds).  NightlyError or ClientError (nothing sent) when the run
    cannot be made."""
    from matcher.service.audit import KEY_FILE, AuditLog
    from matcher.store import STORE_FILE, Store, StoreError
    chosen = check_kinds(kinds)
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        raise NightlyError(f"since must be a generation number >= 0, got {since!r}")
    codes = list(dict.fromkeys(partners)) if partners is not None else list(settings.partners)
    unknown = [code for code in codes if code not in settings.partners]
    if unknown:
        raise ClientError(f"partner(s) {', '.join(unknown)} not in [partners] of {settings.path}")
    if not (settings.home / STORE_FILE).exists():
        raise NightlyError(f"node.home: no home at {settings.home} (the nightly delta is read "
                           "from it); create it with 'matcher init'")
    try:
        store = Store(settings.home / STORE_FILE)
    except StoreError as exc:
        raise NightlyError(str(exc)) from None
    try:
        generation = store.generation()
        marks = read_marks(settings.home)
        starts: dict[str, tuple[int, bool]] = {}     # code -> (since, mark ignored)
        for code in codes:
            mark = mark_of(marks, code, chosen)
            if since is not None:
                starts[code] = (since, False)
            elif mark is not None and mark > generation:   # the home was rebuilt
                starts[code] = (0, True)
            else:
                starts[code] = (mark or 0, False)
        deltas = {start: delta(store, start, chosen) for start, _ in set(starts.values())}
        work = {code: deltas[start] for code, (start, _) in starts.items()}
        options = dict(officer=officer, purpose=purpose, case_reference=case_reference,
                       ordering_officer=ordering_officer, batch_size=batch_size,
                       hits_only=True, timeout=timeout)
        if fan_out is not None:
            results = fan_out.compare_each(work, **options)
        else:
            with AuditLog(store, settings.home / KEY_FILE,
                          retention_days=settings.audit_retention_days) as audit, \
                    FanOut(settings, insecure_dev=insecure_dev, audit=audit) as own:
                results = own.compare_each(work, **options)
    finally:
        store.close()
    runs = [NightlyRun(code, chosen, starts[code][0], generation, result,
                       reset=starts[code][1]) for code, result in zip(work, results)]
    completed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    done = {run.partner: {"generation": generation, "completed_at": completed_at,
                          "since": run.since, "profiles": run.comparison.profiles,
                          "hits": run.comparison.hits} for run in runs if run.ok}
    if done:
        record_marks(settings.home, chosen, done)
        for run in runs:
            run.recorded = run.ok
    return runs

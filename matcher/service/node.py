"""``Node``: what a running partner service holds: its settings, home, audit log, quota
counters, thread pools and one desk per category.

Two thread pools keep slow things off the event loop without starving each other:
``searches`` (``node.executor_threads``, the kernels release the GIL) and ``ledger`` for the
audit log and quota counters, whose SQLite commits wait on the disk.  Several ledger threads
let the audit log's group commit put the entries of concurrent requests under one fsync.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from matcher.service.audit import KEY_FILE, AuditLog
from matcher.service.desks import Desk, DnaDesk, FingerDesk, VehicleDesk
from matcher.service.policy import QuotaGate
from matcher.service.quotas import Quotas
from matcher.service.settings import NodeSettings

log = logging.getLogger("matcher.service")

#: Threads for audit appends and quota counters (enough for group commit to gather).
LEDGER_THREADS = 4
#: Days of quota counters kept (only today's decide anything; the rest is for operators).
QUOTA_DAYS_KEPT = 31
#: Longest wait on close for cancelled calls to write their audit entries (s).
SETTLE_TIMEOUT_S = 10


class Node:
    """The service's shared state; build with ``Node.open(settings)``, end with ``close()``."""

    def __init__(self, settings: NodeSettings, home, *, insecure_dev: bool = False):
        self.settings = settings
        self.home = home
        self.insecure_dev = insecure_dev
        self.searches = ThreadPoolExecutor(settings.executor_threads,
                                           thread_name_prefix="prum-search")
        self.ledger = ThreadPoolExecutor(LEDGER_THREADS, thread_name_prefix="prum-ledger")
        self.audit = AuditLog(home.store, Path(home.path) / KEY_FILE,
                              retention_days=settings.audit_retention_days,
                              sync_seconds=settings.audit_sync_seconds)
        self.quotas = QuotaGate(Quotas(home.store))
        #: Calls being handled: ``close`` lets them finish their audit entries first.
        self.active: set[asyncio.Task] = set()
        self.desks: dict[str, Desk] = {
            "dna": DnaDesk(home, self.searches),
            "finger": FingerDesk(home, self.searches),
            "vehicle": VehicleDesk(home, self.searches),
        }

    @classmethod
    def open(cls, settings: NodeSettings, *, insecure_dev: bool = False) -> "Node":
        """Open the configured home (which must exist) and everything around it."""
        from matcher.home import open_home
        home = open_home(settings.home, create=False)
        try:
            if home.config.partner not in ("XX", settings.partner):
                log.warning("home %s says partner %s, the node configuration %s; answers "
                            "are signed %s", settings.home, home.config.partner,
                            settings.partner, settings.partner)
            return cls(settings, home, insecure_dev=insecure_dev)
        except BaseException:
            home.close()
            raise

    async def in_ledger(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.ledger, function, *args)

    def housekeeping(self) -> int:
        """Delete audit entries past retention and quota counters of past days (blocking);
        returns how many audit entries went."""
        purged = self.audit.purge()
        if purged:
            log.info("audit: purged %d entries older than %d days", purged,
                     self.settings.audit_retention_days)
        self.quotas.quotas.forget_before(
            (datetime.now(timezone.utc) - timedelta(days=QUOTA_DAYS_KEPT)).date())
        return purged

    async def settle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the calls being handled to end (after the
        server cancelled them, they still write their audit entries)."""
        current = asyncio.current_task()
        pending = [task for task in self.active if task is not current and not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def close(self) -> None:
        await self.settle(SETTLE_TIMEOUT_S)
        for desk in self.desks.values():
            await desk.close()
        self.searches.shutdown(wait=True)
        self.ledger.shutdown(wait=True)
        try:
            self.audit.close()
            self.quotas.quotas.close()
        finally:
            self.home.close()

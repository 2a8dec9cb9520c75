"""Asking partners: one request per partner, all partners at once, each with its deadline.

    results = query_partners(settings, "dna", queries, officer="NL-4711",
                             purpose="burglary investigation")
    for result in results:
        for line in result.lines():       # the lines `matcher query` prints
            ...

A partner that cannot be reached, refuses or runs out of time gives a ``PartnerResult`` with
``ok=False``, its gRPC status, message and decoded ``google.rpc`` details; the others are not
affected.  Channels (mutual TLS with this node's own certificate) stay open between calls,
since a new TLS handshake costs 2-6 ms (notes/performance.md).

Bulk DNA comparison (``compare``, ``compare_each``) streams batches of profiles to every
partner at once, one CompareDna call each, and gives one ``ComparisonResult`` per partner.

``PartnerClient`` is the asyncio face; ``FanOut`` and ``query_partners`` the blocking one,
which runs a ``PartnerClient`` on a private event-loop thread.  It lives in private
modules: ``_client_partner`` (``PartnerClient``), ``_client_results`` (results, failures),
``_client_channels`` (channels, headers), ``_client_query`` (searches), ``_client_compare``
(CompareDna streams) and ``_client_audit`` (the outbound audit).
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Mapping, Sequence

from matcher.service import _client_results
from matcher.service._client_audit import REFUSED
from matcher.service._client_channels import MAX_RECONNECT_BACKOFF_MS, RECONNECT_BACKOFF_MS
from matcher.service._client_compare import COMPARE_AUDIT_CATEGORY, DEFAULT_COMPARE_BATCH
from matcher.service._client_partner import PartnerClient
from matcher.service._client_query import MAX_QUERIES_PER_REQUEST
from matcher.service._client_results import ClientError, ComparisonResult, PartnerResult
from matcher.service.settings import NodeSettings

__all__ = [
    "COMPARE_AUDIT_CATEGORY", "DEFAULT_COMPARE_BATCH", "MAX_QUERIES_PER_REQUEST",
    "MAX_RECONNECT_BACKOFF_MS", "RECONNECT_BACKOFF_MS", "REFUSED",
    "ClientError", "ComparisonResult", "FanOut", "PartnerClient", "PartnerResult",
    "close_shared", "query_partners",
]

# Kept under its old private name: tests/test_service_bulk.py imports it from here.
_stream_failure = _client_results.stream_failure


class FanOut:
    """Blocking ``PartnerClient``: its own event loop on a daemon thread, channels kept
    open until ``close()``."""

    def __init__(self, settings: NodeSettings, *, insecure_dev: bool = False, audit=None):
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="prum-fan-out")
        self._thread.start()
        self.client = PartnerClient(settings, insecure_dev=insecure_dev, audit=audit)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def query(self, category: str, queries: Sequence[dict],
              partners: Sequence[str] | None = None, **header) -> list[PartnerResult]:
        """``PartnerClient.query``, blocking."""
        return self._run(self.client.query(category, queries, partners, **header))

    def capabilities(self, partner: str, **header):
        return self._run(self.client.capabilities(partner, **header))

    def compare(self, queries: Sequence[dict], partners: Sequence[str] | None = None,
                **options) -> list[ComparisonResult]:
        """``PartnerClient.compare``, blocking."""
        return self._run(self.client.compare(queries, partners, **options))

    def compare_each(self, work: Mapping[str, Sequence[dict]],
                     **options) -> list[ComparisonResult]:
        """``PartnerClient.compare_each``, blocking."""
        return self._run(self.client.compare_each(work, **options))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self.client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> "FanOut":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_shared: dict[int, tuple[NodeSettings, FanOut]] = {}
_shared_lock = threading.Lock()


def query_partners(settings: NodeSettings, category: str, queries: Sequence[dict],
                   partners: Sequence[str] | None = None, *, officer: str, purpose: str,
                   case_reference: str = "", ordering_officer: str = "",
                   timeout: float | None = None) -> list[PartnerResult]:
    """Ask the partners of ``settings`` (all, or ``partners``) the ``queries`` of
    ``category`` concurrently; one ``PartnerResult`` per partner and request.  The channels
    of a ``settings`` object stay open for later calls (closed at exit)."""
    with _shared_lock:
        # Keyed by identity; the entry holds the settings, so the id cannot be reused.
        entry = _shared.get(id(settings))
        if entry is None:
            entry = _shared[id(settings)] = (settings, FanOut(settings))
    return entry[1].query(category, queries, partners, officer=officer, purpose=purpose,
                          case_reference=case_reference, ordering_officer=ordering_officer,
                          timeout=timeout)


@atexit.register
def close_shared() -> None:
    """Close the channels ``query_partners`` keeps open."""
    with _shared_lock:
        entries = list(_shared.values())
        _shared.clear()
    for _, fan_out in entries:
        fan_out.close()

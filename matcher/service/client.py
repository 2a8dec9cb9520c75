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

``PartnerClient`` is the asyncio face; ``FanOut`` and ``query_partners`` the blocking one,
which runs a ``PartnerClient`` on a private event-loop thread.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import grpc
from google.protobuf import timestamp_pb2

from matcher._proto.prum.v1 import (
    capabilities_pb2, capabilities_pb2_grpc, common_pb2, dna_pb2_grpc, finger_pb2_grpc,
    vehicle_pb2_grpc,
)
from matcher.service import convert
from matcher.service.refusals import decode_details
from matcher.service.settings import NodeSettings, PartnerEndpoint
from matcher.service.tls import DEV_PARTNER_METADATA, channel_credentials

#: Most queries in one request; more are sent as several requests in turn.
MAX_QUERIES_PER_REQUEST = 1_000
#: Reconnection after a partner went away: retry soon (a restarting node is back within
#: seconds), but back off to at most MAX so a dead partner costs little.
RECONNECT_BACKOFF_MS = 250
MAX_RECONNECT_BACKOFF_MS = 5_000
#: Status codes that mean "the partner said no" (the rest: it could not answer).
REFUSED = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                     "INVALID_ARGUMENT"})

_CALLS = {
    "dna": (dna_pb2_grpc.DnaServiceStub, "SearchDna"),
    "finger": (finger_pb2_grpc.FingerServiceStub, "SearchFinger"),
    "vehicle": (vehicle_pb2_grpc.VehicleServiceStub, "LookupVehicle"),
}


class ClientError(ValueError):
    """The fan-out cannot be made as asked (unknown partner, bad queries): exit status 2."""


@dataclass
class PartnerResult:
    """One partner's answer to one request, or why there is none."""

    partner: str
    request_id: str
    ok: bool
    answer_id: str = ""
    #: One dict per query when ok: the local CLI's answer shape plus ``partner``,
    #: ``request_id``, ``answer_id``, ``received_at`` and ``answered_at``.
    answers: list[dict] = field(default_factory=list)
    status: str = "OK"                 # gRPC status code name
    message: str = ""
    details: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[dict]:
        """What ``matcher query`` prints for this result, one dict per JSON line."""
        if self.ok:
            return self.answers
        return [{"partner": self.partner, "request_id": self.request_id, "status": self.status,
                 "message": self.message, "details": self.details}]


def _now_stamp() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(timezone.utc))
    return stamp


class PartnerClient:
    """Sends requests to the partners of ``settings.partners``; asyncio, one event loop."""

    def __init__(self, settings: NodeSettings, *, insecure_dev: bool = False, audit=None):
        self.settings = settings
        self.insecure_dev = insecure_dev
        self.audit = audit   # an AuditLog: outbound requests are logged too (Prüm Art. 30)
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._credentials = None

    def _channel(self, endpoint: PartnerEndpoint) -> grpc.aio.Channel:
        channel = self._channels.get(endpoint.code)
        if channel is None:
            size = self.settings.max_message_bytes
            options = [("grpc.max_receive_message_length", size),
                       ("grpc.max_send_message_length", size),
                       ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
                       ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
                       ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS)]
            if self.insecure_dev:
                channel = grpc.aio.insecure_channel(endpoint.address, options=options)
            else:
                if self._credentials is None:
                    self._credentials = channel_credentials(self.settings.tls)
                options.append(("grpc.ssl_target_name_override", endpoint.server_name))
                channel = grpc.aio.secure_channel(endpoint.address, self._credentials, options)
            self._channels[endpoint.code] = channel
        return channel

    def endpoints(self, partners: Sequence[str] | None) -> list[PartnerEndpoint]:
        """The partners to ask: all configured ones, or the named ones (ClientError for a
        name the configuration does not list)."""
        if partners is None:
            return list(self.settings.partners.values())
        unknown = [code for code in partners if code not in self.settings.partners]
        if unknown:
            raise ClientError(f"partner(s) {', '.join(unknown)} not in [partners] of "
                              f"{self.settings.path}")
        return [self.settings.partners[code] for code in dict.fromkeys(partners)]

    def _header(self, officer: str, purpose: str, case_reference: str,
                ordering_officer: str) -> common_pb2.RequestHeader:
        return common_pb2.RequestHeader(
            request_id=str(uuid.uuid4()), officer_id=officer, purpose=purpose,
            case_reference=case_reference, ordering_officer_id=ordering_officer,
            sent_at=_now_stamp())

    def _metadata(self):
        return ((DEV_PARTNER_METADATA, self.settings.partner),) if self.insecure_dev else None

    async def query(self, category: str, queries: Sequence[dict],
                    partners: Sequence[str] | None = None, *, officer: str, purpose: str,
                    case_reference: str = "", ordering_officer: str = "",
                    timeout: float | None = None) -> list[PartnerResult]:
        """Ask every partner (or the named ones) concurrently; results in partner order,
        each partner's requests in query order.  ClientError for bad queries (nothing
        sent)."""
        if category not in _CALLS:
            raise ClientError(f"category must be one of {', '.join(_CALLS)}, got {category!r}")
        try:
            messages = convert.queries_to_proto(category, queries)
        except convert.QueryRejected as exc:
            raise ClientError(f"queries rejected before sending: {exc}") from None
        endpoints = self.endpoints(partners)
        chunks = [messages[i:i + MAX_QUERIES_PER_REQUEST]
                  for i in range(0, len(messages), MAX_QUERIES_PER_REQUEST)]
        header = dict(officer=officer, purpose=purpose, case_reference=case_reference,
                      ordering_officer=ordering_officer)
        per_partner = await asyncio.gather(*(
            self._ask_partner(endpoint, category, chunks, header, timeout)
            for endpoint in endpoints))
        return [result for results in per_partner for result in results]

    async def _ask_partner(self, endpoint, category, chunks, header, timeout):
        results = []
        for chunk in chunks:
            results.append(await self._ask(endpoint, category, chunk, header, timeout))
        return results

    async def _ask(self, endpoint: PartnerEndpoint, category: str, messages: list,
                   header: dict, timeout: float | None) -> PartnerResult:
        stub_class, method = _CALLS[category]
        request = convert.REQUESTS[category](header=self._header(**header), queries=messages)
        request_id = request.header.request_id
        deadline = timeout or endpoint.timeout_seconds or self.settings.timeout_seconds
        started = time.perf_counter()
        try:
            stub = stub_class(self._channel(endpoint))
            response = await getattr(stub, method)(request, timeout=deadline,
                                                   metadata=self._metadata())
        except grpc.aio.AioRpcError as error:
            result = _failure(endpoint.code, request_id, error)
        except Exception as exc:  # noqa: BLE001 - e.g. unreadable TLS files: this partner fails
            result = PartnerResult(endpoint.code, request_id, False, status="UNKNOWN",
                                   message=f"{type(exc).__name__}: {exc}")
        else:
            result = PartnerResult(endpoint.code, request_id, True,
                                   answer_id=response.header.answer_id,
                                   answers=convert.response_to_json(category, response))
        result.seconds = time.perf_counter() - started
        if self.audit is not None:
            await self._log(result, category, request, header)
        return result

    async def _log(self, result: PartnerResult, category: str, request, header: dict) -> None:
        from matcher.service.audit import AuditEntry
        digest = self.audit.digest(
            b"".join(q.SerializeToString(deterministic=True) for q in request.queries))
        hits = [h["reference"] for a in result.answers
                for h in a.get("hits", a.get("candidates", ()))]
        entry = AuditEntry(
            partner=result.partner, category=category, direction="outbound",
            outcome="answered" if result.ok else
            "refused" if result.status in REFUSED else "failed",
            status=result.status, officer=header["officer"][:256],
            ordering_officer=header["ordering_officer"][:256] or None,
            purpose=header["purpose"][:256], case_reference=header["case_reference"][:256],
            request_id=result.request_id, answer_id=result.answer_id,
            queries=len(request.queries), hits=tuple(hits), query_digest=digest,
            detail="" if result.ok else result.message[:256])
        await asyncio.get_running_loop().run_in_executor(None, self.audit.append, entry)

    async def capabilities(self, partner: str, *, officer: str, purpose: str,
                           timeout: float | None = None
                           ) -> capabilities_pb2.GetCapabilitiesResponse:
        """What ``partner`` grants this node (raises grpc.aio.AioRpcError on refusal)."""
        endpoint = self.endpoints([partner])[0]
        stub = capabilities_pb2_grpc.CapabilitiesServiceStub(self._channel(endpoint))
        request = capabilities_pb2.GetCapabilitiesRequest(
            header=self._header(officer, purpose, "", ""))
        return await stub.GetCapabilities(
            request, timeout=timeout or endpoint.timeout_seconds or self.settings.timeout_seconds,
            metadata=self._metadata())

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()


def _failure(partner: str, request_id: str, error: grpc.aio.AioRpcError) -> PartnerResult:
    details = b""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            details = value
    try:
        decoded = decode_details(details)
    except Exception:  # noqa: BLE001 - undecodable details are reported as absent
        decoded = []
    return PartnerResult(partner, request_id, False, status=error.code().name,
                         message=error.details() or "", details=decoded)


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

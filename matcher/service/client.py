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
which runs a ``PartnerClient`` on a private event-loop thread.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
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
#: Profiles per CompareDna batch by default: ~500 x ~0.4 KB = ~200 KB per message, far under
#: the 4 MiB message cap, and half a partner's default max_queries_per_request (1,000).
DEFAULT_COMPARE_BATCH = 500
#: The audit category of bulk comparison batches, as the answering node logs them.
COMPARE_AUDIT_CATEGORY = "dna_bulk"

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


@dataclass
class ComparisonResult:
    """One partner's bulk comparison (one CompareDna stream), or how far it got: ``ok`` when
    every batch was answered.  ``answers`` (all, or those with hits under ``hits_only``) are
    the dicts ``matcher query dna`` prints, and stand when a later batch failed."""

    partner: str
    ok: bool = False
    profiles: int = 0              # profiles to compare with this partner
    batches: int = 0               # batches they make
    answered_batches: int = 0
    answered: int = 0              # profiles answered
    hits: int = 0                  # answered profiles with at least one hit
    answers: list[dict] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)  # of every batch sent, in order
    failed_request_id: str = ""    # the batch sent but not answered, when not ok
    status: str = "OK"             # gRPC status code name of the stream
    message: str = ""
    details: list[dict] = field(default_factory=list)
    daily_profile_quota: int | None = None   # the partner's dna_bulk budget, last reported
    profiles_used_today: int | None = None
    seconds: float = 0.0

    def summary(self) -> dict:
        """This partner's summary line (``"summary": "compare"``)."""
        out = {"partner": self.partner, "summary": "compare", "ok": self.ok,
               "status": self.status, "profiles": self.profiles, "batches": self.batches,
               "answered_batches": self.answered_batches, "answered": self.answered,
               "hits": self.hits, "daily_profile_quota": self.daily_profile_quota,
               "profiles_used_today": self.profiles_used_today,
               "seconds": round(self.seconds, 3)}
        if not self.ok:
            out.update(request_id=self.failed_request_id, message=self.message,
                       details=self.details)
        return out

    def lines(self) -> list[dict]:
        """The answers kept, then the summary line: what gets printed for this partner."""
        return [*self.answers, self.summary()]


class _StreamBroken(Exception):
    """A CompareDna stream that ended or answered out of turn (the partner's fault)."""


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

    # ------------------------------------------------------------ bulk comparison
    async def compare(self, queries: Sequence[dict], partners: Sequence[str] | None = None,
                      **options) -> list[ComparisonResult]:
        """Bulk-compare the DNA ``queries`` (query dicts, each with a reference) with every
        partner (or the named ones) concurrently, one CompareDna stream per partner in
        batches; one ComparisonResult per partner, in partner order.  ``options`` are those
        of ``compare_each``."""
        return await self.compare_each({e.code: queries for e in self.endpoints(partners)},
                                       **options)

    async def compare_each(self, work: Mapping[str, Sequence[dict]], *, officer: str,
                           purpose: str, case_reference: str = "", ordering_officer: str = "",
                           batch_size: int = DEFAULT_COMPARE_BATCH, hits_only: bool = False,
                           timeout: float | None = None) -> list[ComparisonResult]:
        """``compare`` with a profile list per partner (code -> DNA query dicts, e.g. each
        partner's nightly delta); results in ``work``'s order.  ``batch_size``: profiles per
        batch (at most the partner's max_queries_per_request); ``hits_only``: keep only
        answers with hits; ``timeout``: deadline of each whole stream (default
        ``node.compare_timeout_seconds``).  A failing partner is reported in its result and
        does not stop the others.  ClientError (nothing sent) for an unknown partner, a bad
        batch size or an unsendable query."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ClientError(f"batch size must be a whole number >= 1, got {batch_size!r}")
        endpoints = self.endpoints(list(work))
        messages: dict[int, list] = {}      # one conversion per distinct profile list
        for queries in work.values():
            if id(queries) not in messages:
                try:
                    messages[id(queries)] = convert.queries_to_proto("dna", queries)
                except convert.QueryRejected as exc:
                    raise ClientError(f"profiles rejected before sending: {exc}") from None
        header = dict(officer=officer, purpose=purpose, case_reference=case_reference,
                      ordering_officer=ordering_officer)
        return list(await asyncio.gather(*(
            self._compare_partner(endpoint, messages[id(work[endpoint.code])], header,
                                  batch_size, hits_only, timeout)
            for endpoint in endpoints)))

    async def _compare_partner(self, endpoint: PartnerEndpoint, messages: list, header: dict,
                               batch_size: int, hits_only: bool,
                               timeout: float | None) -> ComparisonResult:
        """One partner's stream, one batch at a time: send it, read its answer, send the next.
        Not pipelined on purpose: with grpcio 1.85 (aio) a write racing the partner's refusal
        of the batch before ends the call INTERNAL, and the refusal's reason (quota, bad
        profile) would be lost; the cost is one round trip per batch of 500 comparisons.
        Every batch sent is audited, answered or not."""
        result = ComparisonResult(endpoint.code, profiles=len(messages),
                                  batches=-(-len(messages) // batch_size))
        started = time.perf_counter()
        call = request = None
        try:
            if messages:
                stub = dna_pb2_grpc.DnaServiceStub(self._channel(endpoint))
                call = stub.CompareDna(timeout=timeout or self.settings.compare_timeout_seconds,
                                       metadata=self._metadata())
                for start in range(0, len(messages), batch_size):
                    request = convert.compare_request_to_proto(
                        self._header(**header), messages[start:start + batch_size])
                    result.request_ids.append(request.header.request_id)
                    await call.write(request)
                    await self._receive_batch(call, request, result, header, hits_only)
                    request = None
                await call.done_writing()
            result.ok = True
        except Exception as exc:  # noqa: BLE001 - e.g. unreadable TLS files: this partner fails
            failure = await _stream_failure(endpoint.code, call, exc)
            result.status, result.message, result.details = (failure.status, failure.message,
                                                             failure.details)
        finally:
            if call is not None and not result.ok:
                call.cancel()
        result.seconds = time.perf_counter() - started
        if request is not None:              # sent, never answered
            result.failed_request_id = request.header.request_id
            if self.audit is not None:
                await self._log(PartnerResult(result.partner, result.failed_request_id, False,
                                              status=result.status, message=result.message),
                                COMPARE_AUDIT_CATEGORY, request, header)
        return result

    async def _receive_batch(self, call, request, result: ComparisonResult, header: dict,
                             hits_only: bool) -> None:
        """Read the answer to batch ``request``, count it, keep it, audit it."""
        response = await call.read()
        if response is grpc.aio.EOF:
            raise _StreamBroken(f"the partner ended the stream without answering batch "
                                f"{request.header.request_id}")
        if response.header.request_id != request.header.request_id \
                or len(response.answers) != len(request.queries):
            raise _StreamBroken(f"answer {response.header.answer_id!r} does not answer batch "
                                f"{request.header.request_id} ({len(request.queries)} profiles)")
        answers = convert.compare_response_to_json(response)
        with_hits = [answer for answer in answers if answer["hits"]]
        result.answered_batches += 1
        result.answered += len(answers)
        result.hits += len(with_hits)
        result.answers += with_hits if hits_only else answers
        result.daily_profile_quota = response.daily_profile_quota
        result.profiles_used_today = response.profiles_used_today
        if self.audit is not None:
            await self._log(PartnerResult(result.partner, request.header.request_id, True,
                                          answer_id=response.header.answer_id, answers=answers),
                            COMPARE_AUDIT_CATEGORY, request, header)

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


async def _stream_failure(partner: str, call, exc: Exception) -> PartnerResult:
    """Why a CompareDna stream ended: the partner's status when it gave one, else ours."""
    if not isinstance(exc, grpc.aio.AioRpcError) and call is not None and call.done() \
            and await call.code() is not grpc.StatusCode.OK:   # e.g. a write to an ended call
        exc = grpc.aio.AioRpcError(await call.code(), await call.initial_metadata(),
                                   await call.trailing_metadata(), await call.details())
    if isinstance(exc, grpc.aio.AioRpcError):
        return _failure(partner, "", exc)
    status = "INTERNAL" if isinstance(exc, _StreamBroken) else "UNKNOWN"
    return PartnerResult(partner, "", False, status=status,
                         message=str(exc) if status == "INTERNAL"
                         else f"{type(exc).__name__}: {exc}")


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

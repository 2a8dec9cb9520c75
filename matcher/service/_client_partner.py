"""The asyncio face of asking partners: ``PartnerClient`` resolves partner codes, keeps one
channel per partner open, and sends searches and CompareDna streams to all partners at once,
each with its own deadline, so that one slow or refusing partner never holds up the others.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence

import grpc

from matcher._proto.prum.v1 import capabilities_pb2, capabilities_pb2_grpc
from matcher.service._client_channels import (PartnerCall, Requester, call_deadline,
                                              call_metadata, open_channel)
from matcher.service._client_compare import (DEFAULT_COMPARE_BATCH, check_batch_size,
                                             compare_partner)
from matcher.service._client_query import (MAX_QUERIES_PER_REQUEST, SEARCH_CALLS, in_batches,
                                           search_partner, to_messages)
from matcher.service._client_results import ClientError, ComparisonResult, PartnerResult
from matcher.service.settings import NodeSettings, PartnerEndpoint
from matcher.service.tls import channel_credentials


class PartnerClient:
    """Sends requests to the partners of ``settings.partners``; asyncio, one event loop."""

    def __init__(self, settings: NodeSettings, *, insecure_dev: bool = False, audit=None):
        self.settings = settings
        self.insecure_dev = insecure_dev
        self.audit = audit   # an AuditLog: outbound requests are logged too (Prüm Art. 30)
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._credentials = None

    def _channel(self, endpoint: PartnerEndpoint) -> grpc.aio.Channel:
        """The partner's channel, opened on first use and kept: a new TLS handshake costs
        2-6 ms (notes/performance.md)."""
        channel = self._channels.get(endpoint.code)
        if channel is None:
            if not self.insecure_dev and self._credentials is None:
                self._credentials = channel_credentials(self.settings.tls)
            channel = self._channels[endpoint.code] = open_channel(
                endpoint, self.settings.max_message_bytes,
                None if self.insecure_dev else self._credentials)
        return channel

    def _call(self, endpoint: PartnerEndpoint, requester: Requester) -> PartnerCall:
        """What a call to ``endpoint`` on behalf of ``requester`` needs."""
        return PartnerCall(endpoint, functools.partial(self._channel, endpoint),
                           call_metadata(self.settings, self.insecure_dev), requester,
                           self.audit)

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

    async def query(self, category: str, queries: Sequence[dict],
                    partners: Sequence[str] | None = None, *, officer: str, purpose: str,
                    case_reference: str = "", ordering_officer: str = "",
                    timeout: float | None = None) -> list[PartnerResult]:
        """Ask every partner (or the named ones) concurrently; results in partner order,
        each partner's requests in query order.  ClientError for bad queries (nothing
        sent)."""
        if category not in SEARCH_CALLS:
            raise ClientError(f"category must be one of {', '.join(SEARCH_CALLS)}, "
                              f"got {category!r}")
        batches = in_batches(to_messages(category, queries, "queries"),
                             MAX_QUERIES_PER_REQUEST)
        endpoints = self.endpoints(partners)
        requester = Requester(officer, purpose, case_reference, ordering_officer)
        per_partner = await asyncio.gather(*(
            search_partner(self._call(endpoint, requester), category, batches,
                           call_deadline(self.settings, endpoint, timeout))
            for endpoint in endpoints))
        return [result for results in per_partner for result in results]

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
        check_batch_size(batch_size)
        endpoints = self.endpoints(list(work))
        messages: dict[int, list] = {}      # one conversion per distinct profile list
        for queries in work.values():
            if id(queries) not in messages:
                messages[id(queries)] = to_messages("dna", queries, "profiles")
        requester = Requester(officer, purpose, case_reference, ordering_officer)
        stream_timeout = timeout or self.settings.compare_timeout_seconds
        return list(await asyncio.gather(*(
            compare_partner(self._call(endpoint, requester), messages[id(work[endpoint.code])],
                            batch_size, hits_only, stream_timeout)
            for endpoint in endpoints)))

    async def capabilities(self, partner: str, *, officer: str, purpose: str,
                           timeout: float | None = None
                           ) -> capabilities_pb2.GetCapabilitiesResponse:
        """What ``partner`` grants this node (raises grpc.aio.AioRpcError on refusal)."""
        endpoint = self.endpoints([partner])[0]
        stub = capabilities_pb2_grpc.CapabilitiesServiceStub(self._channel(endpoint))
        request = capabilities_pb2.GetCapabilitiesRequest(
            header=Requester(officer, purpose).header())
        return await stub.GetCapabilities(
            request, timeout=call_deadline(self.settings, endpoint, timeout),
            metadata=call_metadata(self.settings, self.insecure_dev))

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()

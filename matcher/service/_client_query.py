"""Searching one partner: the category's unary call (SearchDna, SearchFinger, LookupVehicle),
one request per batch of at most ``MAX_QUERIES_PER_REQUEST`` queries, sent in turn.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from matcher._proto.prum.v1 import dna_pb2_grpc, finger_pb2_grpc, vehicle_pb2_grpc
from matcher.service import convert
from matcher.service._client_audit import log_outbound
from matcher.service._client_channels import PartnerCall
from matcher.service._client_results import ClientError, PartnerResult, failure

#: Most queries in one request; more are sent as several requests in turn.
MAX_QUERIES_PER_REQUEST = 1_000

#: Per category: the service stub and the method of its search call.
SEARCH_CALLS = {
    "dna": (dna_pb2_grpc.DnaServiceStub, "SearchDna"),
    "finger": (finger_pb2_grpc.FingerServiceStub, "SearchFinger"),
    "vehicle": (vehicle_pb2_grpc.VehicleServiceStub, "LookupVehicle"),
}


def to_messages(category: str, queries: Sequence[dict], what: str) -> list:
    """The query messages of ``queries``; ClientError naming every bad one (as ``what``,
    e.g. "queries" or "profiles") so that nothing is sent."""
    try:
        return convert.queries_to_proto(category, queries)
    except convert.QueryRejected as exc:
        raise ClientError(f"{what} rejected before sending: {exc}") from None


def in_batches(messages: list, size: int) -> list[list]:
    """``messages`` cut into consecutive lists of at most ``size``."""
    return [messages[start:start + size] for start in range(0, len(messages), size)]


def batch_count(items: int, size: int) -> int:
    """How many batches of at most ``size`` ``items`` make (``len(in_batches(...))``)."""
    return -(-items // size)


async def search_partner(call: PartnerCall, category: str, batches: list[list],
                         deadline: float) -> list[PartnerResult]:
    """One result per batch, in order; a failed batch does not stop the next."""
    return [await search(call, category, batch, deadline) for batch in batches]


async def search(call: PartnerCall, category: str, messages: list,
                 deadline: float) -> PartnerResult:
    """Send one request of ``messages`` and wait for its answer (at most ``deadline``
    seconds); the result says why there is none.  Audited, answered or not."""
    stub_class, method = SEARCH_CALLS[category]
    request = convert.REQUESTS[category](header=call.requester.header(), queries=messages)
    request_id = request.header.request_id
    started = time.perf_counter()
    try:
        stub = stub_class(call.channel())
        response = await getattr(stub, method)(request, timeout=deadline,
                                               metadata=call.metadata)
    except Exception as exc:  # noqa: BLE001 - refused, unreachable or local: this partner fails
        result = failure(call.endpoint.code, request_id, exc)
    else:
        result = PartnerResult(call.endpoint.code, request_id, True,
                               answer_id=response.header.answer_id,
                               answers=convert.response_to_json(category, response))
    result.seconds = time.perf_counter() - started
    await log_outbound(call, result, category, request)
    return result

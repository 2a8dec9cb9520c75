"""Bulk DNA comparison with one partner: one CompareDna stream, batches of profiles sent in
turn, each answer counted, kept and audited, into one ``ComparisonResult``.
"""

from __future__ import annotations

import time

import grpc

from matcher._proto.prum.v1 import dna_pb2_grpc
from matcher.service import convert
from matcher.service._client_audit import log_outbound
from matcher.service._client_channels import PartnerCall
from matcher.service._client_query import batch_count, in_batches
from matcher.service._client_results import (ClientError, ComparisonResult, PartnerResult,
                                             StreamBroken, stream_failure)

#: Profiles per CompareDna batch by default: ~500 x ~0.4 KB = ~200 KB per message, far under
#: the 4 MiB message cap, and half a partner's default max_queries_per_request (1,000).
DEFAULT_COMPARE_BATCH = 500
#: The audit category of bulk comparison batches, as the answering node logs them.
COMPARE_AUDIT_CATEGORY = "dna_bulk"


def check_batch_size(batch_size: object) -> int:
    """``batch_size`` if it is a whole number >= 1, else ClientError."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ClientError(f"batch size must be a whole number >= 1, got {batch_size!r}")
    return batch_size


async def compare_partner(call: PartnerCall, messages: list, batch_size: int,
                          hits_only: bool, timeout: float) -> ComparisonResult:
    """One partner's stream, one batch at a time: send it, read its answer, send the next.
    Not pipelined on purpose: with grpcio 1.85 (aio) a write racing the partner's refusal
    of the batch before ends the call INTERNAL, and the refusal's reason (quota, bad
    profile) would be lost; the cost is one round trip per batch of 500 comparisons.
    ``timeout``: seconds the whole stream may take.  Every batch sent is audited, answered
    or not."""
    result = ComparisonResult(call.endpoint.code, profiles=len(messages),
                              batches=batch_count(len(messages), batch_size))
    started = time.perf_counter()
    stream = request = None
    try:
        if messages:
            stub = dna_pb2_grpc.DnaServiceStub(call.channel())
            stream = stub.CompareDna(timeout=timeout, metadata=call.metadata)
            for batch in in_batches(messages, batch_size):
                request = convert.compare_request_to_proto(call.requester.header(), batch)
                result.request_ids.append(request.header.request_id)
                await stream.write(request)
                await _receive_batch(call, stream, request, result, hits_only)
                request = None
            await stream.done_writing()
        result.ok = True
    except Exception as exc:  # noqa: BLE001 - refused, unreachable or local: this partner fails
        failed = await stream_failure(call.endpoint.code, stream, exc)
        result.status, result.message, result.details = (failed.status, failed.message,
                                                         failed.details)
    finally:
        if stream is not None and not result.ok:
            stream.cancel()
    result.seconds = time.perf_counter() - started
    if request is not None:              # sent, never answered
        result.failed_request_id = request.header.request_id
        await log_outbound(call, PartnerResult(result.partner, result.failed_request_id, False,
                                               status=result.status, message=result.message),
                           COMPARE_AUDIT_CATEGORY, request)
    return result


async def _receive_batch(call: PartnerCall, stream, request, result: ComparisonResult,
                         hits_only: bool) -> None:
    """Read the answer to batch ``request``, count it, keep it, audit it."""
    response = await stream.read()
    if response is grpc.aio.EOF:
        raise StreamBroken(f"the partner ended the stream without answering batch "
                           f"{request.header.request_id}")
    if response.header.request_id != request.header.request_id \
            or len(response.answers) != len(request.queries):
        raise StreamBroken(f"answer {response.header.answer_id!r} does not answer batch "
                           f"{request.header.request_id} ({len(request.queries)} profiles)")
    answers = convert.compare_response_to_json(response)
    with_hits = [answer for answer in answers if answer["hits"]]
    result.answered_batches += 1
    result.answered += len(answers)
    result.hits += len(with_hits)
    result.answers += with_hits if hits_only else answers
    result.daily_profile_quota = response.daily_profile_quota
    result.profiles_used_today = response.profiles_used_today
    await log_outbound(call, PartnerResult(result.partner, request.header.request_id, True,
                                           answer_id=response.header.answer_id,
                                           answers=answers),
                       COMPARE_AUDIT_CATEGORY, request)

"""The four ``prum.v1`` services.  A search takes one path (inside ``Exchange.run``, which
audits its end whatever it is):

identify the caller from its certificate -> check its policy -> check the header -> count the
queries -> convert and validate them -> check the deadline -> take the quota -> search (off
the event loop, deadline checked between pieces) -> answer.

The inbound query data lives only in this call's local variables: the audit keeps a keyed
hash of it, nothing else does.

A bulk comparison (CompareDna) is a stream of batches, and each batch takes that same path
as one request of its own (its own Exchange, so its own audit entry), with the batch's
profiles counted against the ``dna_bulk`` quota instead of ``dna`` and compared through
``DnaDesk.compare``.  A refused batch ends the stream; the batches answered before it stand.
"""

from __future__ import annotations

import asyncio
import time

from matcher._proto.prum.v1 import (
    capabilities_pb2, capabilities_pb2_grpc, dna_pb2_grpc, finger_pb2_grpc, vehicle_pb2_grpc,
)
from matcher.service import convert, policy, refusals
from matcher.service.batching import DeadlinePassed
from matcher.service.desks import cut_candidates
from matcher.service.exchange import Exchange, caller_deadline
from matcher.service.node import Node
from matcher.service.refusals import Refusal
from matcher.service.settings import BULK_QUOTA_KEY, CATEGORIES

#: Validation of many queries runs off the event loop (~20-50 µs per DNA query).
_VALIDATE_INLINE_MAX = 32
#: The audit log's category of a bulk comparison batch (CompareDna): apart from single DNA
#: searches, as its quota is.
BULK_AUDIT_CATEGORY = "dna_bulk"


class _SearchService:
    """The common body of SearchDna, SearchFinger and LookupVehicle."""

    category = ""

    def __init__(self, node: Node):
        self.node = node
        self.desk = node.desks[self.category]

    async def _serve(self, request, context):
        exchange = Exchange(self.node, self.category, request, context)
        ticket = self.desk.expect()
        try:
            return await exchange.run(lambda: self._answer(exchange, request, context, ticket))
        finally:
            ticket.done()

    async def _admit(self, exchange: Exchange, request, context):
        """The checks every search request passes before its quota: who calls, how many
        queries, whether each is well formed, whether the deadline still allows work.
        Returns (grant, queries as dicts, deadline)."""
        grant = exchange.identify(self.category)
        exchange.queries = len(request.queries)
        exchange.query_messages = request.queries
        policy.check_count(grant, self.category, exchange.queries)
        queries = await self._validated(request)
        deadline = caller_deadline(context)
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlinePassed()
        return grant, queries, deadline

    async def _answer(self, exchange: Exchange, request, context, ticket):
        grant, queries, deadline = await self._admit(exchange, request, context)
        counts: dict[str, int] = {}
        for query in queries:
            key = self.desk.quota_key(query)
            counts[key] = counts.get(key, 0) + 1
        await self.node.in_ledger(self.node.quotas.take, grant, counts)
        answers = await self.desk.search(queries, deadline, ticket)
        del queries  # the inbound data is not kept beyond the search
        if self.category == "finger":
            answers = cut_candidates(answers, grant.finger_candidate_limit)
        exchange.hits = [h["reference"] for a in answers
                         for h in a.get("hits", a.get("candidates", ()))]
        try:
            messages = convert.answers_to_proto(self.category, answers)
        except convert.QueryRejected as exc:  # the home refused what validation let pass
            raise _bad_request(exc) from None
        return convert.RESPONSES[self.category](header=exchange.header(), answers=messages)

    async def _validated(self, request) -> list[dict]:
        """The queries as home dicts after the wire and home checks; INVALID_ARGUMENT with
        every bad query and field otherwise (wire and home problems together)."""
        queries: list[dict | None] = []
        violations: list[convert.FieldViolation] = []
        try:
            queries = convert.queries_from_proto(self.category, request.queries)
        except convert.QueryRejected:
            # Again one by one, so the queries that did convert get the home's checks too
            # and the caller hears of every problem at once.
            for index, message in enumerate(request.queries):
                try:
                    queries.append(convert.queries_from_proto(self.category, [message])[0])
                except convert.QueryRejected as exc:
                    violations += [v._replace(index=index) for v in exc.violations]
                    queries.append(None)
        check = lambda: [self.desk.problem(q) if q is not None else None  # noqa: E731
                         for q in queries]
        if len(queries) <= _VALIDATE_INLINE_MAX:
            problems = check()
        else:
            problems = await asyncio.get_running_loop().run_in_executor(
                self.node.searches, check)
        if any(problems):
            answers = [{"query": q["reference"], "error": p} if p
                       else self.desk.placeholder(q["reference"] if q else "")
                       for q, p in zip(queries, problems)]
            try:
                convert.answers_to_proto(self.category, answers)
            except convert.QueryRejected as exc:
                violations += exc.violations
        if violations:
            raise _bad_request(convert.QueryRejected(sorted(violations, key=lambda v: v.index)))
        return queries


def _bad_request(exc: "convert.QueryRejected") -> Refusal:
    return refusals.bad_request([
        (v.path, f"query {v.reference!r}: {v.reason}" if v.reference else v.reason)
        for v in exc.violations])


class DnaServicer(_SearchService, dna_pb2_grpc.DnaServiceServicer):
    category = "dna"

    async def SearchDna(self, request, context):  # noqa: N802 - gRPC method name
        return await self._serve(request, context)

    async def CompareDna(self, request_iterator, context):  # noqa: N802
        """One CompareDnaResponse per batch, in the order received; a refused batch ends the
        stream (Exchange.run aborts the call after auditing it)."""
        async for request in request_iterator:
            exchange = Exchange(self.node, BULK_AUDIT_CATEGORY, request, context)
            ticket = self.desk.expect()
            try:
                response = await exchange.run(
                    lambda: self._compare(exchange, request, context, ticket))
            finally:
                ticket.done()
            yield response

    async def _compare(self, exchange: Exchange, request, context, ticket):
        """One bulk batch: SearchDna's checks, the ``dna_bulk`` quota, ``DnaDesk.compare``."""
        grant, queries, deadline = await self._admit(exchange, request, context)
        budget = await self.node.in_ledger(self.node.quotas.take_one, grant, BULK_QUOTA_KEY,
                                           len(queries))
        answers = await self.desk.compare(queries, deadline, ticket)
        del queries  # the inbound data is not kept beyond the comparison
        exchange.hits = [h["reference"] for a in answers for h in a.get("hits", ())]
        try:
            messages = convert.answers_to_proto(self.category, answers)
        except convert.QueryRejected as exc:  # the home refused what validation let pass
            raise _bad_request(exc) from None
        return convert.compare_response_to_proto(
            exchange.header(), messages, daily_profile_quota=budget.limit or 0,
            profiles_used_today=budget.used)


class FingerServicer(_SearchService, finger_pb2_grpc.FingerServiceServicer):
    category = "finger"

    async def SearchFinger(self, request, context):  # noqa: N802
        return await self._serve(request, context)


class VehicleServicer(_SearchService, vehicle_pb2_grpc.VehicleServiceServicer):
    category = "vehicle"

    async def LookupVehicle(self, request, context):  # noqa: N802
        return await self._serve(request, context)


class CapabilitiesServicer(capabilities_pb2_grpc.CapabilitiesServiceServicer):
    """What the caller may ask: grants, today's use, limits and the DNA rules."""

    def __init__(self, node: Node):
        self.node = node

    async def GetCapabilities(self, request, context):  # noqa: N802
        exchange = Exchange(self.node, "capabilities", request, context)
        return await exchange.run(lambda: self._answer(exchange))

    async def _answer(self, exchange: Exchange):
        grant = exchange.identify(None)
        usage = await self.node.in_ledger(self._usage, grant)
        dna = self.node.home.dna
        grants = [capabilities_pb2.CategoryGrant(
            category=convert.CATEGORY_ENUM[category],
            daily_quota=_int32(grant.daily_quota[category]),
            used_today=_int32(usage[category]),
            max_queries_per_request=grant.max_queries_per_request,
            finger_candidate_limit=grant.finger_candidate_limit if category == "finger" else 0,
            **(self._latent(grant, usage) if category == "finger" else {}),
            **(self._bulk(grant, usage) if category == "dna" else {}))
            for category in CATEGORIES if category in grant.categories]
        return capabilities_pb2.GetCapabilitiesResponse(
            header=exchange.header(), caller_partner=grant.code, grants=grants,
            dna_loci=list(dna.table.compared),
            max_message_bytes=self.node.settings.max_message_bytes,
            dna_min_designated_loci=dna.settings.min_designated_loci,
            dna_min_matching_loci=dna.settings.min_matching_loci,
            dna_max_mismatches=dna.settings.max_mismatches)

    @staticmethod
    def _latent(grant, usage) -> dict[str, int]:
        """Latent marks have their own, smaller daily budget (Prüm: 20 against 100)."""
        return {"latent_daily_quota": _int32(grant.daily_quota["finger_latent"]),
                "latent_used_today": _int32(usage["finger_latent"])}

    @staticmethod
    def _bulk(grant, usage) -> dict[str, int]:
        """Bulk comparison (CompareDna) has its own budget, in profiles."""
        return {"bulk_daily_quota": grant.daily_quota[BULK_QUOTA_KEY],
                "bulk_used_today": usage[BULK_QUOTA_KEY]}

    def _usage(self, grant) -> dict[str, int]:
        return {key: self.node.quotas.used_today(grant.code, key) for key in grant.daily_quota}


def _int32(value: int) -> int:
    return min(value, 2**31 - 1)


SERVICERS = (
    (DnaServicer, dna_pb2_grpc.add_DnaServiceServicer_to_server),
    (FingerServicer, finger_pb2_grpc.add_FingerServiceServicer_to_server),
    (VehicleServicer, vehicle_pb2_grpc.add_VehicleServiceServicer_to_server),
    (CapabilitiesServicer, capabilities_pb2_grpc.add_CapabilitiesServiceServicer_to_server),
)

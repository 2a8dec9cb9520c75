"""One call's way through the node (``Exchange``) and what the audit log says of it.

Every call of every service runs inside ``Exchange.run``: whatever ends it (an answer, a
refusal, a deadline, a cancellation, a bug), exactly one audit entry is appended before the
caller hears anything, and an answer whose entry cannot be written is not given (INTERNAL).
The entry is built in a ledger thread, so hashing the queries (the only trace of them the
node keeps) and encoding the entry cost the event loop nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timezone

import grpc
from google.protobuf import timestamp_pb2

from matcher._proto.prum.v1 import common_pb2
from matcher.service import policy, refusals
from matcher.service.audit import AuditEntry
from matcher.service.batching import DeadlinePassed
from matcher.service.node import Node
from matcher.service.refusals import Refusal
from matcher.service.tls import peer_partner

log = logging.getLogger("matcher.service")

#: Audit text fields are cut to this many characters (a malformed header may be long).
_AUDIT_TEXT = 256


def _stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def caller_deadline(context) -> float | None:
    """The caller's deadline as a ``time.monotonic()`` value, None without one."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class Exchange:
    """One request's way through the node, and what the audit will say of it."""

    def __init__(self, node: Node, category: str, request, context):
        self.node, self.category, self.request, self.context = node, category, request, context
        self.received = datetime.now(timezone.utc)
        self.answer_id = str(uuid.uuid4())
        self.partner = ""
        self.queries = 0
        self.hits: list[str] = []
        #: The query messages, hashed for the audit in the ledger thread (off the loop).
        self.query_messages = ()

    def header(self) -> common_pb2.AnswerHeader:
        return common_pb2.AnswerHeader(
            request_id=self.request.header.request_id, answer_id=self.answer_id,
            partner=self.node.settings.partner, received_at=_stamp(self.received),
            answered_at=_stamp(datetime.now(timezone.utc)))

    def identify(self, category: str | None):
        self.partner = peer_partner(self.context, insecure_dev=self.node.insecure_dev) or ""
        found = policy.authorise(self.node.settings, self.partner, category)
        policy.check_header(self.request.header, self.request.HasField("header"))
        return found

    def entry(self, outcome: str, status: str, detail: str = "") -> AuditEntry:
        """The audit entry of this exchange.  Built in a ledger thread: hashing the queries
        and encoding the entry then cost the event loop nothing."""
        head = self.request.header
        cut = lambda text: text[:_AUDIT_TEXT]  # noqa: E731
        digest = None
        if self.query_messages:
            digest = self.node.audit.digest(
                b"".join(q.SerializeToString(deterministic=True) for q in self.query_messages))
        return AuditEntry(
            partner=self.partner, category=self.category, outcome=outcome, status=status,
            officer=cut(head.officer_id), ordering_officer=cut(head.ordering_officer_id) or None,
            purpose=cut(head.purpose), case_reference=cut(head.case_reference),
            request_id=cut(head.request_id), answer_id=self.answer_id, queries=self.queries,
            hits=tuple(self.hits), query_digest=digest, detail=detail, time=self.received)

    async def run(self, work):
        """Run ``work()`` (a coroutine function returning the response) and audit the end,
        whatever it is; refusals go to the caller with their google.rpc details."""
        task = asyncio.current_task()
        self.node.active.add(task)
        try:
            return await self._run(work)
        finally:
            self.node.active.discard(task)

    async def _run(self, work):
        try:
            response = await work()
        except Refusal as refusal:
            return await self._refuse(refusal)
        except DeadlinePassed:
            return await self._refuse(refusals.deadline_passed())
        except asyncio.CancelledError:
            # The caller went away or its deadline passed while we worked: log, then stop.
            await self._log("failed", "CANCELLED",
                            "the caller cancelled or its deadline passed during the search")
            raise
        except Exception:  # noqa: BLE001 - a bug must not leave the request unlogged
            log.exception("%s request %s failed", self.category, self.answer_id)
            return await self._refuse(Refusal(grpc.StatusCode.INTERNAL,
                                              f"internal error (answer id {self.answer_id})"))
        remaining = self.context.time_remaining()
        if remaining is not None and remaining <= 0:
            await self._log("failed", "DEADLINE_EXCEEDED",
                            "answer ready after the caller's deadline")
            await self.context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
        if not await self._log("answered", "OK"):
            await self.context.abort(grpc.StatusCode.INTERNAL,
                                     f"audit log unavailable; no answer given "
                                     f"(answer id {self.answer_id})")
        return response

    async def _refuse(self, refusal: Refusal):
        outcome = "failed" if refusal.code in (grpc.StatusCode.DEADLINE_EXCEEDED,
                                               grpc.StatusCode.INTERNAL) else "refused"
        await self._log(outcome, refusal.outcome, _audit_detail(refusal))
        await self.context.abort_with_status(refusal.to_status())

    async def _log(self, outcome: str, status: str, detail: str = "") -> bool:
        """Append this exchange's audit entry; False (reported) when the log fails."""
        try:
            await self.node.in_ledger(self._append, outcome, status, detail)
            return True
        except Exception:  # noqa: BLE001 - reported, and the caller gets no answer
            log.exception("audit append failed for answer %s", self.answer_id)
            return False

    def _append(self, outcome: str, status: str, detail: str) -> int:
        return self.node.audit.append(self.entry(outcome, status, detail))


def _audit_detail(refusal: Refusal) -> str:
    """What the audit keeps of a refusal: for a bad request only the field paths, since the
    descriptions may quote the query data the log must not hold."""
    if refusal.code is grpc.StatusCode.INVALID_ARGUMENT:
        fields = [v.field for d in refusal.details
                  for v in getattr(d, "field_violations", ())]
        return "invalid: " + ", ".join(fields)
    return refusal.message

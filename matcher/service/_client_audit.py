"""The audit entry of every outbound request (Prüm Art. 30 asks both ends to log it): who asked
whom, why, with what outcome, and a keyed digest of the queries, never the queries themselves.
"""

from __future__ import annotations

import asyncio

from matcher.service._client_channels import PartnerCall
from matcher.service._client_results import PartnerResult

#: Status codes that mean "the partner said no" (the rest: it could not answer).
REFUSED = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                     "INVALID_ARGUMENT"})
#: Longest officer, purpose, case reference or message kept in an entry, in characters.
MAX_FIELD_CHARS = 256


async def log_outbound(call: PartnerCall, result: PartnerResult, category: str,
                       request) -> None:
    """Append the entry for ``request`` (sent under ``call``) and its ``result`` to the
    call's audit log, if it has one.  The append (a disk write) runs off the event loop."""
    if call.audit is None:
        return
    # Imported on first use: a client that keeps no audit log never loads it (nor the store).
    from matcher.service.audit import AuditEntry
    digest = call.audit.digest(
        b"".join(q.SerializeToString(deterministic=True) for q in request.queries))
    hits = [h["reference"] for a in result.answers
            for h in a.get("hits", a.get("candidates", ()))]
    requester = call.requester
    entry = AuditEntry(
        partner=result.partner, category=category, direction="outbound",
        outcome="answered" if result.ok else
        "refused" if result.status in REFUSED else "failed",
        status=result.status, officer=requester.officer[:MAX_FIELD_CHARS],
        ordering_officer=requester.ordering_officer[:MAX_FIELD_CHARS] or None,
        purpose=requester.purpose[:MAX_FIELD_CHARS],
        case_reference=requester.case_reference[:MAX_FIELD_CHARS],
        request_id=result.request_id, answer_id=result.answer_id,
        queries=len(request.queries), hits=tuple(hits), query_digest=digest,
        detail="" if result.ok else result.message[:MAX_FIELD_CHARS])
    await asyncio.get_running_loop().run_in_executor(None, call.audit.append, entry)

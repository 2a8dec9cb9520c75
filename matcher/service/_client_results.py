"""What asking a partner gives back: a ``PartnerResult`` per request, a ``ComparisonResult`` per
bulk comparison, and the decoding of a failed call into one (status, message and the
``google.rpc`` details a refusing partner attached).

Results carry answers by reference only, as the partner sent them; nothing here reads a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from matcher.service.refusals import decode_details

#: The trailing-metadata key under which gRPC carries a ``google.rpc.Status`` with details.
STATUS_DETAILS_KEY = "grpc-status-details-bin"


class ClientError(ValueError):
    """The fan-out cannot be made as asked (unknown partner, bad queries): exit status 2."""


class StreamBroken(Exception):
    """A CompareDna stream that ended or answered out of turn (the partner's fault)."""


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


def failure(partner: str, request_id: str, exc: Exception) -> PartnerResult:
    """The failed result for a call to ``partner`` that raised ``exc``: the partner's gRPC
    status and details when it gave one; INTERNAL for a stream it broke; else UNKNOWN with the
    local exception (e.g. unreadable TLS files), so that this partner fails alone."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return PartnerResult(partner, request_id, False, status=exc.code().name,
                             message=exc.details() or "", details=_details(exc))
    if isinstance(exc, StreamBroken):
        return PartnerResult(partner, request_id, False, status="INTERNAL", message=str(exc))
    return PartnerResult(partner, request_id, False, status="UNKNOWN",
                         message=f"{type(exc).__name__}: {exc}")


async def stream_failure(partner: str, call, exc: Exception) -> PartnerResult:
    """Why a CompareDna stream ended: the partner's status when it gave one, else ours."""
    # A write to a call the partner already ended raises a local error (InvalidStateError);
    # the call's own status says why it ended (deadline, refusal), which is what matters.
    if not isinstance(exc, grpc.aio.AioRpcError) and call is not None and call.done() \
            and await call.code() is not grpc.StatusCode.OK:
        exc = grpc.aio.AioRpcError(await call.code(), await call.initial_metadata(),
                                   await call.trailing_metadata(), await call.details())
    return failure(partner, "", exc)


def _details(error: grpc.aio.AioRpcError) -> list[dict]:
    details = b""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            details = value
    try:
        return decode_details(details)
    except Exception:  # noqa: BLE001 - undecodable details are reported as absent
        return []

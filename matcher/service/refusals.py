"""Refusals: a gRPC status code, a message and ``google.rpc`` details a client can act on.

Every refusal the service gives is one of these, so the status code, the detail type and the
audit outcome always agree:

============================  =====================  =========================================
situation                     status                 details
============================  =====================  =========================================
no verified partner identity  UNAUTHENTICATED        ErrorInfo(reason=NO_PARTNER_IDENTITY)
partner not in the policy     PERMISSION_DENIED      ErrorInfo(reason=UNKNOWN_PARTNER)
category not granted          PERMISSION_DENIED      ErrorInfo(reason=CATEGORY_NOT_GRANTED)
daily quota used up           RESOURCE_EXHAUSTED     QuotaFailure (+ ErrorInfo QUOTA_EXHAUSTED)
too many queries in a request RESOURCE_EXHAUSTED     QuotaFailure (+ ErrorInfo TOO_MANY_QUERIES)
bad header or query           INVALID_ARGUMENT       BadRequest, one field violation per field
deadline passed before work   DEADLINE_EXCEEDED      —
============================  =====================  =========================================

A caller whose certificate chains to the CA but names a partner this node has no policy for
is PERMISSION_DENIED, not UNAUTHENTICATED: it *is* identified (its certificate says who it
is), it is just not authorised (gRPC: UNAUTHENTICATED is for callers that cannot be
identified).  UNAUTHENTICATED is left for a certificate whose common name is no partner
code, and for a plaintext development call that does not name itself.  Callers without a
certificate of the CA, or with an expired one, never get this far: TLS refuses them.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

#: ``ErrorInfo.domain``: the service family that gave the error.
ERROR_DOMAIN = "prum.v1"


class Refusal(Exception):
    """A refused call: status code, message and ``google.rpc`` details."""

    def __init__(self, code: grpc.StatusCode, message: str, details: list[Message] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)

    @property
    def outcome(self) -> str:
        """The audit's outcome label: the status code's name, e.g. ``PERMISSION_DENIED``."""
        return self.code.name

    def to_status(self) -> grpc.Status:
        """The refusal as a ``grpc.Status`` carrying ``grpc-status-details-bin``."""
        packed = []
        for detail in self.details:
            holder = any_pb2.Any()
            holder.Pack(detail)
            packed.append(holder)
        return rpc_status.to_status(status_pb2.Status(
            code=self.code.value[0], message=self.message, details=packed))


def unauthenticated(reason: str) -> Refusal:
    return Refusal(grpc.StatusCode.UNAUTHENTICATED,
                   f"caller not identified as a partner: {reason}",
                   [error_details_pb2.ErrorInfo(reason="NO_PARTNER_IDENTITY",
                                                domain=ERROR_DOMAIN)])


def unknown_partner(partner: str) -> Refusal:
    return Refusal(grpc.StatusCode.PERMISSION_DENIED,
                   f"partner {partner} is not a partner of this node (no policy for it)",
                   [error_details_pb2.ErrorInfo(reason="UNKNOWN_PARTNER", domain=ERROR_DOMAIN,
                                                metadata={"partner": partner})])


def not_granted(partner: str, category: str) -> Refusal:
    return Refusal(grpc.StatusCode.PERMISSION_DENIED,
                   f"partner {partner} may not query category {category} on this node",
                   [error_details_pb2.ErrorInfo(reason="CATEGORY_NOT_GRANTED",
                                                domain=ERROR_DOMAIN,
                                                metadata={"partner": partner,
                                                          "category": category})])


def quota_exhausted(partner: str, quota: str, asked: int, used: int, limit: int) -> Refusal:
    remaining = max(limit - used, 0)
    message = (f"partner {partner}: daily {quota} quota exhausted: {asked} queries asked, "
               f"{remaining} of {limit} left today")
    return Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, message, [
        error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
            subject=f"partner:{partner}", description=message,
            quota_id=f"daily_{quota}_searches", quota_metric=f"prum.v1/{quota}_searches",
            quota_dimensions={"partner": partner, "category": quota}, quota_value=limit)]),
        error_details_pb2.ErrorInfo(reason="QUOTA_EXHAUSTED", domain=ERROR_DOMAIN, metadata={
            "partner": partner, "quota": quota, "asked": str(asked), "used": str(used),
            "limit": str(limit)}),
    ])


def bad_request(violations: list[tuple[str, str]]) -> Refusal:
    """INVALID_ARGUMENT with one BadRequest field violation per (field, description)."""
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return Refusal(grpc.StatusCode.INVALID_ARGUMENT, f"{first[0]}: {first[1]}{more}", [
        error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations])])


def too_many_queries(partner: str, category: str, asked: int, limit: int) -> Refusal:
    message = (f"partner {partner}: {asked} {category} queries in one request, at most "
               f"{limit} allowed")
    return Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, message, [
        error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
            subject=f"partner:{partner}", description=message,
            quota_id=f"max_{category}_queries_per_request",
            quota_metric=f"prum.v1/{category}_queries_per_request",
            quota_dimensions={"partner": partner, "category": category}, quota_value=limit)]),
        error_details_pb2.ErrorInfo(reason="TOO_MANY_QUERIES", domain=ERROR_DOMAIN, metadata={
            "partner": partner, "category": category, "asked": str(asked),
            "limit": str(limit)}),
    ])


def deadline_passed() -> Refusal:
    return Refusal(grpc.StatusCode.DEADLINE_EXCEEDED,
                   "the caller's deadline passed before the search; nothing was searched")


def decode_details(status_details: bytes | None) -> list[dict]:
    """``google.rpc`` details of a ``grpc-status-details-bin`` trailer as JSON-ready dicts
    (``{"type": "QuotaFailure", ...}``), for `matcher query` to print."""
    from google.protobuf.json_format import MessageToDict
    if not status_details:
        return []
    status = status_pb2.Status.FromString(status_details)
    out = []
    for holder in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.QuotaFailure,
                     error_details_pb2.BadRequest):
            if holder.Is(kind.DESCRIPTOR):
                message = kind()
                holder.Unpack(message)
                out.append({"type": kind.DESCRIPTOR.name,
                            **MessageToDict(message, preserving_proto_field_name=True)})
                break
        else:
            out.append({"type": holder.TypeName()})
    return out

"""How this node reaches a partner: the channel (mutual TLS with this node's own certificate,
or plaintext in insecure dev mode), the metadata sent with every call, the request header
naming who asks and why, and the deadline of a call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import grpc
from google.protobuf import timestamp_pb2

from matcher._proto.prum.v1 import common_pb2
from matcher.service.settings import NodeSettings, PartnerEndpoint
from matcher.service.tls import DEV_PARTNER_METADATA

#: Reconnection after a partner went away: retry soon (a restarting node is back within
#: seconds), but back off to at most MAX so a dead partner costs little.
RECONNECT_BACKOFF_MS = 250
MAX_RECONNECT_BACKOFF_MS = 5_000


def open_channel(endpoint: PartnerEndpoint, max_message_bytes: int,
                 credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    """A channel to ``endpoint``: mutual TLS with ``credentials`` (the partner's certificate
    must name ``endpoint.server_name``), or plaintext when ``credentials`` is None (insecure
    dev mode).  Messages up to ``max_message_bytes`` each way."""
    options = [("grpc.max_receive_message_length", max_message_bytes),
               ("grpc.max_send_message_length", max_message_bytes),
               ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
               ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
               ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS)]
    if credentials is None:
        return grpc.aio.insecure_channel(endpoint.address, options=options)
    options.append(("grpc.ssl_target_name_override", endpoint.server_name))
    return grpc.aio.secure_channel(endpoint.address, credentials, options)


def call_metadata(settings: NodeSettings, insecure_dev: bool):
    """The metadata of every call: none under mutual TLS (the certificate says who calls);
    in insecure dev mode, this node's partner code, which the partner then trusts."""
    return ((DEV_PARTNER_METADATA, settings.partner),) if insecure_dev else None


def call_deadline(settings: NodeSettings, endpoint: PartnerEndpoint,
                  timeout: float | None) -> float:
    """Seconds a unary call to ``endpoint`` may take: ``timeout`` when given, else the
    partner's own ``timeout_seconds``, else the node's."""
    return timeout or endpoint.timeout_seconds or settings.timeout_seconds


@dataclass(frozen=True)
class Requester:
    """Who asks and why, as every request header tells the partner (and the audit log)."""

    officer: str
    purpose: str
    case_reference: str = ""
    ordering_officer: str = ""

    def header(self) -> common_pb2.RequestHeader:
        """A header for one new request: a fresh request id, sent now."""
        sent_at = timestamp_pb2.Timestamp()
        sent_at.FromDatetime(datetime.now(timezone.utc))
        return common_pb2.RequestHeader(
            request_id=str(uuid.uuid4()), officer_id=self.officer, purpose=self.purpose,
            case_reference=self.case_reference, ordering_officer_id=self.ordering_officer,
            sent_at=sent_at)


@dataclass(frozen=True)
class PartnerCall:
    """What one call to one partner needs, whatever the method."""

    endpoint: PartnerEndpoint
    #: Opens (or reuses) the channel.  Called inside the call's error handling, because making
    #: credentials reads TLS files and their failure must fail this partner only.
    channel: Callable[[], grpc.aio.Channel]
    metadata: tuple | None
    requester: Requester
    audit: object = None   # an AuditLog: outbound requests are logged too (Prüm Art. 30)

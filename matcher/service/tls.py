"""Mutual TLS: the node's credentials and who the caller is.

Both directions use the same three files of the node configuration (``[tls]``): the CA that
signed every partner's certificate, this node's certificate and its key.  A server always
demands a client certificate signed by that CA (``require_client_auth``); a handshake without
one, with a certificate of another CA or with an expired one fails before any call reaches
the service, so such callers are refused by TLS itself and never see an answer.

The caller's partner code comes from its verified certificate, never from what it sends.
Plaintext exists only for development (``matcher serve --insecure-dev``, loopback only); the
caller then names itself in the ``prum-dev-partner`` metadata.
"""

from __future__ import annotations

import datetime as dt
import functools

import grpc

from matcher.service.settings import SettingsError, TlsFiles

#: Metadata key a caller uses to name itself on a plaintext development server.
DEV_PARTNER_METADATA = "prum-dev-partner"
#: Distinct peer certificates whose partner code is remembered.
_IDENTITY_CACHE = 256


def check_tls_files(tls: TlsFiles) -> tuple[bytes, bytes, bytes]:
    """(ca, cert, key) PEM bytes after checking they parse and the certificate is current,
    so a bad file is reported by name at start-up instead of as a failed handshake later."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca, cert, key = tls.read()
    for name, data in (("ca", ca), ("cert", cert)):
        try:
            parsed = x509.load_pem_x509_certificates(data)[0]
        except ValueError as exc:
            raise SettingsError(f"tls.{name}: {getattr(tls, name)} is not a PEM certificate: "
                                f"{exc}") from None
        now = dt.datetime.now(dt.timezone.utc)
        if not parsed.not_valid_before_utc <= now <= parsed.not_valid_after_utc:
            raise SettingsError(
                f"tls.{name}: {getattr(tls, name)} is not valid now (valid "
                f"{parsed.not_valid_before_utc:%Y-%m-%d} to {parsed.not_valid_after_utc:%Y-%m-%d})")
    try:
        serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"tls.key: {tls.key} is not an unencrypted PEM private key: "
                            f"{exc}") from None
    return ca, cert, key


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """Server side of mutual TLS: present our certificate, demand the caller's."""
    ca, cert, key = check_tls_files(tls)
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                       require_client_auth=True)


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    """Client side of mutual TLS: trust only our CA, present our certificate."""
    ca, cert, key = check_tls_files(tls)
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                        certificate_chain=cert)


def peer_partner(context, *, insecure_dev: bool = False) -> str | None:
    """The calling partner's code, from its verified client certificate; None when the
    certificate names no partner.  On a plaintext development server: the
    ``prum-dev-partner`` metadata."""
    auth = context.auth_context()
    pems = auth.get("x509_pem_cert")
    if pems:
        return _partner_of_pem(pems[0])
    names = auth.get("x509_common_name")
    if names:
        return names[0].decode("utf-8", "replace")
    if insecure_dev:
        for key, value in context.invocation_metadata() or ():
            if key == DEV_PARTNER_METADATA:
                return value
    return None


@functools.lru_cache(maxsize=_IDENTITY_CACHE)
def _partner_of_pem(pem: bytes) -> str | None:
    """Cached: a partner reuses its connection and certificate for thousands of calls, and
    parsing the certificate costs ~0.1 ms of the event loop each time.  Only certificates
    that TLS verified reach this function, so the cache holds nothing unverified."""
    from matcher.service.certs import partner_from_certificate
    try:
        return partner_from_certificate(pem)
    except ValueError:
        return None

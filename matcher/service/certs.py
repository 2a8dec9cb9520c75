"""Development certificates: a private CA and one certificate per partner (``matcher certs``).

Each partner gets one EC P-256 key and one certificate that serves both ends of mutual TLS
(extended key usage serverAuth and clientAuth).  Its subject's common name and organisation
are the partner code: the service takes the caller's identity from the client certificate's
CN (``partner_from_certificate``).  Subject alternative names: the partner code itself (the
name a client expects of that partner's server, ``server_name`` in the node configuration),
``localhost``, ``127.0.0.1`` and ``::1``.

Files in the target folder: ``ca.pem``/``ca.key`` and ``<CODE>.pem``/``<CODE>.key``; keys are
unencrypted PKCS#8 PEM with mode 0600.  These are for development and tests; production
certificates come from the national PKI.

This module is the public face; issuing lives in ``_certs_issue``, the key-and-certificate
pair and its files in ``_certs_files``.
"""

from __future__ import annotations

from pathlib import Path

from matcher.service._certs_files import CertificateError, Issued, load_certificate, load_issued
from matcher.service._certs_issue import (CA_BACKDATE, CA_MARGIN_DAYS, CA_NAME, CLOCK_SKEW,
                                          DEFAULT_DAYS, LOOPBACK_HOSTS, WRONG_CA_NAME,
                                          check_partner_code, issue_expired_certificate,
                                          issue_partner_certificate, make_ca, make_wrong_ca,
                                          partner_from_certificate)
from matcher.service._certs_issue import check_days as _check_days

__all__ = ["CA_BACKDATE", "CA_FILES", "CA_MARGIN_DAYS", "CA_NAME", "CLOCK_SKEW", "DEFAULT_DAYS",
           "LOOPBACK_HOSTS", "WRONG_CA_NAME", "CertificateError", "Issued",
           "check_partner_code", "create_development_pki", "issue_expired_certificate",
           "issue_partner_certificate", "load_certificate", "load_issued", "make_ca",
           "make_wrong_ca", "partner_from_certificate"]

CA_FILES = ("ca.pem", "ca.key")


def create_development_pki(directory: str | Path, partners: list[str], *,
                           days: int = DEFAULT_DAYS, force: bool = False) -> dict[str, Path]:
    """Make a new CA and one certificate per partner in ``directory`` (created if needed).
    Refuses (CertificateError) to replace an existing CA unless ``force``: every certificate
    it signed would stop verifying.  Returns name -> certificate path (``ca`` first)."""
    codes = [check_partner_code(code) for code in partners]
    if not codes:
        raise CertificateError("name at least one partner code")
    if len(set(codes)) != len(codes):
        raise CertificateError(f"partner codes repeat: {', '.join(codes)}")
    if "CA" in codes:  # CA.pem would be ca.pem on a case-insensitive file system
        raise CertificateError("'CA' cannot be a partner code here: its files would be the CA's")
    _check_days(days)
    directory = Path(directory)
    existing = [name for name in CA_FILES if (directory / name).exists()]
    if existing and not force:
        raise CertificateError(f"{directory}: already holds a CA ({', '.join(existing)}); "
                               "pass --force to replace it (certificates it signed will then "
                               "no longer verify)")
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(days=days + CA_MARGIN_DAYS)
    written = {"ca": ca.write(directory, "ca")[0]}
    for code in codes:
        written[code] = issue_partner_certificate(ca, code, days=days).write(directory, code)[0]
    return written

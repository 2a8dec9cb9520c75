"""Making development certificates: a private CA, and partner certificates in the one profile
the service relies on (``matcher.service.certs``): subject CN and O = the partner code, EC
P-256 key, extended key usage serverAuth and clientAuth, subject alternative names = the
partner code plus loopback hosts.  ``partner_from_certificate`` reads the code back."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from matcher.service._certs_files import CertificateError, Issued, load_certificate
from matcher.service.settings import PARTNER_CODE   # the rule node configs use

#: Validity of partner certificates unless ``--days`` says otherwise.
DEFAULT_DAYS = 365
#: The CA outlives every certificate it signs by at least this much (days).
CA_MARGIN_DAYS = 30
#: Certificates start this long before "now", so a peer whose clock is slightly behind
#: still accepts them.
CLOCK_SKEW = dt.timedelta(minutes=5)
#: A CA starts this long before "now", so that a test certificate which expired yesterday
#: was issued inside its CA's validity and fails for its own dates only.
CA_BACKDATE = dt.timedelta(days=7)
#: Names every partner certificate answers to besides its partner code: loopback use.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_NAME = "prum-matcher development CA"
WRONG_CA_NAME = "prum-matcher unrelated CA"


def check_partner_code(code: str) -> str:
    if not isinstance(code, str) or not PARTNER_CODE.match(code):
        raise CertificateError(f"partner code must be 2-8 upper-case letters or digits, "
                               f"starting with a letter, got {code!r}")
    return code


def check_days(days: int) -> int:
    """A validity in whole days >= 1, else CertificateError."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CertificateError(f"days must be a whole number >= 1, got {days!r}")
    return days


def make_ca(*, days: int = DEFAULT_DAYS + CA_MARGIN_DAYS, name: str = CA_NAME,
            now: dt.datetime | None = None) -> Issued:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    now = now or _now()
    return _sign(_name(name, name), None, now - CA_BACKDATE, now + dt.timedelta(days=days), [
        x509.BasicConstraints(ca=True, path_length=0),
        _key_usage(key_cert_sign=True, crl_sign=True)])


def make_wrong_ca(*, days: int = DEFAULT_DAYS + CA_MARGIN_DAYS) -> Issued:
    """A second CA, unrelated to any other: its certificates must be refused by a node."""
    return make_ca(days=days, name=WRONG_CA_NAME)


def issue_partner_certificate(ca: Issued, partner: str, *, days: int = DEFAULT_DAYS,
                              not_before: dt.datetime | None = None,
                              hosts: tuple[str, ...] = LOOPBACK_HOSTS) -> Issued:
    """A TLS server-and-client certificate for ``partner``, signed by ``ca``, valid ``days``
    from ``not_before`` (default: now, less the clock-skew allowance)."""
    check_partner_code(partner)
    check_days(days)
    start = not_before or (_now() - CLOCK_SKEW)
    names: list[x509.GeneralName] = [x509.DNSName(partner)]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return _sign(_name(partner, partner), ca, start, start + dt.timedelta(days=days), [
        x509.BasicConstraints(ca=False, path_length=None),
        _key_usage(digital_signature=True),
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        x509.SubjectAlternativeName(names)])


def issue_expired_certificate(ca: Issued, partner: str) -> Issued:
    """A certificate for ``partner`` that expired yesterday (valid for one day before that),
    otherwise exactly like ``issue_partner_certificate``: a node must refuse it."""
    return issue_partner_certificate(ca, partner, days=1,
                                     not_before=_now() - dt.timedelta(days=2))


def partner_from_certificate(certificate: bytes | str | x509.Certificate) -> str:
    """The partner code a certificate (PEM or DER, or parsed) names: its subject's single
    common name.  CertificateError when it has none, several, or one that is no partner
    code.  The caller must have verified the certificate (TLS does, for a peer)."""
    if not isinstance(certificate, x509.Certificate):
        certificate = load_certificate(certificate)
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise CertificateError(f"certificate subject {certificate.subject.rfc4514_string()!r} "
                               f"must carry exactly one common name, has {len(names)}")
    value = names[0].value
    code = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    try:
        return check_partner_code(code)
    except CertificateError:
        raise CertificateError(f"certificate common name {code!r} is not a partner code "
                               "(2-8 upper-case letters or digits)") from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    """Key usage with only the ``allowed`` bits set."""
    bits = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment",
                          "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                          "encipher_only", "decipher_only"), False)
    return x509.KeyUsage(**{**bits, **allowed})


def _sign(subject: x509.Name, ca: Issued | None, start: dt.datetime, end: dt.datetime,
          extensions: list[x509.ExtensionType]) -> Issued:
    """A new key and its certificate, signed by ``ca`` (self-signed when None).  Basic
    constraints and key usage are critical, the rest not; the key identifiers come last."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    issuer = subject if ca is None else ca.certificate.subject
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end))
    for extension in extensions:
        critical = isinstance(extension, (x509.BasicConstraints, x509.KeyUsage))
        builder = builder.add_extension(extension, critical=critical)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public),
                                    critical=False)
    if ca is not None:
        ca_ski = ca.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False)
    return Issued(builder.sign(ca.key if ca is not None else key, hashes.SHA256()), key)

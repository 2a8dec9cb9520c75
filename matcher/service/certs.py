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
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
CA_FILES = ("ca.pem", "ca.key")
#: The same rule as node configurations use (matcher.service.settings).
_PARTNER_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")


class CertificateError(ValueError):
    """A certificate cannot be made, read or attributed; the message says which and why."""


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def write(self, directory: str | Path, name: str) -> tuple[Path, Path]:
        """Write ``name.pem`` (0644) and ``name.key`` (0600) into ``directory``; each file is
        replaced whole, so a reader never sees half of one."""
        directory = Path(directory)
        cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
        _write(key_path, self.key_pem, 0o600)
        _write(cert_path, self.certificate_pem, 0o644)
        return cert_path, key_path


def check_partner_code(code: str) -> str:
    if not isinstance(code, str) or not _PARTNER_CODE.match(code):
        raise CertificateError(f"partner code must be 2-8 upper-case letters or digits, "
                               f"starting with a letter, got {code!r}")
    return code


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])


def make_ca(*, days: int = DEFAULT_DAYS + CA_MARGIN_DAYS, name: str = CA_NAME,
            now: dt.datetime | None = None) -> Issued:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name, name)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CA_BACKDATE).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def make_wrong_ca(*, days: int = DEFAULT_DAYS + CA_MARGIN_DAYS) -> Issued:
    """A second CA, unrelated to any other: its certificates must be refused by a node."""
    return make_ca(days=days, name=WRONG_CA_NAME)


def issue_partner_certificate(ca: Issued, partner: str, *, days: int = DEFAULT_DAYS,
                              not_before: dt.datetime | None = None,
                              hosts: tuple[str, ...] = LOOPBACK_HOSTS) -> Issued:
    """A TLS server-and-client certificate for ``partner``, signed by ``ca``, valid ``days``
    from ``not_before`` (default: now, less the clock-skew allowance)."""
    check_partner_code(partner)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CertificateError(f"days must be a whole number >= 1, got {days!r}")
    start = not_before or (_now() - CLOCK_SKEW)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    names: list[x509.GeneralName] = [x509.DNSName(partner)]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(partner, partner)).issuer_name(ca.certificate.subject)
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(certificate, key)


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


def load_certificate(data: bytes | str) -> x509.Certificate:
    """Parse one certificate from PEM (text or bytes) or DER bytes."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as exc:
        raise CertificateError(f"not a PEM or DER certificate: {exc}") from None


def load_issued(directory: str | Path, name: str) -> Issued:
    """Read ``name.pem`` and ``name.key`` back from ``directory``."""
    directory = Path(directory)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    try:
        certificate = load_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        raise CertificateError(f"{exc.filename}: cannot read: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"{key_path}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{key_path}: expected an EC private key")
    return Issued(certificate, key)


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
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CertificateError(f"days must be a whole number >= 1, got {days!r}")
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


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    # O_CREAT's mode is subject to the umask and ignored for a leftover file: set it outright.
    os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)

"""A certificate with its private key (``Issued``), as PEM bytes and as a pair of files
``NAME.pem`` (0644) and ``NAME.key`` (unencrypted PKCS#8, 0600) (``matcher.service.certs``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: Modes of the two files: anyone may read a certificate, only the owner its key.
CERTIFICATE_MODE = 0o644
KEY_MODE = 0o600


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
        cert_path, key_path = issued_paths(directory, name)
        _write(key_path, self.key_pem, KEY_MODE)
        _write(cert_path, self.certificate_pem, CERTIFICATE_MODE)
        return cert_path, key_path


def issued_paths(directory: str | Path, name: str) -> tuple[Path, Path]:
    """Where ``name``'s certificate and key live in ``directory``."""
    directory = Path(directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


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
    cert_path, key_path = issued_paths(directory, name)
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

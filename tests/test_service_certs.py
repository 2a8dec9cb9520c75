"""Development certificates: chain, names, key usage, file modes, expired and wrong-CA cases.

The TLS handshake itself is tested with real servers elsewhere; here the certificates are
checked with cryptography's own RFC 5280 path validation (the rules a TLS stack applies)."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (DNSName, IPAddress, PolicyBuilder, Store,
                                            VerificationError)

from matcher.service import certs
from matcher.service.cli_admin import add_certs_arguments, run_certs

PARTNERS = ["NL", "DE", "BE"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    written = certs.create_development_pki(directory, PARTNERS, days=30)
    return directory, written


def _server_verifier(ca: x509.Certificate, name, now=None):
    builder = PolicyBuilder().store(Store([ca]))
    if now is not None:
        builder = builder.time(now)
    return builder.build_server_verifier(name)


def _client_verifier(ca: x509.Certificate):
    return PolicyBuilder().store(Store([ca])).build_client_verifier()


def test_files_and_key_modes(pki):
    directory, written = pki
    assert list(written) == ["ca", *PARTNERS]
    for name in ["ca", *PARTNERS]:
        assert (directory / f"{name}.pem").is_file()
        key_mode = stat.S_IMODE((directory / f"{name}.key").stat().st_mode)
        assert key_mode == 0o600, name
    assert not list(directory.glob(".*"))  # no temporary files left behind


@pytest.mark.parametrize("partner", PARTNERS)
def test_partner_certificate_verifies_as_server_and_client(pki, partner):
    directory, _ = pki
    ca = certs.load_issued(directory, "ca").certificate
    issued = certs.load_issued(directory, partner)
    leaf = issued.certificate
    leaf.verify_directly_issued_by(ca)
    for name in (DNSName(partner), DNSName("localhost"),
                 IPAddress(ipaddress.ip_address("127.0.0.1")), IPAddress(ipaddress.ip_address("::1"))):
        chain = _server_verifier(ca, name).verify(leaf, [])
        assert chain[-1] == ca
    verified = _client_verifier(ca).verify(leaf, [])
    assert verified.chain[-1] == ca
    with pytest.raises(VerificationError):  # names it was not issued for
        _server_verifier(ca, DNSName("example.org")).verify(leaf, [])
    other = [p for p in PARTNERS if p != partner][0]
    with pytest.raises(VerificationError):
        _server_verifier(ca, DNSName(other)).verify(leaf, [])


def test_names_keys_and_usages(pki):
    directory, _ = pki
    issued = certs.load_issued(directory, "DE")
    leaf = issued.certificate
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "DE"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "DE"
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    assert issued.key.curve.name == "secp256r1"
    assert issued.key.public_key().public_numbers() == leaf.public_key().public_numbers()
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usage) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"DE", "localhost"}
    assert set(map(str, sans.get_values_for_type(x509.IPAddress))) == {"127.0.0.1", "::1"}
    ca = certs.load_issued(directory, "ca").certificate
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.not_valid_after_utc > leaf.not_valid_after_utc  # the CA outlives its leaves
    days = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days
    assert days == 30


def test_partner_from_certificate_pem_der_and_text(pki):
    directory, _ = pki
    pem = (directory / "BE.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert certs.partner_from_certificate(pem) == "BE"
    assert certs.partner_from_certificate(pem.decode()) == "BE"
    assert certs.partner_from_certificate(der) == "BE"
    assert certs.partner_from_certificate(x509.load_der_x509_certificate(der)) == "BE"
    with pytest.raises(certs.CertificateError, match="not a PEM or DER"):
        certs.partner_from_certificate(b"garbage")


def test_partner_from_certificate_refuses_what_names_no_partner():
    ca = certs.make_ca()
    builder = (x509.CertificateBuilder()
               .issuer_name(ca.certificate.subject).public_key(ca.key.public_key())
               .serial_number(1)
               .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
               .not_valid_after(dt.datetime(2034, 1, 1, tzinfo=dt.timezone.utc)))
    from cryptography.hazmat.primitives import hashes
    no_cn = builder.subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "NL")]))
    with pytest.raises(certs.CertificateError, match="exactly one common name, has 0"):
        certs.partner_from_certificate(no_cn.sign(ca.key, hashes.SHA256()))
    lower = builder.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nl")]))
    with pytest.raises(certs.CertificateError, match="not a partner code"):
        certs.partner_from_certificate(lower.sign(ca.key, hashes.SHA256()))
    # The CA's own certificate is no partner's either.
    with pytest.raises(certs.CertificateError):
        certs.partner_from_certificate(ca.certificate)


def test_expired_certificate_is_refused_by_path_validation(pki):
    directory, _ = pki
    ca = certs.load_issued(directory, "ca")
    expired = certs.issue_expired_certificate(ca, "NL")
    now = dt.datetime.now(dt.timezone.utc)
    assert expired.certificate.not_valid_after_utc < now
    assert certs.partner_from_certificate(expired.certificate_pem) == "NL"
    with pytest.raises(VerificationError):
        _server_verifier(ca.certificate, DNSName("NL")).verify(expired.certificate, [])
    with pytest.raises(VerificationError):
        _client_verifier(ca.certificate).verify(expired.certificate, [])
    # ... while it was valid, the same certificate verified: only its dates are wrong.
    then = expired.certificate.not_valid_before_utc + dt.timedelta(hours=12)
    _server_verifier(ca.certificate, DNSName("NL"), now=then).verify(expired.certificate, [])


def test_wrong_ca_certificates_do_not_verify(pki):
    directory, _ = pki
    ca = certs.load_issued(directory, "ca").certificate
    wrong = certs.make_wrong_ca()
    assert wrong.certificate.subject != ca.subject
    stranger = certs.issue_partner_certificate(wrong, "NL")
    assert certs.partner_from_certificate(stranger.certificate_pem) == "NL"
    with pytest.raises(VerificationError):
        _client_verifier(ca).verify(stranger.certificate, [])
    _client_verifier(wrong.certificate).verify(stranger.certificate, [])  # its own CA: fine


def test_existing_ca_is_not_replaced_without_force(tmp_path):
    first = certs.create_development_pki(tmp_path, ["NL"])
    old_ca = first["ca"].read_bytes()
    with pytest.raises(certs.CertificateError, match="--force"):
        certs.create_development_pki(tmp_path, ["DE"])
    assert first["ca"].read_bytes() == old_ca and not (tmp_path / "DE.pem").exists()
    old_leaf = certs.load_issued(tmp_path, "NL").certificate
    certs.create_development_pki(tmp_path, ["NL", "DE"], force=True)
    new_ca = certs.load_issued(tmp_path, "ca").certificate
    assert new_ca.public_bytes(serialization.Encoding.PEM) != old_ca
    with pytest.raises(VerificationError):
        _client_verifier(new_ca).verify(old_leaf, [])
    _client_verifier(new_ca).verify(certs.load_issued(tmp_path, "NL").certificate, [])
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("partners, days, message", [
    (["nl"], 30, "partner code"), (["NL", "NL"], 30, "repeat"), ([], 30, "at least one"),
    (["CA"], 30, "'CA'"), (["NL"], 0, "days"),
])
def test_bad_requests_are_refused_before_writing(tmp_path, partners, days, message):
    with pytest.raises(certs.CertificateError, match=message):
        certs.create_development_pki(tmp_path / "out", partners, days=days)
    assert not (tmp_path / "out").exists()


def _cli(argv):
    parser = argparse.ArgumentParser()
    add_certs_arguments(parser)
    return run_certs(parser.parse_args(argv))


def test_cli_writes_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "certs"
    assert _cli([str(out), "--partners", "NL, DE", "--days", "10"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["days"] == 10 and set(summary["partners"]) == {"NL", "DE"}
    assert summary["partners"]["NL"]["key"].endswith("NL.key")
    assert _cli([str(out), "--partners", "NL"]) == 2
    assert "--force" in capsys.readouterr().err
    assert _cli([str(out), "--partners", "NL", "--force"]) == 0
    assert _cli([str(out), "--partners", "nl", "--force"]) == 2
    assert "partner code" in capsys.readouterr().err

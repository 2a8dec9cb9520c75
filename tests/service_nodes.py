"""Test support for the partner-service tests: small homes, certificates and node configs.

Not a test module: ``tests/test_service_*.py`` import it (``tests`` is on sys.path through
conftest.py).  Everything is written under a pytest tmp folder; servers listen on 127.0.0.1
with port 0 (ephemeral) unless a test pins a port to restart a node on it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

import matcher
from matcher.dna.synth import generate_database
from matcher.finger.synth import generate_masters, impression
from matcher.finger.templates import finger_to_json
from matcher.service import certs
from matcher.service.settings import load_settings
from matcher.vehicle.synth import generate_registrations

DNA_PROFILES = 300
FINGER_RECORDS = 40
VEHICLES = 200
OFFICER = "officer-17"
PURPOSE = "test of the partner service"


def make_pki(root: Path, partners=("NL", "DE", "BE", "FR")) -> Path:
    """A development CA and certificates for ``partners`` in ``root/certs``."""
    directory = root / "certs"
    certs.create_development_pki(directory, list(partners))
    return directory


def make_home(path: Path, partner: str, seed: int) -> dict:
    """A home with DNA profiles, fingerprint records and vehicles; returns what the tests
    need to build queries that hit it (stored records as given)."""
    dna = list(generate_database(DNA_PROFILES, seed=seed, prefix=partner,
                                 stain_fraction=0.0, duplicate_fraction=0.0,
                                 relative_fraction=0.0, mixture_fraction=0.0))
    masters = list(generate_masters(FINGER_RECORDS, seed=seed))
    rng = np.random.default_rng(seed)
    fingers = []
    for i, master in enumerate(masters):
        finger = impression(master, rng, mode="rolled")
        finger.position = 2
        fingers.append({"reference": f"{partner}-FP-{i:04d}", "kind": "person",
                        "fingers": [finger_to_json(finger)]})
    vehicles = list(generate_registrations(VEHICLES, seed=seed, countries=["NL", "DE", "BE"],
                                           prefix=f"{partner}-V"))
    matcher.init_home(path, partner=partner)
    with matcher.open_home(path, create=False) as home:
        assert not home.dna.add(dna).rejected
        assert not home.finger.add(fingers).rejected
        assert not home.vehicle.add(vehicles).rejected
    return {"dna": dna, "masters": masters, "vehicles": vehicles}


def finger_probe(master, reference: str, seed: int = 99, kind: str = "person") -> dict:
    """A plain impression of ``master`` as a fingerprint query."""
    finger = impression(master, np.random.default_rng(seed), mode="plain")
    finger.position = 2
    return {"reference": reference, "kind": kind, "fingers": [finger_to_json(finger)]}


def write_config(root: Path, partner: str, cert_dir: Path, *, port: int = 0,
                 partners: dict[str, str] | None = None, policy: str | None = None,
                 node_extra: str = "", cert: str | None = None, ca: str = "ca",
                 name: str | None = None) -> Path:
    """``root/<name or partner>.toml``; ``partners`` maps code -> address; ``policy`` is TOML
    text (default: NL, DE and BE other than ``partner`` granted everything, default quotas)."""
    if policy is None:
        policy = "".join(f'[policy.{code}]\ncategories = ["dna", "finger", "vehicle"]\n'
                         for code in ("NL", "DE", "BE") if code != partner)
    partner_tables = "".join(f'[partners.{code}]\naddress = "{address}"\n'
                             for code, address in (partners or {}).items())
    cert = cert or partner
    path = root / f"{name or partner}.toml"
    path.write_text(f"""
[node]
partner = "{partner}"
home = "{partner.lower()}-home"
listen = "127.0.0.1:{port}"
{node_extra if "grace_seconds" in node_extra else "grace_seconds = 1" + chr(10) + node_extra}

[tls]
ca = "{(cert_dir / (ca + '.pem')).as_posix()}"
cert = "{(cert_dir / (cert + '.pem')).as_posix()}"
key = "{(cert_dir / (cert + '.key')).as_posix()}"

{policy}
{partner_tables}
""", encoding="utf-8")
    return path


def settings_for(path: Path):
    return load_settings(path)


def header_fields() -> dict:
    return {"officer": OFFICER, "purpose": PURPOSE}


def request_header():
    from matcher._proto.prum.v1 import common_pb2
    return common_pb2.RequestHeader(request_id=str(uuid.uuid4()), officer_id=OFFICER,
                                    purpose=PURPOSE)


def raw_channel(cert_dir: Path, port: int, server_name: str, *, cert: str = "NL",
                ca_pem: bytes | None = None, issued=None):
    """A blocking gRPC channel to 127.0.0.1:port with mutual TLS as ``cert`` (a name in
    ``cert_dir``) or as ``issued`` (a certs.Issued), trusting ``ca_pem`` (default: the CA)."""
    import grpc
    if issued is not None:
        key, chain = issued.key_pem, issued.certificate_pem
    else:
        key, chain = (cert_dir / f"{cert}.key").read_bytes(), (cert_dir / f"{cert}.pem").read_bytes()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca_pem or (cert_dir / "ca.pem").read_bytes(), private_key=key,
        certificate_chain=chain)
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials,
                               options=[("grpc.ssl_target_name_override", server_name)])


def status_details(error) -> dict:
    """google.rpc details of a blocking call's RpcError, by type name."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status
    status = rpc_status.from_call(error)
    out = {}
    if status is None:
        return out
    for holder in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.QuotaFailure,
                     error_details_pb2.BadRequest):
            if holder.Is(kind.DESCRIPTOR):
                message = kind()
                holder.Unpack(message)
                out[kind.DESCRIPTOR.name] = message
    return out

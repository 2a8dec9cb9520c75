"""Every refusal of a real node on 127.0.0.1, with its gRPC status and google.rpc details:
TLS (wrong CA, expired certificate), identity, policy, header, queries, size, quota (kept
across a restart) and deadlines.  Each refusal that reaches the service is audited."""

from __future__ import annotations

import datetime as dt
import time
import types

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import service_nodes as sn
from matcher._proto.prum.v1 import (
    capabilities_pb2, capabilities_pb2_grpc, common_pb2, dna_pb2, dna_pb2_grpc, finger_pb2_grpc,
)
from matcher.service import certs, convert
from matcher.service.background import ServerThread

POLICY = """
[policy.NL]
categories = ["dna", "vehicle"]
max_queries_per_request = 50
daily_quota = { dna = 40 }

[policy.BE]
daily_quota = { finger = 1000 }
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("refusals")
    cert_dir = sn.make_pki(root)
    data = sn.make_home(root / "de-home", "DE", seed=3)
    settings = sn.settings_for(sn.write_config(root, "DE", cert_dir, policy=POLICY,
                                               node_extra="max_message_bytes = 65536"))
    state = types.SimpleNamespace(root=root, certs=cert_dir, data=data, settings=settings,
                                  server=ServerThread(settings))
    state.server.start()
    yield state
    state.server.stop()


def _dna_request(node, picks, header=None):
    queries = [dict(node.data["dna"][i], reference=f"Q-{i}") for i in picks]
    return convert.request_to_proto("dna", header or sn.request_header(), queries)


def _call(node, method: str, request, *, cert="NL", issued=None, ca_pem=None, timeout=5,
          stub=dna_pb2_grpc.DnaServiceStub):
    with sn.raw_channel(node.certs, node.server.port, "DE", cert=cert, issued=issued,
                        ca_pem=ca_pem) as channel:
        return getattr(stub(channel), method)(request, timeout=timeout)


def _refused(node, method: str, request, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        _call(node, method, request, **kwargs)
    return caught.value


def _audit(node) -> list[dict]:
    return list(node.server.node.audit.entries())


def _entry(node, request_id: str) -> dict:
    return next(e for e in _audit(node) if e["request_id"] == request_id)


def test_a_granted_partner_is_answered(node):
    reply = _call(node, "SearchDna", _dna_request(node, [4]))
    assert reply.answers[0].hits[0].reference == node.data["dna"][4]["reference"]


@pytest.mark.parametrize("make", ["wrong_ca", "expired"])
def test_tls_refuses_a_certificate_of_another_ca_or_an_expired_one(node, make):
    ca = certs.load_issued(node.certs, "ca")
    issued = (certs.issue_partner_certificate(certs.make_wrong_ca(), "NL") if make == "wrong_ca"
              else certs.issue_expired_certificate(ca, "NL"))
    before = len(_audit(node))
    error = _refused(node, "SearchDna", _dna_request(node, [1]), issued=issued)
    assert error.code() is grpc.StatusCode.UNAVAILABLE      # the handshake failed
    assert len(_audit(node)) == before                       # nothing reached the service


def test_the_client_refuses_a_server_it_cannot_verify(node):
    wrong_ca = certs.make_wrong_ca().certificate_pem
    error = _refused(node, "SearchDna", _dna_request(node, [1]), ca_pem=wrong_ca)
    assert error.code() is grpc.StatusCode.UNAVAILABLE


def test_unknown_partner_is_permission_denied_and_audited(node):
    request = _dna_request(node, [1])
    error = _refused(node, "SearchDna", request, cert="FR")   # valid certificate, no policy
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    info = sn.status_details(error)["ErrorInfo"]
    assert (info.reason, info.domain, info.metadata["partner"]) == ("UNKNOWN_PARTNER", "prum.v1", "FR")
    entry = _entry(node, request.header.request_id)
    assert (entry["partner"], entry["outcome"], entry["status"]) == \
        ("FR", "refused", "PERMISSION_DENIED")
    assert entry["hits"] == []


def _certificate_without_partner_code(cert_dir) -> certs.Issued:
    ca = certs.load_issued(cert_dir, "ca")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "somebody at the lab")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(ca.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256()))
    return certs.Issued(certificate, key)


def test_a_certificate_naming_no_partner_is_unauthenticated(node):
    request = _dna_request(node, [1])
    error = _refused(node, "SearchDna", request,
                     issued=_certificate_without_partner_code(node.certs))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert sn.status_details(error)["ErrorInfo"].reason == "NO_PARTNER_IDENTITY"
    assert _entry(node, request.header.request_id)["status"] == "UNAUTHENTICATED"


def test_category_not_granted_is_permission_denied_with_error_info(node):
    request = convert.request_to_proto("finger", sn.request_header(),
                                       [sn.finger_probe(node.data["masters"][0], "F-0")])
    error = _refused(node, "SearchFinger", request, stub=finger_pb2_grpc.FingerServiceStub)
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    info = sn.status_details(error)["ErrorInfo"]
    assert info.reason == "CATEGORY_NOT_GRANTED"
    assert dict(info.metadata) == {"partner": "NL", "category": "finger"}
    assert _entry(node, request.header.request_id)["outcome"] == "refused"


def _dna_used_today(node, cert="NL") -> int:
    reply = _call(node, "GetCapabilities",
                  capabilities_pb2.GetCapabilitiesRequest(header=sn.request_header()),
                  cert=cert, stub=capabilities_pb2_grpc.CapabilitiesServiceStub)
    return next(g.used_today for g in reply.grants if g.category == common_pb2.CATEGORY_DNA)


def test_malformed_queries_are_refused_whole_naming_query_and_field(node):
    good = dict(node.data["dna"][2], reference="GOOD")
    bad_allele = {"reference": "BAD-ALLELE", "loci": {**good["loci"], "TH01": ["6", "9.35"]}}
    unknown_locus = {"reference": "BAD-LOCUS", "loci": {**good["loci"], "D99S999": ["1", "2"]}}
    request = convert.request_to_proto("dna", sn.request_header(),
                                       [good, bad_allele, unknown_locus])
    request.queries.add(kind=common_pb2.RECORD_KIND_LATENT, reference="BAD-KIND")
    used, searched = _dna_used_today(node), node.server.node.desks["dna"].batcher.searched
    error = _refused(node, "SearchDna", request)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    violations = {v.field: v.description for v in sn.status_details(error)["BadRequest"].field_violations}
    assert set(violations) == {"queries[1].loci.TH01", "queries[2].loci.D99S999", "queries[3].kind"}
    assert "BAD-ALLELE" in violations["queries[1].loci.TH01"]
    assert "9.35" in violations["queries[1].loci.TH01"]
    # nothing searched, nothing counted; audited with field paths only (no allele values)
    assert node.server.node.desks["dna"].batcher.searched == searched
    assert _dna_used_today(node) == used
    entry = _entry(node, request.header.request_id)
    assert (entry["outcome"], entry["status"], entry["queries"]) == ("refused", "INVALID_ARGUMENT", 4)
    assert "queries[1].loci.TH01" in entry["detail"] and "9.35" not in entry["detail"]


@pytest.mark.parametrize("change, field", [
    ({"officer_id": ""}, "header.officer_id"),
    ({"purpose": ""}, "header.purpose"),
    ({"request_id": ""}, "header.request_id"),
    ({"request_id": "request-1"}, "header.request_id"),
    ({"officer_id": "x" * 65}, "header.officer_id"),
    ({"case_reference": "tab\there"}, "header.case_reference"),
    (None, "header"),
])
def test_header_problems_are_invalid_argument(node, change, field):
    if change is None:
        request = dna_pb2.SearchDnaRequest(queries=_dna_request(node, [1]).queries)
    else:
        header = sn.request_header()
        for name, value in change.items():
            setattr(header, name, value)
        request = _dna_request(node, [1], header=header)
    error = _refused(node, "SearchDna", request)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in sn.status_details(error)["BadRequest"].field_violations] == [field]


def test_too_many_queries_in_one_request_is_resource_exhausted(node):
    error = _refused(node, "SearchDna", _dna_request(node, list(range(51))))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    details = sn.status_details(error)
    assert details["ErrorInfo"].reason == "TOO_MANY_QUERIES"
    assert details["QuotaFailure"].violations[0].quota_value == 50


def test_oversize_message_is_refused_by_grpc_before_the_service(node):
    request = _dna_request(node, list(range(50)))
    request.queries[0].reference = "R" * 70_000                # over max_message_bytes = 64 KiB
    before = len(_audit(node))
    error = _refused(node, "SearchDna", request, cert="BE")
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert sn.status_details(error) == {}                      # gRPC's own refusal
    assert len(_audit(node)) == before


def test_deadline_already_passed_is_deadline_exceeded(node):
    error = _refused(node, "SearchDna", _dna_request(node, [1]), timeout=0.000001)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED


def test_work_stops_when_the_callers_deadline_passes(node):
    finger = node.server.node.home.finger
    chunks = []

    def slow_search(queries, real=finger.search):
        chunks.append(len(queries))
        time.sleep(0.15)
        return real(queries)

    finger.search = slow_search
    try:
        probes = [sn.finger_probe(node.data["masters"][i], f"F-{i}") for i in range(20)]
        request = convert.request_to_proto("finger", sn.request_header(), probes)
        error = _refused(node, "SearchFinger", request, cert="BE", timeout=0.25,
                         stub=finger_pb2_grpc.FingerServiceStub)
        assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        time.sleep(0.5)       # were the search going on, three more chunks would run by now
    finally:
        del finger.search
    assert 1 <= len(chunks) <= 2, chunks                  # 5 chunks of 4 were asked for
    entry = _entry(node, request.header.request_id)
    assert entry["outcome"] == "failed" and entry["status"] in ("CANCELLED", "DEADLINE_EXCEEDED")


def test_quota_is_counted_in_the_store_and_survives_a_restart(node):
    used = _dna_used_today(node)
    left = 40 - used
    assert left > 3
    _call(node, "SearchDna", _dna_request(node, list(range(left - 2))))
    error = _refused(node, "SearchDna", _dna_request(node, [1, 2, 3]))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    details = sn.status_details(error)
    violation = details["QuotaFailure"].violations[0]
    assert (violation.subject, violation.quota_value) == ("partner:NL", 40)
    assert details["ErrorInfo"].metadata["used"] == "38"
    node.server.stop()
    node.server = ServerThread(node.settings)
    node.server.start()
    assert _dna_used_today(node) == 38                     # the restart handed out nothing
    _call(node, "SearchDna", _dna_request(node, [1, 2]))
    error = _refused(node, "SearchDna", _dna_request(node, [3]))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _dna_used_today(node, cert="BE") == 0           # counted per partner
    assert node.server.node.audit.verify().ok

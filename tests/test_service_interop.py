"""Interoperability: an independent gRPC client, ``buf curl`` (Go, from the ``buf-bin`` test
extra), calls a running node over mutual TLS with nothing but the committed ``proto/``
contract, and gets the same per-query answers as our own Python client for the same request.

The requests given to ``buf curl`` are written here by hand in the protobuf JSON mapping, not
produced by our converters, so a converter that drifted from the contract shows up as a
difference.  Answer ids and timestamps differ between the two calls and are not compared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from google.protobuf import json_format

import service_nodes as sn
from matcher.dna.synth import generate_queries
from matcher.service import convert
from matcher.service.background import ServerThread
from matcher.service.client import FanOut

PROTO_DIR = Path(__file__).resolve().parents[1] / "proto"
#: One buf curl call takes ~0.1 s; the bound only stops a hung handshake from hanging CI.
BUF_TIMEOUT_S = 30
#: Fields our client adds to every answer from the answer header (they differ per call).
HEADER_FIELDS = {"partner", "request_id", "answer_id", "received_at", "answered_at"}
#: buf curl's exit status for a failed RPC is the gRPC code shifted left by three bits:
#: a dropped handshake shows as UNAVAILABLE (14) or CANCELLED (1).
REFUSED_EXITS = {14 << 3, 1 << 3}
DNA_KIND = {"person": "RECORD_KIND_PERSON", "stain": "RECORD_KIND_STAIN"}


def _buf() -> Path:
    """The ``buf`` binary of this environment (the buf-bin package installs it next to the
    interpreter); the test fails, rather than skips, without it: it is a pinned test extra."""
    beside = Path(sys.executable).with_name("buf")
    found = beside if beside.exists() else shutil.which("buf")
    if not found:
        pytest.fail("buf not found next to the interpreter or on PATH: install the test "
                    "extra (pip install -e '.[test]', package buf-bin)")
    return Path(found)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("interop")
    cert_dir = sn.make_pki(root)
    data = sn.make_home(root / "de-home", "DE", seed=11)
    server = ServerThread(sn.settings_for(sn.write_config(root, "DE", cert_dir)))
    server.start()
    nl = sn.settings_for(sn.write_config(root, "NL", cert_dir,
                                         partners={"DE": f"127.0.0.1:{server.port}"}))
    fan_out = FanOut(nl)
    yield {"root": root, "certs": cert_dir, "data": data, "port": server.port,
           "fan_out": fan_out}
    fan_out.close()
    server.stop()


def buf_curl(node, method: str, body: dict | None, *, client_cert: bool = True
             ) -> subprocess.CompletedProcess:
    """``buf curl`` of ``prum.v1.<method>`` on the node, schema from proto/ (no network, no
    reflection), mutual TLS as NL unless ``client_cert`` is false."""
    certs = node["certs"]
    command = [str(_buf()), "curl", "--schema", str(PROTO_DIR), "--protocol", "grpc",
               "--cacert", str(certs / "ca.pem"), "--connect-timeout", "10"]
    if client_cert:
        command += ["--cert", str(certs / "NL.pem"), "--key", str(certs / "NL.key")]
    if body is not None:
        command += ["--data", json.dumps(body)]
    command.append(f"https://127.0.0.1:{node['port']}/prum.v1.{method}")
    # buf keeps a cache of built modules; keep it inside the test's folder.
    env = {**os.environ, "BUF_CACHE_DIR": str(node["root"] / "buf-cache")}
    return subprocess.run(command, capture_output=True, text=True, timeout=BUF_TIMEOUT_S,
                          env=env, cwd=node["root"])


def _header() -> dict:
    return {"requestId": str(uuid.uuid4()), "officerId": sn.OFFICER, "purpose": sn.PURPOSE}


def _dna_json(query: dict) -> dict:
    loci = {name: {"values": value.split(",") if isinstance(value, str) else list(value)}
            for name, value in query["loci"].items()}
    return {"reference": query["reference"], "kind": DNA_KIND[query.get("kind", "stain")],
            "loci": loci}


def _vehicle_json(query: dict) -> dict:
    # The JSON names of VehicleQuery's fields are the query dict's keys.
    return {k: query[k] for k in ("reference", "country", "plate", "vin", "tolerant")
            if k in query}


def _ours(node, category: str, queries: list[dict]) -> list[dict]:
    """Our Python client's per-query answers, without the per-call header fields."""
    [result] = node["fan_out"].query(category, queries, ["DE"], **sn.header_fields())
    assert result.ok, (result.status, result.message)
    return [{k: v for k, v in answer.items() if k not in HEADER_FIELDS}
            for answer in result.answers]


def _answered(run: subprocess.CompletedProcess, request: dict, response_type) -> tuple:
    """(the parsed response message, its JSON) of a buf curl call that must have succeeded."""
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["header"]["requestId"] == request["header"]["requestId"]
    assert answer["header"]["partner"] == "DE"
    uuid.UUID(answer["header"]["answerId"])
    return json_format.Parse(run.stdout, response_type()), answer


def test_dna_search_by_buf_curl_equals_our_client(node):
    stored = node["data"]["dna"]
    queries = [dict(stored[0], reference="Q-EXACT", kind="stain"),
               *generate_queries(stored, 6, seed=3)]
    request = {"header": _header(), "queries": [_dna_json(q) for q in queries]}
    response, raw = _answered(buf_curl(node, "DnaService/SearchDna", request),
                              request, convert.RESPONSES["dna"])
    theirs = convert.answers_from_proto("dna", response.answers)
    ours = _ours(node, "dna", queries)
    assert theirs == ours
    assert [a["query"] for a in theirs] == [q["reference"] for q in queries]
    first = theirs[0]["hits"][0]
    assert {k: first[k] for k in ("reference", "kind", "quality", "mismatches")} == {
        "reference": stored[0]["reference"], "kind": "person", "quality": "FULL",
        "mismatches": 0}
    assert first["matching_loci"] == first["compared_loci"] >= 6
    assert raw["answers"][0]["hit"] is True                    # the wire JSON says it too
    assert any(not a["hits"] for a in theirs)                  # a no-hit answer is compared


def test_vehicle_lookup_by_buf_curl_equals_our_client(node):
    cars = node["data"]["vehicles"]
    with_vin = next(c for c in cars if c.get("vin"))
    with_plate = next(c for c in cars if c.get("plate") and c is not with_vin)
    queries = [{"reference": "V-VIN", "vin": with_vin["vin"]},
               {"reference": "V-PLATE", "country": with_plate["country"],
                "plate": with_plate["plate"].lower()},
               {"reference": "V-TOLERANT", "country": with_plate["country"],
                "plate": with_plate["plate"], "tolerant": True},
               {"reference": "V-NONE", "country": "NL", "plate": "ZZ-999-Z"}]
    request = {"header": _header(), "queries": [_vehicle_json(q) for q in queries]}
    response, _ = _answered(buf_curl(node, "VehicleService/LookupVehicle", request),
                            request, convert.RESPONSES["vehicle"])
    theirs = convert.answers_from_proto("vehicle", response.answers)
    assert theirs == _ours(node, "vehicle", queries)
    assert theirs[0]["hits"][0]["reference"] == with_vin["reference"]
    assert theirs[1]["hits"][0]["reference"] == with_plate["reference"]
    assert theirs[3]["hits"] == []


def test_capabilities_by_buf_curl_equal_our_client(node):
    from matcher._proto.prum.v1 import capabilities_pb2
    request = {"header": _header()}
    _, theirs = _answered(buf_curl(node, "CapabilitiesService/GetCapabilities", request),
                          request, capabilities_pb2.GetCapabilitiesResponse)
    ours = json_format.MessageToDict(
        node["fan_out"].capabilities("DE", officer=sn.OFFICER, purpose=sn.PURPOSE))
    del theirs["header"], ours["header"]
    assert theirs == ours
    assert theirs["callerPartner"] == "NL"
    assert {g["category"] for g in theirs["grants"]} == {
        "CATEGORY_DNA", "CATEGORY_FINGER", "CATEGORY_VEHICLE"}


def test_buf_curl_without_a_client_certificate_is_refused(node):
    request = {"header": _header()}
    run = buf_curl(node, "CapabilitiesService/GetCapabilities", request, client_cert=False)
    # The node demands a client certificate: the handshake fails before any call reaches the
    # service, so the caller sees its connection dropped, never an answer.  Whether buf
    # notices that as an EOF (UNAVAILABLE) or as a failed write (CANCELLED) is a race.
    assert run.returncode in REFUSED_EXITS, (run.returncode, run.stdout, run.stderr)
    error = json.loads(run.stderr)
    assert error["code"] in ("unavailable", "canceled"), error
    assert run.stdout == ""
    # The same call with the certificate is answered (the refusal is about the certificate).
    assert buf_curl(node, "CapabilitiesService/GetCapabilities",
                    {"header": _header()}).returncode == 0

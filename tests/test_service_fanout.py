"""Fan-out from NL to several partners: concurrent requests, a partner that cannot be
reached or is restarted mid-call is reported and does not fail the others; `matcher query`
prints JSON lines and exits 0 / 1 / 2; plaintext development mode stays on loopback."""

from __future__ import annotations

import argparse
import dataclasses
import json
import socket
import threading
import types

import grpc
import pytest

import matcher
import service_nodes as sn
from matcher._proto.prum.v1 import vehicle_pb2_grpc
from matcher.service import cli_service, convert
from matcher.service.background import ServerThread
from matcher.service.client import ClientError, FanOut
from matcher.service.server import PartnerServer, ServeError

HIGH = '[policy.NL]\ndaily_quota = { dna = 100000, finger = 100000, finger_latent = 100000, vehicle = 100000 }\n'


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("fanout")
    cert_dir = sn.make_pki(root)
    data = {code: sn.make_home(root / f"{code.lower()}-home", code, seed=seed)
            for code, seed in (("DE", 4), ("BE", 5))}
    matcher.init_home(root / "nl-home", partner="NL")          # NL asks; its audit logs that
    servers = {code: ServerThread(sn.settings_for(sn.write_config(root, code, cert_dir, policy=HIGH)))
               for code in ("DE", "BE")}
    for server in servers.values():
        server.start()
    partners = {code: f"127.0.0.1:{server.port}" for code, server in servers.items()}
    partners["FR"] = f"127.0.0.1:{_closed_port()}"             # nobody listens there
    config = sn.write_config(root, "NL", cert_dir, partners=partners,
                             node_extra="timeout_seconds = 5")
    settings = sn.settings_for(config)
    state = types.SimpleNamespace(root=root, certs=cert_dir, data=data, servers=servers,
                                  config=config, settings=settings, fan_out=FanOut(settings))
    yield state
    state.fan_out.close()
    for server in state.servers.values():
        server.stop()


def _vin(cluster, code: str) -> str:
    return next(v["vin"] for v in cluster.data[code]["vehicles"] if "vin" in v)


def test_unreachable_partner_is_reported_and_the_others_answer(cluster):
    queries = [{"reference": "V-DE", "vin": _vin(cluster, "DE")},
               {"reference": "V-BE", "vin": _vin(cluster, "BE")}]
    results = {r.partner: r for r in cluster.fan_out.query("vehicle", queries, **sn.header_fields())}
    assert set(results) == {"DE", "BE", "FR"}
    assert results["DE"].ok and results["BE"].ok
    assert results["DE"].answers[0]["hits"][0]["reference"].startswith("DE-V-")
    assert results["DE"].answers[1]["hits"] == []
    assert results["BE"].answers[1]["hits"][0]["reference"].startswith("BE-V-")
    failed = results["FR"]
    assert not failed.ok and failed.status == "UNAVAILABLE"
    assert failed.lines() == [{"partner": "FR", "request_id": failed.request_id,
                               "status": "UNAVAILABLE", "message": failed.message, "details": []}]


def test_named_partners_only_and_unknown_names_refused(cluster):
    results = cluster.fan_out.query("dna", [dict(cluster.data["BE"]["dna"][0], reference="Q")],
                                    ["BE"], **sn.header_fields())
    assert [r.partner for r in results] == ["BE"] and results[0].ok
    with pytest.raises(ClientError, match="IT"):
        cluster.fan_out.query("dna", [], ["BE", "IT"], **sn.header_fields())


def test_query_partners_keeps_its_channels_open_between_calls(cluster):
    from matcher.service import client as client_module
    queries = [{"reference": "V", "vin": _vin(cluster, "DE")}]
    first = client_module.query_partners(cluster.settings, "vehicle", queries, ["DE"],
                                         **sn.header_fields())
    fan_out = client_module._shared[id(cluster.settings)][1]
    channel = fan_out.client._channels["DE"]
    second = client_module.query_partners(cluster.settings, "vehicle", queries, ["DE"],
                                          **sn.header_fields())
    assert first[0].ok and second[0].ok and first[0].request_id != second[0].request_id
    assert first[0].answers[0]["hits"] == second[0].answers[0]["hits"] != []
    assert fan_out.client._channels["DE"] is channel
    client_module.close_shared()
    assert client_module._shared == {}


def test_refusal_details_are_decoded_for_the_caller(cluster):
    bad = {"reference": "Q", "loci": {"TH01": ["6", "7"]}}          # too few loci
    results = cluster.fan_out.query("dna", [bad], ["DE"], **sn.header_fields())
    assert results[0].status == "INVALID_ARGUMENT"
    assert results[0].details[0]["type"] == "BadRequest"
    assert results[0].details[0]["field_violations"][0]["field"].startswith("queries[0].loci")


def test_partner_restarted_during_a_fan_out(cluster):
    be = cluster.servers["BE"]
    port = be.port
    started = threading.Event()
    finger = be.node.home.finger
    real = finger.search

    def slow_search(queries):
        started.set()
        threading.Event().wait(0.5)
        return real(queries)

    finger.search = slow_search
    probes = {code: sn.finger_probe(cluster.data[code]["masters"][1], f"F-{code}")
              for code in ("DE", "BE")}
    outcome = {}
    asking = threading.Thread(target=lambda: outcome.update(results=cluster.fan_out.query(
        "finger", list(probes.values()), ["DE", "BE"], **sn.header_fields())))
    asking.start()
    assert started.wait(10), "BE never started searching"
    be.stop(grace=0)                                     # BE goes down mid-call ...
    asking.join(10)
    results = {r.partner: r for r in outcome["results"]}
    assert results["DE"].ok                               # ... DE still answers
    assert results["DE"].answers[0]["candidates"][0]["reference"] == "DE-FP-0001"
    assert not results["BE"].ok and results["BE"].status in ("UNAVAILABLE", "CANCELLED")
    # BE comes back on the same address; the same client (same channels) reaches it again
    settings = dataclasses.replace(be.server.settings, listen=f"127.0.0.1:{port}")
    cluster.servers["BE"] = ServerThread(settings)
    cluster.servers["BE"].start()
    results = {r.partner: r for r in cluster.fan_out.query(
        "finger", list(probes.values()), ["DE", "BE"], **sn.header_fields())}
    assert results["DE"].ok and results["BE"].ok
    assert results["BE"].answers[1]["candidates"][0]["reference"] == "BE-FP-0001"


def _run_query(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli_service.add_query_arguments(parser)
    return cli_service.run_query(parser.parse_args(argv))


def test_matcher_query_prints_json_lines_and_exit_status(cluster, tmp_path, capsys):
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(q) for q in (
        {"reference": "V-1", "vin": _vin(cluster, "DE")},
        {"reference": "V-2", "country": "BE", "plate": "1-ABC-234"})) + "\n")
    args = [str(cluster.config), "vehicle", str(queries), "--officer", sn.OFFICER,
            "--purpose", sn.PURPOSE]
    assert _run_query(args + ["--partner", "DE", "--partner", "BE"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["partner"], line["query"]) for line in lines] == \
        [("DE", "V-1"), ("DE", "V-2"), ("BE", "V-1"), ("BE", "V-2")]
    assert set(lines[0]) == {"partner", "query", "hits", "request_id", "answer_id",
                             "received_at", "answered_at"}
    assert lines[0]["hits"][0]["matched_on"] == "vin"
    # the asking node logs its outbound requests too
    with matcher.open_home(cluster.root / "nl-home", create=False) as home:
        from matcher.service.audit import AuditLog
        with AuditLog.for_home(home) as log:
            outbound = [e for e in log.entries() if e["request_id"] == lines[0]["request_id"]]
    assert outbound[0]["direction"] == "outbound" and outbound[0]["partner"] == "DE"
    assert outbound[0]["outcome"] == "answered" and outbound[0]["hits"] == [lines[0]["hits"][0]["reference"]]

    assert _run_query(args) == 1                          # FR cannot be reached
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["status"] for line in lines if line["partner"] == "FR"] == ["UNAVAILABLE"]
    assert sum(line["partner"] == "DE" for line in lines) == 2

    queries.write_text('{"reference": "V-3", "vin": 17}\nnot json\n'
                       + json.dumps({"reference": "V-4", "vin": _vin(cluster, "BE")}) + "\n")
    assert _run_query(args + ["--partner", "BE"]) == 1     # two lines rejected, V-4 asked
    captured = capsys.readouterr()
    rejected = [json.loads(line) for line in captured.err.splitlines()]
    assert [r["line"] for r in rejected] == [1, 2]
    assert [json.loads(line)["query"] for line in captured.out.splitlines()] == ["V-4"]

    assert _run_query(args + ["--partner", "XX"]) == 2     # not a configured partner
    assert _run_query([str(tmp_path / "none.toml")] + args[1:]) == 2
    assert "none.toml" in capsys.readouterr().err


@pytest.fixture
def plaintext_node(tmp_path):
    cert_dir = sn.make_pki(tmp_path)
    matcher.init_home(tmp_path / "lu-home", partner="LU")
    with matcher.open_home(tmp_path / "lu-home", create=False) as home:
        home.vehicle.add([{"reference": "LU-V-1", "country": "L", "plate": "AB 1234"}])
    policy = '[policy.NL]\ncategories = ["vehicle"]\n'
    settings = sn.settings_for(sn.write_config(tmp_path, "LU", cert_dir, policy=policy))
    return tmp_path, cert_dir, settings


def test_insecure_dev_serves_plaintext_on_loopback_only(plaintext_node, capsys):
    root, cert_dir, settings = plaintext_node
    with ServerThread(settings, insecure_dev=True) as server:
        client_settings = sn.settings_for(sn.write_config(
            root, "NL", cert_dir, name="NL-dev", partners={"LU": f"127.0.0.1:{server.port}"}))
        with FanOut(client_settings, insecure_dev=True) as fan_out:
            result, = fan_out.query("vehicle", [{"reference": "Q", "country": "LU",
                                                 "plate": "AB-1234"}], **sn.header_fields())
        assert result.ok and result.answers[0]["hits"][0]["reference"] == "LU-V-1"
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:   # names nobody
            request = convert.request_to_proto("vehicle", sn.request_header(),
                                               [{"reference": "Q", "vin": "WVWZZZ1JZXW000001"}])
            with pytest.raises(grpc.RpcError) as caught:
                vehicle_pb2_grpc.VehicleServiceStub(channel).LookupVehicle(request, timeout=5)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    anywhere = dataclasses.replace(settings, listen="0.0.0.0:0")
    with pytest.raises(ServeError, match="loopback"):
        PartnerServer(anywhere, insecure_dev=True)
    config = root / "LU-any.toml"
    config.write_text(settings.path.read_text().replace('listen = "127.0.0.1:0"',
                                                        'listen = "0.0.0.0:0"'))
    parser = argparse.ArgumentParser()
    cli_service.add_serve_arguments(parser)
    assert cli_service.run_serve(parser.parse_args([str(config), "--insecure-dev"])) == 2
    assert "loopback" in capsys.readouterr().err


def test_serve_refuses_a_busy_address_and_a_missing_home(plaintext_node, capsys):
    root, _, settings = plaintext_node
    with ServerThread(settings, insecure_dev=True) as server:
        taken = dataclasses.replace(settings, listen=f"127.0.0.1:{server.port}")
        second = ServerThread(taken, insecure_dev=True)
        with pytest.raises(ServeError, match="node.listen"):
            second.start()
        assert second.server.node is None                     # it never opened the home
    config = root / "LU-nohome.toml"
    config.write_text(settings.path.read_text().replace('home = "lu-home"', 'home = "gone"'))
    parser = argparse.ArgumentParser()
    cli_service.add_serve_arguments(parser)
    assert cli_service.run_serve(parser.parse_args([str(config), "--insecure-dev"])) == 2
    assert "gone" in capsys.readouterr().err


def test_matcher_query_in_the_contract_shape_logs_who_and_why(cluster, tmp_path, capsys,
                                                               monkeypatch):
    """`matcher query CONFIG.toml vehicle QUERIES.jsonl --partner DE` (the architecture's
    shape, no --officer/--purpose): the officer and purpose come from the environment, or
    the login name and 'not stated' with a warning -- never an empty audit field."""
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"reference": "V-9", "vin": _vin(cluster, "DE")}) + "\n")
    monkeypatch.setenv(cli_service.OFFICER_ENV, "NL-officer-7")
    monkeypatch.setenv(cli_service.PURPOSE_ENV, "case 2026/815")
    assert _run_query([str(cluster.config), "vehicle", str(queries), "--partner", "DE"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[0])["hits"] and captured.err == ""
    monkeypatch.delenv(cli_service.OFFICER_ENV)
    monkeypatch.delenv(cli_service.PURPOSE_ENV)
    assert _run_query([str(cluster.config), "vehicle", str(queries), "--partner", "DE"]) == 0
    warnings = [json.loads(line)["warning"] for line in capsys.readouterr().err.splitlines()]
    assert any("--officer" in w for w in warnings) and any("not stated" in w for w in warnings)
    with matcher.open_home(cluster.root / "nl-home", create=False) as home:
        from matcher.service.audit import AuditLog
        with AuditLog.for_home(home) as log:
            mine = [e for e in log.entries() if e["direction"] == "outbound"][-2:]
    assert [e["officer"] for e in mine][0] == "NL-officer-7"
    assert [e["purpose"] for e in mine] == ["case 2026/815", cli_service.PURPOSE_NOT_STATED]

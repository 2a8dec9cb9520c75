"""Two real nodes (NL and DE) on 127.0.0.1 with mutual TLS, answering each other for DNA,
fingerprints and vehicles; capabilities, audit, micro-batching, health and reflection."""

from __future__ import annotations

import asyncio
import json
import time
import types

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import service_nodes as sn
from matcher._proto.prum.v1 import capabilities_pb2, capabilities_pb2_grpc, common_pb2
from matcher.service.background import ServerThread
from matcher.service.client import FanOut, PartnerClient

HIGH_QUOTAS = "daily_quota = { dna = 100000, finger = 100000, finger_latent = 100000, vehicle = 100000 }"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("exchange")
    cert_dir = sn.make_pki(root)
    data = {"NL": sn.make_home(root / "nl-home", "NL", seed=1),
            "DE": sn.make_home(root / "de-home", "DE", seed=2)}
    de_policy = f'[policy.NL]\nfinger_candidate_limit = 3\n{HIGH_QUOTAS}\n'
    nl_policy = f'[policy.DE]\n{HIGH_QUOTAS}\n'
    servers = {
        "DE": ServerThread(sn.settings_for(sn.write_config(
            root, "DE", cert_dir, policy=de_policy, node_extra="reflection = true"))),
        "NL": ServerThread(sn.settings_for(sn.write_config(root, "NL", cert_dir, policy=nl_policy))),
    }
    for server in servers.values():
        server.start()
    clients = {
        "NL": FanOut(sn.settings_for(sn.write_config(
            root, "NL", cert_dir, name="NL-client",
            partners={"DE": f"127.0.0.1:{servers['DE'].port}"}))),
        "DE": FanOut(sn.settings_for(sn.write_config(
            root, "DE", cert_dir, name="DE-client",
            partners={"NL": f"127.0.0.1:{servers['NL'].port}"}))),
    }
    yield types.SimpleNamespace(root=root, certs=cert_dir, data=data, servers=servers,
                                clients=clients)
    for client in clients.values():
        client.close()
    for server in servers.values():
        server.stop()


def _ask(nodes, asker: str, category: str, queries: list[dict]):
    results = nodes.clients[asker].query(category, queries, **sn.header_fields())
    assert len(results) == 1
    return results[0]


def _on_the_wire(local: dict, received: dict) -> dict:
    """``local`` cut to the fields the wire carries (the home may add evidence figures, such
    as DNA match probabilities, that the contract does not carry yet)."""
    out = {k: v for k, v in local.items() if k in received}
    for key in ("hits", "candidates"):
        if key in out:
            fields = set().union(*(h.keys() for h in received[key])) if received[key] else set()
            out[key] = [{k: v for k, v in h.items() if k in fields} for h in out[key]]
    return out


def _dna_queries(records, picks):
    return [dict(records[i], reference=f"Q-{i}", kind="stain") for i in picks]


@pytest.mark.parametrize("asker, answerer", [("NL", "DE"), ("DE", "NL")])
def test_two_nodes_answer_each_other_like_a_local_search(nodes, asker, answerer):
    home = nodes.servers[answerer].node.home
    data = nodes.data[answerer]
    dna = _dna_queries(data["dna"], [0, 7, 11]) + [dict(nodes.data[asker]["dna"][3], reference="X")]
    vehicle = [{"reference": "V-1", "vin": next(v["vin"] for v in data["vehicles"] if "vin" in v)},
               {"reference": "V-2", "country": "NL", "plate": "ZZ-999-Z"}]
    finger = [sn.finger_probe(data["masters"][5], "F-1")]
    for category, queries in (("dna", dna), ("vehicle", vehicle), ("finger", finger)):
        result = _ask(nodes, asker, category, queries)
        assert result.ok, result
        local = getattr(home, category).search(queries)
        if category == "finger":   # DE cuts NL's candidate lists to 3 (see the next test)
            local = [dict(a, candidates=a["candidates"][:len(r["candidates"])])
                     for a, r in zip(local, result.answers)]
        for line, expected in zip(result.answers, local, strict=True):
            assert line["partner"] == answerer
            assert line["request_id"] == result.request_id
            assert line["answer_id"] == result.answer_id
            assert line["received_at"] <= line["answered_at"]
            answer = {k: v for k, v in line.items()
                      if k not in ("partner", "request_id", "answer_id", "received_at",
                                   "answered_at")}
            assert answer == _on_the_wire(expected, answer), json.dumps([answer, expected])
    # the planted ones hit their stored record, the foreign profile does not
    result = _ask(nodes, asker, "dna", dna)
    assert [a["hits"][0]["reference"] if a["hits"] else None for a in result.answers] == \
        [data["dna"][i]["reference"] for i in (0, 7, 11)] + [None]
    assert _ask(nodes, asker, "finger", finger).answers[0]["candidates"][0]["reference"] == \
        f"{answerer}-FP-0005"


def test_finger_candidates_are_cut_to_the_partner_limit(nodes):
    probe = sn.finger_probe(nodes.data["DE"]["masters"][9], "F-9")
    local = nodes.servers["DE"].node.home.finger.search([probe])[0]
    assert len(local["candidates"]) == 10
    via_de = _ask(nodes, "NL", "finger", [probe]).answers[0]     # DE grants NL 3 candidates
    assert [c["reference"] for c in via_de["candidates"]] == \
        [c["reference"] for c in local["candidates"][:3]]
    via_nl = _ask(nodes, "DE", "finger", [sn.finger_probe(nodes.data["NL"]["masters"][9], "F")])
    assert len(via_nl.answers[0]["candidates"]) == 10             # NL grants DE the default


def test_capabilities_report_grants_usage_and_dna_rules(nodes):
    client = nodes.clients["NL"]
    before = client.capabilities("DE", **sn.header_fields())
    _ask(nodes, "NL", "dna", _dna_queries(nodes.data["DE"]["dna"], [1, 2]))
    after = client.capabilities("DE", **sn.header_fields())
    assert after.caller_partner == "NL" and after.header.partner == "DE"
    grants = {g.category: g for g in after.grants}
    assert set(grants) == {common_pb2.CATEGORY_DNA, common_pb2.CATEGORY_FINGER,
                           common_pb2.CATEGORY_VEHICLE}
    dna_before = next(g for g in before.grants if g.category == common_pb2.CATEGORY_DNA)
    assert grants[common_pb2.CATEGORY_DNA].used_today == dna_before.used_today + 2
    assert grants[common_pb2.CATEGORY_DNA].daily_quota == 100000
    assert grants[common_pb2.CATEGORY_FINGER].finger_candidate_limit == 3
    policy = nodes.servers["DE"].node.settings.policy["NL"]
    assert grants[common_pb2.CATEGORY_FINGER].latent_daily_quota == \
        policy.daily_quota["finger_latent"]
    assert grants[common_pb2.CATEGORY_DNA].latent_daily_quota == 0
    assert grants[common_pb2.CATEGORY_VEHICLE].finger_candidate_limit == 0
    home = nodes.servers["DE"].node.home
    assert list(after.dna_loci) == list(home.dna.table.compared)
    assert after.max_message_bytes == 4 * 1024 * 1024
    assert (after.dna_min_matching_loci, after.dna_max_mismatches) == (6, 1)


def test_every_answer_is_audited_without_the_query_data(nodes):
    data = nodes.data["DE"]
    queries = _dna_queries(data["dna"], [20, 21])
    result = _ask(nodes, "NL", "dna", queries)
    vin = next(v["vin"] for v in data["vehicles"] if "vin" in v)
    vehicle = _ask(nodes, "NL", "vehicle", [{"reference": "V-A", "vin": vin}])
    entries = {e["request_id"]: e for e in nodes.servers["DE"].node.audit.entries()}
    entry = entries[result.request_id]
    assert entry["direction"] == "inbound" and entry["partner"] == "NL"
    assert (entry["category"], entry["outcome"], entry["status"]) == ("dna", "answered", "OK")
    assert (entry["officer"], entry["purpose"]) == (sn.OFFICER, sn.PURPOSE)
    assert entry["answer_id"] == result.answer_id and entry["queries"] == 2
    assert entry["hits"] == [data["dna"][20]["reference"], data["dna"][21]["reference"]]
    assert len(entry["query_digest"]) == 64
    assert entries[vehicle.request_id]["hits"] == [h["reference"] for h in vehicle.answers[0]["hits"]]
    exported = json.dumps(list(entries.values()))
    assert vin not in exported
    first_locus, alleles = next(iter(queries[0]["loci"].items()))
    assert json.dumps({first_locus: alleles})[1:-1] not in exported
    assert nodes.servers["DE"].node.audit.verify().ok


def test_concurrent_single_dna_queries_share_kernel_calls(nodes):
    de = nodes.servers["DE"]
    batcher = de.node.desks["dna"].batcher
    settings = nodes.clients["NL"].settings
    records = nodes.data["DE"]["dna"]
    callers = 48
    real = batcher._search

    def like_a_big_database(queries):
        time.sleep(0.02)        # a 1M-profile scan: callers arriving meanwhile queue up
        return real(queries)

    async def fan():
        client = PartnerClient(settings)
        try:
            await client.query("dna", [dict(records[0], reference="warm-up")], **sn.header_fields())
            searches, batches = batcher.searched, batcher.batches
            results = await asyncio.gather(*(
                client.query("dna", [dict(records[i], reference=f"C-{i}")], **sn.header_fields())
                for i in range(callers)))
            return results, batcher.searched - searches, batcher.batches - batches
        finally:
            await client.close()

    batcher._search = like_a_big_database
    try:
        results, searched, batches = asyncio.run(fan())
    finally:
        batcher._search = real
    for i, (result,) in enumerate(results):
        assert result.ok and result.answers[0]["query"] == f"C-{i}"
        assert result.answers[0]["hits"][0]["reference"] == records[i]["reference"]
    assert searched == callers
    assert batches <= callers / 4, f"{callers} concurrent queries took {batches} kernel calls"


def test_health_service_serves_each_service(nodes):
    with sn.raw_channel(nodes.certs, nodes.servers["DE"].port, "DE") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "prum.v1.DnaService", "prum.v1.FingerService",
                     "prum.v1.VehicleService", "prum.v1.CapabilitiesService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="prum.v1.NoSuchService"), timeout=5)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_reflection_only_when_the_config_says_so(nodes):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    def list_services(node: str):
        with sn.raw_channel(nodes.certs, nodes.servers[node].port, node) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            replies = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
            return {s.name for s in replies[0].list_services_response.service}

    assert {"prum.v1.DnaService", "prum.v1.FingerService", "prum.v1.VehicleService",
            "prum.v1.CapabilitiesService", "grpc.health.v1.Health"} <= list_services("DE")
    with pytest.raises(grpc.RpcError) as caught:
        list_services("NL")                                   # reflection = false (default)
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED


def test_capabilities_over_a_raw_channel_name_the_caller_from_its_certificate(nodes):
    with sn.raw_channel(nodes.certs, nodes.servers["NL"].port, "NL", cert="DE") as channel:
        stub = capabilities_pb2_grpc.CapabilitiesServiceStub(channel)
        reply = stub.GetCapabilities(capabilities_pb2.GetCapabilitiesRequest(
            header=sn.request_header()), timeout=5)
    assert reply.caller_partner == "DE" and reply.header.partner == "NL"

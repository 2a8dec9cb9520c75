"""Bulk DNA comparison between real nodes on 127.0.0.1 (CompareDna): batches answer exactly as
SearchDna, the nightly delta sends only new and changed stains and records its marks, and a
stream keeps the quota, deadline, validation, permission and audit rules batch by batch."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import types

import grpc
import pytest

import matcher
import service_nodes as sn
from matcher._proto.prum.v1 import dna_pb2, dna_pb2_grpc
from matcher.dna.synth import generate_database
from matcher.service import cli_service, convert
from matcher.service.audit import KEY_FILE, AuditLog
from matcher.service.background import ServerThread
from matcher.service.client import ClientError, FanOut
from matcher.service.nightly import STATE_FILE, nightly_compare, read_marks, record_marks
from matcher.store import STORE_FILE, Store

DE_POLICY = ('[policy.NL]\nmax_queries_per_request = 50\n'
             'daily_quota = { dna = 100000, dna_bulk = 100000 }\n')
#: BE lets NL compare 25 profiles a day; FR may look up vehicles only.
BE_POLICY = ('[policy.NL]\ncategories = ["dna"]\ndaily_quota = { dna_bulk = 25 }\n'
             '[policy.FR]\ncategories = ["vehicle"]\n')
RANDOM_STAINS = 20


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _planted(de_records: list[dict], start: int, count: int, prefix: str = "NL-S-P") -> list[dict]:
    """NL stains that are copies of DE persons: each hits DE at least once."""
    return [{"reference": f"{prefix}{i:03d}", "kind": "stain", "loci": record["loci"]}
            for i, record in enumerate(de_records[start:start + count], start=start)]


def _random_stains(count: int, seed: int = 77) -> list[dict]:
    return [dict(record, reference=f"NL-S-R{i:03d}", kind="stain")
            for i, record in enumerate(generate_database(
                count, seed=seed, prefix="NL", stain_fraction=0.0, duplicate_fraction=0.0,
                relative_fraction=0.0, mixture_fraction=0.0))]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("bulk")
    cert_dir = sn.make_pki(root)
    data = {"DE": sn.make_home(root / "de-home", "DE", seed=2),
            "BE": sn.make_home(root / "be-home", "BE", seed=3)}
    servers = {"DE": ServerThread(sn.settings_for(sn.write_config(root, "DE", cert_dir,
                                                                  policy=DE_POLICY))),
               "BE": ServerThread(sn.settings_for(sn.write_config(root, "BE", cert_dir,
                                                                  policy=BE_POLICY)))}
    for server in servers.values():
        server.start()
    stains = _planted(data["DE"]["dna"], 0, 20) + _random_stains(RANDOM_STAINS)
    yield types.SimpleNamespace(root=root, certs=cert_dir, data=data, servers=servers,
                                stains=stains)
    for server in servers.values():
        server.stop()


def _nl(cluster, tmp_path, partners=("DE",), extra: dict | None = None):
    """An NL node config in ``tmp_path`` (home ``tmp_path/nl-home``, created) asking
    ``partners`` (plus ``extra`` code -> address)."""
    addresses = {code: f"127.0.0.1:{cluster.servers[code].port}" for code in partners}
    config = sn.write_config(tmp_path, "NL", cluster.certs, partners={**addresses,
                                                                      **(extra or {})})
    matcher.init_home(tmp_path / "nl-home", partner="NL")
    return config, sn.settings_for(config)


def _plain(answer: dict) -> dict:
    """An answer line without the per-request ids and times."""
    return {k: v for k, v in answer.items()
            if k not in ("request_id", "answer_id", "received_at", "answered_at")}


def _entries(server, after: int = 0) -> list[dict]:
    return list(server.node.audit.entries(after=after))


def _last_sequence(server) -> int:
    return max((e["sequence"] for e in _entries(server)), default=0)


# ------------------------------------------------------------------ batches = searches
def test_batches_answer_as_search_dna_and_every_batch_is_audited(cluster, tmp_path):
    config, settings = _nl(cluster, tmp_path)
    de = cluster.servers["DE"]
    before = _last_sequence(de)
    used_before = de.node.quotas.used_today("NL", "dna_bulk")
    store = Store(tmp_path / "nl-home" / STORE_FILE)
    with AuditLog(store, tmp_path / "nl-home" / KEY_FILE) as audit, \
            FanOut(settings, audit=audit) as fan_out:
        single, = fan_out.query("dna", cluster.stains, **sn.header_fields())
        bulk, = fan_out.compare(cluster.stains, batch_size=7, **sn.header_fields())
        outbound = [e for e in audit.entries() if e["category"] == "dna_bulk"]
    store.close()
    assert single.ok and bulk.ok and bulk.status == "OK"
    assert [_plain(a) for a in bulk.answers] == [_plain(a) for a in single.answers]
    hits = {a["query"] for a in bulk.answers if a["hits"]}
    assert {s["reference"] for s in cluster.stains[:20]} <= hits      # every planted stain
    assert len(hits) < len(cluster.stains)                           # and no-hits answered too
    assert (bulk.profiles, bulk.batches, bulk.answered_batches, bulk.answered) == (40, 6, 6, 40)
    assert bulk.hits == len(hits)
    assert bulk.daily_profile_quota == 100000
    assert bulk.profiles_used_today == used_before + 40
    # one inbound entry per batch at DE, one outbound per batch at NL, same request ids
    inbound = [e for e in _entries(de, before) if e["category"] == "dna_bulk"]
    assert [e["request_id"] for e in inbound] == bulk.request_ids
    assert [e["queries"] for e in inbound] == [7, 7, 7, 7, 7, 5]
    assert all(e["outcome"] == "answered" and e["partner"] == "NL" and e["query_digest"]
               for e in inbound)
    assert sorted(h for e in inbound for h in e["hits"]) == sorted(
        h["reference"] for a in bulk.answers for h in a["hits"])
    assert [e["request_id"] for e in outbound] == bulk.request_ids
    assert [e["direction"] for e in outbound] == ["outbound"] * 6
    assert all(e["query_digest"] for e in outbound)          # keyed with NL's own key
    assert len({e["request_id"] for e in _entries(de, before)
                if e["category"] == "dna"}) == 1                      # the SearchDna request


def test_hits_only_keeps_the_hits_but_counts_every_answer(cluster, tmp_path):
    _, settings = _nl(cluster, tmp_path)
    with FanOut(settings) as fan_out:
        result, = fan_out.compare(cluster.stains, ["DE"], batch_size=50, hits_only=True,
                                  **sn.header_fields())
    assert result.ok and result.answered == 40 and result.answered_batches == 1
    assert len(result.answers) == result.hits >= 20
    assert all(a["hits"] for a in result.answers)
    assert result.lines()[-1] == result.summary() and result.summary()["summary"] == "compare"


# ------------------------------------------------------------------ the nightly delta
def _run_nightly(settings, **options):
    runs = nightly_compare(settings, batch_size=10, **sn.header_fields(), **options)
    return {run.partner: run for run in runs}


def _hit_queries(run) -> set[str]:
    return {a["query"] for a in run.comparison.answers}


def test_nightly_sends_new_and_changed_stains_once(cluster, tmp_path):
    _, settings = _nl(cluster, tmp_path)
    de_records = cluster.data["DE"]["dna"]
    persons = [dict(r, reference=f"NL-P-{i:03d}", kind="person")
               for i, r in enumerate(de_records[100:105])]              # never sent: persons
    with matcher.open_home(tmp_path / "nl-home", create=False) as home:
        assert not home.dna.add(_planted(de_records, 0, 12) + persons).rejected
        generation = home.dna.generation
    first = _run_nightly(settings)["DE"]
    assert first.ok and first.recorded and (first.since, first.generation) == (0, generation)
    assert first.comparison.profiles == 12 and first.comparison.batches == 2
    assert _hit_queries(first) == {f"NL-S-P{i:03d}" for i in range(12)}
    assert read_marks(tmp_path / "nl-home")["DE"]["stain"]["generation"] == generation

    second = _run_nightly(settings)["DE"]                                # nothing new
    assert second.ok and second.recorded and second.comparison.profiles == 0
    assert second.since == generation and second.lines() == [second.summary()]

    with matcher.open_home(tmp_path / "nl-home", create=False) as home:
        replaced = dict(_planted(de_records, 3, 1)[0], loci=de_records[50]["loci"])
        home.dna.add([replaced] + _planted(de_records, 12, 1))          # changed and new
        home.dna.add([dict(persons[0], reference="NL-P-999")])          # a person: not sent
        home.dna.delete(["NL-S-P005"])                                   # deleted: not sent
        home.dna.add(_planted(de_records, 20, 1))
        home.dna.delete(["NL-S-P020"])                                   # new, then deleted
    de = cluster.servers["DE"]
    before = _last_sequence(de)
    third = _run_nightly(settings)["DE"]
    assert third.ok and third.comparison.profiles == 2
    assert _hit_queries(third) == {"NL-S-P003", "NL-S-P012"}
    replaced_hits = next(a["hits"] for a in third.comparison.answers
                         if a["query"] == "NL-S-P003")
    assert replaced_hits[0]["reference"] == de_records[50]["reference"]  # the new version
    inbound = [e for e in _entries(de, before) if e["category"] == "dna_bulk"]
    assert [e["queries"] for e in inbound] == [2]

    assert _run_nightly(settings)["DE"].comparison.profiles == 0
    again = _run_nightly(settings, since=0)["DE"]                        # --since overrides
    assert again.comparison.profiles == 12 and again.recorded
    assert _run_nightly(settings, kinds=["person"])["DE"].comparison.profiles == 6
    marks = read_marks(tmp_path / "nl-home")["DE"]
    assert set(marks) == {"stain", "person"}
    # a mark beyond the store's generation (a rebuilt home) is ignored: everything is resent
    record_marks(tmp_path / "nl-home", ("stain",), {"DE": {"generation": 10**9}})
    rebuilt = _run_nightly(settings)["DE"]
    assert rebuilt.reset and rebuilt.summary()["reset"] and rebuilt.comparison.profiles == 12
    assert read_marks(tmp_path / "nl-home")["DE"]["stain"]["generation"] == rebuilt.generation


def test_nightly_records_a_mark_only_for_partners_that_completed(cluster, tmp_path):
    closed = f"127.0.0.1:{_closed_port()}"
    config, settings = _nl(cluster, tmp_path, partners=("DE", "BE"), extra={"FR": closed})
    with matcher.open_home(tmp_path / "nl-home", create=False) as home:
        home.dna.add(_planted(cluster.data["BE"]["dna"], 0, 40, prefix="NL-S-B"))
    be = cluster.servers["BE"]
    used = be.node.quotas.used_today("NL", "dna_bulk")
    assert used == 0, "only this test compares with BE"
    before = _last_sequence(be)
    runs = _run_nightly(settings)
    assert runs["DE"].ok and runs["DE"].recorded and runs["DE"].comparison.profiles == 40
    # BE: 25 profiles a day; batches of 10: two answered, the third refused mid-stream
    refused = runs["BE"].comparison
    assert not runs["BE"].ok and not runs["BE"].recorded
    assert refused.status == "RESOURCE_EXHAUSTED", json.dumps(refused.summary())
    assert refused.answered_batches == 2
    assert refused.details[0]["type"] == "QuotaFailure"
    assert refused.failed_request_id == refused.request_ids[2]
    stood = _hit_queries(runs["BE"])                                   # they stand
    assert len(stood) == 20 and stood <= {f"NL-S-B{i:03d}" for i in range(40)}
    assert be.node.quotas.used_today("NL", "dna_bulk") == 20
    inbound = [(e["outcome"], e["status"], e["queries"]) for e in _entries(be, before)]
    assert inbound == [("answered", "OK", 10)] * 2 + [("refused", "RESOURCE_EXHAUSTED", 10)]
    assert runs["FR"].comparison.status == "UNAVAILABLE" and not runs["FR"].recorded
    assert set(read_marks(tmp_path / "nl-home")) == {"DE"}
    # NL's own log: per partner every batch sent, answered or not
    store = Store(tmp_path / "nl-home" / STORE_FILE)
    with AuditLog(store, tmp_path / "nl-home" / KEY_FILE) as audit:
        be_out = [(e["outcome"], e["status"]) for e in audit.entries() if e["partner"] == "BE"]
    store.close()
    assert be_out == [("answered", "OK")] * 2 + [("refused", "RESOURCE_EXHAUSTED")]
    # the next run resends BE everything (its mark did not move); BE refuses the first batch
    runs = _run_nightly(settings, partners=["BE"])
    assert runs["BE"].comparison.profiles == 40 and runs["BE"].comparison.answered_batches == 0
    assert be.node.quotas.used_today("NL", "dna_bulk") == 20


# ------------------------------------------------------------------ the refusals
def test_a_malformed_profile_refuses_its_batch_naming_profile_and_field(cluster, tmp_path):
    _, settings = _nl(cluster, tmp_path)
    de = cluster.servers["DE"]
    used = de.node.quotas.used_today("NL", "dna_bulk")
    bad = {"reference": "NL-S-BAD", "kind": "stain", "loci": {"TH01": ["6", "7"]}}
    profiles = cluster.stains[:5] + [cluster.stains[5], bad] + cluster.stains[6:10]
    with FanOut(settings) as fan_out:
        result, = fan_out.compare(profiles, batch_size=5, **sn.header_fields())
        with pytest.raises(ClientError, match="reference"):
            fan_out.compare([{"loci": {"TH01": "6,7"}}], **sn.header_fields())
        with pytest.raises(ClientError, match="batch size"):
            fan_out.compare(profiles, batch_size=0, **sn.header_fields())
    assert result.status == "INVALID_ARGUMENT" and result.answered_batches == 1
    violation, = result.details[0]["field_violations"]
    assert violation["field"] == "queries[1].loci"
    assert "NL-S-BAD" in violation["description"]
    assert de.node.quotas.used_today("NL", "dna_bulk") == used + 5    # only batch 1 counted


def test_too_many_profiles_in_a_batch_and_a_bad_header(cluster):
    with sn.raw_channel(cluster.certs, cluster.servers["DE"].port, "DE") as channel:
        stub = dna_pb2_grpc.DnaServiceStub(channel)
        queries = convert.queries_to_proto("dna", cluster.stains[:1] * 51)
        request = dna_pb2.CompareDnaRequest(header=sn.request_header(), queries=queries)
        with pytest.raises(grpc.RpcError) as caught:
            list(stub.CompareDna(iter([request]), timeout=10))
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert sn.status_details(caught.value)["ErrorInfo"].reason == "TOO_MANY_QUERIES"
        header = sn.request_header()
        header.officer_id = ""
        good = dna_pb2.CompareDnaRequest(header=sn.request_header(), queries=queries[:2])
        bad = dna_pb2.CompareDnaRequest(header=header, queries=queries[:2])
        answers = []
        with pytest.raises(grpc.RpcError) as caught:
            for response in stub.CompareDna(iter([good, bad]), timeout=10):
                answers.append(response)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        field = sn.status_details(caught.value)["BadRequest"].field_violations[0].field
        assert field == "header.officer_id"
        assert [a.header.request_id for a in answers] == [good.header.request_id]


def test_unknown_partner_and_category_not_granted_are_refused(cluster, tmp_path):
    partners = {code: f"127.0.0.1:{cluster.servers[code].port}" for code in ("DE", "BE")}
    settings = sn.settings_for(sn.write_config(tmp_path, "FR", cluster.certs, partners=partners))
    with FanOut(settings) as fan_out:
        results = {r.partner: r for r in fan_out.compare(cluster.stains[:3],
                                                         **sn.header_fields())}
    for code, reason in (("DE", "UNKNOWN_PARTNER"), ("BE", "CATEGORY_NOT_GRANTED")):
        assert results[code].status == "PERMISSION_DENIED" and not results[code].ok
        assert results[code].details[0]["reason"] == reason
        assert results[code].answered_batches == 0
    refused = [e for e in _entries(cluster.servers["BE"]) if e["partner"] == "FR"]
    assert [(e["category"], e["outcome"], e["status"]) for e in refused] == [
        ("dna_bulk", "refused", "PERMISSION_DENIED")]


def test_the_stream_deadline_ends_it_between_batches(cluster, tmp_path):
    _, settings = _nl(cluster, tmp_path)
    de = cluster.servers["DE"]
    batcher = de.node.desks["dna"].batcher
    real = batcher._search

    def slow(queries):
        threading.Event().wait(0.4)
        return real(queries)

    before = _last_sequence(de)
    batcher._search = slow
    try:
        with FanOut(settings) as fan_out:
            result, = fan_out.compare(cluster.stains[:25], batch_size=5, timeout=1.0,
                                      **sn.header_fields())
    finally:
        batcher._search = real
    assert result.status == "DEADLINE_EXCEEDED" and not result.ok
    assert 1 <= result.answered_batches <= 2 < result.batches
    threading.Event().wait(0.5)                   # the batch under way writes its entry
    entries = [e for e in _entries(de, before) if e["category"] == "dna_bulk"]
    assert [e["outcome"] for e in entries][:result.answered_batches] == \
        ["answered"] * result.answered_batches
    assert entries[-1]["outcome"] == "failed"
    assert entries[-1]["status"] in ("DEADLINE_EXCEEDED", "CANCELLED")


def test_a_write_to_an_ended_stream_reports_the_partners_status(cluster):
    import asyncio

    from matcher.service.client import _stream_failure

    async def expire() -> tuple[str, str]:
        cert_dir = cluster.certs
        credentials = grpc.ssl_channel_credentials(
            (cert_dir / "ca.pem").read_bytes(), (cert_dir / "NL.key").read_bytes(),
            (cert_dir / "NL.pem").read_bytes())
        async with grpc.aio.secure_channel(
                f"127.0.0.1:{cluster.servers['DE'].port}", credentials,
                options=[("grpc.ssl_target_name_override", "DE")]) as channel:
            call = dna_pb2_grpc.DnaServiceStub(channel).CompareDna(timeout=0.1)
            await asyncio.sleep(0.3)
            with pytest.raises(asyncio.InvalidStateError) as caught:
                await call.write(dna_pb2.CompareDnaRequest(header=sn.request_header()))
            failure = await _stream_failure("DE", call, caught.value)
            return failure.status, failure.message

    status, message = asyncio.run(expire())
    assert status == "DEADLINE_EXCEEDED" and "InvalidStateError" not in message


# ------------------------------------------------------------------ matcher query --nightly
def _query(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli_service.add_query_arguments(parser)
    return cli_service.run_query(parser.parse_args(argv))


def test_matcher_query_nightly_prints_hits_and_summaries(cluster, tmp_path, capsys):
    closed = f"127.0.0.1:{_closed_port()}"
    config, _ = _nl(cluster, tmp_path, extra={"FR": closed})
    with matcher.open_home(tmp_path / "nl-home", create=False) as home:
        home.dna.add(_planted(cluster.data["DE"]["dna"], 30, 4))
    who = ["--officer", sn.OFFICER, "--purpose", sn.PURPOSE]
    assert _query([str(config), "dna", "--nightly", "--partner", "DE", *who]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["query"] for line in lines[:-1]) == [f"NL-S-P{i:03d}"
                                                            for i in range(30, 34)]
    assert set(lines[0]) == {"partner", "query", "hits", "request_id", "answer_id",
                             "received_at", "answered_at"}
    summary = lines[-1]
    assert summary["summary"] == "nightly" and summary["ok"] and summary["recorded"]
    assert (summary["profiles"], summary["hits"], summary["kinds"]) == (4, 4, ["stain"])
    assert (tmp_path / "nl-home" / STATE_FILE).is_file()

    assert _query([str(config), "dna", "--nightly", *who]) == 1        # FR unreachable
    out = capsys.readouterr().out
    lines = {line["partner"]: line for line in map(json.loads, out.splitlines())}
    assert lines["DE"]["profiles"] == 0 and lines["DE"]["ok"]
    assert lines["FR"]["profiles"] == 4 and lines["FR"]["status"] == "UNAVAILABLE"
    assert not lines["FR"]["recorded"]

    assert _query([str(config), "dna", "--nightly", "--since", "0", "--kinds", "stain,person",
                   "--batch-size", "3", "--partner", "DE", *who]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["profiles"], summary["batches"]) == (4, 2)
    assert summary["kinds"] == ["person", "stain"]

    queries = tmp_path / "q.jsonl"                 # the classic form is unchanged
    queries.write_text(json.dumps(cluster.stains[0]) + "\n")
    assert _query([str(config), "dna", str(queries), "--partner", "DE", *who]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == cluster.stains[0]["reference"]

    for argv in (["dna", str(queries), "--nightly"], ["finger", "--nightly"], ["dna"],
                 ["dna", str(queries), "--since", "3"], ["dna", "--nightly", "--kinds", "car"],
                 ["dna", "--nightly", "--partner", "IT"], ["dna", "--nightly", "--since", "-1"]):
        assert _query([str(config), *argv, *who]) == 2, argv
    assert "QUERIES" in capsys.readouterr().err


def test_capabilities_report_the_bulk_budget(cluster, tmp_path):
    _, settings = _nl(cluster, tmp_path, partners=("BE",))
    with FanOut(settings) as fan_out:
        answer = fan_out.capabilities("BE", **sn.header_fields())
    dna, = [g for g in answer.grants if g.category == 1]
    used = cluster.servers["BE"].node.quotas.used_today("NL", "dna_bulk")
    assert (dna.bulk_daily_quota, dna.bulk_used_today) == (25, used)

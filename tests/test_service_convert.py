"""matcher.service.convert: JSON dicts <-> prum.v1 messages, round trips, rejections naming the
query and field, and answers that carry nothing of a query but its reference."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher._proto.prum.v1 import common_pb2, dna_pb2, finger_pb2, vehicle_pb2
from matcher.finger.synth import generate_masters, impression
from matcher.finger.templates import TemplateRecord, finger_to_json, write_template
from matcher.records import DuplicateKeys
from matcher.service import convert

TEXT = st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=64)
REFERENCE = TEXT.filter(str.isprintable)
ALLELE = st.text("0123456789.*OL", max_size=5)
INT = st.integers(0, 65535)
ESS7 = {"D3S1358": ["15", "16"], "vWA": ["17", "18"], "D8S1179": ["12", "13"],
        "D21S11": ["29", "30"], "D18S51": ["14", "15"], "TH01": ["6", "9.3"], "FGA": ["21", "22"]}


def _optional(key, values):
    return st.one_of(st.just({}), values.map(lambda v: {key: v}))


@st.composite
def dna_queries(draw):
    loci = draw(st.dictionaries(TEXT, st.one_of(st.lists(ALLELE, max_size=4),
                                                st.lists(ALLELE, max_size=4).map(",".join))))
    return {"reference": draw(REFERENCE), **draw(_optional("kind", st.sampled_from(
        ["person", "stain"]))), "loci": loci}


POINT = st.tuples(INT, INT, st.floats(0, 359.99), st.sampled_from(["ending", "bifurcation", "other"]),
                  st.integers(0, 100)).map(list)
MINUTIAE = st.builds(lambda w, h, dpi, points: {"width": w, "height": h, **dpi, "points": points},
                     INT, INT, _optional("resolution_dpi", st.integers(1, 65535)),
                     st.lists(POINT, max_size=5))
FINGER = st.builds(lambda position, data: {"position": position, **data}, st.integers(0, 10),
                   st.one_of(MINUTIAE.map(lambda m: {"minutiae": m}), st.binary(max_size=64).map(
                       lambda b: {"template": base64.b64encode(b).decode()})))
FINGER_QUERY = st.builds(lambda ref, kind, fingers: {"reference": ref, **kind, "fingers": fingers},
                         REFERENCE, _optional("kind", st.sampled_from(["person", "latent"])),
                         st.lists(FINGER, max_size=3))
VEHICLE_QUERY = st.builds(lambda ref, c, p, v, t: {"reference": ref, **c, **p, **v, **t}, REFERENCE,
                          _optional("country", TEXT), _optional("plate", TEXT),
                          _optional("vin", TEXT), _optional("tolerant", st.booleans()))

DNA_HIT = st.fixed_dictionaries({
    "reference": REFERENCE, "kind": st.sampled_from(["person", "stain"]),
    "quality": st.sampled_from(["FULL", "WILDCARD", "MICROVARIANT", "NEAR"]),
    "matching_loci": st.integers(0, 40), "compared_loci": st.integers(0, 40),
    "mismatches": st.integers(0, 20), "rmp": st.floats(1e-30, 1.0),
    "likelihood_ratio": st.floats(1.0, 1e30), "expected_adventitious": st.floats(0, 1e6),
    "rmp_loci": st.integers(0, 40)})
CANDIDATE = st.fixed_dictionaries({
    "reference": REFERENCE, "kind": st.sampled_from(["person", "latent"]),
    "position": st.integers(0, 10), "score": st.floats(0, 10), "hit": st.booleans()})
VEHICLE_HIT = st.fixed_dictionaries({"reference": REFERENCE, "matched_on": st.sampled_from(
    ["plate", "vin"]), "tolerant": st.booleans()})
ANSWERS = {
    "dna": st.builds(lambda q, hits: {"query": q, "hits": hits}, REFERENCE, st.lists(DNA_HIT, max_size=4)),
    "finger": st.builds(lambda q, cs: {"query": q, "hit": any(c["hit"] for c in cs), "candidates": cs},
                        REFERENCE, st.lists(CANDIDATE, max_size=4)),
    "vehicle": st.builds(lambda q, hits: {"query": q, "hits": hits}, REFERENCE,
                         st.lists(VEHICLE_HIT, max_size=4)),
}


def _canonical_dna(query):
    loci = {k: v.split(",") if isinstance(v, str) else v for k, v in query["loci"].items()}
    return {**query, "loci": loci}


def _canonical_vehicle(query):
    out = {k: v for k, v in query.items() if k != "tolerant" and v}
    return {**out, **({"tolerant": True} if query.get("tolerant") else {})}


@pytest.mark.parametrize("category, strategy, canonical", [
    ("dna", dna_queries(), _canonical_dna), ("finger", FINGER_QUERY, lambda q: q),
    ("vehicle", VEHICLE_QUERY, _canonical_vehicle)])
def test_queries_round_trip(category, strategy, canonical):
    @settings(max_examples=60, deadline=None)
    @given(st.lists(strategy, max_size=3))
    def check(queries):
        messages = convert.queries_to_proto(category, queries)
        back = convert.queries_from_proto(category, messages)
        assert back == [canonical(q) for q in queries]
        assert convert.queries_to_proto(category, back) == messages
    check()


def _strings(message: Message) -> list:
    """Every text and bytes value anywhere inside ``message``."""
    found = []
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, Message):
                found += _strings(item)
            elif isinstance(item, (str, bytes)):
                found.append(item)
    return found


@pytest.mark.parametrize("category", ["dna", "finger", "vehicle"])
def test_answers_round_trip_and_copy_only_references(category):
    @settings(max_examples=60, deadline=None)
    @given(ANSWERS[category], st.dictionaries(st.sampled_from(
        ["loci", "fingers", "template", "plate", "vin", "country", "line"]), TEXT, min_size=1))
    def check(answer, smuggled):
        message, = convert.answers_to_proto(category, [answer])
        assert convert.answers_from_proto(category, [message]) == [answer]
        items = answer.get("hits", answer.get("candidates"))
        assert message.hit == (answer["hit"] if category == "finger" else bool(items))
        # Query data a home answer might carry beside its fields never reaches the message.
        planted = {**smuggled, **answer}
        for item in items:
            item.update(smuggled)
        again, = convert.answers_to_proto(category, [planted])
        assert again == message
        assert set(_strings(again)) <= {answer["query"]} | {i["reference"] for i in items}
    check()


# --------------------------------------------------------------------- rejections


def test_bad_dict_queries_name_query_and_field():
    queries = [{"reference": "Q1", "loci": ESS7}, {"reference": "Q2", "loci": {"TH01": 6}},
               {"loci": ESS7}, ["not", "an", "object"],
               {"reference": "Q5", "loci": DuplicateKeys([("TH01", "6"), ("TH01", "7")])},
               {"reference": "Q6", "kind": "latent", "loci": ESS7}]
    with pytest.raises(convert.QueryRejected) as caught:
        convert.queries_to_proto("dna", queries)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.index, error.reference, error.field) == (1, "Q2", "loci.TH01")
    assert [(v.path, v.reference) for v in error.violations] == [
        ("queries[1].loci.TH01", "Q2"), ("queries[2].reference", None), ("queries[3]", None),
        ("queries[4].loci.TH01", "Q5"), ("queries[5].kind", "Q6")]
    finger = {"reference": "F", "fingers": [{"position": 1, "minutiae": {
        "width": 10, "height": 10, "points": [[1, 2, 3.0, "loop", 50]]}}]}
    with pytest.raises(convert.QueryRejected, match=r"queries\[0\]\.fingers\[0\]\.minutiae"
                                                     r"\.points\[0\]\.type"):
        convert.queries_to_proto("finger", [finger])
    with pytest.raises(convert.QueryRejected, match=r"queries\[0\]\.fingers\[0\]\.template"):
        convert.queries_to_proto("finger", [{"reference": "F", "fingers": [
            {"position": 1, "template": "not base64!"}]}])
    with pytest.raises(convert.QueryRejected, match=r"queries\[0\]\.tolerant"):
        convert.queries_to_proto("vehicle", [{"reference": "V", "vin": "X", "tolerant": "yes"}])


def test_bad_messages_name_query_and_field():
    dna = [dna_pb2.DnaQuery(reference="Q1"),
           dna_pb2.DnaQuery(reference="Q2", kind=common_pb2.RECORD_KIND_LATENT),
           dna_pb2.DnaQuery(kind=common_pb2.RECORD_KIND_STAIN), dna_pb2.DnaQuery(reference="Q\n4")]
    with pytest.raises(convert.QueryRejected) as caught:
        convert.queries_from_proto("dna", dna)
    assert [v.path for v in caught.value.violations] == [
        "queries[1].kind", "queries[2].reference", "queries[3].reference"]
    assert "RECORD_KIND_LATENT" in caught.value.violations[0].reason
    finger = finger_pb2.FingerQuery(reference="F", fingers=[
        finger_pb2.FingerImpression(position=2, template=b"\x00"),
        finger_pb2.FingerImpression(position=3),
        finger_pb2.FingerImpression(minutiae=finger_pb2.Minutiae(width=9, height=9, points=[
            finger_pb2.Minutia(x=1, y=1, type=finger_pb2.MINUTIA_TYPE_UNSPECIFIED)]))])
    with pytest.raises(convert.QueryRejected, match=r"^queries\[0\]\.fingers\[1\]: no data"):
        convert.queries_from_proto("finger", [finger])
    del finger.fingers[1]
    with pytest.raises(convert.QueryRejected) as caught:
        convert.queries_from_proto("finger", [finger])
    assert caught.value.violations[0].path == "queries[0].fingers[1].minutiae.points[0].type"


def test_home_error_answers_become_field_violations():
    answers = [{"query": "A", "hits": []},
               {"query": "B", "error": "loci.TH01: '9.35' is not an allele; loci: 1 fully "
                                       "designated loci, at least 6 required", "line": 2},
               {"query": None, "error": "record: expected a JSON object, got array"}]
    with pytest.raises(convert.QueryRejected) as caught:
        convert.answers_to_proto("dna", answers)
    assert [(v.path, v.reference, v.reason) for v in caught.value.violations] == [
        ("queries[1].loci.TH01", "B", "'9.35' is not an allele"),
        ("queries[1].loci", "B", "1 fully designated loci, at least 6 required"),
        ("queries[2]", None, "record: expected a JSON object, got array")]
    assert convert.error_violations(4, "V", "plate, vin: a query needs country + plate, or "
                                             "vin; tolerant: must be true or false") == [
        convert.FieldViolation(4, "V", "", "plate, vin: a query needs country + plate, or vin"),
        convert.FieldViolation(4, "V", "tolerant", "must be true or false")]
    with pytest.raises(convert.QueryRejected) as caught:
        convert.answers_to_proto("finger", [{"query": "F", "error":
                                             "fingers[0].minutiae.points[3].angle: 400 is out"}])
    assert caught.value.violations[0].path == \
        "queries[0].fingers[0].minutiae.points[3].angle_degrees"


# ------------------------------------------------------------------ printing answers


def test_response_to_json_adds_the_header_and_shows_unknown_values():
    header = common_pb2.AnswerHeader(request_id="r-1", answer_id="a-1", partner="NL")
    header.received_at.FromSeconds(1_700_000_000)
    response = dna_pb2.SearchDnaResponse(header=header, answers=[dna_pb2.DnaAnswer(
        query="Q", hit=True, hits=[dna_pb2.DnaHit(reference="NL-1", kind=2, quality=9)])])
    line, = convert.response_to_json("dna", response)
    assert list(line) == ["partner", "query", "hits", "request_id", "answer_id", "received_at",
                          "answered_at"]
    assert line["partner"] == "NL" and line["received_at"] == "2023-11-14T22:13:20Z"
    assert line["answered_at"] is None
    assert line["hits"][0]["quality"] == "unknown(9)" and line["hits"][0]["kind"] == "stain"
    request = convert.request_to_proto("vehicle", common_pb2.RequestHeader(request_id="r-1"),
                                       [{"reference": "V", "country": "NL", "plate": "AB-12"}])
    assert isinstance(request, vehicle_pb2.LookupVehicleRequest)
    assert request.header.request_id == "r-1" and request.queries[0].plate == "AB-12"


# ------------------------------------------------------------- through a real home


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    rng = np.random.default_rng(3)
    masters = list(generate_masters(4, seed=11))
    fingers = []
    for master in masters:
        finger = impression(master, rng, mode="rolled")
        finger.position = 2
        fingers.append(finger)
    path = tmp_path_factory.mktemp("convert") / "home"
    with matcher.open_home(path) as h:
        h.dna.add([{"reference": "NL-1", "kind": "person", "loci": ESS7},
                   {"reference": "NL-2", "kind": "stain", "loci": {**ESS7, "TH01": ["6", "10"]}}])
        h.vehicle.add([{"reference": "NL-V-1", "country": "NL", "plate": "AB-12-CD",
                        "vin": "WVWZZZ1JZXW000001"}])
        h.finger.add([{"reference": f"NL-F-{i}", "kind": "person",
                       "fingers": [finger_to_json(f)]} for i, f in enumerate(fingers)])
    probe = impression(masters[1], rng, mode="plain")
    probe.position = 2
    template = write_template(TemplateRecord("iso19794-2:2005", fingers=[probe], width=probe.width,
                                             height=probe.height))
    queries = {
        "dna": [{"reference": "Q-D1", "loci": ESS7}, {"reference": "Q-D2", "kind": "person",
                                                      "loci": {**ESS7, "TH01": "6,10"}}],
        "finger": [{"reference": "Q-F1", "fingers": [finger_to_json(probe)]},
                   {"reference": "Q-F2", "kind": "person", "fingers": [
                       {"position": 2, "template": base64.b64encode(template).decode()}]}],
        "vehicle": [{"reference": "Q-V1", "country": "nl", "plate": "ab 12 cd"},
                    {"reference": "Q-V2", "vin": "WVWZZZ1JZXW000001", "tolerant": True}],
    }
    with matcher.open_home(path) as h:
        yield h, queries


@pytest.mark.parametrize("category", ["dna", "finger", "vehicle"])
def test_through_the_wire_answers_equal_local_answers(home, category):
    h, queries = home
    search = getattr(h, category).search
    local = search(queries[category])
    wire = convert.queries_to_proto(category, queries[category])
    served = convert.answers_to_proto(category, search(convert.queries_from_proto(category, wire)))
    assert convert.answers_from_proto(category, served) == local
    assert all(a.hit for a in served)        # every query has its planted mate
    for query, answer in zip(queries[category], served):
        assert answer.query == query["reference"]
        stored = {r for r in _strings(answer) if r.startswith("NL-")}
        assert set(_strings(answer)) == {query["reference"]} | stored


def test_a_home_refusal_names_the_wire_field(home):
    h, _ = home
    wire = [dna_pb2.DnaQuery(reference="Q", loci={"TH01": dna_pb2.Alleles(values=["9.35"])})]
    answers = h.dna.search(convert.queries_from_proto("dna", wire))
    with pytest.raises(convert.QueryRejected) as caught:
        convert.answers_to_proto("dna", answers)
    assert [v.path for v in caught.value.violations][0] == "queries[0].loci.TH01"

"""Conversions between the JSON shapes of the CLI / home API and the ``prum.v1`` messages.

Per category (``dna``, ``finger``, ``vehicle``, the ``Home`` attribute names):

- ``queries_to_proto``: JSON query dicts -> query messages (client, before sending);
- ``queries_from_proto``: query messages -> the dicts ``home.<category>.search`` takes (server);
- ``answers_to_proto``: home answer dicts -> answer messages (server);
- ``answers_from_proto`` / ``response_to_json``: answer messages -> dicts of the local CLI's
  answer shape, the latter with the answer header's fields added (client, printing).

An answer message is built from the home answer's listed fields only, so nothing of the
query but its reference can reach the wire.  Finger templates are bytes on the wire and
base64 text in JSON.  Anything wrong with a query raises ``QueryRejected``, one
``FieldViolation`` per rejected query: its ``path`` (``queries[3].loci.TH01``) and ``reason``
make a google.rpc.BadRequest field violation.  A home answer carrying ``error`` is such a
rejection too (``error_violations`` maps a home error text to violations).  Any other
exception from ``answers_to_proto`` is a home answer of unexpected shape: a bug (INTERNAL),
never the caller's fault.

Bulk DNA comparison (``CompareDna``) batches reuse the DNA query and answer messages;
``compare_request_to_proto`` / ``compare_response_to_proto`` / ``compare_response_to_json``
wrap them per batch, and ``stored_dna_to_query`` turns a stored profile into a query dict
(the nightly delta).

This module is the public facade and the per-category dispatch; the work lives in private
modules: ``_convert_errors`` (rejections), ``_convert_common`` (query head, field readers,
enum names, answer header), one ``_convert_<category>`` per category and ``_convert_bulk``
(bulk DNA comparison batches).
"""

from __future__ import annotations

from collections.abc import Iterable

from matcher._proto.prum.v1 import common_pb2, dna_pb2, finger_pb2, vehicle_pb2
from matcher.service._convert_bulk import (BULK_KINDS, compare_budget_to_json,
                                           compare_request_to_proto, compare_response_to_json,
                                           compare_response_to_proto, stored_dna_to_query)
from matcher.service._convert_common import header_to_json
from matcher.service._convert_dna import (dna_answer_from_proto, dna_answer_to_proto,
                                          dna_query_from_proto, dna_query_to_proto)
from matcher.service._convert_errors import FieldViolation, QueryRejected, error_violations
from matcher.service._convert_errors import each as _each
from matcher.service._convert_finger import (finger_answer_from_proto, finger_answer_to_proto,
                                             finger_query_from_proto, finger_query_to_proto)
from matcher.service._convert_vehicle import (vehicle_answer_from_proto,
                                              vehicle_answer_to_proto,
                                              vehicle_query_from_proto, vehicle_query_to_proto)

__all__ = [
    "CATEGORY_ENUM", "REQUESTS", "RESPONSES", "FieldViolation", "QueryRejected",
    "queries_to_proto", "request_to_proto", "queries_from_proto", "answers_to_proto",
    "answers_from_proto", "error_violations", "header_to_json", "response_to_json",
    "dna_query_to_proto", "dna_query_from_proto", "dna_answer_to_proto", "dna_answer_from_proto",
    "finger_query_to_proto", "finger_query_from_proto", "finger_answer_to_proto",
    "finger_answer_from_proto", "vehicle_query_to_proto", "vehicle_query_from_proto",
    "vehicle_answer_to_proto", "vehicle_answer_from_proto",
    "BULK_KINDS", "compare_request_to_proto", "compare_response_to_proto",
    "compare_response_to_json", "compare_budget_to_json", "stored_dna_to_query",
]

CATEGORY_ENUM = {"dna": common_pb2.CATEGORY_DNA, "finger": common_pb2.CATEGORY_FINGER,
                 "vehicle": common_pb2.CATEGORY_VEHICLE}
REQUESTS = {"dna": dna_pb2.SearchDnaRequest, "finger": finger_pb2.SearchFingerRequest,
            "vehicle": vehicle_pb2.LookupVehicleRequest}
RESPONSES = {"dna": dna_pb2.SearchDnaResponse, "finger": finger_pb2.SearchFingerResponse,
             "vehicle": vehicle_pb2.LookupVehicleResponse}
#: Per category: query to proto, query from proto, answer to proto, answer from proto.
_CONVERT = {
    "dna": (dna_query_to_proto, dna_query_from_proto, dna_answer_to_proto, dna_answer_from_proto),
    "finger": (finger_query_to_proto, finger_query_from_proto, finger_answer_to_proto,
               finger_answer_from_proto),
    "vehicle": (vehicle_query_to_proto, vehicle_query_from_proto, vehicle_answer_to_proto,
                vehicle_answer_from_proto),
}


def queries_to_proto(category: str, queries: Iterable[object]) -> list:
    """Query messages of JSON query dicts; QueryRejected names every bad query."""
    return _each(queries, _CONVERT[category][0])


def request_to_proto(category: str, header: common_pb2.RequestHeader, queries: Iterable[object]):
    """The category's request message (``REQUESTS``) carrying ``header`` and ``queries``."""
    return REQUESTS[category](header=header, queries=queries_to_proto(category, queries))


def queries_from_proto(category: str, queries: Iterable) -> list[dict]:
    """The dicts ``home.<category>.search`` takes; QueryRejected names every bad query."""
    return _each(queries, _CONVERT[category][1])


def answers_to_proto(category: str, answers: Iterable[dict]) -> list:
    """Answer messages of home answers (same order); error answers raise QueryRejected."""
    out, violations = [], []
    for index, answer in enumerate(answers):
        if "error" in answer:
            violations += error_violations(index, answer.get("query"), answer["error"])
        else:
            out.append(_CONVERT[category][2](answer))
    if violations:
        raise QueryRejected(violations)
    return out


def answers_from_proto(category: str, answers: Iterable) -> list[dict]:
    """The local CLI's answer dicts of answer messages, same order."""
    return [_CONVERT[category][3](answer) for answer in answers]


def response_to_json(category: str, response) -> list[dict]:
    """One dict per answer: the answering ``partner``, the local CLI's answer fields, then
    the rest of the answer header (ids and timestamps)."""
    head = header_to_json(response.header)
    partner = {"partner": head.pop("partner")}
    return [{**partner, **answer, **head}
            for answer in answers_from_proto(category, response.answers)]

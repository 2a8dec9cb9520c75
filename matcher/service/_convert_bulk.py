"""Bulk DNA comparison (``CompareDna``): batch and answer messages, and a home's stored
profiles as the profiles of a nightly delta.

A batch carries ``DnaQuery`` messages and its answer ``DnaAnswer`` messages, the very
messages of ``SearchDna``, so a profile is converted and checked exactly as a single-search
query (``_convert_dna``) and answered in the same shape.  What is new here is the batch
around them: one ``CompareDnaRequest`` per batch with a header of its own, one
``CompareDnaResponse`` per batch with the caller's bulk budget (``dna_bulk`` quota).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from matcher._proto.prum.v1 import common_pb2, dna_pb2
from matcher.service._convert_common import header_to_json
from matcher.service._convert_dna import dna_answer_from_proto

#: The record kinds a bulk comparison may send (those of DNA queries).
BULK_KINDS = ("person", "stain")


def compare_request_to_proto(header: common_pb2.RequestHeader,
                             queries: Sequence[dna_pb2.DnaQuery]) -> dna_pb2.CompareDnaRequest:
    """One batch: ``header`` (with a request id of its own) and its profile messages."""
    return dna_pb2.CompareDnaRequest(header=header, queries=queries)


def compare_response_to_proto(header: common_pb2.AnswerHeader,
                              answers: Sequence[dna_pb2.DnaAnswer], *, daily_profile_quota: int,
                              profiles_used_today: int) -> dna_pb2.CompareDnaResponse:
    """The answer to one batch: its answer messages (``answers_to_proto('dna', ...)``, in
    batch order) and the caller's bulk budget after this batch."""
    return dna_pb2.CompareDnaResponse(header=header, answers=answers,
                                      daily_profile_quota=daily_profile_quota,
                                      profiles_used_today=profiles_used_today)


def compare_response_to_json(response: dna_pb2.CompareDnaResponse) -> list[dict]:
    """One dict per answer of a batch, the shape ``matcher query dna`` prints for SearchDna:
    ``partner``, the local CLI's answer fields, then the answer header's ids and times."""
    head = header_to_json(response.header)
    partner = {"partner": head.pop("partner")}
    return [{**partner, **dna_answer_from_proto(answer), **head} for answer in response.answers]


def compare_budget_to_json(response: dna_pb2.CompareDnaResponse) -> dict:
    """The caller's bulk budget as a batch's answer reports it."""
    return {"daily_profile_quota": response.daily_profile_quota,
            "profiles_used_today": response.profiles_used_today}


def stored_dna_to_query(reference: str, kind: str, body: str) -> dict:
    """The JSON query dict of a profile as the home's store keeps it (``body``: its loci as
    compact JSON of canonical designations, ``{"TH01": ["6", "9.3"], ...}``; wildcards ``*``,
    a mixture as its first allele plus a wildcard).  The partner normalises it as any query;
    ValueError naming the reference when the body is not a JSON object."""
    try:
        loci = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"stored DNA record {reference!r}: body is not JSON: {exc}") from None
    if not isinstance(loci, dict):
        raise ValueError(f"stored DNA record {reference!r}: body is not a JSON object of loci")
    return {"reference": reference, "kind": kind, "loci": loci}

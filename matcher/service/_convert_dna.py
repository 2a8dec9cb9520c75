"""DNA profile queries and answers: JSON dicts <-> ``prum.v1`` DnaQuery / DnaAnswer.

A query's loci map a locus name to its alleles, on the wire as ``Alleles.values`` and in
JSON as a list of strings or the Prüm spec's comma form ``"6,9.3"``.  An answer message
copies the listed hit fields of the home answer only (references, kind, match quality,
locus counts and the match statistics), never a stored profile.
"""

from __future__ import annotations

from matcher._proto.prum.v1 import dna_pb2
from matcher.service._convert_common import (KIND, answer_query, as_object, head_from_proto,
                                             head_to_proto, shown)
from matcher.service._convert_errors import BadField

#: Match quality names of the home's DNA answers -> wire enum.
QUALITY = {name: getattr(dna_pb2, f"DNA_MATCH_QUALITY_{name}")
           for name in ("FULL", "WILDCARD", "MICROVARIANT", "NEAR")}

#: Match statistics of a hit (``matcher.dna.statistics``), same names in JSON and proto.
STATISTICS = ("rmp", "likelihood_ratio", "expected_adventitious", "rmp_loci")


def dna_query_to_proto(raw: object) -> dna_pb2.DnaQuery:
    """The DnaQuery of one JSON query dict; BadField names the offending field."""
    data = as_object(raw)
    query = dna_pb2.DnaQuery(**head_to_proto(data, "dna"))
    loci = data.get("loci")
    if loci is None:
        raise BadField("loci", "missing")
    for name, value in as_object(loci, "loci").items():
        if isinstance(value, str):
            value = value.split(",")  # the spec's "6,9.3" form; the home trims and drops ""
        if not (isinstance(name, str) and isinstance(value, list)
                and all(isinstance(v, str) for v in value)):
            raise BadField(f"loci.{name}", "alleles must be a string or a list of strings")
        query.loci[name].values.extend(value)
    return query


def dna_query_from_proto(query: dna_pb2.DnaQuery) -> dict:
    """The dict ``home.dna.search`` takes for one DnaQuery."""
    out = head_from_proto(query, "dna")
    out["loci"] = {name: list(alleles.values) for name, alleles in query.loci.items()}
    return out


def dna_answer_to_proto(answer: dict) -> dna_pb2.DnaAnswer:
    """The DnaAnswer of one home answer (without ``error``)."""
    hits = [dna_pb2.DnaHit(reference=h["reference"], kind=KIND[h["kind"]],
                           quality=QUALITY[h["quality"]], matching_loci=h["matching_loci"],
                           compared_loci=h["compared_loci"], mismatches=h["mismatches"],
                           **{k: h[k] for k in STATISTICS if k in h})
            for h in answer["hits"]]
    return dna_pb2.DnaAnswer(query=answer_query(answer), hit=bool(hits), hits=hits)


def dna_answer_from_proto(answer: dna_pb2.DnaAnswer) -> dict:
    """The local CLI's answer dict of one DnaAnswer."""
    return {"query": answer.query, "hits": [
        {"reference": h.reference, "kind": shown(KIND, h.kind),
         "quality": shown(QUALITY, h.quality), "matching_loci": h.matching_loci,
         "compared_loci": h.compared_loci, "mismatches": h.mismatches,
         **{k: getattr(h, k) for k in STATISTICS}} for h in answer.hits]}

"""Search answers: one per query line, in query order, each hit with its match statistics.

An answer is ``{"query", "hits": [...]}`` for a query that was searched (plus
``"familial": [...]`` when asked for, filled by ``matcher.dna._familial_search``) or
``{"query", "error", "line"}`` for one that could not be read or was rejected.  Answers never
carry a stored profile: a hit names the stored record and gives counts and figures only.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from matcher.dna.formats import RawRecord
from matcher.dna.index import Comparisons, DnaIndex
from matcher.dna.kernels import QUALITY_NAMES
from matcher.dna.profile import Normaliser, Profile, ProfileRejected
from matcher.dna.statistics import MatchStatistics, hit_figures
from matcher.store import Store

#: A query that passed validation: (its position in the answer list, its profile).  Row ``i``
#: of the query codes and ``Comparisons.query == i`` refer to the ``i``-th of these.
Searched = tuple[int, Profile]


def open_answers(raws: Iterable[RawRecord], normaliser: Normaliser,
                 familial: bool) -> tuple[list[dict], list[Searched]]:
    """One answer per raw query, in order: an error answer for a query that cannot be read or
    is rejected, an empty answer (no hits yet) for the others, which are returned as the
    queries to search."""
    answers: list[dict] = []
    searched: list[Searched] = []
    for raw in raws:
        if raw.error is not None:
            answers.append({"query": raw.reference, "error": raw.error, "line": raw.line})
            continue
        try:
            profile = normaliser.normalise(raw.data, query=True)
        except ProfileRejected as exc:
            answers.append({"query": exc.reference, "error": "; ".join(exc.reasons),
                            "line": raw.line})
            continue
        searched.append((len(answers), profile))
        answer: dict = {"query": profile.reference, "hits": []}
        if familial:
            answer["familial"] = []
        answers.append(answer)
    return answers, searched


def attach_hits(answers: list[dict], searched: list[Searched], codes: np.ndarray,
                found: Comparisons, index: DnaIndex, store: Store,
                statistics: MatchStatistics) -> None:
    """Fill the ``"hits"`` of the searched queries' answers from the comparisons ``found``
    (``codes`` are the queries' allele codes).

    Hits are ordered best first: by match quality, then more matching loci, then reference,
    so equal inputs give equal answers.  Each hit carries the random match probability over
    its loci and the figures derived from it (``matcher.dna.statistics.hit_figures``), with
    every live profile counted as searched (every kind is compared)."""
    if len(found.row) == 0:
        return
    rowids = index.rowids[found.row]
    names = store.references(rowids.tolist())
    rmp, rmp_loci = statistics.random_match_probability(codes[found.query],
                                                        index.row_codes(found.row))
    searched_profiles = index.live
    per_query: dict[int, list] = {}
    for q, rowid, mismatches, matching, compared, quality, probability, loci in zip(
            found.query.tolist(), rowids.tolist(), found.mismatches.tolist(),
            found.matching_loci.tolist(), found.compared_loci.tolist(), found.quality.tolist(),
            rmp.tolist(), rmp_loci.tolist()):
        reference, kind = names[rowid]
        if reference == searched[q][1].reference:
            continue  # spec 5: a query is never compared with itself
        # sort key first: quality (0 = best), more matching loci, then reference
        per_query.setdefault(q, []).append(
            (quality, -matching, reference, kind, mismatches, compared, probability, loci))
    for q, hits in per_query.items():
        hits.sort()
        answers[searched[q][0]]["hits"] = [
            {"reference": reference, "kind": kind, "quality": QUALITY_NAMES[quality],
             "matching_loci": -negative_matching, "compared_loci": compared,
             "mismatches": mismatches, **hit_figures(probability, loci, searched_profiles)}
            for quality, negative_matching, reference, kind, mismatches, compared, probability,
            loci in hits
        ]


def pair_figures(statistics: MatchStatistics, query_codes: np.ndarray,
                 stored_codes: np.ndarray, searched_profiles: int) -> dict:
    """The match statistics of one hit (codes of shape (loci, 2) each), exactly as its search
    answer gives them."""
    rmp, loci = statistics.random_match_probability(query_codes[None], stored_codes[None])
    return hit_figures(float(rmp[0]), int(loci[0]), searched_profiles)

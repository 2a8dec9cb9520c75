"""The ``familial=True`` part of a DNA search: stored profiles that are no hit but may be
close relatives of the query.

A candidate is a stored profile whose sibling or parent-child kinship index against the query
reaches the home's ``familial_threshold`` (``matcher.dna.kinship``).  Direct hits are left
out (they are answered as hits), as is the query itself; each query lists at most
``familial_max_candidates``, strongest first.
"""

from __future__ import annotations

import numpy as np

from matcher.config import DnaSettings
from matcher.dna._answers import Searched
from matcher.dna.index import Comparisons, DnaIndex
from matcher.dna.kinship import KinshipSearch, candidate_fields, strongest_non_hits
from matcher.store import Store


def attach_familial(answers: list[dict], searched: list[Searched], codes: np.ndarray,
                    hits: Comparisons, kinship: KinshipSearch, index: DnaIndex, store: Store,
                    settings: DnaSettings) -> None:
    """Fill the ``"familial"`` list of each searched query's answer (``codes`` are the
    queries' allele codes, ``hits`` the direct hits, which are not repeated there)."""
    cap = settings.familial_max_candidates
    results = kinship.scan(index, codes, settings.familial_threshold)
    # one more than the cap: at most one candidate is the query itself, dropped below
    per_query = strongest_non_hits(results, hits.query, hits.row, cap + 1)
    rowids = index.rowids[results.row]
    names = store.references([int(rowids[i]) for kept in per_query.values() for i in kept])
    for q, kept in per_query.items():
        position, profile = searched[q]
        listed = answers[position]["familial"]
        for i in kept:
            reference, kind = names[int(rowids[i])]
            if reference != profile.reference and len(listed) < cap:
                listed.append({"reference": reference, "kind": kind,
                               **candidate_fields(results, i)})

"""The index layout of profiles: one row of allele codes per profile, one column per locus.

``DnaDatabase`` turns profiles into this layout in four places (loading stored records,
adding, searching, explaining); keeping it here means they cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from matcher.dna.profile import Normaliser, Profile
from matcher.store import StoredRecord

#: Allele codes are small integers (``matcher.dna.alleles``); int16 is what the index stores.
CODE_DTYPE = np.int16


def profile_codes(profiles: Sequence[Profile], column: Mapping[str, int]) -> np.ndarray:
    """Allele codes of ``profiles`` as an array (profiles, loci, 2): row ``i`` is profile
    ``i``, locus ``name`` is column ``column[name]``, a locus a profile lacks is all zeros."""
    codes = np.zeros((len(profiles), len(column), 2), CODE_DTYPE)
    for row, profile in zip(codes, profiles):
        for name, pair in profile.loci.items():
            row[column[name]] = pair
    return codes


def stored_profile(normaliser: Normaliser, record: StoredRecord) -> Profile:
    """The profile a stored record holds, rebuilt from its stored body.  The store only keeps
    bodies that already passed validation, so this is checked with the lighter stored rules."""
    return normaliser.normalise(
        {"reference": record.reference, "kind": record.kind, "loci": json.loads(record.body)},
        stored=True,
    )

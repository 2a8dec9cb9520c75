"""Bringing the in-memory index up to the store (the truth): after loading a snapshot, and
whenever another process committed writes this one has not seen.

The store numbers its commits by generation; replaying "after generation g" removes the rows
tombstoned or replaced since g and indexes the records written since g, so the index ends up
exactly as if it had been built from the store's current live records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from matcher.dna._profile_codes import profile_codes, stored_profile
from matcher.dna.index import KIND_CODES, DnaIndex
from matcher.dna.profile import Normaliser
from matcher.store import Store, StoredRecord

#: Stored records decoded per ``DnaIndex.add`` while replaying: few index appends (each may
#: grow the arrays), while the decoded batch stays a few MB.  Four times ``ADD_BATCH``.
REPLAY_BATCH = 20_000


def kind_codes(kinds: Iterable[str]) -> np.ndarray:
    """The index's kind code of each record kind (``"person"``, ``"stain"``)."""
    return np.array([KIND_CODES[kind] for kind in kinds], np.uint8)


def replay(store: Store, category: str, index: DnaIndex, generation: int,
           normaliser: Normaliser, column: Mapping[str, int]) -> int:
    """Bring ``index`` from the store's ``generation`` to its current state; returns the
    number of records (re)indexed."""
    index.remove_rowids(store.removed_rowids(category, after_generation=generation))
    count = 0
    batch: list[StoredRecord] = []
    for record in store.records(category, after_generation=generation):
        batch.append(record)
        if len(batch) >= REPLAY_BATCH:
            count += _index_stored(index, batch, normaliser, column)
            batch = []
    return count + _index_stored(index, batch, normaliser, column)


def _index_stored(index: DnaIndex, records: list[StoredRecord], normaliser: Normaliser,
                  column: Mapping[str, int]) -> int:
    if not records:
        return 0
    codes = profile_codes([stored_profile(normaliser, r) for r in records], column)
    index.add(np.array([r.rowid for r in records], np.int64), kind_codes(r.kind for r in records),
              codes)
    return len(records)

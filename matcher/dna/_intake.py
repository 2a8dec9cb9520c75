"""Reading records to add: valid profiles in batches, a rejection entry for every other line.

A rejection is ``{"line", "reference", "reasons": [...]}``: the line in the source (or the
position in the list given), the reference when it could be read, and every reason the record
was refused, so a user can fix them all in one pass.  It never holds the record's loci.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from matcher.dna.formats import RawRecord
from matcher.dna.profile import Normaliser, Profile, ProfileRejected
from matcher.records import valid_batches


def profile_batches(raws: Iterable[RawRecord], normaliser: Normaliser, batch_size: int,
                    rejected: list[dict]) -> Iterator[list[Profile]]:
    """The valid records of ``raws`` as profiles, in source order, in batches of
    ``batch_size`` (the last one may be shorter or empty); rejections are appended to
    ``rejected`` as they are met."""
    return valid_batches(raws, normaliser.normalise, ProfileRejected, batch_size, rejected)

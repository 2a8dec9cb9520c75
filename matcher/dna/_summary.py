"""What ``matcher dna stats`` reports about one home's DNA category: counts, locus
coverage, index memory and the matching settings in force.  Counts only, never a profile."""

from __future__ import annotations

from matcher.config import DnaSettings
from matcher.dna.index import REMOVED, DnaIndex
from matcher.store import Store


def summary(store: Store, category: str, mixture_flag: int, index: DnaIndex,
            settings: DnaSettings, generation: int) -> dict:
    """Counts from the store (profiles, persons, stains, mixtures flagged ``mixture_flag``,
    tombstones), per-locus coverage and memory from the index, and the settings that decide
    what is stored and what is a hit."""
    counts = store.counts(category)
    live = index.kinds[: index.n_rows] != REMOVED  # removed rows keep their slot
    present = (index.alleles[:, 1, : index.n_rows] != 0) & live
    coverage = {name: int(n) for name, n in zip(index.columns, present.sum(axis=1)) if n}
    persons, stains = counts.get("person", 0), counts.get("stain", 0)
    return {
        "profiles": persons + stains, "persons": persons, "stains": stains,
        "mixtures": store.count_flags(category, mixture_flag),
        "tombstones": counts["tombstones"], "generation": generation,
        "loci": coverage, "index_bytes": index.memory_bytes(),
        "index_bytes_per_profile": index.bytes_per_profile(),
        "settings": {"min_designated_loci": settings.min_designated_loci,
                     "min_matching_loci": settings.min_matching_loci,
                     "max_mismatches": settings.max_mismatches,
                     "min_ess7_loci_person": settings.min_ess7_loci_person},
    }

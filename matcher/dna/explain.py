"""The evidence behind one DNA comparison, locus by locus (style habit 10: every decision
can be explained).  Like answers, it names loci and classes only, never an allele value.

This is the spec-5 comparison written for people, not speed; a test checks that its totals
equal what the kernels decide for the same pair.
"""

from __future__ import annotations

from matcher.dna.alleles import WILDCARD
from matcher.dna.profile import Profile

_CLASSES = ("EXACT", "WILDCARD", "MICROVARIANT", "MISMATCH")


def _allele_class(u: int, v: int) -> str:
    if u == WILDCARD or v == WILDCARD:
        return "WILDCARD"
    if u == v:
        return "EXACT"
    return "MICROVARIANT" if abs(u - v) == 1 else "MISMATCH"


def _score(classes: list[str]) -> tuple[int, int, int]:
    return (classes.count("MISMATCH"), classes.count("MICROVARIANT"), classes.count("WILDCARD"))


def explain(query: Profile, stored: Profile, min_matching_loci: int, max_mismatches: int) -> dict:
    """Per compared locus: the used pairing's classes and whether the locus counts as
    matching; then the totals, hit and quality exactly as a search would report them."""
    loci = []
    mismatches = matching = 0
    used_classes: set[str] = set()
    for name, (a, b) in query.loci.items():
        if name not in stored.loci:
            continue
        c, d = stored.loci[name]
        straight = [_allele_class(a, c), _allele_class(b, d)]
        crossed = [_allele_class(a, d), _allele_class(b, c)]
        used = straight if _score(straight) <= _score(crossed) else crossed
        locus_mismatches = used.count("MISMATCH")
        counts = locus_mismatches == 0 and WILDCARD not in (a, b, c, d)
        mismatches += locus_mismatches
        matching += counts
        used_classes.update(used)
        loci.append({"locus": name, "classes": used, "matching": counts})
    hit = matching >= min_matching_loci and mismatches <= max_mismatches
    quality = None
    if hit:
        quality = ("NEAR" if mismatches else "MICROVARIANT" if "MICROVARIANT" in used_classes
                   else "WILDCARD" if "WILDCARD" in used_classes else "FULL")
    return {"query": query.reference, "reference": stored.reference, "hit": hit,
            "quality": quality, "matching_loci": matching, "compared_loci": len(loci),
            "mismatches": mismatches, "loci": loci}

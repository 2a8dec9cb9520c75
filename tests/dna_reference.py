"""Plain-Python reference of dna-matching.md sections 2, 3 and 5, written from the spec text
alone (no code shared with the engine) so the kernels can be checked against it."""

from __future__ import annotations

UNITS = {"Penta D": 5, "Penta E": 5, "CD4": 5, "D22S1045": 3}
NEVER = {"Amelogenin", "DYS391"}
EXACT, WILDCARD, MICROVARIANT, MISMATCH = "EXACT", "WILDCARD", "MICROVARIANT", "MISMATCH"
QUALITY_ORDER = ["FULL", "WILDCARD", "MICROVARIANT", "NEAR"]


def unit(locus: str) -> int:
    return UNITS.get(locus, 4)


def allele(text: str, r: int):
    """('wild',) or (N, d); raises ValueError for malformed numbers."""
    t = text.strip()
    if t.startswith(("+", "-")):
        raise ValueError(t)
    import re
    if t == "*":
        return ("wild",)
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        return ("wild",)
    if "." in t:
        n, d = t.split(".")
        if len(d) != 1 or not 2 <= int(n) <= 98 or not 1 <= int(d) <= r - 1:
            raise ValueError(t)
        return (int(n), int(d))
    n = int(t)
    if n in (0, 1, 99):
        return ("wild",)
    if 2 <= n <= 98:
        return (n, 0)
    raise ValueError(t)


def locus_pair(values, r: int):
    """Stored pair of a locus value, or None when absent (spec 3)."""
    texts = values.split(",") if isinstance(values, str) else list(values)
    texts = [t.strip() for t in texts if t.strip()]
    alleles = [allele(t, r) for t in texts]
    if not alleles:
        return None
    if len(alleles) >= 3:
        alleles = [alleles[0], ("wild",)]
    if len(alleles) == 1:
        alleles = alleles * 2
    if all(a == ("wild",) for a in alleles):
        return None
    return tuple(alleles)


def code(a, r):
    return r * a[0] + a[1]


def classify(u, v, r) -> str:
    if u == ("wild",) or v == ("wild",):
        return WILDCARD
    if u == v:
        return EXACT
    if abs(code(u, r) - code(v, r)) == 1 and (u[1] != 0 or v[1] != 0):
        return MICROVARIANT
    return MISMATCH


def triple(classes):
    return (classes.count(MISMATCH), classes.count(MICROVARIANT), classes.count(WILDCARD))


def compare_locus(stored, query, r):
    (a, b), (c, d) = query, stored
    p1 = [classify(c, a, r), classify(d, b, r)]
    p2 = [classify(c, b, r), classify(d, a, r)]
    return p1 if triple(p1) <= triple(p2) else p2


def compare(stored: dict, query: dict, min_matching=6, max_mismatches=1):
    """stored/query: {locus: value} with canonical locus names.  Returns
    (hit, quality, matching_loci, compared_loci, mismatches)."""
    mismatches = matching = compared = 0
    used = []
    for locus in stored:
        if locus in NEVER or locus not in query:
            continue
        r = unit(locus)
        s, q = locus_pair(stored[locus], r), locus_pair(query[locus], r)
        if s is None or q is None:
            continue
        compared += 1
        classes = compare_locus(s, q, r)
        used += classes
        mismatches += classes.count(MISMATCH)
        full = all(x != ("wild",) for x in s + q)
        if full and MISMATCH not in classes:
            matching += 1
    hit = matching >= min_matching and mismatches <= max_mismatches
    quality = None
    if hit:
        if mismatches >= 1:
            quality = "NEAR"
        elif MICROVARIANT in used:
            quality = "MICROVARIANT"
        elif WILDCARD in used:
            quality = "WILDCARD"
        else:
            quality = "FULL"
    return hit, quality, matching, compared, mismatches

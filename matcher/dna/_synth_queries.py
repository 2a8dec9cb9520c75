"""Query sets for a generated database: stains of stored persons, relatives, strangers.

The database is read once as a stream; only the person records sampled as sources are kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from matcher.dna._synth_chunk import SynthParameters, generate_chunk
from matcher.dna._synth_derived import cut_below_minimum, derived_query
from matcher.dna._synth_kits import allele_tables, resolve_kit_mix
from matcher.dna.frequencies import DEFAULT_POPULATION, POPULATIONS

#: Query relations to the database, person-derived first; ``unrelated`` takes the rest.
QUERY_RELATIONS = ("exact", "dropout", "typing_error", "parent_child", "sibling", "unrelated")
#: Person records read per batch while reservoir-sampling the sources: bounds the memory
#: held beyond the sample itself.
_SAMPLE_BATCH = 65_536


def generate_queries(database: Iterable[dict], count: int, *, seed: int = 0,
                     population: str = DEFAULT_POPULATION, prefix: str = "Q",
                     kit_mix: dict[str, float] | None = None, exact_fraction: float = 0.1,
                     dropout_fraction: float = 0.1, typing_error_fraction: float = 0.05,
                     relative_fraction: float = 0.1, below_minimum_fraction: float = 0.0,
                     male_fraction: float = 0.8, truth: bool = False) -> list[dict]:
    """``count`` query records (kind ``stain``, references ``{prefix}-000001`` …) in random order.

    ``database`` is any iterable of records (a list or a stream, read once).  Query kinds, as
    shares of ``count``; the rest are unrelated people typed like database stains, with
    ``kit_mix`` (kit → weight, None: the default mix) deciding their kits:

    - ``exact_fraction``: a stored person's profile as stored (a FULL hit, or WILDCARD when it
      holds an off-ladder allele).
    - ``dropout_fraction``: a stain of a stored person: some loci lost (≥ 6 designated kept)
      and allele drop-out.
    - ``typing_error_fraction``: a stored person with one allele shifted by ± one repeat or
      ± one base pair (a NEAR or MICROVARIANT hit).
    - ``relative_fraction``: a parent/child or full sibling (half each) of a stored person.
    - ``below_minimum_fraction``: share of person-derived queries cut to 2–5 designated loci
      (answered with an error, not searched).
    - ``male_fraction``: share of men among relatives and unrelated people.

    With ``truth=True`` each query carries ``truth``: ``relation`` (one of QUERY_RELATIONS) and
    ``of`` (the stored reference it derives from).  When the database holds no person every
    query is unrelated.  Raises ValueError for bad fractions or an unknown population.
    """
    fractions = [exact_fraction, dropout_fraction, typing_error_fraction,
                 relative_fraction / 2, relative_fraction / 2]
    if any(not 0.0 <= f <= 1.0 for f in fractions + [below_minimum_fraction]) or sum(fractions) > 1.0:
        raise ValueError(f"query fractions must be in [0, 1] and sum to at most 1, got {fractions}")
    if population not in POPULATIONS:
        raise ValueError(f"unknown population {population!r}; expected one of {', '.join(POPULATIONS)}")
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(count, fractions + [1.0 - sum(fractions)])
    sources = sample_persons(rng, database, int(counts[:-1].sum()))
    if not sources:
        counts = np.array([0] * (len(counts) - 1) + [count])
    queries: list[tuple[dict, dict]] = []
    for relation, stored in zip(np.repeat(QUERY_RELATIONS[:-1], counts[:-1]).tolist(), sources):
        loci = derived_query(rng, relation, stored, population, male_fraction)
        if rng.random() < below_minimum_fraction:
            loci = cut_below_minimum(rng, loci)
        queries.append((loci, {"relation": relation, "of": stored["reference"]}))
    strangers = SynthParameters(stain_fraction=1.0, planted_stain_fraction=0.0, male_fraction=male_fraction)
    unrelated = generate_chunk(rng, strangers, allele_tables(population), resolve_kit_mix(kit_mix),
                               1, int(counts[-1]))
    queries += [(record["loci"], {"relation": "unrelated"}) for record in unrelated]
    records = []
    for number, index in enumerate(rng.permutation(len(queries)).tolist(), 1):
        loci, relation = queries[index]
        record = {"reference": f"{prefix}-{number:06d}", "kind": "stain", "loci": loci}
        if truth:
            record["truth"] = relation
        records.append(record)
    return records


def sample_persons(rng: np.random.Generator, records: Iterable[dict], wanted: int) -> list[dict]:
    """``wanted`` person records drawn uniformly without replacement (with replacement when the
    database holds fewer), reading ``records`` once and keeping only ``wanted`` of them."""
    kept: list[dict] = []
    kept_keys = np.empty(0)
    batch: list[dict] = []

    def merge() -> None:
        nonlocal kept, kept_keys
        keys = np.concatenate([kept_keys, rng.random(len(batch))])
        pool = kept + batch
        order = np.argsort(keys, kind="stable")[:wanted]
        kept, kept_keys = [pool[i] for i in order], keys[order]
        batch.clear()

    for record in records:
        if record.get("kind") == "person":
            batch.append(record)
            if len(batch) >= _SAMPLE_BATCH:
                merge()
    merge()
    if kept and len(kept) < wanted:
        kept += [kept[i] for i in rng.integers(0, len(kept), size=wanted - len(kept))]
    return kept

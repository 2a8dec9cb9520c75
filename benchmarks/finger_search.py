"""Fingerprint identification on synthetic galleries: exhaustive MCC (the accuracy ceiling),
the embedding shortlist re-ranked by MCC (the search home.finger deploys) and NIST bozorth3
(the classic public matcher), on the same data, on one core.

    python benchmarks/finger_search.py                          # 10,000 fingers
    python benchmarks/finger_search.py --gallery 100000
    python benchmarks/finger_search.py --gallery 1000000 --probes 40 --no-bozorth

**Data** (``matcher.finger.synth``): one rolled impression per master finger in the
gallery; per probe kind (plain live scan, latent mark) ``--probes`` probes, half mated (a
fresh impression of a gallery master), half not (masters never enrolled).

**Measures** (one thread: NUMBA_NUM_THREADS=1, faiss.omp_set_num_threads(1)):

- rank-1 and open-set FNIR at FPIR = 1 % and 0.1 % (definitions in ``_finger_openset``),
  for exhaustive MCC and for the shortlist + MCC, plain and latent probes.  Above 100,000
  fingers exhaustive MCC runs on a few probes only (timing);
- milliseconds per search, wall clock, probe minutiae to ranked candidate list, and per
  stage (embedding, FAISS, probe cylinders, grouping the shortlist, MCC in place + ranking);
- the shortlist (``--index``; default ``sq8``, ``matcher.finger.shortlist.EmbeddingIndex``
  as home.finger uses it, ``flat`` and ``binary`` for comparison): index bytes per finger,
  the share of mates kept at penetration rates 0.1-10 % (all mates, and the mates exhaustive
  MCC ranks first), and accuracy of a shortlist of ``max(SHORTLIST_MIN, --penetration x
  gallery)`` fingers re-ranked by MCC, as ``FingerGallery.candidates`` sizes it;
- what home.finger's defaults (``FingerSettings``) cost: plain probes through the
  shortlist, latent marks scored exhaustively (``latent_shortlist_fraction`` = 1.0);
- bozorth3 on a gallery subset (``_finger_bozorth``), MCC on the same subset and probes.

Writes ``finger_det.png`` (FNIR against FPIR, log axes) and ``finger_penetration.png``
(share of mates kept against penetration rate) into ``--out-dir``.  The last line gives the
plain probes' figures of the shortlist + MCC and bozorth3's FNIR at FPIR 1 % on its subset
(``n/a`` when skipped):

    finger_search gallery=N rank1=R fnir_at_fpir1=F ms_per_search=M bozorth3_fnir_at_fpir1=B

Optional packages (the ``bench`` extra): ``pip install nbis-py==0.1.3 matplotlib``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":   # one core, as the targets are per core (not when imported by a test)
    os.environ["NUMBA_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]   # sibling modules, then this checkout's matcher

import numpy as np  # noqa: E402

from _finger_bozorth import SYSTEM as BOZORTH3  # noqa: E402
from _finger_bozorth import choose_bozorth_subset, load_nbis, run_bozorth  # noqa: E402
from _finger_index import INDEX_KINDS, ShortlistIndex  # noqa: E402
from _finger_openset import (PENETRATION_RATES, PROBE_KINDS, Outcome, balanced_sample,  # noqa: E402
                             fmt, print_accuracy, write_plots)
from matcher.config import FingerSettings  # noqa: E402
from matcher.finger import embedding, mcc, synth  # noqa: E402
from matcher.finger._gallery_segment import concat, gather  # noqa: E402
from matcher.finger.shortlist import SHORTLIST_MIN  # noqa: E402

#: home.finger's defaults: plain probes go through the shortlist, latent marks are scored
#: exhaustively (latent_shortlist_fraction = 1.0).
DEPLOYED = FingerSettings()
#: Candidates a search answers with (the finger setting ``max_candidates``' default).
MAX_CANDIDATES = DEPLOYED.max_candidates
#: Galleries are stored in packed chunks of this many fingers: no 2x copy at 1M fingers.
CHUNK_FINGERS = 20_000
#: Above this gallery size exhaustive MCC (seconds per probe at 1M) runs on a sample.
EXHAUSTIVE_ALL_PROBES_UP_TO = 100_000
EXHAUSTIVE_SAMPLE_PER_KIND = 5
INSTALL_HINT = "pip install nbis-py==0.1.3 matplotlib   (or pip install -e '.[bench]')"
#: Masters of this seed trained the embedding (fixtures/finger-embedding/README.md): never
#: search them.  Non-mated probes come from masters of seed + STRANGER_SEED_OFFSET.
EMBEDDING_TRAINING_SEED = 777
STRANGER_SEED_OFFSET = 7_919
EXHAUSTIVE = "exhaustive MCC"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ms(start: float) -> float:
    return 1e3 * (time.perf_counter() - start)


# -- data ---------------------------------------------------------------------------------

@dataclass
class Gallery:
    """Packed MCC cylinders of every enrolled finger, in chunks; the masters of mated probes
    and the fingers of the bozorth3 subset; build seconds per stage."""

    count: int
    chunks: list = field(default_factory=list)
    masters: dict = field(default_factory=dict)
    fingers: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    minutiae: list = field(default_factory=list)

    def score_all(self, probe: mcc.Cylinders) -> np.ndarray:
        if probe.count == 0:
            return np.zeros(self.count)
        return np.concatenate([mcc.similarity_one_to_many(probe, chunk) for chunk in self.chunks])

    def gather(self, ids: np.ndarray) -> tuple[mcc.PackedCylinders, np.ndarray]:
        """A copy of the cylinders of fingers ``ids`` packed together, and the ids in the
        packed order (for the bozorth3 subset, built once)."""
        groups = self.group(ids) or [ids[:0]]
        pieces = [gather(self.chunks[int(g[0]) // CHUNK_FINGERS if len(g) else 0],
                         g % CHUNK_FINGERS) for g in groups]
        return concat(pieces), np.concatenate(groups)

    def group(self, ids: np.ndarray) -> list[np.ndarray]:
        """Gallery fingers ``ids`` grouped by the chunk that holds them."""
        chunk_of = ids // CHUNK_FINGERS
        return [ids[chunk_of == number] for number in np.unique(chunk_of)]

    def score_groups(self, probe: mcc.Cylinders, groups: list[np.ndarray]):
        """(ids, MCC scores) of the probe against the grouped fingers, scored where their
        cylinders lie (``mcc.similarity_subset``, as home.finger does): nothing copied."""
        if not groups:
            return np.zeros(0, np.int64), np.zeros(0)
        if probe.count == 0:
            ids = np.concatenate(groups)
            return ids, np.zeros(len(ids))
        scores = [mcc.similarity_subset(probe, self.chunks[int(g[0]) // CHUNK_FINGERS],
                                        g % CHUNK_FINGERS) for g in groups]
        return np.concatenate(groups), np.concatenate(scores)


def build_gallery(count: int, seed: int, keep_masters: set, keep_fingers: set,
                  index: ShortlistIndex) -> Gallery:
    """Impressions, cylinders (packed per chunk) and embeddings added to ``index`` chunk by
    chunk, so no gallery-wide array of float vectors is ever held."""
    gallery = Gallery(count)
    seconds = dict.fromkeys(("impressions", "cylinders", "embeddings", "index"), 0.0)
    pending, pending_arrays = [], []
    clock = started = time.perf_counter()
    for number, (_, _, master, finger) in enumerate(synth.generate_gallery(count, seed=seed)):
        now = time.perf_counter()
        seconds["impressions"] += now - clock
        if number in keep_masters:
            gallery.masters[number] = master
        if number in keep_fingers:
            gallery.fingers[number] = finger
        gallery.minutiae.append(len(finger.minutiae))
        arrays = finger.arrays()
        pending.append(mcc.make_cylinders(arrays))
        pending_arrays.append(arrays)
        clock = time.perf_counter()
        seconds["cylinders"] += clock - now
        if len(pending) == CHUNK_FINGERS or number == count - 1:
            gallery.chunks.append(mcc.pack_cylinders(pending))
            now = time.perf_counter()
            seconds["cylinders"] += now - clock
            vectors = embedding.embed_many(pending_arrays)
            clock = time.perf_counter()
            seconds["embeddings"] += clock - now
            index.add(vectors)
            pending, pending_arrays = [], []
            now, clock = clock, time.perf_counter()
            seconds["index"] += clock - now
            log(f"  gallery {number + 1:,}/{count:,} fingers, {clock - started:,.0f} s")
    gallery.seconds = seconds
    return gallery


@dataclass
class Probes:
    kind: str
    fingers: list
    mate: np.ndarray    # gallery index of the mate, -1 for a non-mated probe


def choose_mates(count: int, per_kind: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(11,)))
    mated = min(per_kind // 2, count)
    return {kind: rng.choice(count, mated, replace=False) for kind in PROBE_KINDS}


def make_probes(gallery: Gallery, mates: dict[str, np.ndarray], per_kind: int, seed: int) -> dict:
    # A seed of its own (synth's streams are keyed by purpose): masters never enrolled.
    strangers = synth.generate_masters(2 * per_kind, seed=seed + STRANGER_SEED_OFFSET)
    probes = {}
    for number, kind in enumerate(PROBE_KINDS):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(12, number)))
        mated = [synth.impression(gallery.masters[int(i)], rng, mode=kind) for i in mates[kind]]
        others = [synth.impression(next(strangers), rng, mode=kind)
                  for _ in range(per_kind - len(mated))]
        probes[kind] = Probes(kind, mated + others, np.concatenate(
            [mates[kind], np.full(len(others), -1)]).astype(np.int64))
    return probes


# -- searches -----------------------------------------------------------------------------

def _answer(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The candidate list a search returns: the best MAX_CANDIDATES, best first."""
    if len(scores) > MAX_CANDIDATES:
        best = np.argpartition(-scores, MAX_CANDIDATES)[:MAX_CANDIDATES]
    else:
        best = np.arange(len(scores))
    return ids[best[np.argsort(-scores[best], kind="stable")]]


def _scores(cylinders: mcc.Cylinders, packed: mcc.PackedCylinders) -> np.ndarray:
    return mcc.similarity_one_to_many(cylinders, packed) if cylinders.count \
        else np.zeros(len(packed))


def score_packed(finger, packed_ids) -> tuple[np.ndarray, np.ndarray]:
    """(gallery ids, MCC scores) of a probe finger against (packed cylinders, their ids or
    None for 0..n-1)."""
    packed, ids = packed_ids
    scores = _scores(mcc.make_cylinders(finger.arrays()), packed)
    return (np.arange(len(packed)) if ids is None else ids), scores


def search_exhaustive(gallery: Gallery, probes: Probes, limit: int | None, outcome: Outcome,
                      mate_ranks_first: dict) -> np.ndarray:
    """MCC against every gallery finger per probe; milliseconds per probe of its stages:
    probe cylinders, MCC + ranking."""
    everyone = np.arange(gallery.count)
    stages = []
    for index in balanced_sample(probes.mate, limit):
        start = time.perf_counter()
        cylinders = mcc.make_cylinders(probes.fingers[index].arrays())
        described = time.perf_counter()
        scores = gallery.score_all(cylinders)
        _answer(everyone, scores)
        mate = int(probes.mate[index])
        outcome.add(mate, everyone, scores, _ms(start))
        stages.append((described - start, time.perf_counter() - described))
        if mate >= 0:
            best_other = np.delete(scores, mate).max()
            mate_ranks_first[(probes.kind, index)] = bool(scores[mate] > best_other)
    return 1e3 * np.array(stages).reshape(-1, 2)


def shortlist_size(penetration: float, count: int) -> int:
    """As ``FingerGallery.candidates`` sizes it: a share of the gallery, at least
    SHORTLIST_MIN (never more than the gallery)."""
    return min(count, max(SHORTLIST_MIN, math.ceil(penetration * count)))


def search_shortlist(gallery: Gallery, probes: Probes, index: ShortlistIndex, shortlist: int,
                     outcome: Outcome, mate_positions: list) -> np.ndarray:
    """The shortlist search per probe (timed), and where each mate sits in the embedding's
    ranking (untimed, one search as wide as the widest penetration rate).  Returns the
    milliseconds per probe of its stages: embedding, FAISS, probe cylinders, grouping the
    shortlist by gallery chunk, MCC (in place) + ranking."""
    widest = max(1, math.ceil(max(PENETRATION_RATES) * gallery.count))
    stages = []
    for number, finger in enumerate(probes.fingers):
        clock = [time.perf_counter()]
        arrays = finger.arrays()
        vector = embedding.embed(arrays, resolution_dpi=finger.resolution_dpi or 500)
        clock.append(time.perf_counter())
        ids = index.search(vector, shortlist)
        clock.append(time.perf_counter())
        cylinders = mcc.make_cylinders(arrays)
        clock.append(time.perf_counter())
        groups = gallery.group(ids)
        clock.append(time.perf_counter())
        order, scores = gallery.score_groups(cylinders, groups)
        _answer(order, scores)
        clock.append(time.perf_counter())
        mate = int(probes.mate[number])
        outcome.add(mate, order, scores, 1e3 * (clock[-1] - clock[0]))
        stages.append(np.diff(clock))
        if mate >= 0:
            found = np.flatnonzero(index.search(vector, widest) == mate)
            mate_positions.append((number, int(found[0]) if len(found) else gallery.count))
    return 1e3 * np.array(stages)


def run_shortlist(gallery: Gallery, probes: dict, index: ShortlistIndex, penetration: float,
                  mate_ranks_first: dict, outcomes: dict) -> dict:
    """Shortlist + MCC for every probe; prints the penetration table and the per-stage
    times; returns the penetration curves."""
    size = gallery.count
    shortlist = shortlist_size(penetration, size)
    print(f"\nshortlist: {index.description}, {embedding.EMBEDDING_DIM}-d embedding; index "
          f"{index.bytes_per_finger():,} bytes per finger; {shortlist:,} fingers shortlisted "
          f"({100 * shortlist / size:.3g} % of the gallery: --penetration "
          f"{100 * penetration:g} %, at least {SHORTLIST_MIN})")
    print(f"  {'share of mates kept at penetration rate':<50}"
          + "".join(f"{100 * r:>8.1f}%" for r in PENETRATION_RATES))
    curves, breakdown = {}, {}
    for kind in PROBE_KINDS:
        log(f"shortlist + MCC, {kind} probes ...")
        outcome, positions = Outcome(), []
        stages = search_shortlist(gallery, probes[kind], index, shortlist, outcome, positions)
        outcomes[(f"shortlist {shortlist:,} + MCC", kind)] = outcome
        embed_ms, faiss_ms, cylinder_ms, gather_ms, score_ms = stages.mean(axis=0)
        breakdown[kind] = (f"{kind} {outcome.mean_ms():.1f} = embedding {embed_ms:.1f} + FAISS "
                           f"{faiss_ms:.1f} + probe cylinders {cylinder_ms:.1f} + grouping "
                           f"{gather_ms:.1f} + MCC and ranking {score_ms:.1f}")
        for label, rows in (("mates exhaustive MCC ranks first",
                             [p for i, p in positions if mate_ranks_first.get((kind, i))]),
                            ("all mates", [p for _, p in positions])):
            shares = [float(np.mean(np.array(rows) < max(1, math.ceil(r * size))))
                      if rows else math.nan for r in PENETRATION_RATES]
            curves[f"{kind}: {label}"] = shares
            print(f"  {f'{kind}: {label} ({len(rows)})':<50}"
                  + "".join(f"{fmt(share):>9}" for share in shares))
    print("  ms per search, shortlist + MCC: " + "; ".join(breakdown.values()))
    return curves


def print_deployed(outcomes: dict, exhaustive_stages: dict, size: int) -> None:
    """What home.finger's defaults give and cost per probe kind, from the runs above."""
    print(f"\nhome.finger defaults (FingerSettings: shortlist_fraction "
          f"{DEPLOYED.shortlist_fraction:g}, latent_shortlist_fraction "
          f"{DEPLOYED.latent_shortlist_fraction:g}, exhaustive_below "
          f"{DEPLOYED.exhaustive_below:,}):")
    for kind in PROBE_KINDS:
        fraction = DEPLOYED.latent_shortlist_fraction if kind == "latent" \
            else DEPLOYED.shortlist_fraction
        exhaustive = fraction >= 1 or size <= DEPLOYED.exhaustive_below
        key = (EXHAUSTIVE, kind) if exhaustive else next(
            (k for k in outcomes if k[1] == kind and k[0].startswith("shortlist")), None)
        outcome = outcomes.get(key)
        if outcome is None or not outcome.ms:
            continue
        how = key[0]
        if exhaustive:
            cylinder_ms, score_ms = exhaustive_stages[kind].mean(axis=0)
            how += f" (probe cylinders {cylinder_ms:.1f} + MCC and ranking {score_ms:.1f} ms)"
        print(f"  {kind} probes -> {how}: rank-1 {fmt(outcome.rank1())}, FNIR@FPIR1% "
              f"{fmt(outcome.fnir_at(0.01)[0])}, FNIR@FPIR0.1% {fmt(outcome.fnir_at(0.001)[0])}, "
              f"{fmt(outcome.mean_ms(), 1)} ms per search ({len(outcome.ms)} searches)")


# -- main -----------------------------------------------------------------------------------

def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gallery", type=int, default=10_000, help="enrolled fingers")
    parser.add_argument("--probes", type=int, default=200,
                        help="probes per kind (plain, latent), half mated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=HERE / "out")
    parser.add_argument("--no-bozorth", action="store_true", help="skip the bozorth3 baseline")
    parser.add_argument("--bozorth-probes", type=int, default=100,
                        help="probes per kind compared by bozorth3 (a sample)")
    parser.add_argument("--bozorth-seconds", type=float, default=180.0,
                        help="time the bozorth3 stage may take; sizes its gallery subset")
    parser.add_argument("--bozorth-gallery", type=int, default=None,
                        help="gallery subset size for bozorth3 (default: from --bozorth-seconds "
                             "and a speed calibration, rounded down to hundreds)")
    parser.add_argument("--index", choices=INDEX_KINDS, default="sq8",
                        help="FAISS index of the shortlist: sq8 (deployed: "
                             "matcher.finger.shortlist.EmbeddingIndex), flat, binary")
    parser.add_argument("--penetration", type=float, default=DEPLOYED.shortlist_fraction,
                        help="shortlist size as a share of the gallery (at least "
                             f"{SHORTLIST_MIN} fingers, as deployed)")
    parser.add_argument("--exhaustive-probes", type=int, default=None,
                        help=f"probes per kind searched exhaustively (default: all up to "
                             f"{EXHAUSTIVE_ALL_PROBES_UP_TO:,} fingers, else "
                             f"{EXHAUSTIVE_SAMPLE_PER_KIND})")
    args = parser.parse_args(argv)
    if args.gallery < 2 or args.probes < 2 or not 0 < args.penetration <= 1:
        parser.error("--gallery and --probes must be at least 2, --penetration in (0, 1]")
    if EMBEDDING_TRAINING_SEED in (args.seed, args.seed + STRANGER_SEED_OFFSET):
        parser.error(f"--seed {args.seed} would search the embedding's training fingers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    size = args.gallery
    extractor = None if args.no_bozorth else load_nbis()
    if not args.no_bozorth and extractor is None:
        log(f"bozorth3 baseline skipped: nbis-py is not installed ({INSTALL_HINT})")
    try:
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        matplotlib = None
        log(f"plots skipped: matplotlib is not installed ({INSTALL_HINT})")

    mates = choose_mates(size, args.probes, args.seed)
    subset, rate = choose_bozorth_subset(extractor, args, mates) if extractor else (None, None)
    log(f"building a gallery of {size:,} rolled impressions ...")
    index = ShortlistIndex(args.index)
    gallery = build_gallery(size, args.seed, set(np.concatenate(list(mates.values())).tolist()),
                            set() if subset is None else set(subset.tolist()), index)
    probes = make_probes(gallery, mates, args.probes, args.seed)
    print(f"finger_search: gallery {size:,} rolled impressions ({np.mean(gallery.minutiae):.0f} "
          f"minutiae on average), {args.probes} plain + {args.probes} latent probes (half "
          f"mated), seed {args.seed}, one thread")
    print("  built in " + ", ".join(f"{name} {seconds:,.1f} s"
                                    for name, seconds in gallery.seconds.items()))

    outcomes, mate_ranks_first, exhaustive_stages = {}, {}, {}
    limit = args.exhaustive_probes
    if limit is None and size > EXHAUSTIVE_ALL_PROBES_UP_TO:
        limit = EXHAUSTIVE_SAMPLE_PER_KIND
    score_packed(probes["plain"].fingers[0], (gallery.chunks[0], None))   # JIT, not timed
    for kind in PROBE_KINDS:
        log(f"exhaustive MCC, {kind} probes ...")
        outcomes[(EXHAUSTIVE, kind)] = Outcome()
        exhaustive_stages[kind] = search_exhaustive(gallery, probes[kind], limit,
                                                    outcomes[(EXHAUSTIVE, kind)],
                                                    mate_ranks_first)
    kept = run_shortlist(gallery, probes, index, args.penetration, mate_ranks_first, outcomes)
    print_accuracy(f"identification on the whole gallery ({size:,} fingers)", outcomes)
    print_deployed(outcomes, exhaustive_stages, size)
    bozorth_outcomes = {}
    if extractor is not None:
        log(f"bozorth3 on a subset of {len(subset):,} fingers ...")
        bozorth_outcomes = run_bozorth(extractor, gallery, probes, subset,
                                       min(args.bozorth_probes, args.probes), rate, score_packed)
    print("  (* resolution-limited: fewer than 1/FPIR non-mated searches; FNIR at FPIR = 0 shown)")
    if matplotlib is not None:
        written = write_plots(args.out_dir, outcomes, bozorth_outcomes, subset, kept,
                              f"embedding shortlist, {index.description}")
        print(f"\nplots: {', '.join(map(str, written))}")

    deployed = outcomes[next(key for key in outcomes
                             if key[1] == "plain" and key[0].startswith("shortlist"))]
    baseline = bozorth_outcomes.get((BOZORTH3, "plain"))
    print(f"finger_search gallery={size} rank1={fmt(deployed.rank1(), 4)} "
          f"fnir_at_fpir1={fmt(deployed.fnir_at(0.01)[0], 4)} "
          f"ms_per_search={fmt(deployed.mean_ms(), 2)} "
          f"bozorth3_fnir_at_fpir1={fmt(baseline.fnir_at(0.01)[0], 4) if baseline else 'n/a'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fingerprint identification on synthetic galleries: exhaustive MCC (the accuracy ceiling),
the embedding shortlist re-ranked by MCC (the search we deploy) and NIST bozorth3 (the
classic public matcher), on the same data, on one core.

    python benchmarks/finger_search.py                          # 10,000 fingers, ~4 minutes
    python benchmarks/finger_search.py --gallery 100000         # ~25 minutes
    python benchmarks/finger_search.py --gallery 1000000 --probes 40 --no-bozorth

**Data** (``matcher.finger.synth``): one rolled impression per master finger in the
gallery; per probe kind (plain live scan, latent mark) ``--probes`` probes, half mated (a
fresh impression of a gallery master), half not (masters never enrolled).

**Measures** (one thread: NUMBA_NUM_THREADS=1, faiss.omp_set_num_threads(1)):

- rank-1 identification rate: share of mated searches whose mate scores strictly above
  every other gallery finger (a tie is a miss; no threshold);
- open-set FNIR at FPIR = 1 % and 0.1 %.  At a threshold t a *non-mated search* is a false
  positive when its top score is >= t; a mated search is a false negative unless its mate
  is ranked first (as above) with a score >= t.  t is the lowest threshold whose FPIR does
  not exceed the target.  Non-mated searches are the non-mated probes **plus every mated
  probe searched with its mate left out** (a search of the other N - 1 fingers), which
  doubles the impostor sample.  ``*`` marks a resolution-limited figure (fewer than
  1/FPIR non-mated searches: the FNIR at FPIR = 0 on that sample);
- milliseconds per search, wall clock, probe minutiae to ranked candidate list (probe
  cylinders; embedding and FAISS search when used; scoring; ranking);
- shortlist: the share of mates kept at penetration rates 0.1-10 % (among the mates that
  exhaustive MCC ranks first, and among all mates), index memory per finger, and rank-1 and
  FNIR of the shortlist (``--penetration``, 1 %) re-ranked by MCC.  The embedding is made
  for plain probes; its own docs send latent marks to exhaustive MCC;
- bozorth3 through PyPI ``nbis-py`` 0.1.3, called as ``notes/baselines.md`` asks (see
  ``_nbis_template``): templates loaded once, each sampled probe compared with each finger
  of a gallery subset (the mates of the sampled probes plus random others, as many as fit
  ``--bozorth-seconds``); MCC is scored on the same subset and probes and both speeds and
  their ratio are printed.  Probes under the wrapper's 15-minutia minimum score 0 and are
  counted.  Above 100,000 fingers exhaustive MCC runs on a few probes only (timing).

Writes ``finger_det.png`` (FNIR against FPIR, log axes) and ``finger_penetration.png``
(share of mates kept against penetration rate) into ``--out-dir``.  The last line gives the
plain probes' figures of the deployed path (shortlist + MCC when ``matcher.finger.embedding``
works, else exhaustive MCC) and bozorth3's FNIR at FPIR 1 % on its subset (``n/a`` when
skipped):

    finger_search gallery=N rank1=R fnir_at_fpir1=F ms_per_search=M bozorth3_fnir_at_fpir1=B

Optional packages (the ``bench`` extra): ``pip install nbis-py==0.1.3 matplotlib``.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":   # one core, as the targets are per core (not when imported by a test)
    os.environ["NUMBA_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from matcher.finger import mcc, synth  # noqa: E402

PENETRATION_RATES = (0.001, 0.003, 0.01, 0.03, 0.10)
#: Shortlist size of the deployed search, as a share of the gallery (issue 3 target: keep
#: >= 99.5 % of the mates exhaustive MCC ranks first at a penetration rate <= 1 %).
DEPLOYED_PENETRATION = 0.01
FPIR_TARGETS = (0.01, 0.001)
#: Candidates a search answers with (the finger setting ``max_candidates``' default).
MAX_CANDIDATES = 10
#: Galleries are stored in packed chunks of this many fingers: no 2x copy at 1M fingers.
CHUNK_FINGERS = 20_000
#: Above this gallery size exhaustive MCC (33 s per plain probe at 1M) runs on a sample.
EXHAUSTIVE_ALL_PROBES_UP_TO = 100_000
EXHAUSTIVE_SAMPLE_PER_KIND = 5
#: nbis-py 0.1.3 scores prints with fewer minutiae 0 (NIST bozorth3 itself: 10).
BOZORTH3_MIN_MINUTIAE = 15
ISO_ANGLE_UNIT_DEGREES = 360.0 / 256.0
ISO_TYPE_CODES = {"other": 0, "ending": 1, "bifurcation": 2}
INSTALL_HINT = "pip install nbis-py==0.1.3 matplotlib   (or pip install -e '.[bench]')"
PROBE_KINDS = ("plain", "latent")
#: Masters of this seed trained the embedding (fixtures/finger-embedding/README.md): never
#: search them.  Non-mated probes come from masters of seed + STRANGER_SEED_OFFSET.
EMBEDDING_TRAINING_SEED = 777
STRANGER_SEED_OFFSET = 7_919


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------

@dataclass
class Gallery:
    """Packed MCC cylinders of every enrolled finger, in chunks; embeddings when an
    embedding exists; the masters of mated probes and the fingers of the bozorth3 subset."""

    count: int
    chunks: list = field(default_factory=list)
    vectors: np.ndarray | None = None
    masters: dict = field(default_factory=dict)
    fingers: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    minutiae: list = field(default_factory=list)

    def score_all(self, probe: mcc.Cylinders) -> np.ndarray:
        if probe.count == 0:
            return np.zeros(self.count)
        return np.concatenate([mcc.similarity_one_to_many(probe, chunk) for chunk in self.chunks])

    def gather(self, ids: np.ndarray) -> tuple[mcc.PackedCylinders, np.ndarray]:
        """The cylinders of gallery fingers ``ids`` as one packed array, and the ids in the
        packed order (grouped by chunk)."""
        chunk_of = ids // CHUNK_FINGERS
        groups = [ids[chunk_of == number] for number in np.unique(chunk_of)] or [ids[:1]]
        pieces = [_rows(self.chunks[int(group[0]) // CHUNK_FINGERS if len(group) else 0],
                        group % CHUNK_FINGERS) for group in groups]
        return _concat(pieces), np.concatenate(groups)


def _rows(packed: mcc.PackedCylinders, local: np.ndarray) -> mcc.PackedCylinders:
    starts, ends = packed.offsets[local], packed.offsets[local + 1]
    counts = ends - starts
    offsets = np.zeros(len(local) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    return mcc.PackedCylinders(packed.bits[rows], packed.valid[rows], packed.x[rows],
                               packed.y[rows], packed.theta[rows], packed.minutia[rows], offsets,
                               packed.ns, packed.nd)


def _concat(pieces: list[mcc.PackedCylinders]) -> mcc.PackedCylinders:
    if len(pieces) == 1:
        return pieces[0]
    offsets = [pieces[0].offsets]
    for piece in pieces[1:]:
        offsets.append(piece.offsets[1:] + offsets[-1][-1])
    join = lambda name: np.concatenate([getattr(p, name) for p in pieces])  # noqa: E731
    return mcc.PackedCylinders(join("bits"), join("valid"), join("x"), join("y"), join("theta"),
                               join("minutia"), np.concatenate(offsets), pieces[0].ns, pieces[0].nd)


def build_gallery(count: int, seed: int, keep_masters: set, keep_fingers: set,
                  shortlister) -> Gallery:
    gallery = Gallery(count)
    seconds = dict.fromkeys(("impressions", "cylinders", "embeddings"), 0.0)
    pending, pending_arrays, vectors = [], [], []
    clock = time.perf_counter()
    started = clock
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
            if shortlister is not None:
                vectors.append(shortlister.embed(pending_arrays))
            pending, pending_arrays = [], []
            clock = time.perf_counter()
            seconds["embeddings"] += clock - now
            log(f"  gallery {number + 1:,}/{count:,} fingers, {clock - started:,.0f} s")
    if vectors:
        gallery.vectors = np.ascontiguousarray(np.concatenate(vectors))
    else:
        del seconds["embeddings"]
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


# -- open-set statistics ----------------------------------------------------------------------

@dataclass
class Outcome:
    """One system's searches of one probe kind: for mated probes the mate's score (-inf when
    not scored) and the best other score; for non-mated probes the top score; times."""

    mate_score: list = field(default_factory=list)
    best_other: list = field(default_factory=list)
    nonmated_top: list = field(default_factory=list)
    ms: list = field(default_factory=list)

    def add(self, mate: int, ids: np.ndarray, scores: np.ndarray, ms: float | None = None) -> None:
        if ms is not None:
            self.ms.append(ms)
        if mate < 0:
            self.nonmated_top.append(float(scores.max()) if len(scores) else -np.inf)
            return
        is_mate = ids == mate
        self.mate_score.append(float(scores[is_mate][0]) if is_mate.any() else -np.inf)
        others = scores[~is_mate]
        self.best_other.append(float(others.max()) if len(others) else -np.inf)

    def arrays(self):
        mate, other = np.array(self.mate_score), np.array(self.best_other)
        return mate, mate > other, np.concatenate([np.array(self.nonmated_top), other])

    def rank1(self) -> float:
        return float(np.mean(self.arrays()[1])) if self.mate_score else math.nan

    def fnir_at(self, fpir: float) -> tuple[float, bool]:
        """(FNIR, resolution-limited) at the lowest threshold whose FPIR is <= fpir."""
        mate, first, nonmated = self.arrays()
        if not len(mate) or not len(nonmated):
            return math.nan, True
        allowed = int(math.floor(fpir * len(nonmated) + 1e-9))
        ordered = np.sort(nonmated)[::-1]
        threshold = -np.inf if allowed >= len(ordered) else np.nextafter(ordered[allowed], np.inf)
        return float(np.mean(~(first & (mate >= threshold)))), len(nonmated) * fpir < 1

    def det(self) -> tuple[np.ndarray, np.ndarray]:
        """FPIR and FNIR at every threshold the non-mated searches define, FPIR descending."""
        mate, first, nonmated = self.arrays()
        finite = nonmated[np.isfinite(nonmated)]
        thresholds = np.unique(finite)
        if len(finite):   # and just above the highest: FPIR = 0
            thresholds = np.append(thresholds, np.nextafter(finite.max(), np.inf))
        fpir = np.array([np.mean(nonmated >= t) for t in thresholds])
        fnir = np.array([np.mean(~(first & (mate >= t))) for t in thresholds])
        return fpir, fnir

    def mean_ms(self) -> float:
        return float(np.mean(self.ms)) if self.ms else math.nan


# -- exhaustive MCC and the shortlist -------------------------------------------------------

def _ms(start: float) -> float:
    return 1e3 * (time.perf_counter() - start)


def _answer(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The candidate list a search returns: the best MAX_CANDIDATES, best first."""
    if len(scores) > MAX_CANDIDATES:
        best = np.argpartition(-scores, MAX_CANDIDATES)[:MAX_CANDIDATES]
    else:
        best = np.arange(len(scores))
    return ids[best[np.argsort(-scores[best], kind="stable")]]


def score_packed(finger, packed_ids) -> tuple[np.ndarray, np.ndarray]:
    """(gallery ids, MCC scores) of a probe finger against (packed cylinders, their ids or
    None for 0..n-1)."""
    packed, ids = packed_ids
    cylinders = mcc.make_cylinders(finger.arrays())
    scores = mcc.similarity_one_to_many(cylinders, packed) if cylinders.count \
        else np.zeros(len(packed))
    return (np.arange(len(packed)) if ids is None else ids), scores


def search_exhaustive(gallery: Gallery, probes: Probes, limit: int | None, outcome: Outcome,
                      mate_ranks_first: dict) -> None:
    everyone = np.arange(gallery.count)
    for index in _sample(probes, limit):
        start = time.perf_counter()
        cylinders = mcc.make_cylinders(probes.fingers[index].arrays())
        scores = gallery.score_all(cylinders)
        _answer(everyone, scores)
        mate = int(probes.mate[index])
        outcome.add(mate, everyone, scores, _ms(start))
        if mate >= 0:
            best_other = np.delete(scores, mate).max()
            mate_ranks_first[(probes.kind, index)] = bool(scores[mate] > best_other)


def _sample(probes: Probes, limit: int | None) -> list[int]:
    """All probes, or the first ``limit``, half mated and half not (mates were drawn at
    random, so the first ones are a random sample)."""
    if limit is None or limit >= len(probes.fingers):
        return list(range(len(probes.fingers)))
    mated = np.flatnonzero(probes.mate >= 0)[: (limit + 1) // 2]
    others = np.flatnonzero(probes.mate < 0)[: limit // 2]
    return sorted(np.concatenate([mated, others]).tolist())


def search_shortlist(gallery: Gallery, probes: Probes, shortlister, penetration: float,
                     outcome: Outcome, mate_positions: list) -> np.ndarray:
    """The deployed search per probe (timed), and where each mate sits in the embedding's
    ranking (untimed, one search as wide as the widest penetration rate).  Returns the
    milliseconds per probe of its stages: embedding + FAISS, gathering the shortlisted
    cylinders, MCC and ranking."""
    shortlist = max(1, math.ceil(penetration * gallery.count))
    widest = max(1, math.ceil(max(PENETRATION_RATES) * gallery.count))
    stages = []
    for index, finger in enumerate(probes.fingers):
        start = time.perf_counter()
        ids = shortlister.search(shortlister.embed([finger.arrays()]), shortlist)[0]
        searched = time.perf_counter()
        packed = gallery.gather(ids[ids >= 0])
        gathered = time.perf_counter()
        order, scores = score_packed(finger, packed)
        _answer(order, scores)
        mate = int(probes.mate[index])
        outcome.add(mate, order, scores, _ms(start))
        stages.append((searched - start, gathered - searched, time.perf_counter() - gathered))
        if mate >= 0:
            wide = shortlister.search(shortlister.embed([finger.arrays()]), widest)[0]
            found = np.flatnonzero(wide == mate)
            mate_positions.append((index, int(found[0]) if len(found) else gallery.count))
    return 1e3 * np.array(stages)


# -- embedding adapter ----------------------------------------------------------------------

def load_shortlister(index_kind: str):
    """The shortlist stage over ``matcher.finger.embedding``, or (None, why not)."""
    try:
        embedding = importlib.import_module("matcher.finger.embedding")
        from matcher.finger.model import MinutiaArrays
        probe = np.arange(8, dtype=np.float32) * 20
        embedding.embed_many([MinutiaArrays(probe, probe[::-1].copy(), probe / 100,
                                            np.ones(8, np.uint8), np.ones(8, np.uint8))])
    except ModuleNotFoundError as error:
        if error.name != "matcher.finger.embedding":
            raise
        return None, "matcher.finger.embedding does not exist yet: shortlist stage skipped"
    except (OSError, ValueError) as error:   # e.g. its learned projection not committed yet
        return None, (f"matcher.finger.embedding does not work yet ({error}): shortlist stage "
                      f"skipped")
    import faiss
    faiss.omp_set_num_threads(1)
    return Shortlister(embedding, faiss, index_kind), None


class Shortlister:
    """Embeddings (``embed_many``) in a FAISS index: the module's own ``build_index`` and
    ``search_index`` when it has them, else ``flat`` (exact inner product over the float
    vectors, the ranking the embedding is made for) or ``binary`` (exact Hamming over its
    ``binary_codes``, 32 bytes per finger)."""

    def __init__(self, module, faiss, kind: str):
        self.module, self.faiss, self.kind, self.index = module, faiss, kind, None
        self.own = hasattr(module, "build_index") and hasattr(module, "search_index")

    @property
    def description(self) -> str:
        name = type(self.index).__name__
        return f"embedding.build_index ({name})" if self.own else f"{name} ({self.kind})"

    def embed(self, arrays_list: list) -> np.ndarray:
        return self.module.embed_many(arrays_list)

    def build(self, vectors: np.ndarray) -> None:
        if self.own:
            self.index = self.module.build_index(vectors)
        elif self.kind == "binary":
            self.index = self.faiss.IndexBinaryFlat(self.module.BINARY_BITS)
            self.index.add(self.module.binary_codes(vectors))
        else:
            self.index = self.faiss.IndexFlatIP(vectors.shape[1])
            self.index.add(vectors)

    def search(self, vectors: np.ndarray, k: int) -> np.ndarray:
        if self.own:
            return np.asarray(self.module.search_index(self.index, vectors, k))
        if self.kind == "binary":
            return self.index.search(self.module.binary_codes(vectors), k)[1]
        return self.index.search(vectors, k)[1]

    def memory_bytes(self) -> int:
        index = getattr(self.index, "index", self.index)
        if isinstance(index, self.faiss.IndexBinary):
            return self.faiss.serialize_index_binary(index).size
        return self.faiss.serialize_index(index).size


# -- bozorth3 -------------------------------------------------------------------------------

def load_nbis():
    try:
        import nbis
    except ImportError:
        return None
    settings = nbis.NbisExtractorSettings(min_quality=0.0, get_center=False,
                                          check_fingerprint=False, compute_nfiq2=False, ppi=500.0)
    extractor = nbis.new_nbis_extractor(settings)
    _check_nbis_layout(extractor)
    return extractor


def _nbis_template(finger) -> bytes:
    """The bytes ``nbis-py`` 0.1.3 loads as an ISO/IEC 19794-2:2005 record.

    - Its reader (and its own writer, ``to_iso_19794_2_2005``) has a 2-byte finger-view
      header (position, minutia count) where ISO has 4; a standard record loses its
      minutiae, so the wrapper's layout is written (``_check_nbis_layout`` verifies it).
    - Minutiae sorted by x, then by NIST's y (origin bottom-left: height - y), as NIST's
      loader sorts them and bozorth3's pair loop assumes (notes/baselines.md).
    - Positions stay in the ISO frame (origin top-left, angles counter-clockwise): the
      wrapper converts; reflecting y and the angles ourselves gave the same scores, either
      one alone destroyed them.  Angles go in ISO units (1.40625 degrees); the wrapper
      re-quantises them to 11.25 degrees whatever we do.
    """
    rows = sorted(((m.x, m.y, int(round(m.angle / ISO_ANGLE_UNIT_DEGREES)) % 256,
                    ISO_TYPE_CODES[m.type], m.quality) for m in finger.minutiae),
                  key=lambda row: (row[0], finger.height - row[1]))
    body = b"".join(struct.pack(">HHBB", (kind << 14) | x, y, angle, quality)
                    for x, y, angle, kind, quality in rows)
    ppcm = round(finger.resolution_dpi / 2.54)
    header = b"FMR\0 20\0" + struct.pack(">IHHHHHBB", 26 + len(body), 0, finger.width,
                                         finger.height, ppcm, ppcm, 1, 0)
    return header + struct.pack(">BB", finger.position, len(rows)) + body


def _check_nbis_layout(extractor) -> None:
    from matcher.finger.model import Finger, Minutia
    minutiae = [Minutia(10 + 9 * i, 300 - 7 * i, 90.0, "ending", 60) for i in range(20)]
    finger = Finger(minutiae=minutiae, width=500, height=500)
    loaded = extractor.load_iso_19794_2_2005(_nbis_template(finger)).get()
    if len(loaded) != 20 or (loaded[0].x(), loaded[0].y()) != (10, 300):
        raise RuntimeError("nbis-py reads templates differently from the 0.1.3 layout this "
                           "benchmark writes: check _nbis_template against the installed version")


def bozorth_rate(extractor, seed: int) -> float:
    """Comparisons per second of plain and latent probes against rolled prints (a few
    hundred comparisons on fingers outside the benchmark), to size the gallery subset."""
    masters = list(synth.generate_masters(20, seed=seed + 104_729))
    rng = np.random.default_rng(seed)
    load = lambda master, mode: extractor.load_iso_19794_2_2005(  # noqa: E731
        _nbis_template(synth.impression(master, rng, mode=mode)))
    gallery = [load(master, "rolled") for master in masters]
    probes = [load(master, kind) for master in masters[:8] for kind in PROBE_KINDS]
    probes[0].compare(gallery[0])      # the first call pays a one-time set-up
    start = time.perf_counter()
    for probe in probes:
        for item in gallery:
            probe.compare(item)
    return len(probes) * len(gallery) / (time.perf_counter() - start)


def search_bozorth(extractor, gallery: Gallery, subset: np.ndarray, probes: Probes,
                   chosen: list[int], outcome: Outcome) -> tuple[int, int, float]:
    """(comparisons, probes under the wrapper's minimum, seconds)."""
    templates = [extractor.load_iso_19794_2_2005(_nbis_template(gallery.fingers[int(i)]))
                 for i in subset]
    below, total = 0, 0.0
    for index in chosen:
        finger = probes.fingers[index]
        below += len(finger.minutiae) < BOZORTH3_MIN_MINUTIAE
        start = time.perf_counter()
        probe = extractor.load_iso_19794_2_2005(_nbis_template(finger))
        scores = np.array([probe.compare(item) for item in templates], np.float64)
        spent = time.perf_counter() - start
        total += spent
        outcome.add(int(probes.mate[index]), subset, scores, 1e3 * spent)
    return len(chosen) * len(subset), below, total


# -- report ---------------------------------------------------------------------------------

def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def print_accuracy(title: str, outcomes: dict) -> None:
    print(f"\n{title}")
    print(f"  {'system':<34} {'probes':>6} {'mated':>6} {'non-mated searches':>18} {'rank-1':>7} "
          f"{'FNIR@FPIR1%':>12} {'FNIR@FPIR0.1%':>14} {'ms/search':>10}")
    for (system, kind), outcome in outcomes.items():
        nonmated = outcome.arrays()[2]
        cells = []
        for fpir in FPIR_TARGETS:
            fnir, limited = outcome.fnir_at(fpir)
            cells.append(fmt(fnir) + ("*" if limited else " "))
        probes = len(outcome.mate_score) + len(outcome.nonmated_top)
        print(f"  {system + ' / ' + kind:<34} {probes:>6} {len(outcome.mate_score):>6} "
              f"{len(nonmated):>18} {fmt(outcome.rank1()):>7} {cells[0]:>12} {cells[1]:>14} "
              f"{fmt(outcome.mean_ms(), 1):>10}")


def plot_det(path: Path, curves: dict) -> None:
    """FNIR against FPIR per probe kind.  Log axes have no 0: a rate of 0 is drawn on the
    panel's bottom (left) edge, half the finest resolution of its samples."""
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    colours = {system: f"C{n}" for n, system in enumerate(sorted({s for s, _ in curves}))}
    for axis, kind in zip(axes, PROBE_KINDS):
        shown = {system: outcome for (system, curve_kind), outcome in curves.items()
                 if curve_kind == kind and outcome.mate_score}
        floor = 0.5 / max([len(o.arrays()[2]) for o in shown.values()]
                          + [len(o.mate_score) for o in shown.values()] + [2])
        for system, outcome in shown.items():
            fpir, fnir = outcome.det()
            order = np.argsort(fpir)
            axis.plot(np.maximum(fpir[order], floor), np.maximum(fnir[order], floor),
                      drawstyle="steps-post", color=colours[system], label=system)
        axis.set(xscale="log", yscale="log", title=f"{kind} probes", xlabel="FPIR",
                 xlim=(floor * 0.8, 1.05), ylim=(floor * 0.8, 1.05))
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    axes[0].set_ylabel("FNIR")
    figure.suptitle("finger_search DET (a rate of 0 is drawn on the panel's edge)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_penetration(path: Path, kept: dict) -> None:
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(6.5, 4.6))
    for label, shares in kept.items():
        axis.plot([100 * r for r in PENETRATION_RATES], shares, marker="o", label=label)
    axis.axhline(0.995, color="grey", linestyle=":", label="target 99.5 %")
    axis.set(xscale="log", xlabel="penetration rate (share of the gallery shortlisted)",
             ylabel="share of mates kept", title="embedding shortlist")
    axis.set_xticks([100 * r for r in PENETRATION_RATES],
                    [f"{100 * r:g} %" for r in PENETRATION_RATES])
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- stages -----------------------------------------------------------------------------------

def choose_bozorth_subset(extractor, args, mates: dict) -> tuple[np.ndarray, float]:
    """Every mate of the probes bozorth3 compares, plus random others up to the size that
    fits ``--bozorth-seconds`` (or ``--bozorth-gallery``); and the calibrated speed."""
    per_kind = min(args.bozorth_probes, args.probes)
    rate = bozorth_rate(extractor, args.seed)
    needed = np.unique(np.concatenate([m[: (per_kind + 1) // 2] for m in mates.values()]))
    fitted = args.bozorth_gallery or 100 * int(args.bozorth_seconds * rate / (2 * per_kind) / 100)
    size = int(min(args.gallery, max(len(needed), fitted)))
    rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(13,)))
    fill = rng.choice(np.setdiff1d(np.arange(args.gallery), needed), size - len(needed),
                      replace=False)
    return np.sort(np.concatenate([needed, fill])).astype(np.int64), rate


def run_shortlist(gallery: Gallery, probes: dict, shortlister, penetration: float,
                  mate_ranks_first: dict, outcomes: dict) -> dict:
    """Shortlist + MCC for every probe; prints the penetration table; returns its curves."""
    size = gallery.count
    start = time.perf_counter()
    shortlister.build(gallery.vectors)
    built = time.perf_counter() - start
    print(f"\nshortlist: {shortlister.description}; {gallery.vectors.shape[1]}-d embedding; index "
          f"{shortlister.memory_bytes() / size:,.0f} bytes per finger; built in {built:,.1f} s "
          f"after {gallery.seconds['embeddings']:,.1f} s embedding the gallery")
    print(f"  {'share of mates kept at penetration rate':<50}"
          + "".join(f"{100 * r:>8.1f}%" for r in PENETRATION_RATES))
    curves, breakdown = {}, {}
    for kind in PROBE_KINDS:
        log(f"shortlist + MCC, {kind} probes ...")
        outcome, positions = Outcome(), []
        stages = search_shortlist(gallery, probes[kind], shortlister, penetration, outcome,
                                  positions)
        outcomes[(f"shortlist {100 * penetration:g}% + MCC", kind)] = outcome
        embed_ms, gather_ms, score_ms = stages.mean(axis=0)
        breakdown[kind] = (f"{kind} {outcome.mean_ms():.1f} = embedding + FAISS {embed_ms:.1f} "
                           f"+ gathering cylinders {gather_ms:.1f} + MCC {score_ms:.1f}")
        for label, rows in (("mates exhaustive MCC ranks first",
                             [p for i, p in positions if mate_ranks_first.get((kind, i))]),
                            ("all mates", [p for _, p in positions])):
            shares = [float(np.mean(np.array(rows) < max(1, math.ceil(r * size))))
                      if rows else math.nan for r in PENETRATION_RATES]
            curves[f"{kind}: {label}"] = shares
            print(f"  {f'{kind}: {label} ({len(rows)})':<50}"
                  + "".join(f"{fmt(share):>9}" for share in shares))
    shortlisted = max(1, math.ceil(penetration * size))
    print(f"  ms per search, shortlist of {shortlisted:,} ({100 * penetration:g} %): "
          + "; ".join(breakdown.values()))
    return curves


def run_bozorth(extractor, gallery: Gallery, probes: dict, subset: np.ndarray, per_kind: int,
                rate: float) -> dict:
    """bozorth3 and MCC on the same subset and probe sample; prints both and their ratio."""
    log(f"bozorth3 on a subset of {len(subset):,} fingers ...")
    outcomes, comparisons, seconds, ours_seconds, below = {}, 0, 0.0, 0.0, []
    packed = gallery.gather(subset)
    for kind in PROBE_KINDS:
        chosen = _sample(probes[kind], per_kind)
        ours, theirs = Outcome(), Outcome()
        for index in chosen:
            start = time.perf_counter()
            order, scores = score_packed(probes[kind].fingers[index], packed)
            ours.add(int(probes[kind].mate[index]), order, scores, _ms(start))
        done, under, spent = search_bozorth(extractor, gallery, subset, probes[kind], chosen,
                                            theirs)
        comparisons, seconds = comparisons + done, seconds + spent
        below.append((kind, under, len(chosen)))
        ours_seconds += sum(ours.ms) / 1e3
        outcomes[("exhaustive MCC", kind)], outcomes[("bozorth3 (nbis-py)", kind)] = ours, theirs
    print_accuracy(f"on the bozorth3 subset: {len(subset):,} of the {gallery.count:,} fingers "
                   f"(every mate of the sampled probes plus random others), {per_kind} probes "
                   f"per kind", outcomes)
    ours_rate, theirs_rate = comparisons / ours_seconds, comparisons / seconds
    print(f"  comparisons per second on one thread: MCC {ours_rate:,.0f}, bozorth3 "
          f"{theirs_rate:,.0f} (calibration {rate:,.0f}); ratio {ours_rate / theirs_rate:,.1f}x")
    print(f"  probes under bozorth3's {BOZORTH3_MIN_MINUTIAE}-minutia minimum (scored 0): "
          + ", ".join(f"{kind} {under} of {count}" for kind, under, count in below))
    return outcomes


def write_plots(out_dir: Path, outcomes: dict, bozorth_outcomes: dict, subset, kept: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    curves = dict(outcomes)
    curves.update({(f"{system}, subset of {len(subset):,}", kind): outcome
                   for (system, kind), outcome in bozorth_outcomes.items()})
    plot_det(out_dir / "finger_det.png", curves)
    written = [out_dir / "finger_det.png"]
    if kept:
        plot_penetration(out_dir / "finger_penetration.png", kept)
        written.append(out_dir / "finger_penetration.png")
    print(f"\nplots: {', '.join(map(str, written))}"
          + ("" if kept else " (no penetration plot: no embedding)"))


# -- main -----------------------------------------------------------------------------------

def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gallery", type=int, default=10_000, help="enrolled fingers")
    parser.add_argument("--probes", type=int, default=200,
                        help="probes per kind (plain, latent), half mated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--no-bozorth", action="store_true", help="skip the bozorth3 baseline")
    parser.add_argument("--bozorth-probes", type=int, default=100,
                        help="probes per kind compared by bozorth3 (a sample)")
    parser.add_argument("--bozorth-seconds", type=float, default=180.0,
                        help="time the bozorth3 stage may take; sizes its gallery subset")
    parser.add_argument("--bozorth-gallery", type=int, default=None,
                        help="gallery subset size for bozorth3 (default: from --bozorth-seconds "
                             "and a speed calibration, rounded down to hundreds)")
    parser.add_argument("--index", choices=("flat", "binary"), default="flat",
                        help="FAISS index over the embeddings when matcher.finger.embedding "
                             "recommends none (build_index/search_index)")
    parser.add_argument("--penetration", type=float, default=DEPLOYED_PENETRATION,
                        help="shortlist size of the deployed search, share of the gallery")
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
    shortlister, missing = load_shortlister(args.index)
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
    gallery = build_gallery(size, args.seed, set(np.concatenate(list(mates.values())).tolist()),
                            set() if subset is None else set(subset.tolist()), shortlister)
    probes = make_probes(gallery, mates, args.probes, args.seed)
    print(f"finger_search: gallery {size:,} rolled impressions ({np.mean(gallery.minutiae):.0f} "
          f"minutiae on average), {args.probes} plain + {args.probes} latent probes (half "
          f"mated), seed {args.seed}, one thread")
    print("  built in " + ", ".join(f"{name} {seconds:,.1f} s"
                                    for name, seconds in gallery.seconds.items()))

    outcomes, mate_ranks_first = {}, {}
    limit = args.exhaustive_probes
    if limit is None and size > EXHAUSTIVE_ALL_PROBES_UP_TO:
        limit = EXHAUSTIVE_SAMPLE_PER_KIND
    score_packed(probes["plain"].fingers[0], (gallery.chunks[0], None))   # JIT, not timed
    for kind in PROBE_KINDS:
        log(f"exhaustive MCC, {kind} probes ...")
        outcomes[("exhaustive MCC", kind)] = Outcome()
        search_exhaustive(gallery, probes[kind], limit, outcomes[("exhaustive MCC", kind)],
                          mate_ranks_first)
    if shortlister is not None:
        kept = run_shortlist(gallery, probes, shortlister, args.penetration, mate_ranks_first,
                             outcomes)
    else:
        kept = {}
        print(f"\nshortlist: {missing}")
    print_accuracy(f"identification on the whole gallery ({size:,} fingers)", outcomes)
    bozorth_outcomes = {} if extractor is None else run_bozorth(
        extractor, gallery, probes, subset, min(args.bozorth_probes, args.probes), rate)
    print("  (* resolution-limited: fewer than 1/FPIR non-mated searches; FNIR at FPIR = 0 shown)")
    if matplotlib is not None:
        write_plots(args.out_dir, outcomes, bozorth_outcomes, subset, kept)

    deployed = outcomes[next(key for key in outcomes if key[1] == "plain"
                             and key[0].startswith("shortlist"))] if kept else \
        outcomes[("exhaustive MCC", "plain")]
    baseline = bozorth_outcomes.get(("bozorth3 (nbis-py)", "plain"))
    print(f"finger_search gallery={size} rank1={fmt(deployed.rank1(), 4)} "
          f"fnir_at_fpir1={fmt(deployed.fnir_at(0.01)[0], 4)} "
          f"ms_per_search={fmt(deployed.mean_ms(), 2)} "
          f"bozorth3_fnir_at_fpir1={fmt(baseline.fnir_at(0.01)[0], 4) if baseline else 'n/a'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

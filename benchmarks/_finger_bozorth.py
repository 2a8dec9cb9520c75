"""The bozorth3 baseline of ``finger_search.py``: NIST's classic public minutiae matcher
through PyPI ``nbis-py`` 0.1.3, called as ``notes/baselines.md`` asks (``_nbis_template``).

bozorth3 manages a few hundred comparisons per second, so it cannot search the whole
gallery: it compares a sample of probes with a *subset* of the gallery (every mate of the
sampled probes plus random others, as many as fit ``--bozorth-seconds``), templates loaded
once.  Exhaustive MCC is scored on the same subset and probes, and both speeds and their
ratio are printed.  Probes under the wrapper's 15-minutia minimum score 0 and are counted.
"""

from __future__ import annotations

import struct
import time

import numpy as np

from _finger_openset import PROBE_KINDS, Outcome, balanced_sample, print_accuracy
from matcher.finger import synth

#: nbis-py 0.1.3 scores prints with fewer minutiae 0 (NIST bozorth3 itself: 10).
BOZORTH3_MIN_MINUTIAE = 15
ISO_ANGLE_UNIT_DEGREES = 360.0 / 256.0
ISO_TYPE_CODES = {"other": 0, "ending": 1, "bifurcation": 2}
#: Masters for the speed calibration: a seed offset no benchmark gallery or probe uses.
CALIBRATION_SEED_OFFSET = 104_729
SYSTEM = "bozorth3 (nbis-py)"


def load_nbis():
    """An nbis-py extractor whose template layout was checked, or None when not installed."""
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
    masters = list(synth.generate_masters(20, seed=seed + CALIBRATION_SEED_OFFSET))
    rng = np.random.default_rng(seed)

    def load(master, mode):
        return extractor.load_iso_19794_2_2005(
            _nbis_template(synth.impression(master, rng, mode=mode)))

    gallery = [load(master, "rolled") for master in masters]
    probes = [load(master, kind) for master in masters[:8] for kind in PROBE_KINDS]
    probes[0].compare(gallery[0])      # the first call pays a one-time set-up
    start = time.perf_counter()
    for probe in probes:
        for item in gallery:
            probe.compare(item)
    return len(probes) * len(gallery) / (time.perf_counter() - start)


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


def search_bozorth(extractor, gallery, subset: np.ndarray, probes, chosen: list[int],
                   outcome: Outcome) -> tuple[int, int, float]:
    """bozorth3 compares each chosen probe with every finger of ``subset``; returns
    (comparisons, probes under the wrapper's minimum, seconds)."""
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


def run_bozorth(extractor, gallery, probes: dict, subset: np.ndarray, per_kind: int,
                rate: float, score_mcc) -> dict:
    """bozorth3 and MCC on the same subset and probe sample; prints both and their ratio.
    ``score_mcc(finger, (packed, ids))`` is the benchmark's exhaustive MCC scorer,
    returning (ids, scores)."""
    outcomes, comparisons, seconds, ours_seconds, below = {}, 0, 0.0, 0.0, []
    packed = gallery.gather(subset)
    for kind in PROBE_KINDS:
        chosen = balanced_sample(probes[kind].mate, per_kind)
        ours, theirs = Outcome(), Outcome()
        for index in chosen:
            start = time.perf_counter()
            order, scores = score_mcc(probes[kind].fingers[index], packed)
            ours.add(int(probes[kind].mate[index]), order, scores,
                     1e3 * (time.perf_counter() - start))
        done, under, spent = search_bozorth(extractor, gallery, subset, probes[kind], chosen,
                                            theirs)
        comparisons, seconds = comparisons + done, seconds + spent
        below.append((kind, under, len(chosen)))
        ours_seconds += sum(ours.ms) / 1e3
        outcomes[("exhaustive MCC", kind)], outcomes[(SYSTEM, kind)] = ours, theirs
    print_accuracy(f"on the bozorth3 subset: {len(subset):,} of the {gallery.count:,} fingers "
                   f"(every mate of the sampled probes plus random others), {per_kind} probes "
                   f"per kind", outcomes)
    ours_rate, theirs_rate = comparisons / ours_seconds, comparisons / seconds
    print(f"  comparisons per second on one thread: MCC {ours_rate:,.0f}, bozorth3 "
          f"{theirs_rate:,.0f} (calibration {rate:,.0f}); ratio {ours_rate / theirs_rate:,.1f}x")
    print(f"  probes under bozorth3's {BOZORTH3_MIN_MINUTIAE}-minutia minimum (scored 0): "
          + ", ".join(f"{kind} {under} of {count}" for kind, under, count in below))
    return outcomes

"""MCC comparison speed on one core, and the impostor calibration behind DECISION_THRESHOLD.

    python benchmarks/mcc_speed.py --gallery 2000 --probes 20
    python benchmarks/mcc_speed.py --calibrate --fingers 500

Speed: synthetic plain impressions (``matcher.finger.synth``: 35-60 minutiae, ~47 on
average) are turned into cylinders once; each probe is then scored against the whole
gallery in one ``similarity_one_to_many`` call, for NS = 16 and NS = 8, LSS-R and LSS,
on one thread (``NUMBA_NUM_THREADS=1``).  Each probe's search runs ``--repeats`` times
and keeps its fastest wall time (other processes on the machine only ever slow a run
down); the figure is the median over the probes, with the CPU time of the thread beside
it.  Prints comparisons per second against the 100,000/s target and against NIST
bozorth3's figure from ``notes/baselines.md`` (nbis-py, ~60-minutia prints, probe prepared
once: ~3,400/s; not measured here, as ``nbis-py`` is not a project dependency:
``benchmarks/finger_search.py`` runs it).

Measured (2 vCPUs, other work running beside), median / best probe:
NS = 8 LSS-R ~105,000 / ~130,000, LSS ~250,000 / ~300,000; NS = 16 LSS-R ~60,000, LSS
~95,000.  Before the kernels were reworked: NS = 8 LSS-R ~42,000, LSS ~82,000; NS = 16
LSS-R ~37,000, LSS ~70,000.

Calibration (``--calibrate``): every impostor pair among N fingers for several capture
modes; prints the LSS-R score exceeded by 1 %, 0.1 % and 0.01 % of impostor pairs and the
share of mated pairs below each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from matcher.finger import mcc, synth  # noqa: E402

TARGET_PER_SECOND = 100_000
#: notes/baselines.md: nbis-py bozorth3, ~60-minutia prints, probe prepared once.
BOZORTH3_NOTED_PER_SECOND = 3_400


def impressions(count: int, seed: int, mode: str):
    rng = np.random.default_rng(seed)
    masters = list(synth.generate_masters(count, seed=seed))
    return masters, [synth.impression(m, rng, mode=mode) for m in masters]


def timed(search, repeats: int) -> tuple[float, float]:
    """Fastest wall time and fastest thread CPU time of ``repeats`` runs of ``search``."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.thread_time()
        search()
        wall = min(wall, time.perf_counter() - start_wall)
        cpu = min(cpu, time.thread_time() - start_cpu)
    return wall, cpu


def speed(args) -> None:
    masters, gallery_fingers = impressions(args.gallery, args.seed, "plain")
    rng = np.random.default_rng(args.seed + 1)
    probe_fingers = [synth.impression(masters[i], rng, mode="plain") for i in range(args.probes)]
    sizes = [len(f.minutiae) for f in gallery_fingers]
    print(f"gallery {args.gallery} plain impressions, {np.mean(sizes):.1f} minutiae on average "
          f"({min(sizes)}-{max(sizes)}); {args.probes} probes, fastest of {args.repeats} runs "
          f"each; one thread")
    figures = {}
    for name, params in (("NS=16", mcc.MCC16), ("NS=8", mcc.MCC8)):
        gallery = mcc.pack_cylinders([mcc.make_cylinders(f.arrays(), params)
                                      for f in gallery_fingers])
        probes = [mcc.make_cylinders(f.arrays(), params) for f in probe_fingers]
        for relaxation in (True, False):
            mcc.similarity_one_to_many(probes[0], gallery, params, relaxation=relaxation)
            walls, cpus = zip(*(timed(lambda: mcc.similarity_one_to_many(
                probe, gallery, params, relaxation=relaxation), args.repeats)
                for probe in probes))
            rates = len(gallery) / np.array(walls)
            label = f"{name} {'LSS-R' if relaxation else 'LSS  '}"
            figures[label] = float(np.median(rates))
            print(f"  {label}: {np.median(rates):>9,.0f} comparisons/s median, "
                  f"{max(rates):>9,.0f} best, {len(gallery) / np.median(cpus):>9,.0f} by CPU "
                  f"time  ({np.median(rates) / TARGET_PER_SECOND:.2f} of the 100,000/s target)")
    baseline = BOZORTH3_NOTED_PER_SECOND
    default = f"NS={mcc.DEFAULT_PARAMETERS.ns} LSS-R"
    print(f"  bozorth3: {baseline:,.0f} comparisons/s (notes/baselines.md, not measured here)")
    print(f"mcc_speed default={default!r} per_second={figures[default]:.0f} "
          f"target={TARGET_PER_SECOND} ratio_to_target={figures[default] / TARGET_PER_SECOND:.2f} "
          f"bozorth3_per_second={baseline:.0f} ratio_to_bozorth3={figures[default] / baseline:.1f}")


def calibrate(args) -> None:
    params = mcc.DEFAULT_PARAMETERS
    print(f"NS={params.ns}; every impostor pair among {args.fingers} fingers per mode")
    for probe_mode, gallery_mode in (("plain", "plain"), ("plain", "rolled"),
                                     ("rolled", "rolled"), ("latent", "rolled")):
        masters, gallery_fingers = impressions(args.fingers, args.seed, gallery_mode)
        rng = np.random.default_rng(args.seed + 7)
        probes = [mcc.make_cylinders(synth.impression(m, rng, mode=probe_mode).arrays(), params)
                  for m in masters]
        gallery = mcc.pack_cylinders([mcc.make_cylinders(f.arrays(), params)
                                      for f in gallery_fingers])
        scores = np.array([mcc.similarity_one_to_many(p, gallery, params) for p in probes])
        mated = np.diag(scores)
        impostor = scores[~np.eye(len(scores), dtype=bool)]
        cells = []
        for rate in (1e-2, 1e-3, 1e-4):
            threshold = float(np.quantile(impostor, 1 - rate))
            cells.append(f"FPIR {rate:g}: {threshold:.4f} (FNMR {np.mean(mated < threshold):.3f})")
        print(f"  {probe_mode:>6} vs {gallery_mode:<6} impostor pairs {impostor.size:,}, median "
              f"{np.median(impostor):.4f}; mated median {np.median(mated):.3f}; "
              + "; ".join(cells))
        print(f"           at DECISION_THRESHOLD {mcc.DECISION_THRESHOLD}: impostor pairs at or "
              f"above {np.mean(impostor >= mcc.DECISION_THRESHOLD):.5f}, mated pairs below "
              f"{np.mean(mated < mcc.DECISION_THRESHOLD):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gallery", type=int, default=2000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each probe's search; the fastest counts")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--fingers", type=int, default=500)
    args = parser.parse_args()
    calibrate(args) if args.calibrate else speed(args)


if __name__ == "__main__":
    main()

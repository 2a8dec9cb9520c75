"""Synthetic fingers for tests, benchmarks and the demo: master fingers and their impressions.

A *master* is a whole finger: a pattern class drawn with its natural frequency (loops 65 %,
whorls 28 %, arches 7 %), an orientation field from the Sherlock–Monro zero-pole model
(cores and deltas) with a smooth random perturbation, a finger-shaped foreground of
~400 × 500 px at 500 dpi, and 72–120 minutiae (~0.23/mm² on average, ~0.35/mm² around the
core, ~0.15/mm² right at it, ~0.1/mm² at the rim) at least one ridge period (9 px) apart,
each pointing along the ridge flow, 55 % ridge endings.

An *impression* is what a capture plus an extractor make of it (``_synth_params`` and
``_synth_modes`` hold every number with its reason):

| mode   | window    | minutiae | rotation            | missing  | spurious | noise σ (px, °) | type flips |
|--------|-----------|----------|---------------------|----------|----------|-----------------|------------|
| rolled | 500 × 500 | 60–100   | N(0, 5°), ≤ 15°     | 10–25 %  | 5–15 %   | 2–3, 5–8        | 10–15 %    |
| plain  | 416 × 416 | 35–60    | N(0, 12°), ≤ 30°    | 10–25 %  | 5–15 %   | 2–4, 5–10       | 10–20 %    |
| latent | 500 × 500 | 15–30    | N(0, 20°), ≤ 45°    | 20–35 %  | 15–30 %  | 3–5, 8–15       | 15–30 %    |

plus translation, Cappelli–Maio–Maltoni skin distortion (rigid contact disc, elastic band
around it), partial overlap (a plain print covers ~40 % of the rolled area, a latent mark a
small patch anywhere) and qualities 20–100.  Every impression is valid for the binary
formats: integer coordinates inside the window, angles in [0, 360), ≤ 255 minutiae.

Everything is deterministic for a seed; galleries stream (nothing holds the whole gallery).
Speed on one core: ~20,000 masters/s, ~6,500 masters + rolled impressions/s, ~8,000 with
plain impressions.

    >>> rng = np.random.default_rng(7)
    >>> master = generate_master(rng)
    >>> finger = impression(master, rng, mode="plain")
    >>> finger.position = 2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator

import numpy as np

from matcher.finger._synth_impression import impression_with_truth
from matcher.finger._synth_master import MasterFinger, generate_master
from matcher.finger._synth_modes import MODES
from matcher.finger._synth_params import PATTERN_FREQUENCIES, PATTERNS
from matcher.finger._synth_records import (
    _GALLERY_MASTERS, Probe, check_gallery_arguments, gallery_records, gallery_stream,
    probe_list, probe_record, stream, write_jsonl,
)
from matcher.finger._synth_warp import ImpressionTruth
from matcher.finger.model import Finger

__all__ = [
    "PATTERNS", "PATTERN_FREQUENCIES", "MODES", "MasterFinger", "ImpressionTruth", "Probe",
    "generate_master", "generate_masters", "impression", "impression_with_truth",
    "generate_gallery", "generate_probes", "gallery_records", "probe_record", "write_jsonl",
    "synth_main",
]


def generate_masters(count: int, *, seed: int = 0) -> Iterator[MasterFinger]:
    """Stream ``count`` masters: exactly the masters ``generate_gallery`` with this seed
    impresses, in its order (finger by finger), whatever its mode."""
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    rng = stream(seed, _GALLERY_MASTERS)
    return (generate_master(rng) for _ in range(count))


def impression(master: MasterFinger, rng: np.random.Generator, *, mode: str = "plain",
               width: int | None = None, height: int | None = None,
               resolution_dpi: int = 500) -> Finger:
    """One impression of ``master`` drawn from ``rng``; ``Finger.position`` is left 0 for the
    caller to set.

    - ``mode``: ``rolled`` (tenprint card, nail to nail), ``plain`` (flat live scan) or
      ``latent`` (a crime-scene mark: a small partial area, 15-30 minutiae, more noise).
    - ``width``, ``height``: image window in pixels at ``resolution_dpi``; None takes the
      mode's window (rolled and latent 500 × 500, plain 416 × 416 at 500 dpi, the FBI
      single-finger plain size), scaled to the resolution.  Minutiae outside are lost.
    - ``resolution_dpi``: output resolution; masters are drawn at 500 dpi, the resolution
      of tenprint and Prüm exchanges, and every length scales by resolution_dpi / 500.
    """
    return impression_with_truth(master, rng, mode=mode, width=width, height=height,
                                 resolution_dpi=resolution_dpi)[0]


def generate_gallery(count: int, *, seed: int = 0, mode: str = "rolled", fingers_per_record: int = 1,
                     prefix: str = "DE", resolution_dpi: int = 500,
                     ) -> Iterator[tuple[str, int, MasterFinger, Finger]]:
    """Stream a gallery of ``count`` records of ``fingers_per_record`` fingers each, one
    tuple (reference, position, master, impression) per finger.

    - ``mode``: impression mode of the stored fingers; ``rolled`` by default because national
      tenprint collections hold rolled cards.  A ``latent`` gallery (unsolved marks) has one
      mark per record and its Finger.position is 0 (unknown); the tuple still says which
      finger the mark came from.
    - ``fingers_per_record``: K ≥ 2 gives cards with positions 1..K (10 = a full tenprint);
      1 (the default: one finger per record, the unit a finger benchmark counts) gives each
      record a position drawn uniformly from 1-10.
    - ``prefix``: country code in references ``{prefix}-FP-000001``.
    - ``resolution_dpi``: as for ``impression``.

    Raises ValueError at once for a bad argument.
    """
    check_gallery_arguments(count, mode, fingers_per_record)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    return gallery_stream(count, seed, mode, fingers_per_record, prefix, resolution_dpi)


def generate_probes(gallery: Iterable, count: int, *, seed: int = 1, mode: str = "plain",
                    mated_fraction: float = 0.5, prefix: str = "Q-FP",
                    resolution_dpi: int = 500) -> list[Probe]:
    """``count`` probes with ground truth, in random order, references ``{prefix}-000001``.

    ``gallery`` is an iterable of ``generate_gallery`` tuples (a stream is read once, keeping
    only the sampled records) or of bare ``MasterFinger`` (then the mate reference is the
    master's index as text and positions are 0).

    - ``mode``: ``plain`` (the default: live-scan plain prints are the usual search probe
      against rolled cards), ``rolled`` or ``latent`` (one mark of one finger of the record,
      position 0).
    - ``mated_fraction``: share of probes taken from gallery records (fresh impressions of
      their fingers); the rest come from new masters never in the gallery.  0.5 gives as
      many genuine as impostor searches, so FNIR and FPIR are measured equally well.
    - ``seed``: 1 by default so that ``generate_gallery(seed=0)`` and its probes differ;
      the streams are independent whatever the two seeds are.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    return probe_list(gallery, count, seed, mode, mated_fraction, prefix, resolution_dpi)


def synth_main(argv: list[str] | None = None) -> int:
    """``matcher finger synth``: write a synthetic gallery (and optionally probes) as JSONL.

    Exit status 0 on success (and for ``--help``), 2 on a usage error or a bad parameter.
    """
    parser = argparse.ArgumentParser(prog="matcher finger synth", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, required=True, help="number of gallery records")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same output)")
    parser.add_argument("--mode", default="rolled", choices=tuple(MODES), help="gallery impressions")
    parser.add_argument("--fingers-per-record", type=int, default=1,
                        help="fingers per record, at positions 1..K (1: one finger, any position)")
    parser.add_argument("--prefix", default="DE", help="country code in references")
    parser.add_argument("--resolution-dpi", type=int, default=500, help="output resolution")
    parser.add_argument("--out", help="gallery JSONL file (default: standard output)")
    parser.add_argument("--probes", type=int, default=0, help="number of probe records")
    parser.add_argument("--probes-out", help="probe JSONL file (required with --probes)")
    parser.add_argument("--probe-mode", default="plain", choices=tuple(MODES), help="probe impressions")
    parser.add_argument("--mated-fraction", type=float, default=0.5, help="share of mated probes")
    parser.add_argument("--truth", action="store_true", help="add the generator's ground truth")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error argparse already printed
        return exit_request.code if isinstance(exit_request.code, int) else 2
    if args.probes and not args.probes_out:
        print("matcher finger synth: --probes needs --probes-out FILE", file=sys.stderr)
        return 2
    try:
        gallery = generate_gallery(args.count, seed=args.seed, mode=args.mode,
                                   fingers_per_record=args.fingers_per_record, prefix=args.prefix,
                                   resolution_dpi=args.resolution_dpi)
        if args.probes < 0 or not 0.0 <= args.mated_fraction <= 1.0:
            raise ValueError("--probes must be ≥ 0 and --mated-fraction in [0, 1]")
    except ValueError as error:
        print(f"matcher finger synth: {error}", file=sys.stderr)
        return 2
    kind = "latent" if args.mode == "latent" else "person"
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        if args.probes:
            probes = generate_probes(_written(gallery, out, kind, args.truth), args.probes,
                                     seed=args.seed + 1, mode=args.probe_mode,
                                     mated_fraction=args.mated_fraction,
                                     resolution_dpi=args.resolution_dpi)
            with open(args.probes_out, "w", encoding="utf-8") as probe_file:
                write_jsonl((probe_record(probe, truth=args.truth) for probe in probes), probe_file)
        else:
            write_jsonl(gallery_records(gallery, kind=kind, truth=args.truth), out)
    except ValueError as error:
        print(f"matcher finger synth: {error}", file=sys.stderr)
        return 2
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _written(gallery, fh, kind: str, truth: bool):
    """Pass gallery tuples through while writing each finished record as a JSON line."""
    pending: list = []
    for item in gallery:
        if pending and item[0] != pending[0][0]:
            write_jsonl(gallery_records(pending, kind=kind, truth=truth), fh)
            pending = []
        pending.append(item)
        yield item
    if pending:
        write_jsonl(gallery_records(pending, kind=kind, truth=truth), fh)

"""Open-set identification bookkeeping for ``finger_search.py``: per-system outcomes,
rank-1 and FNIR at a target FPIR, the accuracy table and the DET and penetration plots.

Definitions (ISO/IEC 19795-1 open-set identification, as used by NIST FpVTE):

- rank-1 identification rate: share of mated searches whose mate scores strictly above
  every other gallery finger (a tie is a miss; no threshold);
- at a threshold t a *non-mated search* is a false positive when its top score is >= t; a
  mated search is a false negative unless its mate is ranked first with a score >= t.  The
  threshold for a target FPIR is the lowest whose FPIR does not exceed it.  Non-mated
  searches are the non-mated probes **plus every mated probe searched with its mate left
  out** (its best other score), which doubles the impostor sample.  A figure is
  *resolution-limited* when there are fewer than 1/FPIR non-mated searches: it is then the
  FNIR at FPIR = 0 on that sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROBE_KINDS = ("plain", "latent")
#: Operating points of the issue's targets.
FPIR_TARGETS = (0.01, 0.001)
#: Penetration rates (share of the gallery shortlisted) at which mates kept are reported.
PENETRATION_RATES = (0.001, 0.003, 0.01, 0.03, 0.10)
DET_FILE = "finger_det.png"
PENETRATION_FILE = "finger_penetration.png"


@dataclass
class Outcome:
    """One system's searches of one probe kind: for mated probes the mate's score (-inf when
    not scored) and the best other score; for non-mated probes the top score; times (ms)."""

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
        """(mate scores, mate ranked first, top scores of every non-mated search)."""
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


def balanced_sample(mate: np.ndarray, limit: int | None) -> list[int]:
    """Indices of all probes, or of the first ``limit``, half mated (``mate`` >= 0) and half
    not (mates were drawn at random, so the first ones are a random sample)."""
    if limit is None or limit >= len(mate):
        return list(range(len(mate)))
    mated = np.flatnonzero(mate >= 0)[: (limit + 1) // 2]
    others = np.flatnonzero(mate < 0)[: limit // 2]
    return sorted(np.concatenate([mated, others]).tolist())


def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def print_accuracy(title: str, outcomes: dict) -> None:
    """One row per (system, probe kind); ``*`` marks a resolution-limited FNIR."""
    print(f"\n{title}")
    print(f"  {'system':<38} {'probes':>6} {'mated':>6} {'non-mated searches':>18} {'rank-1':>7} "
          f"{'FNIR@FPIR1%':>12} {'FNIR@FPIR0.1%':>14} {'ms/search':>10}")
    for (system, kind), outcome in outcomes.items():
        nonmated = outcome.arrays()[2]
        cells = []
        for fpir in FPIR_TARGETS:
            fnir, limited = outcome.fnir_at(fpir)
            cells.append(fmt(fnir) + ("*" if limited else " "))
        probes = len(outcome.mate_score) + len(outcome.nonmated_top)
        print(f"  {system + ' / ' + kind:<38} {probes:>6} {len(outcome.mate_score):>6} "
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


def plot_penetration(path: Path, kept: dict, title: str) -> None:
    """Share of mates kept against penetration rate, one line per (kind, mate set)."""
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(6.5, 4.6))
    for label, shares in kept.items():
        axis.plot([100 * r for r in PENETRATION_RATES], shares, marker="o", label=label)
    axis.axhline(0.995, color="grey", linestyle=":", label="target 99.5 %")
    axis.set(xscale="log", xlabel="penetration rate (share of the gallery shortlisted)",
             ylabel="share of mates kept", title=title)
    axis.set_xticks([100 * r for r in PENETRATION_RATES],
                    [f"{100 * r:g} %" for r in PENETRATION_RATES])
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_plots(out_dir: Path, outcomes: dict, bozorth_outcomes: dict, subset, kept: dict,
                index_title: str) -> list[Path]:
    """Both plots into ``out_dir``; bozorth3-subset curves are labelled with its size."""
    out_dir.mkdir(parents=True, exist_ok=True)
    curves = dict(outcomes)
    curves.update({(f"{system}, subset of {len(subset):,}", kind): outcome
                   for (system, kind), outcome in bozorth_outcomes.items()})
    plot_det(out_dir / DET_FILE, curves)
    written = [out_dir / DET_FILE]
    if kept:
        plot_penetration(out_dir / PENETRATION_FILE, kept, index_title)
        written.append(out_dir / PENETRATION_FILE)
    return written

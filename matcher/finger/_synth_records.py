"""Galleries, probes and their JSON Lines shape (architecture note, "Fingerprint records").

Random streams: every generator call derives its streams from ``SeedSequence(seed,
spawn_key=...)`` with one key per purpose (gallery masters, gallery impressions, gallery
positions; probe choices, probe impressions, probe non-mated masters), so a gallery and its
probes stay independent even when given the same seed, and the masters of a gallery do not
depend on its mode: a rolled and a plain gallery of one seed hold the same fingers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from matcher.finger._synth_impression import impression_with_truth
from matcher.finger._synth_master import MasterFinger, generate_master
from matcher.finger.model import Finger

_GALLERY_MASTERS, _GALLERY_IMPRESSIONS, _GALLERY_POSITIONS = (0, 0), (0, 1), (0, 2)
_PROBE_CHOICES, _PROBE_IMPRESSIONS, _PROBE_MASTERS = (1, 0), (1, 1), (1, 2)
#: References carry at least six digits ("DE-FP-000001"), more when the count needs them.
REFERENCE_DIGITS = 6

_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def stream(seed: int, key: tuple[int, int]) -> np.random.Generator:
    """The Generator of one purpose (``key``) under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def record_positions(fingers_per_record: int, rng: np.random.Generator) -> list[int]:
    """Positions of one record's fingers: 1..K for a card of K ≥ 2 fingers; a one-finger
    record is any finger (1-10 uniformly), like a card split into single fingers."""
    if fingers_per_record > 1:
        return list(range(1, fingers_per_record + 1))
    return [1 + int(10.0 * rng.random())]


def check_gallery_arguments(count: int, mode: str, fingers_per_record: int) -> None:
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    if not 1 <= fingers_per_record <= 10:
        raise ValueError(f"fingers_per_record must be 1-10, got {fingers_per_record}")
    if mode == "latent" and fingers_per_record != 1:
        raise ValueError("a latent record holds one mark: fingers_per_record must be 1")


def gallery_stream(count: int, seed: int, mode: str, fingers_per_record: int, prefix: str,
                   resolution_dpi: int) -> Iterator[tuple[str, int, MasterFinger, Finger]]:
    masters, impressions = stream(seed, _GALLERY_MASTERS), stream(seed, _GALLERY_IMPRESSIONS)
    positions = stream(seed, _GALLERY_POSITIONS)
    digits = max(REFERENCE_DIGITS, len(str(count)))
    for number in range(1, count + 1):
        reference = f"{prefix}-FP-{number:0{digits}d}"
        for position in record_positions(fingers_per_record, positions):
            master = generate_master(masters)
            finger = impression_with_truth(master, impressions, mode=mode,
                                           resolution_dpi=resolution_dpi)[0]
            finger.position = 0 if mode == "latent" else position   # a mark's finger is unknown
            yield reference, position, master, finger


@dataclass(slots=True)
class Probe:
    """A search probe and its ground truth.

    ``kind`` is ``person`` (a card of plain or rolled impressions) or ``latent`` (one mark,
    position 0 = unknown).  ``mate`` is the gallery reference the fingers were taken from, or
    None for a person not in the gallery; ``mate_positions`` are the gallery positions of the
    source fingers, in ``fingers`` order (empty when not mated).
    """

    reference: str
    kind: str
    fingers: list[Finger]
    mate: str | None
    mate_positions: tuple[int, ...]


def _records(gallery: Iterable) -> Iterator[tuple[str, list[tuple[int, MasterFinger]]]]:
    """Consecutive gallery tuples grouped by reference; bare masters become records "0", "1"…"""
    reference, fingers = None, []
    for index, item in enumerate(gallery):
        if isinstance(item, MasterFinger):
            yield str(index), [(0, item)]
            continue
        if item[0] != reference and fingers:
            yield reference, fingers
            fingers = []
        reference = item[0]
        fingers.append((item[1], item[2]))
    if fingers:
        yield reference, fingers


def probe_list(gallery: Iterable, count: int, seed: int, mode: str, mated_fraction: float,
               prefix: str, resolution_dpi: int) -> list[Probe]:
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    if not 0.0 <= mated_fraction <= 1.0:
        raise ValueError(f"mated_fraction must be in [0, 1], got {mated_fraction}")
    choices = stream(seed, _PROBE_CHOICES)
    impressions, masters = stream(seed, _PROBE_IMPRESSIONS), stream(seed, _PROBE_MASTERS)
    mated = round(count * mated_fraction)
    # Reservoir sampling (Algorithm R): one pass, only `mated` records held in memory.
    reservoir: list[tuple[str, list[tuple[int, MasterFinger]]]] = []
    seen = widest = 0
    positioned = False   # bare masters (and only they) come without finger positions
    for record in _records(gallery):
        widest = max(widest, len(record[1]))
        positioned = positioned or record[1][0][0] != 0
        if len(reservoir) < mated:
            reservoir.append(record)
        elif mated:
            slot = int(choices.integers(0, seen + 1))
            if slot < mated:
                reservoir[slot] = record
        seen += 1
    if mated and not reservoir:
        raise ValueError("the gallery is empty: no mated probe can be made")
    while len(reservoir) < mated:   # a gallery smaller than the mated share: reuse records
        reservoir.append(reservoir[int(choices.integers(0, seen))])
    plan = [("mated", record) for record in reservoir] + [("new", None)] * (count - mated)
    order = choices.permutation(len(plan))
    digits = max(REFERENCE_DIGITS, len(str(count)))
    probes = []
    for number, index in enumerate(order.tolist(), start=1):
        _, record = plan[index]
        if record is None:
            positions = record_positions(widest, choices) if positioned else [0]
            sources = [(position, generate_master(masters)) for position in positions]
        else:
            sources = record[1]
        if mode == "latent":
            sources = [sources[int(choices.integers(0, len(sources)))]]
        fingers = []
        for position, master in sources:
            finger = impression_with_truth(master, impressions, mode=mode,
                                           resolution_dpi=resolution_dpi)[0]
            finger.position = 0 if mode == "latent" else position
            fingers.append(finger)
        probes.append(Probe(
            reference=f"{prefix}-{number:0{digits}d}", kind="latent" if mode == "latent" else "person",
            fingers=fingers, mate=None if record is None else record[0],
            mate_positions=() if record is None else tuple(position for position, _ in sources)))
    return probes


def finger_json(finger: Finger) -> dict:
    """One finger in the architecture's JSON minutiae form."""
    return {"position": finger.position, "minutiae": {
        "width": finger.width, "height": finger.height, "resolution_dpi": finger.resolution_dpi,
        "points": [[m.x, m.y, m.angle, m.type, m.quality] for m in finger.minutiae]}}


def gallery_records(gallery: Iterable[tuple[str, int, MasterFinger, Finger]], *, kind: str = "person",
                    truth: bool = False) -> Iterator[dict]:
    """Gallery tuples as JSON records, consecutive fingers of one reference in one record;
    ``truth`` adds ``{"patterns": [...]}`` (each finger's pattern class)."""
    reference, fingers, patterns = None, [], []
    for item_reference, _, master, finger in gallery:
        if item_reference != reference and fingers:
            yield _record(reference, kind, fingers, {"patterns": patterns} if truth else None)
            fingers, patterns = [], []
        reference = item_reference
        fingers.append(finger_json(finger))
        patterns.append(master.pattern)
    if fingers:
        yield _record(reference, kind, fingers, {"patterns": patterns} if truth else None)


def probe_record(probe: Probe, *, truth: bool = False) -> dict:
    """A probe as a JSON record; ``truth`` adds ``{"mate": ..., "positions": [...]}``."""
    return _record(probe.reference, probe.kind, [finger_json(finger) for finger in probe.fingers],
                   {"mate": probe.mate, "positions": list(probe.mate_positions)} if truth else None)


def _record(reference, kind, fingers, truth) -> dict:
    record = {"reference": reference, "kind": kind, "fingers": fingers}
    if truth is not None:
        record["truth"] = truth
    return record


def write_jsonl(records: Iterable[dict], fh: IO[str]) -> int:
    """Write each record as one compact JSON line; returns the line count."""
    encode = _COMPACT_JSON.encode
    written = 0
    for record in records:
        fh.write(encode(record) + "\n")
        written += 1
    return written

"""Synthetic vehicle queries derived from stored records, typed as people and ANPR
readers write them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.vehicle._synth_plates import FORMATS, random_plates
from matcher.vehicle.plates import normalise_plate

#: Characters an ANPR reader may put in place of each (a tolerant query's corruption).
_MISREAD = {"0": "O", "O": "0", "D": "0", "1": "I", "I": "1", "L": "1", "2": "Z", "Z": "2",
            "5": "S", "S": "5", "8": "B", "B": "8", "6": "G", "G": "6"}


def generate_queries(records: Sequence[dict], count: int, *, seed: int = 1,
                     tolerant_fraction: float = 0.2, miss_fraction: float = 0.1) -> list[dict]:
    """Queries ``Q-00000001``... for stored ``records``: plate queries typed differently
    (no separators, lower case, Cyrillic and Greek plates in Latin), VIN queries with
    spaces, ANPR misreads with ``"tolerant": true``, and plates of vehicles not in the
    register."""
    rng = np.random.default_rng(seed)
    sources = [r for r in records if "plate" in r or "vin" in r]
    queries = []
    for i in range(count):
        reference = f"Q-{i + 1:08d}"
        if not sources or rng.random() < miss_fraction:
            country, plates = random_plates(rng, list(FORMATS), 1)
            queries.append({"reference": reference, "country": country[0], "plate": plates[0]})
            continue
        record = sources[int(rng.integers(0, len(sources)))]
        if "plate" in record and ("vin" not in record or rng.random() < 0.7):
            plate = record["plate"].replace(" ", "").replace("-", "")
            if rng.random() < 0.5:  # as an officer types it: Latin letters, upper case
                plate = normalise_plate(plate)
            query = {"reference": reference, "country": record["country"],
                     "plate": plate.lower() if rng.random() < 0.3 else plate}
            positions = [j for j, c in enumerate(plate) if c in _MISREAD]
            if positions and rng.random() < tolerant_fraction:
                j = positions[int(rng.integers(0, len(positions)))]
                query["plate"] = plate[:j] + _MISREAD[plate[j]] + plate[j + 1:]
                query["tolerant"] = True
        else:
            vin = record["vin"]
            query = {"reference": reference, "vin": f"{vin[:3]} {vin[3:9]} {vin[9:]}"}
        queries.append(query)
    return queries

"""Vehicle lookup speed and memory on one core: our index against a plain Python dict.

    python benchmarks/vehicle_lookup.py --records 10000000

Builds N synthetic registrations, each with a plate (formats of 33 countries,
``matcher.vehicle.synth``) and a VIN, normalises them as the engine does and indexes the
2N keys.  Queries are stored keys (45 % plates, 45 % VINs) and 10 % keys of vehicles not
in the register, as normalised key text (``"DE:BAB1234"`` or a VIN); every timed pass
starts from freshly made string objects, as keys parsed from a request are.

- ours: batches of ``--batch`` key texts through ``encode_keys`` (pack) and
  ``VehicleIndex.lookup`` (hash, probe, verify the packed key), i.e. key text in, every
  matching row id out; also the lookup kernel alone on packed keys;
- dict: the same key texts in a ``dict`` from key text to row (a tuple of rows when a key
  is held twice), called at its fastest, ``list(map(table.get, batch))``; once with fresh
  strings (hash computed on lookup, like ours) and once with the hashes already cached in
  the string objects (the dict's best case).  ``vs_dict`` is against the faster of the two;
- tolerant: plate queries with one ANPR misread (``0``->``O``, ``8``->``B``, ...) searched
  with ``tolerant=True``; every source record must be found;
- memory: the index arrays' bytes divided by the records held.

Figures are the best of ``--repeats`` passes for ours and the dict alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from matcher.vehicle.index import VehicleIndex, encode_keys, plate_key  # noqa: E402
from matcher.vehicle.plates import normalise_plate  # noqa: E402
from matcher.vehicle.synth import FORMATS, random_plates, random_vins  # noqa: E402

#: Records generated and encoded per block (bounds the temporary key text).
BUILD_CHUNK = 1_000_000
_MISREAD = str.maketrans({"0": "O", "8": "B", "1": "I", "5": "S", "2": "Z", "6": "G"})


def make_keys(rng, n: int) -> tuple[list[str], list[str]]:
    """Normalised plate keys and VINs of ``n`` synthetic vehicles."""
    countries, plates = random_plates(rng, list(FORMATS), n)
    return ([plate_key(c, normalise_plate(p)) for c, p in zip(countries, plates)],
            random_vins(rng, n))


def build(n: int, seed: int):
    rng = np.random.default_rng(seed)
    plate_keys: list[str] = []
    vins: list[str] = []
    for start in range(0, n, BUILD_CHUNK):
        p, v = make_keys(rng, min(BUILD_CHUNK, n - start))
        plate_keys += p
        vins += v
    started = time.perf_counter()
    encoded = [encode_keys(keys[i:i + BUILD_CHUNK]) for keys in (plate_keys, vins)
               for i in range(0, n, BUILD_CHUNK)]
    half = len(encoded) // 2
    plates_enc, vins_enc = (type(encoded[0])(*(np.concatenate(c) for c in zip(*part)))
                            for part in (encoded[:half], encoded[half:]))
    index = VehicleIndex(capacity=n)
    index.add(np.arange(1, n + 1, dtype=np.int64), plates_enc, vins_enc)
    return index, plate_keys, vins, time.perf_counter() - started


def dict_baseline(plate_keys: list[str], vins: list[str]) -> dict:
    table: dict = {}
    for keys in (plate_keys, vins):
        for row, key in enumerate(keys, start=1):
            held = table.get(key)
            table[key] = row if held is None else (
                held + (row,) if isinstance(held, tuple) else (held, row))
    return table


def best_rate(run, blob: str, count: int, repeats: int, fresh: bool = True) -> float:
    best = 0.0
    texts = blob.split("\n")
    for _ in range(repeats):
        if fresh:
            texts = blob.split("\n")  # new string objects: no cached hashes
        started = time.perf_counter()
        run(texts)
        best = max(best, count / (time.perf_counter() - started))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--tolerant-queries", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100_000, help="keys per lookup call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    n, batch = args.records, args.batch

    started = time.perf_counter()
    index, plate_keys, vins, build_s = build(n, args.seed)
    print(f"built {n:,} registrations ({2 * n:,} keys) in {time.perf_counter() - started:.1f} s"
          f" (index {build_s:.1f} s, {index.memory_bytes() / 2**20:,.0f} MiB)")

    rng = np.random.default_rng(args.seed + 1)
    q = args.queries
    rows = rng.integers(0, n, q)
    kind = rng.random(q)
    absent_plates, absent_vins = make_keys(rng, q)
    queries = [plate_keys[r] if k < 0.45 else vins[r] if k < 0.9 else
               (absent_plates[i] if k < 0.95 else absent_vins[i])
               for i, (r, k) in enumerate(zip(rows.tolist(), kind.tolist()))]
    blob = "\n".join(queries)

    def ours(texts):
        for i in range(0, len(texts), batch):
            index.lookup(encode_keys(texts[i:i + batch]), False)

    ours_rate = best_rate(ours, blob, q, args.repeats)
    packed = [encode_keys(queries[i:i + batch]) for i in range(0, q, batch)]
    kernel_rate = best_rate(lambda _: [index.lookup(p, False) for p in packed], blob, q,
                            args.repeats, fresh=False)

    started = time.perf_counter()
    table = dict_baseline(plate_keys, vins)
    dict_build_s = time.perf_counter() - started

    def plain_dict(texts):
        get = table.get
        for i in range(0, len(texts), batch):
            list(map(get, texts[i:i + batch]))

    dict_rate = best_rate(plain_dict, blob, q, args.repeats)
    cached_rate = best_rate(plain_dict, blob, q, args.repeats, fresh=False)

    sample = queries[:2000]  # same answers as the dict
    found = index.lookup(encode_keys(sample), False)
    ours_hits = {(int(a), int(b)) for a, b in zip(found.query, found.rowid)}
    dict_hits = {(i, r) for i, key in enumerate(sample) if (v := table.get(key)) is not None
                 for r in (v if isinstance(v, tuple) else (v,))}
    if ours_hits != dict_hits:
        print("MISMATCH between the index and the dict baseline", file=sys.stderr)
        return 1
    del table

    t = args.tolerant_queries
    sources = rng.integers(0, n, t).tolist()
    tolerant_texts = [plate_keys[r][:3] + plate_keys[r][3:].translate(_MISREAD) for r in sources]
    tolerant_blob = "\n".join(tolerant_texts)

    def tolerant(texts):
        for i in range(0, len(texts), batch):
            index.lookup(encode_keys(texts[i:i + batch]), True)

    tolerant_rate = best_rate(tolerant, tolerant_blob, t, args.repeats)
    found = index.lookup(encode_keys(tolerant_texts), True)
    recalled = len({(int(a), int(b)) for a, b in zip(found.query, found.rowid)}
                   & {(i, r + 1) for i, r in enumerate(sources)})

    vs_dict = ours_rate / max(dict_rate, cached_rate)
    per_record = index.bytes_per_record()
    print(f"exact, key text in  : {ours_rate:12,.0f} lookups/s (batches of {batch:,})")
    print(f"exact, kernel only  : {kernel_rate:12,.0f} lookups/s (keys already packed)")
    print(f"dict, fresh strings : {dict_rate:12,.0f} lookups/s (built in {dict_build_s:.1f} s)")
    print(f"dict, cached hashes : {cached_rate:12,.0f} lookups/s")
    print(f"tolerant            : {tolerant_rate:12,.0f} lookups/s, {recalled:,} of {t:,} "
          f"misread plates found")
    print(f"index memory        : {per_record:.1f} bytes per record")
    print(f"vehicle_lookup N={n} lookups_per_s={ours_rate:.0f} vs_dict={vs_dict:.2f}x "
          f"bytes_per_record={per_record:.1f}")
    return 0 if recalled == t else 1


if __name__ == "__main__":
    sys.exit(main())

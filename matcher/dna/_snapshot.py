"""Index snapshots: the encoded arrays of a DnaIndex in one ``.npz`` file tagged with the
store generation they reflect.  Written to a temporary file, fsynced, then renamed over the
old one, so a crash leaves either the old snapshot or the new one, never half of one; a
snapshot that is missing, unreadable or made under another locus table is ignored and the
index is rebuilt from the store."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from matcher.dna.loci import LocusTable
from matcher.store import replace_durably

def save_snapshot(index, path: Path, generation: int) -> None:
    """Write ``index`` (compacted) tagged with ``generation``: temp file, fsync, rename."""
    n = index.n_rows
    esc_rows = np.array(sorted(index.escaped), np.int64)
    esc_codes = (np.stack([index.escaped[int(r)] for r in esc_rows]) if len(esc_rows)
                 else np.zeros((0, len(index.columns), 2), np.int16))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, generation=np.int64(generation), columns=np.array(index.columns),
                 units=index.units, alleles=index.alleles[:, :, :n], start_counts=index.start_counts[:n],
                 rowids=index.rowids[:n], kinds=index.kinds[:n], codes=index.codes,
                 n_ids=index.n_ids, hist=index.hist, esc_rows=esc_rows, esc_codes=esc_codes)
        fh.flush()
        os.fsync(fh.fileno())
    replace_durably(tmp, path)


def load_snapshot(cls, path: Path, table: LocusTable):
    """(index of class ``cls``, generation) from ``path``, or None when the file is missing,
    unreadable or was made under another locus table."""
    try:
        with np.load(path, allow_pickle=False) as data:
            index = cls(table, capacity=int(data["rowids"].shape[0]))
            if tuple(data["columns"].tolist()) != index.columns or \
                    not np.array_equal(data["units"], index.units):
                return None
            n = int(data["rowids"].shape[0])
            index.alleles[:, :, :n] = data["alleles"]
            index.start_counts[:n] = data["start_counts"]
            index.rowids[:n] = data["rowids"]
            index.kinds[:n] = data["kinds"]
            index.codes[:] = data["codes"]
            index.n_ids[:] = data["n_ids"]
            index.hist[:] = data["hist"]
            for row, codes in zip(data["esc_rows"], data["esc_codes"]):
                index.escaped[int(row)] = codes.astype(np.int16)
            generation = int(data["generation"])
    except (OSError, ValueError, KeyError, EOFError):
        return None
    index.n_rows = n
    index.live = int((index.kinds[:n] != cls.REMOVED).sum())
    if n:
        index._mark_blocks(0, n)
    for col in range(len(index.columns)):
        used = index.codes[col, 1:index.n_ids[col]]
        index.lut[col, used] = np.arange(1, len(used) + 1)
    return index, generation

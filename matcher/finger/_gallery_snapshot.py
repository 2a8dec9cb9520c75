"""Finger gallery snapshots beside the store: the live fingers' row ids, positions, kinds,
MCC cylinders (``.npy`` arrays) and embedding codes (a FAISS index file), tagged with the
store generation they reflect.

Layout in the home folder::

    finger-index.json            {"format", "generation", "folder", "fingers", ...}
    finger-index-<generation>/   rowid.npy position.npy kind.npy offsets.npy bits.npy
                                 valid.npy x.npy y.npy theta.npy minutia.npy embeddings.faiss

A snapshot folder is written completely and fsynced before ``finger-index.json`` is
replaced (temp file, fsync, rename) to name it, and older folders are removed only after
that: a crash at any point leaves the previous snapshot or the new one, never a mix.
Reading maps every array (``mmap_mode="c"``: copy-on-write, so nothing is read until a
search touches it and nothing is ever written back) and maps the FAISS codes.  A snapshot
made under other MCC parameters, another embedding or another format is ignored, and the
gallery is rebuilt from the store.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from matcher.finger import mcc
from matcher.finger._gallery_segment import Segment
from matcher.finger.shortlist import EmbeddingIndex
from matcher.store import fsync_path, replace_durably

POINTER_FILE = "finger-index.json"
FOLDER_PREFIX = "finger-index-"
INDEX_FILE = "embeddings.faiss"
FORMAT = 1
_ENTRY_ARRAYS = ("rowid", "position", "kind")
_CYLINDER_ARRAYS = ("bits", "valid", "x", "y", "theta", "minutia")


def save(home: Path, generation: int, fingerprint: str, rowid: np.ndarray,
         position: np.ndarray, kind: np.ndarray, packed: mcc.PackedCylinders | None,
         index: EmbeddingIndex) -> Path:
    """Write a snapshot of these entries; returns its folder."""
    folder = home / f"{FOLDER_PREFIX}{generation}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    arrays = {"rowid": rowid.astype(np.int64), "position": position.astype(np.int8),
              "kind": kind.astype(np.int8)}
    if packed is not None:
        arrays["offsets"] = packed.offsets
        arrays.update({name: getattr(packed, name) for name in _CYLINDER_ARRAYS})
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(array))
        fsync_path(folder / f"{name}.npy")
    index.write(folder / INDEX_FILE)
    fsync_path(folder / INDEX_FILE)
    fsync_path(folder)
    pointer = {"format": FORMAT, "generation": int(generation), "folder": folder.name,
               "fingers": int(len(rowid)), "parameters": fingerprint}
    tmp = home / (POINTER_FILE + ".tmp")
    tmp.write_text(json.dumps(pointer) + "\n")
    fsync_path(tmp)
    replace_durably(tmp, home / POINTER_FILE)
    for old in home.glob(f"{FOLDER_PREFIX}*"):
        if old.is_dir() and old.name != folder.name:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def load(home: Path, fingerprint: str, params: mcc.MccParameters) -> tuple[Segment, int] | None:
    """(frozen segment, generation) of the current snapshot, or None when there is none
    or it cannot be used (the reason does not matter: the store is the truth)."""
    try:
        pointer = json.loads((home / POINTER_FILE).read_text())
        if pointer.get("format") != FORMAT or pointer.get("parameters") != fingerprint:
            return None
        folder = home / str(pointer["folder"])
        if folder.parent != home or not folder.name.startswith(FOLDER_PREFIX):
            return None
        entries = {name: np.load(folder / f"{name}.npy", mmap_mode="c")
                   for name in _ENTRY_ARRAYS}
        count = int(pointer["fingers"])
        packed = None
        if count:
            rows = {name: np.load(folder / f"{name}.npy", mmap_mode="c")
                    for name in ("offsets",) + _CYLINDER_ARRAYS}
            packed = mcc.PackedCylinders(rows["bits"], rows["valid"], rows["x"], rows["y"],
                                         rows["theta"], rows["minutia"],
                                         np.asarray(rows["offsets"]), params.ns, params.nd)
        index = EmbeddingIndex.read(folder / INDEX_FILE)
        segment = Segment(entries["rowid"], entries["position"], entries["kind"], packed, index)
        if len(segment) != count:
            return None
        return segment, int(pointer["generation"])
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        return None

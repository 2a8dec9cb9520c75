"""The vehicle index against a plain reference implementation: exact and tolerant lookups,
duplicates, removal, growth, compaction and snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.vehicle.index import (
    MIN_SLOTS, VehicleIndex, encode_keys, plate_key,
)
from matcher.vehicle.plates import PLATE_ALPHABET, tolerant_plate

#: Few characters, most of them confusable, so that keys repeat and tolerant twins abound.
_SMALL_PLATE_ALPHABET = "0OD1IL8BXÖ"
_SMALL_VIN_ALPHABET = "01D8BX"


def _tolerant_key(key: str) -> str:
    return key[:3] + tolerant_plate(key[3:]) if ":" in key else tolerant_plate(key)


def reference_lookup(records: dict[int, tuple], query: str, tolerant: bool):
    """(rowid, tolerant) hits of a query against {rowid: (plate_key, vin)}, by scanning."""
    column = 0 if ":" in query else 1
    hits = []
    for rowid, keys in records.items():
        key = keys[column]
        if key == query:
            hits.append((rowid, False))
        elif tolerant and key is not None and _tolerant_key(key) == _tolerant_key(query):
            hits.append((rowid, True))
    return sorted(hits)


def _hits(index, queries, tolerant):
    found = index.lookup(encode_keys(queries), tolerant)
    out = [[] for _ in queries]
    for q, rowid, tol in zip(found.query.tolist(), found.rowid.tolist(), found.tolerant.tolist()):
        out[q].append((rowid, tol))
    return [sorted(h) for h in out]


plates = st.builds(plate_key, st.sampled_from(["DE", "NL", "BG"]),
                   st.text(_SMALL_PLATE_ALPHABET, min_size=1, max_size=4))
vins = st.text(_SMALL_VIN_ALPHABET, min_size=2, max_size=2).map(lambda s: "WVWZZZ1JZXW0000" + s)
records = st.lists(st.tuples(st.none() | plates, st.none() | vins)
                   .filter(lambda r: r != (None, None)), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(records=records, queries=st.lists(plates | vins, min_size=1, max_size=20),
       removed=st.sets(st.integers(1, 120)), tolerant=st.booleans())
def test_lookups_equal_the_reference(records, queries, removed, tolerant):
    index = VehicleIndex()
    held = {}
    for start in range(0, len(records), 7):  # several adds: the table grows and probes wrap
        chunk = records[start:start + 7]
        rowids = np.arange(start + 1, start + 1 + len(chunk)) * 2  # gaps: absent ids between
        index.add(rowids, encode_keys([p for p, _ in chunk]), encode_keys([v for _, v in chunk]))
        held.update(zip(rowids.tolist(), chunk))
    index.remove_rowids(removed)
    for rowid in removed:
        held.pop(rowid, None)
    assert index.live == len(held)
    expected = [reference_lookup(held, q, tolerant) for q in queries]
    assert _hits(index, queries, tolerant) == expected


def test_reissued_plate_and_reregistered_vin_return_every_record():
    index = VehicleIndex()
    keys = [("DE:BAB1234", "WVWZZZ1JZXW000001"), ("DE:BAB1234", "1M8GDM9AXKP042788"),
            ("NL:12ABC3", "WVWZZZ1JZXW000001"), ("NL:BAB1234", None)]
    index.add(np.array([10, 11, 12, 13]), encode_keys([p for p, _ in keys]),
              encode_keys([v for _, v in keys]))
    assert _hits(index, ["DE:BAB1234", "WVWZZZ1JZXW000001"], False) == [
        [(10, False), (11, False)], [(10, False), (12, False)]]
    # the country is part of the plate key: NL:BAB1234 is another vehicle
    assert _hits(index, ["NL:BAB1234"], False) == [[(13, False)]]


def test_tolerant_hits_are_marked_and_exact_ones_are_not_repeated():
    index = VehicleIndex()
    stored = ["DE:BAB1234", "DE:8A81234", "DE:BA81Z34", "DE:XYZ"]
    index.add(np.arange(1, 5), encode_keys(stored), encode_keys([None] * 4))
    assert _hits(index, ["DE:BAB1234"], True) == [[(1, False), (2, True), (3, True)]]
    assert _hits(index, ["DE:BAB1234"], False) == [[(1, False)]]
    assert _hits(index, ["FR:BAB1234"], True) == [[]]  # never across countries
    per_query = index.lookup(encode_keys(["DE:8AB1234", "DE:8AB1234"]), np.array([True, False]))
    assert per_query.query.tolist() == [0, 0, 0]


def test_many_records_growth_removal_compaction_and_snapshot(tmp_path):
    rng = np.random.default_rng(7)
    n = 30_000
    chars = np.array(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"))
    vins = ["".join(row) for row in chars[rng.integers(0, 33, (n, 17))]]
    plate_keys = [plate_key("NL", "".join(row)) for row in chars[rng.integers(0, 33, (n, 6))]]
    index = VehicleIndex()
    for start in range(0, n, 5_000):  # many small adds, as the database does
        stop = start + 5_000
        index.add(np.arange(start + 1, stop + 1) * 3, encode_keys(plate_keys[start:stop]),
                  encode_keys(vins[start:stop]))
    assert len(index.slots) >= MIN_SLOTS and index.entries == 2 * n
    assert index.bytes_per_record() <= 64
    removed = set(range(3, 3 * n + 1, 6))  # every other record
    assert index.remove_rowids(removed | {1, 2}) == len(removed)
    assert index.n_rows == n - len(removed)  # compacted once removed rows passed 25 %
    sample = list(range(0, n, 97))
    found = index.lookup(encode_keys([vins[i] for i in sample]), False)
    expected = {(q, (i + 1) * 3) for q, i in enumerate(sample) if (i + 1) * 3 not in removed}
    assert set(zip(found.query.tolist(), found.rowid.tolist())) >= expected
    index.save(tmp_path / "snap.npz", generation=42)
    loaded, generation = VehicleIndex.load(tmp_path / "snap.npz")
    assert generation == 42 and loaded.live == index.live
    again = loaded.lookup(encode_keys([vins[i] for i in sample]), False)
    assert again.rowid.tolist() == found.rowid.tolist()
    assert VehicleIndex.load(tmp_path / "missing.npz") is None
    (tmp_path / "bad.npz").write_bytes(b"not a snapshot")
    assert VehicleIndex.load(tmp_path / "bad.npz") is None


def test_every_plate_character_round_trips_through_the_packed_key():
    index = VehicleIndex()
    keys = [plate_key("ZW", PLATE_ALPHABET[i:i + 15]) for i in range(0, len(PLATE_ALPHABET), 5)]
    keys.append(plate_key("AA", "Ø" * 15))
    index.add(np.arange(1, len(keys) + 1), encode_keys(keys), encode_keys([None] * len(keys)))
    assert [h for h in _hits(index, keys, False)] == [[(i + 1, False)] for i in range(len(keys))]


@pytest.mark.parametrize("bad", ["DE:", "DE:ab", "de:AB", "D:AB", "DE:" + "A" * 16,
                                 "WVWZZZ1JZXW00000O", "SHORT"])
def test_encode_refuses_text_that_is_not_a_normalised_key(bad):
    with pytest.raises(ValueError, match="not a normalised plate or VIN key"):
        encode_keys(["DE:AB1", bad])


def test_row_ids_must_grow_and_a_record_needs_a_key():
    index = VehicleIndex()
    index.add(np.array([5]), encode_keys(["DE:A1"]), encode_keys([None]))
    with pytest.raises(ValueError, match="row ids must grow"):
        index.add(np.array([5]), encode_keys(["DE:A2"]), encode_keys([None]))
    with pytest.raises(ValueError, match="plate or a VIN"):
        index.add(np.array([6]), encode_keys([None]), encode_keys([None]))

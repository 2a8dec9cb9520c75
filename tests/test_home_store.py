"""Store generations, snapshots and replay: the index always equals the store."""

from __future__ import annotations

import pytest

import matcher
from matcher.dna.database import SNAPSHOT_FILE
from matcher.dna.synth import generate_database, generate_queries
from matcher.store import Store


def _answers(home, queries):
    return [(a["query"], [(h["reference"], h["quality"], h["mismatches"]) for h in a["hits"]])
            for a in home.dna.search(queries)]


@pytest.fixture(scope="module")
def data():
    records = list(generate_database(3000, seed=4))
    queries = generate_queries(records, 120, seed=5, exact_fraction=0.3, typing_error_fraction=0.2)
    return records, queries


def _fresh(tmp_path, name="home"):
    path = tmp_path / name
    matcher.init_home(path, partner="NL")
    return path


def test_generations_tombstones_and_reopen(tmp_path, data):
    records, queries = data
    path = _fresh(tmp_path)
    with matcher.open_home(path) as home:
        r1 = home.dna.add(records[:1500])
        r2 = home.dna.add(records[1500:])
        assert (r1.generation, r2.generation) == (1, 2) and r2.added == 1500
        gone = [r["reference"] for r in records[::7]]
        report = home.dna.delete(gone)
        assert report.deleted == gone and report.generation == 3
        before = _answers(home, queries)
        assert not any(ref in gone for _, hits in before for ref, *_ in hits)
        assert home.dna.stats()["tombstones"] == len(gone)
    with matcher.open_home(path) as home:   # from the snapshot written on close
        assert _answers(home, queries) == before
    (path / SNAPSHOT_FILE).unlink()
    with matcher.open_home(path) as home:   # rebuilt from the store alone
        assert _answers(home, queries) == before


def test_stale_snapshot_is_brought_up_to_date(tmp_path, data):
    records, queries = data
    path = _fresh(tmp_path)
    with matcher.open_home(path) as home:
        home.dna.add(records[:2000])
        home.dna.snapshot()
        home.dna.add(records[2000:])
        replaced = [dict(r, loci=records[0]["loci"]) for r in records[100:110]]
        home.dna.add(replaced)
        home.dna.delete([r["reference"] for r in records[2500:2600]])
        expected = _answers(home, queries + replaced)
        home.dna._changes_since_snapshot = 0  # leave the old snapshot in place on close
    with matcher.open_home(path) as home:
        assert home.dna.index.live == 2900
        assert _answers(home, queries + replaced) == expected


def test_corrupt_snapshot_is_ignored(tmp_path, data):
    records, queries = data
    path = _fresh(tmp_path)
    with matcher.open_home(path) as home:
        home.dna.add(records)
        expected = _answers(home, queries)
    (path / SNAPSHOT_FILE).write_bytes(b"not a snapshot")
    with matcher.open_home(path) as home:
        assert _answers(home, queries) == expected


def test_replacement_within_one_batch_and_across(tmp_path, data):
    records, _ = data
    path = _fresh(tmp_path)
    first, second = records[0], records[1]
    with matcher.open_home(path) as home:
        report = home.dna.add([first, dict(second, reference=first["reference"])])
        assert (report.added, report.replaced) == (1, 1)
        [answer] = home.dna.search([dict(second, reference="Q")])
        assert [h["reference"] for h in answer["hits"]][:1] == [first["reference"]]
        report = home.dna.add([first])
        assert (report.added, report.replaced) == (0, 1)
        assert home.dna.stats()["profiles"] == 1


def test_another_process_writes_are_seen(tmp_path, data):
    records, queries = data
    path = _fresh(tmp_path)
    reader = matcher.open_home(path)
    try:
        with matcher.open_home(path) as writer:
            writer.dna.add(records)
        [answer] = reader.dna.search([records[5]])
        assert answer["hits"] == [] or answer["hits"][0]["reference"] != records[5]["reference"]
        assert reader.dna.stats()["profiles"] == len(records)
        with matcher.open_home(path) as writer:
            writer.dna.delete([records[6]["reference"]])
        assert reader.dna.stats()["profiles"] == len(records) - 1
    finally:
        reader.close()


def test_rejected_records_harm_nothing(tmp_path, data):
    records, queries = data
    path = _fresh(tmp_path)
    with matcher.open_home(path) as home:
        home.dna.add(records[:100])
        expected = _answers(home, queries)
        bad = [dict(records[0], loci={"D99S1": "1"}), {"reference": records[1]["reference"]},
               dict(records[2], kind="suspect")]
        report = home.dna.add(bad)
        assert report.added == 0 and len(report.rejected) == 3
        assert report.rejected[1]["reference"] == records[1]["reference"]
        assert _answers(home, queries) == expected
        assert home.dna.stats()["profiles"] == 100


def test_store_write_is_atomic(tmp_path):
    store = Store(tmp_path / "s.sqlite", create=True)
    store.write("dna", [("A", "person", "{}", 0)])
    with pytest.raises(Exception):
        store.write("dna", [("B", "person", "{}", 0), ("C", "person", None, 0)])  # NOT NULL
    assert [r.reference for r in store.records("dna")] == ["A"]
    assert store.generation() == 1
    assert store.integrity_check() == "ok"
    store.close()


def test_many_small_writes_keep_row_order(tmp_path, data):
    records, queries = data
    path = _fresh(tmp_path)
    with matcher.open_home(path) as home:
        for start in range(0, 600, 37):
            home.dna.add(records[start:min(start + 37, 600)])
        home.dna.delete([r["reference"] for r in records[:600:3]])
        again = records[:600:3]
        for start in range(0, len(again), 50):
            home.dna.add(again[start:start + 50])
        expected = _answers(home, queries)
        rowids = home.dna.index.rowids[: home.dna.index.n_rows]
        assert (rowids[1:] > rowids[:-1]).all()
    with matcher.open_home(path) as home:
        assert _answers(home, queries) == expected
        assert home.dna.stats()["profiles"] == 600


def test_open_home_creates_only_fresh_folders(tmp_path):
    with matcher.open_home(tmp_path / "new") as home:      # does not exist yet
        assert home.dna.stats()["profiles"] == 0
    (tmp_path / "empty").mkdir()
    matcher.open_home(tmp_path / "empty").close()           # empty folder
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(matcher.HomeError):
        matcher.open_home(tmp_path / "busy")
    with pytest.raises(matcher.HomeError):
        matcher.open_home(tmp_path / "other", create=False)


def test_queries_without_reference_are_searched(tmp_path, data):
    records, _ = data
    with matcher.open_home(tmp_path / "h") as home:
        home.dna.add(records[:50])
        loci = records[0]["loci"]
        [answer] = home.dna.search([{"loci": loci}])
        assert answer["query"] is None and answer["hits"][0]["reference"] == records[0]["reference"]
        [answer] = home.dna.search([{"reference": 7, "loci": loci}])
        assert "reference" in answer["error"]


def test_explain_agrees_with_search(tmp_path, data):
    records, queries = data
    with matcher.open_home(tmp_path / "h") as home:
        home.dna.add(records)
        checked = 0
        for answer, query in zip(home.dna.search(queries), queries):
            for hit in answer.get("hits", []):
                why = home.dna.explain(query, hit["reference"])
                assert why["hit"] and why["quality"] == hit["quality"]
                assert (why["matching_loci"], why["compared_loci"], why["mismatches"]) == (
                    hit["matching_loci"], hit["compared_loci"], hit["mismatches"])
                assert all(set(l) == {"locus", "classes", "matching"} for l in why["loci"])
                checked += 1
        assert checked > 20
        miss = home.dna.explain(queries[0], records[-1]["reference"])
        assert miss["hit"] is False or miss["reference"] == records[-1]["reference"]


def test_interleaved_writers_keep_every_index_complete(tmp_path, data):
    """Another process commits between our last refresh and our own write: nothing of
    either write may be missing from our index afterwards."""
    records, queries = data
    path = _fresh(tmp_path)
    first, second = matcher.open_home(path), matcher.open_home(path)
    try:
        first.dna.add(records[:1000])
        refresh = first.dna.refresh
        first.dna.refresh = lambda: None             # the race: no catching up before writing
        second.dna.add(records[1000:2000])
        first.dna.add(records[2000:])                # commits generation 3, knew 1
        assert first.dna.index.live == len(records)
        second.dna.delete([records[10]["reference"]])
        first.dna.delete([records[1500]["reference"]])
        assert first.dna.index.live == len(records) - 2
        first.dna.refresh = refresh
        assert first.dna.stats()["profiles"] == len(records) - 2
        assert _answers(first, queries) == _answers(second, queries)
    finally:
        first.close()
        second.close()

"""The finger candidate index: the FAISS shortlist against a brute-force reference, the
gallery snapshot beside the store (write, memory-mapped read), and consistency with the
store after adds, replaces and deletes, across reopenings and other writers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import matcher
from matcher.config import Config, FingerSettings
from matcher.finger import _gallery_snapshot
from matcher.finger.embedding import EMBEDDING_DIM
from matcher.finger.shortlist import EmbeddingIndex
from matcher.finger.synth import generate_masters, impression
from matcher.finger.templates import finger_to_json

MASTERS = 260


@pytest.fixture(scope="module")
def masters():
    return list(generate_masters(MASTERS, seed=44))


def _record(reference, masters, number, rng, positions=(1, 6)):
    fingers = []
    for offset, position in enumerate(positions):
        finger = impression(masters[(number + offset) % len(masters)], rng, mode="rolled")
        finger.position = position
        fingers.append(finger_to_json(finger))
    return {"reference": reference, "kind": "person", "fingers": fingers}


def _probe(masters, number, rng, position=1, mode="plain"):
    finger = impression(masters[number], rng, mode=mode)
    finger.position = position
    return {"reference": f"Q-{number}", "fingers": [finger_to_json(finger)]}


def _shortlisting(path):
    """Force the embedding shortlist even on a small gallery."""
    config = Config(partner="DE", finger=FingerSettings(exhaustive_below=0,
                                                         shortlist_fraction=0.01))
    (path / "config.toml").write_text(config.dump())


# -- the FAISS index against a plain reference ----------------------------------------------

def _reference_search(codes_index: EmbeddingIndex, vector, k, allowed):
    """Brute force over the decoded codes: the same ranking the index must give."""
    decoded = codes_index.index.sa_decode(codes_index.codes())
    products = decoded @ vector
    ids = [i for i in np.argsort(-products, kind="stable") if allowed is None or allowed[i]]
    return products, ids[:k]


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 300), k=st.integers(1, 50), seed=st.integers(0, 2**31 - 1),
       share=st.sampled_from([None, 0.0, 0.3, 1.0]))
def test_index_search_equals_brute_force(n, k, seed, share):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    index = EmbeddingIndex()
    index.add(vectors)
    allowed = None if share is None else rng.random(n) < share
    query = vectors[0] if n else rng.normal(size=EMBEDDING_DIM).astype(np.float32)
    products, ids = index.search(query, k, allowed)
    reference_products, reference_ids = _reference_search(index, query, k, allowed)
    assert len(ids) == len(reference_ids)
    # ties may come in any order: compare the inner products rank by rank, and the sets
    np.testing.assert_allclose(products, reference_products[reference_ids], atol=1e-4)
    assert allowed is None or all(allowed[ids])
    assert len(set(ids.tolist())) == len(ids)


def test_index_codes_survive_write_and_mapped_read(tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = EmbeddingIndex()
    index.add(vectors)
    index.write(tmp_path / "e.faiss")
    mapped = EmbeddingIndex.read(tmp_path / "e.faiss")
    assert mapped.mapped and len(mapped) == 50
    assert np.array_equal(mapped.codes(), index.codes())
    assert np.array_equal(EmbeddingIndex.from_codes(index.codes()).codes(), index.codes())
    with pytest.raises(RuntimeError, match="read-only"):
        mapped.add(vectors[:1])                 # FAISS itself would abort the process
    assert mapped.bytes_per_finger() == EMBEDDING_DIM          # 8 bits per dimension


# -- the home: shortlist search, snapshot, consistency --------------------------------------

@pytest.fixture(scope="module")
def home(tmp_path_factory, masters):
    path = tmp_path_factory.mktemp("fingerindex") / "home"
    matcher.init_home(path)
    _shortlisting(path)
    rng = np.random.default_rng(3)
    with matcher.open_home(path, create=False) as h:
        h.finger.add(_record(f"R-{i:03d}", masters, i, rng) for i in range(MASTERS))
    return path


def test_shortlist_search_finds_mates(home, masters, monkeypatch):
    # A shortlist of 20 of the 260 fingers at position 1: MCC scores only those.
    monkeypatch.setattr("matcher.finger.gallery.SHORTLIST_MIN", 20)
    rng = np.random.default_rng(8)
    queries = [_probe(masters, i, rng) for i in range(0, MASTERS, 13)]
    with matcher.open_home(home, create=False) as h:
        assert len(h.finger.gallery) == 2 * MASTERS
        scored = []
        original = h.finger.gallery._score

        def spy(probe, chosen):
            scored.append(sum(len(c) for c in chosen))
            return original(probe, chosen)
        h.finger.gallery._score = spy
        answers = h.finger.search(queries)
    assert scored == [20] * len(queries)
    firsts = [a["candidates"][0]["reference"] for a in answers]
    assert firsts == [f"R-{i:03d}" for i in range(0, MASTERS, 13)]


def test_close_writes_a_snapshot_that_reopens_mapped(home):
    pointer = json.loads((home / _gallery_snapshot.POINTER_FILE).read_text())
    with matcher.open_home(home, create=False) as h:
        gallery = h.finger.gallery
        assert pointer["generation"] == h.store.generation()
        assert len(gallery.frozen) == 2 * MASTERS and len(gallery.growing) == 0
        assert gallery.frozen.index.mapped
        assert isinstance(gallery.frozen.packed().bits, np.memmap)
    assert [p.name for p in home.glob("finger-index-*")] == [pointer["folder"]]


def _answers(path, queries):
    with matcher.open_home(path, create=False) as h:
        return h.finger.search(queries)


def _rebuilt_answers(path, tmp_path, queries):
    """The same home with its snapshot thrown away: the gallery rebuilt from the store."""
    copy = tmp_path / "rebuilt"
    shutil.copytree(path, copy)
    (copy / _gallery_snapshot.POINTER_FILE).unlink()
    for folder in copy.glob("finger-index-*"):
        shutil.rmtree(folder)
    return _answers(copy, queries)


def test_changes_after_a_snapshot_stay_consistent(tmp_path, masters):
    path = tmp_path / "home"
    matcher.init_home(path)
    _shortlisting(path)
    rng = np.random.default_rng(11)
    with matcher.open_home(path, create=False) as h:
        h.finger.add(_record(f"R-{i:03d}", masters, i, rng) for i in range(200))
    with matcher.open_home(path, create=False) as h:             # snapshot loaded
        h.finger.delete(["R-000", "R-001"])
        h.finger.add([_record("R-002", masters, 210, rng),    # replaced by another finger
                      _record("R-300", masters, 0, rng)])       # R-000's finger, new record
        h.finger._changed = 0                                    # close without a snapshot
    queries = [_probe(masters, n, rng) for n in (0, 1, 2, 210, 5)]
    answers = _answers(path, queries)                            # snapshot + replay
    assert answers == _rebuilt_answers(path, tmp_path, queries)
    tops = [a["candidates"][0]["reference"] if a["candidates"] else None for a in answers]
    assert tops[0] == "R-300" and tops[3] == "R-002" and tops[4] == "R-005"
    everywhere = {c["reference"] for a in answers for c in a["candidates"]}
    assert not everywhere & {"R-000", "R-001"}


def test_another_writer_is_seen_without_reopening(tmp_path, masters):
    path = tmp_path / "home"
    rng = np.random.default_rng(12)
    with matcher.open_home(path) as first, matcher.open_home(path) as second:
        first.finger.add([_record("A", masters, 30, rng)])
        second.finger.add([_record("B", masters, 40, rng)])
        second.finger.delete(["A"])
        answers = first.finger.search([_probe(masters, 40, rng), _probe(masters, 30, rng)])
    assert answers[0]["candidates"][0]["reference"] == "B"
    assert all(c["reference"] != "A" for c in answers[1]["candidates"])


@pytest.mark.parametrize("damage", ["pointer", "array", "faiss", "generation"])
def test_a_damaged_snapshot_is_ignored(tmp_path, home, masters, damage):
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    pointer_file = copy / _gallery_snapshot.POINTER_FILE
    pointer = json.loads(pointer_file.read_text())
    folder = copy / pointer["folder"]
    if damage == "pointer":
        pointer_file.write_text("{not json")
    elif damage == "array":
        (folder / "offsets.npy").write_bytes(b"\x93NUMPY garbage")
    elif damage == "faiss":
        (folder / _gallery_snapshot.INDEX_FILE).write_bytes(b"\0" * 64)
    else:
        pointer["generation"] += 1000                # made under another store
        pointer_file.write_text(json.dumps(pointer))
    rng = np.random.default_rng(9)
    queries = [_probe(masters, 7, rng)]
    with matcher.open_home(copy, create=False) as h:
        assert len(h.finger.gallery.frozen) == 0     # rebuilt from the store
        assert len(h.finger.gallery) == 2 * MASTERS
        assert h.finger.search(queries)[0]["candidates"][0]["reference"] == "R-007"
        generation = h.store.generation()
    assert json.loads(pointer_file.read_text())["generation"] == generation   # rewritten


def test_latent_probes_search_every_finger_by_default(home, masters):
    rng = np.random.default_rng(10)
    finger = impression(masters[20], rng, mode="latent")
    finger.position = 0
    query = {"reference": "L", "kind": "latent", "fingers": [finger_to_json(finger)]}
    with matcher.open_home(home, create=False) as h:
        seen = {}
        original = h.finger.gallery._score

        def spy(probe, chosen):
            seen["scored"] = sum(len(c) for c in chosen)
            return original(probe, chosen)
        h.finger.gallery._score = spy
        h.finger.search([query])
    assert seen["scored"] == 2 * MASTERS             # latent_shortlist_fraction = 1.0


def test_a_shortlist_is_scored_in_place_as_if_gathered(masters):
    """``similarity_subset`` reads the shortlisted templates where they lie; it must score
    exactly what packing copies of them would."""
    from matcher.finger import mcc
    from matcher.finger._gallery_segment import gather
    rng = np.random.default_rng(2)
    gallery = mcc.pack_cylinders([mcc.make_cylinders(impression(m, rng, mode="rolled").arrays())
                                  for m in masters[:60]])
    probe = mcc.make_cylinders(impression(masters[7], rng, mode="plain").arrays())
    for chosen in ([7], [59, 3, 7, 7, 0], list(range(60))[::-1], []):
        chosen = np.array(chosen, np.int64)
        in_place = mcc.similarity_subset(probe, gallery, chosen)
        copied = mcc.similarity_one_to_many(probe, gather(gallery, chosen)) if len(chosen) \
            else np.zeros(0)
        assert np.array_equal(in_place, copied)


def test_a_small_change_is_replayed_rather_than_rewriting_the_snapshot(tmp_path, masters):
    path = tmp_path / "home"
    rng = np.random.default_rng(13)
    with matcher.open_home(path) as h:
        h.finger.add(_record(f"R-{i:03d}", masters, i, rng) for i in range(30))
    first = json.loads((path / _gallery_snapshot.POINTER_FILE).read_text())
    with matcher.open_home(path) as h:                      # one record more: no rewrite
        h.finger.add([_record("R-100", masters, 100, rng)])
    assert json.loads((path / _gallery_snapshot.POINTER_FILE).read_text()) == first
    with matcher.open_home(path) as h:                      # replayed on open
        assert len(h.finger.gallery.frozen) == 60 and len(h.finger.gallery.growing) == 2
        answer = h.finger.search([_probe(masters, 100, rng)])[0]
    assert answer["candidates"][0]["reference"] == "R-100"

"""Finger embedding for candidate search (issue 3): training, and the shortlist evaluation.

    python benchmarks/finger_embedding.py train                # writes fixtures/finger-embedding/
    python benchmarks/finger_embedding.py evaluate --gallery 20000 --probes 1000 \\
        --mcc-gallery 10000 --mcc-probes 150 --index-gallery 100000

**train** (deterministic): ``--masters`` synthetic masters from ``generate_masters(seed=
TRAIN_SEED)`` (disjoint from the evaluation's seed-0 masters), ``TRAIN_MODES`` impressions
of each from ``default_rng(TRAIN_SEED + 1)``, pair features (``embedding.pair_features``),
a regularised LDA (``_embedding_train.fit_projection``), then the ITQ rotation of the
binary code fitted on the embeddings of the first rolled impressions.  Writes
``fixtures/finger-embedding/projection.npz`` (float16 matrices).

**evaluate**: a rolled gallery of ``--gallery`` seed-0 masters, plain and latent probes of
the first ``--probes`` of them (fresh impressions).  Prints

1. the share of mates within the top p % (p = 0.1, 0.3, 1, 5) of an exact inner-product
   ranking, for the embedding, its binary code (Hamming) and the baseline (the raw pair
   histogram the projection starts from, cosine), with the ratio of their shares at 0.3 %;
2. the same restricted to the mates that exhaustive MCC ranks first (the issue's target),
   on ``--mcc-gallery`` fingers and ``--mcc-probes`` probes;
3. FAISS indexes over ``--index-gallery`` rolled fingers: the share of plain mates in the
   shortlist of 0.1 / 0.3 / 1 % of the gallery, bytes per finger (serialised index / n),
   milliseconds per single query on one thread, and build seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from matcher.finger import _embedding_train, embedding, mcc, synth  # noqa: E402

TRAIN_SEED = 777
TRAIN_MASTERS = 16_000
#: Impressions per training master: the captures a search sees (rolled gallery, plain and
#: latent probes), plain weighted most because plain-against-rolled is the main search.
TRAIN_MODES = ("rolled", "rolled", "plain", "plain", "plain", "latent", "latent")
#: Principal axes kept before the LDA and its regularisation (``_embedding_train``):
#: 512 / 0.3 measured best among 512-1536 and 0.01-3.0.
PCA_DIM = 512
REGULARISATION = 0.3
ITQ_ITERATIONS = 50
FIXTURE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "finger-embedding"
EVAL_SEED = 0
PERCENTS = (0.1, 0.3, 1.0, 5.0)


# -- data ---------------------------------------------------------------------------------

def impressions(masters, rng, mode):
    return [synth.impression(master, rng, mode=mode).arrays() for master in masters]


def features(prints) -> np.ndarray:
    out = np.zeros((len(prints), embedding.HISTOGRAM_DIM), np.float32)
    for row, arrays in enumerate(prints):
        out[row] = embedding.pair_features(arrays)
    return out


# -- train --------------------------------------------------------------------------------

def train(args) -> None:
    started = time.perf_counter()
    masters = list(synth.generate_masters(args.masters, seed=TRAIN_SEED))
    rng = np.random.default_rng(TRAIN_SEED + 1)
    blocks = [features(impressions(masters, rng, mode)) for mode in TRAIN_MODES]
    labels = np.tile(np.arange(args.masters), len(TRAIN_MODES))
    print(f"{len(labels)} training impressions of {args.masters} masters "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    mean, projection = _embedding_train.fit_projection(
        np.concatenate(blocks), labels, pca_dim=PCA_DIM, out_dim=embedding.EMBEDDING_DIM,
        regularisation=REGULARISATION)
    # Stored as float16 to keep the fixture ~1 MB; training and evaluation both go through
    # the rounded matrices, so what is measured is what ships.
    projection = projection.astype(np.float16).astype(np.float32)
    rolled = (blocks[0] - mean) @ projection
    rolled /= np.linalg.norm(rolled, axis=1, keepdims=True)
    rotation = _embedding_train.fit_itq(rolled, iterations=ITQ_ITERATIONS, seed=TRAIN_SEED)
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(FIXTURE_DIR / "projection.npz", mean=mean, projection=projection.astype(np.float16),
             itq_rotation=rotation.astype(np.float16))
    print(f"wrote {FIXTURE_DIR / 'projection.npz'} "
          f"({(FIXTURE_DIR / 'projection.npz').stat().st_size / 1e6:.2f} MB) in "
          f"{time.perf_counter() - started:.0f} s")


# -- ranking metrics ----------------------------------------------------------------------

def mate_ranks(gallery: np.ndarray, probes: np.ndarray, mates: np.ndarray) -> np.ndarray:
    """Rank (0 = first) of each probe's mate by inner product; ties count against it."""
    scores = probes @ gallery.T
    mate_scores = scores[np.arange(len(probes)), mates]
    return (scores >= mate_scores[:, None]).sum(axis=1) - 1


def hamming_ranks(gallery_codes, probe_codes, mates) -> np.ndarray:
    table = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1)
    ranks = np.empty(len(probe_codes), np.int64)
    for row, code in enumerate(probe_codes):
        distances = table[gallery_codes ^ code].sum(axis=1)
        ranks[row] = (distances <= distances[mates[row]]).sum() - 1
    return ranks


def shares(ranks: np.ndarray, gallery_size: int) -> list[float]:
    return [100.0 * float(np.mean(ranks < max(1, round(p / 100 * gallery_size))))
            for p in PERCENTS]


def print_row(label: str, values: list[float], extra: str = "") -> None:
    print(f"  {label:34s}" + "".join(f"{v:8.1f}" for v in values) + extra, flush=True)


def header(title: str) -> None:
    print(f"\n{title}\n  {'':34s}" + "".join(f"{p:7.1f}%" for p in PERCENTS), flush=True)


# -- evaluate -----------------------------------------------------------------------------

def evaluate(args) -> None:
    size = max(args.gallery, args.index_gallery, args.mcc_gallery)
    started = time.perf_counter()
    masters = list(synth.generate_masters(size, seed=EVAL_SEED))
    rng = np.random.default_rng(EVAL_SEED + 1)
    gallery_prints = impressions(masters, rng, "rolled")
    probe_prints = {mode: impressions(masters[:args.probes], rng, mode)
                    for mode in ("plain", "latent")}
    made = time.perf_counter()
    gallery = embedding.embed_many(gallery_prints)
    per_print_ms = 1000 * (time.perf_counter() - made) / size
    probes = {mode: embedding.embed_many(prints) for mode, prints in probe_prints.items()}
    print(f"{size} rolled gallery fingers, {args.probes} plain and latent probes "
          f"({made - started:.0f} s to synthesise); embedding {per_print_ms:.2f} ms per "
          f"rolled print", flush=True)

    n = args.gallery
    mates = np.arange(args.probes)
    baseline_gallery = features(gallery_prints[:n])
    codes = embedding.binary_codes(gallery[:n])
    header(f"Share of mates within the top p % of a {n}-finger rolled gallery (exact search)")
    for mode in probes:
        ours = shares(mate_ranks(gallery[:n], probes[mode], mates), n)
        base = shares(mate_ranks(baseline_gallery, features(probe_prints[mode]), mates), n)
        binary = shares(hamming_ranks(codes, embedding.binary_codes(probes[mode]), mates), n)
        print_row(f"{mode}: embedding (float, cosine)", ours,
                  f"   x{ours[1] / max(base[1], 1e-9):.2f} of baseline at 0.3 %")
        print_row(f"{mode}: embedding ITQ {embedding.BINARY_BITS}-bit", binary)
        print_row(f"{mode}: baseline raw pair histogram", base)

    if args.mcc_probes:
        mcc_first(args, gallery, gallery_prints, probes, probe_prints)
    if args.index_gallery:
        faiss_table(args, gallery[:args.index_gallery], probes["plain"], mates)


def mcc_first(args, gallery, gallery_prints, probes, probe_prints) -> None:
    """Shares among the mates exhaustive MCC ranks first (the issue's target population)."""
    n, count = args.mcc_gallery, min(args.mcc_probes, args.probes)
    started = time.perf_counter()
    packed = mcc.pack_cylinders([mcc.make_cylinders(a) for a in gallery_prints[:n]])
    header(f"Among mates exhaustive MCC (LSS-R) ranks first, {n}-finger gallery, {count} probes")
    for mode in probes:
        mcc_rank = np.empty(count, np.int64)
        for row in range(count):
            scores = mcc.similarity_one_to_many(mcc.make_cylinders(probe_prints[mode][row]), packed)
            mcc_rank[row] = (scores >= scores[row]).sum() - 1
        first = mcc_rank == 0
        ranks = mate_ranks(gallery[:n], probes[mode][:count], np.arange(count))
        print_row(f"{mode}: {first.sum()}/{count} MCC-first mates", shares(ranks[first], n))
    print(f"  (exhaustive MCC took {time.perf_counter() - started:.0f} s)")


def faiss_table(args, gallery, probes, mates) -> None:
    import faiss
    faiss.omp_set_num_threads(1)
    n, dim = gallery.shape
    shortlist = [max(1, round(p / 100 * n)) for p in PERCENTS[:3]]
    nlist = args.nlist
    codes = embedding.binary_codes(gallery)
    probe_codes = embedding.binary_codes(probes)

    def ivf(make):
        def build():
            index = make()
            index.train(gallery)
            index.add(gallery)
            return index
        return build

    def binary_ivf():
        index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(embedding.BINARY_BITS),
                                     embedding.BINARY_BITS, nlist)
        index.train(codes)
        index.add(codes)
        return index

    quantizer = lambda: faiss.IndexFlatIP(dim)  # noqa: E731
    ip = faiss.METRIC_INNER_PRODUCT
    sq8 = faiss.ScalarQuantizer.QT_8bit
    candidates = [
        ("Flat (exact)", lambda: _added(faiss.IndexFlatIP(dim), gallery), [None]),
        ("SQ8 flat", ivf(lambda: faiss.IndexScalarQuantizer(dim, sq8, ip)), [None]),
        ("PQ64 flat", ivf(lambda: faiss.IndexPQ(dim, 64, 8, ip)), [None]),
        (f"IVF{nlist},Flat", ivf(lambda: faiss.IndexIVFFlat(quantizer(), dim, nlist, ip)),
         [16, 64, 256]),
        (f"IVF{nlist},SQ8", ivf(lambda: faiss.IndexIVFScalarQuantizer(
            quantizer(), dim, nlist, sq8, ip)), [16, 64, 256]),
        (f"IVF{nlist},PQ64", ivf(lambda: faiss.IndexIVFPQ(quantizer(), dim, nlist, 64, 8, ip)),
         [16, 64]),
        ("HNSW32,SQ8", ivf(lambda: faiss.IndexHNSWSQ(dim, sq8, 32, ip)), [128, 512]),
        (f"binary flat {embedding.BINARY_BITS}-bit", lambda: _added(
            faiss.IndexBinaryFlat(embedding.BINARY_BITS), codes), [None]),
        (f"binary IVF{nlist}", binary_ivf, [16, 64]),
    ]
    print(f"\nFAISS over {n} rolled fingers, {len(probes)} plain probes, one thread; "
          f"shortlist = {', '.join(f'{p}% ({k})' for p, k in zip(PERCENTS, shortlist))}")
    print(f"  {'index':24s} {'param':>6s}" + "".join(f"{p:7.1f}%" for p in PERCENTS[:3])
          + f"{'B/finger':>10s}{'ms@0.3%':>9s}{'build s':>8s}")
    for name, build, settings in candidates:
        started = time.perf_counter()
        index = build()
        build_s = time.perf_counter() - started
        binary = name.startswith("binary")
        queries = probe_codes if binary else probes
        per_finger = len(faiss.serialize_index_binary(index) if binary
                         else faiss.serialize_index(index)) / n
        for setting in settings:
            if setting is not None:
                if "HNSW" in name:
                    index.hnsw.efSearch = setting
                else:
                    index.nprobe = setting
            found, ms = [], 0.0
            for k in shortlist:
                _, labels = index.search(queries, k)
                found.append(100.0 * float(np.mean((labels == mates[:, None]).any(axis=1))))
            timed = queries[:min(200, len(queries))]
            tic = time.perf_counter()
            for row in range(len(timed)):
                index.search(timed[row:row + 1], shortlist[1])
            ms = 1000 * (time.perf_counter() - tic) / len(timed)
            label = "-" if setting is None else str(setting)
            print(f"  {name:24s} {label:>6s}" + "".join(f"{v:8.1f}" for v in found)
                  + f"{per_finger:10.0f}{ms:9.2f}{build_s:8.1f}", flush=True)


def _added(index, data):
    index.add(data)
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train_parser = sub.add_parser("train", help="fit the projection, write the fixture")
    train_parser.add_argument("--masters", type=int, default=TRAIN_MASTERS)
    eval_parser = sub.add_parser("evaluate", help="print the shortlist tables")
    eval_parser.add_argument("--gallery", type=int, default=20_000)
    eval_parser.add_argument("--probes", type=int, default=1_000)
    eval_parser.add_argument("--mcc-gallery", type=int, default=10_000)
    eval_parser.add_argument("--mcc-probes", type=int, default=150)
    eval_parser.add_argument("--index-gallery", type=int, default=100_000)
    eval_parser.add_argument("--nlist", type=int, default=1024)
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args)
    else:
        evaluate(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time FAISS's exact inner-product search (IndexFlatIP) on the shape of
goclip's BenchmarkSearch1M: N random unit vectors of DIM float32 values,
one query at a time and in batches of 64, top 10, on THREADS threads.
Prints one JSON line: median and minimum ms per query.

  /usr/bin/python3 bench/faiss_flat.py --n 1000000 --dim 512 --threads 2
"""
import argparse
import json
import statistics
import time

import faiss
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=1_000_000)
ap.add_argument("--dim", type=int, default=512)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--queries", type=int, default=20)
ap.add_argument("--k", type=int, default=10)
args = ap.parse_args()

faiss.omp_set_num_threads(args.threads)
rng = np.random.default_rng(1)
xb = np.empty((args.n, args.dim), dtype=np.float32)
for lo in range(0, args.n, 100_000):
    hi = min(lo + 100_000, args.n)
    v = rng.standard_normal((hi - lo, args.dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    xb[lo:hi] = v
index = faiss.IndexFlatIP(args.dim)
index.add(xb)
q = rng.standard_normal((max(args.queries, 64), args.dim), dtype=np.float32)
q /= np.linalg.norm(q, axis=1, keepdims=True)
index.search(q[:1], args.k)  # warm-up
single = []
for i in range(args.queries):
    t0 = time.perf_counter()
    index.search(q[i : i + 1], args.k)
    single.append((time.perf_counter() - t0) * 1e3)
batched = []
for _ in range(3):
    t0 = time.perf_counter()
    index.search(q[:64], args.k)
    batched.append((time.perf_counter() - t0) * 1e3 / 64)
print(json.dumps({
    "engine": "faiss IndexFlatIP " + faiss.__version__, "n": args.n, "dim": args.dim, "threads": args.threads,
    "single_median_ms": statistics.median(single), "single_min_ms": min(single),
    "batch64_median_ms_per_query": statistics.median(batched),
}))

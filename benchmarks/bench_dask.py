"""Dask overhead: logpmf of a large counts matrix in 64 MiB chunks through
Dask's threaded scheduler vs the in-memory ufunc, and the fused loglik.

    python benchmarks/bench_dask.py [--cells 100000] [--genes 2000]

(2e8 elements by default: about 5 GB of memory.)
"""
import argparse

import dask
import dask.array as da
import numpy as np

import nbnumba
from _timing import best
from nbnumba import ufuncs
from nbnumba._demo import counts_matrix


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--genes", type=int, default=2000)
    args = ap.parse_args()
    X, mu, theta = counts_matrix(args.cells, args.genes)
    rows = max(1, (64 << 20) // (8 * args.genes))          # 64 MiB of float64 per chunk
    Xd = da.from_array(X, chunks=(rows, args.genes))
    mud = da.from_array(mu, chunks=(rows, args.genes))
    n = X.size
    print(f"{n:.1e} elements, {Xd.npartitions} chunks of {rows} x {args.genes}\n")
    print("| what | Melem/s | vs in-memory ufunc |")
    print("|---|---:|---:|")
    with dask.config.set(scheduler="threads"):
        t0 = best(lambda: ufuncs.logpmf(X, mu, theta))
        rows_out = [("in-memory nbnumba.ufuncs.logpmf", t0),
                    ("Dask, threaded, logpmf (stored)", best(
                        lambda: da.store(ufuncs.logpmf(Xd, mud, theta),
                                         np.empty(X.shape), lock=False))),
                    ("in-memory nbnumba.loglik (fused sum)", best(lambda: nbnumba.loglik(X, mu, theta))),
                    ("in-memory logpmf(...).sum()", best(lambda: ufuncs.logpmf(X, mu, theta).sum())),
                    ("Dask, threaded, loglik", best(lambda: nbnumba.loglik(Xd, mud, theta).compute()))]
    for label, t in rows_out:
        print(f"| {label} | {n / t / 1e6:.1f} | {t0 / t:.2f}x |")


if __name__ == "__main__":
    main()

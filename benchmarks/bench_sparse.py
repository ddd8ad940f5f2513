"""The sparse log-likelihood at single-cell scale, in one run.

    python benchmarks/bench_sparse.py [--cells 100000] [--genes 20000] [--density 0.05]

A CSR counts matrix (int32, 5% stored, sctransform-style means given as
(size_factors, gene_means), never materialised): ``nbnumba.loglik`` per gene
and in total, its throughput per stored element and per element, against
the dense ``loglik`` per element on a slice of the same matrix made dense
(the whole matrix dense would not fit: 1e5 x 2e4 int32 is 8 GB), and the
peak memory the sparse call adds (it must be O(nnz + rows + cols)).
"""
import argparse
import resource
import time

import numpy as np
import scipy.sparse as sp

import nbnumba


def rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--density", type=float, default=0.05)
    args = ap.parse_args()
    n, g = args.cells, args.genes
    per_row = int(args.density * g)
    rng = np.random.default_rng(0)
    # each row's stored columns: an evenly spread set shifted per row (no duplicates)
    offsets = rng.integers(0, g, n)
    cols = (offsets[:, None] + np.arange(per_row) * (g // per_row)) % g
    cols.sort(axis=1)
    X = sp.csr_matrix((rng.integers(1, 6, n * per_row).astype(np.int32),
                       cols.ravel().astype(np.int32), np.arange(0, n * per_row + 1, per_row)),
                      shape=(n, g))
    s = np.exp(rng.normal(0, 0.4, n))
    m = np.exp(rng.normal(-1, 1.6, g))
    theta = np.exp(rng.normal(1, 0.5, g))
    nnz = X.nnz
    small = X[:2000]
    nbnumba.loglik(small, (s[:2000], m), theta, axis=0)     # compile / load
    nbnumba.loglik(small.toarray(), (s[:2000], m), theta, axis=0)
    before = rss_gb()
    t = time.perf_counter()
    per_gene = nbnumba.loglik(X, (s, m), theta, axis=0)
    t_sparse = time.perf_counter() - t
    grew = rss_gb() - before
    t = time.perf_counter()
    total = nbnumba.loglik(X, (s, m), theta)
    t_total = time.perf_counter() - t
    rows = 5000
    dense = X[:rows].toarray()
    t = time.perf_counter()
    nbnumba.loglik(dense, (s[:rows], m), theta, axis=0)
    t_dense = (time.perf_counter() - t) * n / rows
    print(f"{n} x {g} CSR, {nnz / 1e6:.0f} M stored ({nnz / (n * g):.0%}), one run")
    print(f"sparse loglik per gene: {t_sparse:.2f} s = {nnz / t_sparse / 1e6:.1f} M stored elements/s, "
          f"{n * g / t_sparse / 1e6:.0f} M elements/s; total {t_total:.2f} s ({total:.6g})")
    print(f"dense loglik per gene, scaled from {rows} rows: {t_dense:.2f} s = "
          f"{n * g / t_dense / 1e6:.0f} M elements/s (densifying the whole matrix would take "
          f"{n * g * 4 / 1e9:.0f} GB as int32)")
    print(f"sparse / dense time: {t_sparse / t_dense:.2f}; the sparse call's peak memory grew "
          f"{grew:.2f} GB (X itself: {(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 1e9:.2f} GB)")
    assert np.all(np.isfinite(per_gene))


if __name__ == "__main__":
    main()

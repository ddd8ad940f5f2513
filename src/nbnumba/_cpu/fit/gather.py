"""A block of genes' counts into contiguous float64 rows, and each gene's
distinct counts (the sums over them, see likelihood.lgamma_parts)."""
import numpy as np

from .base import GATHER, HIST, helper, is_count


@helper
def buffers(n):
    """What gather and distinct fill, for n cells: kb (GATHER x n counts),
    nc, n0, good (per gene of a block), hist (distinct's histograms,
    zeroed), big, vals, tails (distinct's counts)."""
    return (np.empty((GATHER, n)), np.empty(GATHER, np.int64), np.empty(GATHER, np.int64),
            np.empty(GATHER, np.bool_), np.zeros((4, HIST + 1), np.int64), np.empty(n),
            np.empty(n), np.empty(n))


@helper
def gather_dense(X, tr, j0, gn, n, kb):
    """Columns j0:j0+gn of X (cells x genes; genes x cells where tr) into
    the rows of kb, as float64."""
    if tr:
        for g in range(gn):
            row = X[j0 + g]
            out = kb[g]
            for i in range(n):
                out[i] = row[i]
    else:
        for i in range(n):
            row = X[i]
            for g in range(gn):
                kb[g, i] = row[j0 + g]


@helper
def gather(src, j0, gn, n, compact, kb, nc, n0, good):
    """Counts of genes j0:j0+gn into the rows of kb: all n cells, or with
    ``compact`` the nonzero ones in cell order (nc[g] of them, n0[g] zeros);
    good[g]: whether every count is a count.

    src = (fmt, tr, X int64, X int32, X float64, X float32, indptr, indices,
    data): fmt 0-3 picks the dense X of that dtype (C-contiguous, cells x
    genes, or genes x cells where tr), fmt 4 the CSC arrays (sorted
    indices, no duplicates)."""
    fmt, tr, xi8, xi4, xf8, xf4, indptr, indices, data = src
    if fmt < 4:
        if fmt == 0:
            gather_dense(xi8, tr, j0, gn, n, kb)
        elif fmt == 1:
            gather_dense(xi4, tr, j0, gn, n, kb)
        elif fmt == 2:
            gather_dense(xf8, tr, j0, gn, n, kb)
        else:
            gather_dense(xf4, tr, j0, gn, n, kb)
        for g in range(gn):
            row = kb[g]
            ok = True
            for i in range(n):
                ok &= is_count(row[i])
            m = 0
            if compact:
                for i in range(n):
                    k = row[i]
                    if k != 0.0:
                        row[m] = k
                        m += 1
            good[g] = ok
            nc[g] = m if compact else n
            n0[g] = n - m if compact else 0
    else:
        for g in range(gn):
            row = kb[g]
            j = j0 + g
            ok = True
            if not compact:
                row[:n] = 0.0
            m = 0
            for q in range(indptr[j], indptr[j + 1]):
                k = data[q]
                ok &= is_count(k)
                if compact:
                    if k != 0.0:
                        row[m] = k
                        m += 1
                else:
                    row[indices[q]] = k
            good[g] = ok
            nc[g] = m if compact else n
            n0[g] = n - m if compact else 0


@helper
def _sift(a, root, n):
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and a[child] < a[child + 1]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


@helper
def distinct(kc, nc, hist, big, vals, tails):
    """Sorted distinct nonzero counts of kc[:nc] into vals, tails[l] = the
    number of counts >= vals[l]; returns their number. Counts below HIST
    are counted in hist (4 x (HIST + 1) zeros, left zeroed): four
    histograms, cell i in row i % 4, without branches (a run of equal
    counts, zeros mostly, makes a chain of increments of one entry: four
    of them run at once); larger counts are heap-sorted (Numba's np.sort
    takes seconds to compile)."""
    top = 0.0
    for i in range(nc):
        top = max(top, kc[i])
    nb = 0
    if top >= HIST:
        for i in range(nc):
            if kc[i] >= HIST:
                big[nb] = kc[i]
                nb += 1
    for i in range(nc):
        hist[i & 3, int(min(kc[i], HIST))] += 1
    ntop = int(min(top, HIST - 1.0))
    nd = 0
    for ik in range(1, ntop + 1):
        f = hist[0, ik] + hist[1, ik] + hist[2, ik] + hist[3, ik]
        if f > 0:
            vals[nd] = ik
            tails[nd] = f
            nd += 1
    for r in range(4):
        for ik in range(ntop + 1):
            hist[r, ik] = 0
        hist[r, HIST] = 0
    if nb > 0:
        for start in range(nb // 2 - 1, -1, -1):
            _sift(big, start, nb)
        zero = nb - nb
        for end in range(nb - 1, 0, -1):
            big[0], big[end] = big[end], big[0]
            _sift(big, zero, end)
        prev = -1.0
        for i in range(nb):
            if big[i] != prev:
                vals[nd] = big[i]
                tails[nd] = 0.0
                nd += 1
                prev = big[i]
            tails[nd - 1] += 1.0
    acc = 0.0
    for l in range(nd - 1, -1, -1):
        acc += tails[l]
        tails[l] = acc
    return nd

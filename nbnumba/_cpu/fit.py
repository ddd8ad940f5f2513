"""Compiled kernels of :mod:`nbnumba.fitting`: per gene, the maximum
likelihood inverse dispersion theta of NB(mu, theta) for given means, and
the NB GLM with log link (coefficients and theta).

Layout. Genes are the columns of a counts matrix X (cells x genes), given as
a 2-D array of any dtype and layout (``fmt = 0``) or as the CSC arrays
``indptr, indices, data`` (``fmt = 1``, canonical: sorted, no duplicates).
Blocks of ``GATHER`` genes are gathered at once (one cache line of a
C-ordered X holds 8 genes) into contiguous float64 buffers; all later
passes run over those buffers. A gene's cells are held either as all ``n``
cells (``kc``, with their means ``mc``), or, where the mean of a gene is the
same in every cell (no size factors), as its nonzero counts only plus a
*zero group*: ``n0`` cells of count 0 and mean ``m0``, which enter every sum
once, times ``n0`` (so a sparse gene costs O(nnz) per iteration).

Sums. Per cell, the theta-derivatives of the log-pmf are split as in
:mod:`nbnumba._math.derivatives`: ``dlgamma_ratio(k, theta) +
log1pmx(v)`` and ``d2lgamma_ratio(k, theta) + v**2 / (k + theta)``,
``v = (k - mu) / (theta + mu)``. The digamma parts depend on k alone, so
they are summed over the distinct counts of the gene (glmGamPoi's trick),
and telescoped: for the sorted distinct counts ``c_1 < c_2 < ...`` with
frequencies ``f_l``, ``sum_l f_l (h(theta + c_l) - h(theta)) = sum_l
N_l (h(theta + c_l) - h(theta + c_{l-1}))`` with ``N_l`` the number of
counts ``>= c_l``: one short call per distinct count (a gap of 1 mostly)
instead of up to 10 recurrence steps each, and every term has one sign, so
nothing cancels (each term is exact to a few ulp wherever theta + c_{l-1}
is rounded). The other parts are per cell, in loops over tiles of
``TILE`` cells without branches (``log_fast``, and the series of
``log1pmx`` in ``r = v / (2 + v)`` where ``|r| < 0.2``: exact in the Poisson
limit), whose results are summed by vectorized reductions. The
log-likelihood reported at the estimate is the exact one: ``nbinom``'s
log-pmf per cell (its branch-free path over a tile, the general one where
that gives NaN), summed with Neumaier's compensation.

Caching. Every function here that inlines the scalar math is compiled
without a disk cache, except the entry kernels, which take the literal
``VERSION`` (a hash of nbnumba/_math's sources) as their first argument:
Numba's cache is keyed on this file alone, and the version in the
signature keeps it from serving code compiled from older math.
"""
import hashlib
import math
import pathlib

import numba
import numpy as np
from numba import prange

from .._math import nbinom
from .._math.derivatives import d2lgamma_ratio, dlgamma_ratio
from .._math.special import compiled, exp_fast, floor, log_fast

VERSION = hashlib.sha1(b"".join(
    p.read_bytes() for p in sorted((pathlib.Path(__file__).parent.parent / "_math").glob("*.py"))
)).hexdigest()[:12]

#: Cells per tile of the per-cell loops (their buffers stay in L1).
TILE = 512
#: Genes gathered at once from a dense X.
GATHER = 8
#: Counts below this are tabulated by direct indexing; larger ones sorted.
HIST = 1024
#: Largest Newton step in log(theta), and in any coefficient.
MAX_STEP = 4.0
MAX_BETA_STEP = 8.0
#: log(theta) is kept within these bounds; beyond the upper one the
#: likelihood equals Poisson's to ~1e-100 relative: theta = inf.
ETA_MIN = math.log(1e-250)
ETA_MAX = math.log(1e100)
#: Where the coefficients are this close to their optimum for the current
#: theta (Newton decrement, in log-likelihood units), the sign of the
#: profile score is trusted for bracketing.
NEAR = 1e-6
INF = math.inf
NAN = math.nan

# status codes per gene
OK = 0
BAD_COUNTS = 1      # negative, non-integer or non-finite counts
BAD_MEAN = 2        # negative or non-finite mean
IMPOSSIBLE = 3      # a count > 0 where the mean is 0

_helper = numba.njit(error_model="numpy")
_inline = numba.njit(error_model="numpy", forceinline=True)
# float reductions vectorize only where their additions may be reassociated
_reduce = numba.njit(error_model="numpy", fastmath={"reassoc"}, forceinline=True)


# ------------------------------------------------------------ reductions

@_reduce
def _sum(a, n):
    s = 0.0
    for i in range(n):
        s += a[i]
    return s


@_reduce
def _dot(a, b, n):
    s = 0.0
    for i in range(n):
        s += a[i] * b[i]
    return s


@_reduce
def _dot3(a, b, c, n):
    s = 0.0
    for i in range(n):
        s += a[i] * b[i] * c[i]
    return s


@_reduce
def _dot4(a, b, c, d, n):
    s = 0.0
    for i in range(n):
        s += a[i] * b[i] * c[i] * d[i]
    return s


@_inline
def _neumaier(s, c, v):
    t = s + v
    e = (s - t) + v if abs(s) >= abs(v) else (v - t) + s
    return t, c + (0.0 if math.isinf(t) else e)


# ------------------------------------------------------------ per cell

@_inline
def _log1pmx_fast(v, r, q):
    """log1p(v) - v, branch-free, for r = v / (2 + v) and q = 1 + v
    (each formed by the caller from exact inputs). |r| < 0.2: the series of
    2 atanh(r) (12 terms: 5e-19 relative), as special.log1pmx; otherwise
    log(q) - v, whose value is at least 0.07 in magnitude."""
    y = r * r
    y2 = y * y
    y4 = y2 * y2
    # sum_{j<12} y**j / (2 j + 3), by Estrin's scheme
    s = (((1.0 / 3.0 + y * (1.0 / 5.0)) + y2 * (1.0 / 7.0 + y * (1.0 / 9.0)))
         + y4 * ((1.0 / 11.0 + y * (1.0 / 13.0)) + y2 * (1.0 / 15.0 + y * (1.0 / 17.0)))
         + y4 * y4 * ((1.0 / 19.0 + y * (1.0 / 21.0)) + y2 * (1.0 / 23.0 + y * (1.0 / 25.0))))
    ser = r * (2.0 * y * s - v)
    small = abs(r) < 0.2
    return ser if small else log_fast(1.0 if small else q) - v


@_inline
def _theta_terms(k, mu, theta):
    """The per-cell parts of d/dtheta and d2/dtheta2 of the log-pmf:
    log1pmx(v) and v**2 / (k + theta), v = (k - mu) / (theta + mu)."""
    t = theta + mu
    it = 1.0 / t
    d = k - mu
    tk = theta + k
    v = d * it
    r = d / (t + tk)
    return _log1pmx_fast(v, r, tk * it), v * v / tk


@_helper
def _lgamma_parts(vals, tails, nd, theta):
    """sum_k dlgamma_ratio(k, theta) and sum_k d2lgamma_ratio(k, theta) over
    the counts k of a gene, from its sorted distinct nonzero counts and
    tails[l] = the number of counts >= vals[l] (telescoped: see the module
    docstring)."""
    a = 0.0
    b = 0.0
    prev = 0.0
    for l in range(nd):
        gap = vals[l] - prev
        base = theta + prev
        a += tails[l] * dlgamma_ratio(gap, base)
        b += tails[l] * d2lgamma_ratio(gap, base)
        prev = vals[l]
    return a, b


@_helper
def _theta_sums(kc, mc, nc, n0, m0, theta, vals, tails, nd, ta, tb):
    """(d/dtheta, d2/dtheta2) of the gene's log-likelihood at theta."""
    a = 0.0
    b = 0.0
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        for i in range(L):
            ta[i], tb[i] = _theta_terms(k[i], mu[i], theta)
        a += _sum(ta, L)
        b += _sum(tb, L)
    if n0 > 0:
        za, zb = _theta_terms(0.0, m0, theta)
        a += n0 * za
        b += n0 * zb
    la, lb = _lgamma_parts(vals, tails, nd, theta)
    return a + la, b + lb


@_helper
def _loglik(kc, mc, nc, n0, m0, theta, buf):
    """The gene's exact log-likelihood: nbinom's log-pmf per cell (the
    branch-free path over a tile, the general one where it gives NaN),
    compensated sum."""
    s = 0.0
    c = 0.0
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        for i in range(L):
            buf[i] = nbinom._logpmf_fast(k[i], mu[i], theta)
        for i in range(L):
            r = buf[i]
            if r != r:
                r = nbinom._logpmf_slow(k[i], mu[i], theta)
            s, c = _neumaier(s, c, r)
    if n0 > 0:
        s, c = _neumaier(s, c, n0 * nbinom.logpmf(0.0, m0, theta))
    return s + c


# ------------------------------------------------------------ gathering

@_helper
def _is_count(k):
    return k >= 0.0 and k < INF and k == floor(k)


@_helper
def _gather(fmt, X, indptr, indices, data, j0, gn, n, compact, kb, nc, n0):
    """Counts of genes j0:j0+gn into the rows of kb: all n cells, or with
    ``compact`` the nonzero ones in cell order (nc[g] of them, n0[g] zeros).
    Returns per gene whether every count is a count (bool array)."""
    good = np.ones(gn, np.bool_)
    if fmt == 0:
        for i in range(n):
            for g in range(gn):
                kb[g, i] = X[i, j0 + g]
        for g in range(gn):
            row = kb[g]
            ok = True
            m = 0
            for i in range(n):
                k = row[i]
                ok = ok and _is_count(k)
                if compact and k != 0.0:
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
            for p in range(indptr[j], indptr[j + 1]):
                k = float(data[p])
                ok = ok and _is_count(k)
                if compact:
                    if k != 0.0:
                        row[m] = k
                        m += 1
                else:
                    row[indices[p]] = k
            good[g] = ok
            nc[g] = m if compact else n
            n0[g] = n - m if compact else 0
    return good


@_helper
def _distinct(kc, nc, hist, big, vals, tails):
    """Sorted distinct nonzero counts of kc[:nc] into vals, tails[l] = the
    number of counts >= vals[l]; returns their number. hist (HIST zeros)
    is left zeroed."""
    nd = 0
    nb = 0
    for i in range(nc):
        k = kc[i]
        if k > 0.0:
            if k < HIST:
                ik = int(k)
                if hist[ik] == 0:
                    vals[nd] = k
                    nd += 1
                hist[ik] += 1
            else:
                big[nb] = k
                nb += 1
    vals[:nd] = np.sort(vals[:nd])
    for l in range(nd):
        ik = int(vals[l])
        tails[l] = hist[ik]
        hist[ik] = 0
    if nb > 0:
        b = np.sort(big[:nb])
        prev = -1.0
        for i in range(nb):
            if b[i] != prev:
                vals[nd] = b[i]
                tails[nd] = 0.0
                nd += 1
                prev = b[i]
            tails[nd - 1] += 1.0
    acc = 0.0
    for l in range(nd - 1, -1, -1):
        acc += tails[l]
        tails[l] = acc
    return nd


# ------------------------------------------------------------ theta given mu

@_helper
def _newton_eta(eta, g, h, lo, hi):
    """One safeguarded Newton step for the root of the score g(eta) (h its
    derivative), kept inside the bracket (lo, hi) where g(lo) > 0 > g(hi):
    the new eta, and whether it was a Newton step."""
    if h < 0.0:
        step = -g / h
    else:
        step = MAX_STEP if g > 0.0 else -MAX_STEP
    step = min(max(step, -MAX_STEP), MAX_STEP)
    new = eta + step
    newton = h < 0.0
    if not (lo < new < hi):
        newton = False
        if lo > -INF and hi < INF:
            new = 0.5 * (lo + hi)
        elif lo > -INF:
            new = lo + MAX_STEP
        else:
            new = hi - MAX_STEP
    return min(max(new, ETA_MIN), ETA_MAX), newton


@_helper
def _theta_gene(kc, mc, nc, n0, m0, vals, tails, nd, n, max_iter, tol, ta, tb):
    """theta's MLE for one gene: (theta, converged, iterations)."""
    # the Poisson limit: d loglik / d(1/theta) at 1/theta = 0 is S / 2
    S = 0.0
    M2 = 0.0
    for i in range(nc):
        d = kc[i] - mc[i]
        S += d * d - kc[i]
        M2 += mc[i] * mc[i]
    S += n0 * m0 * m0
    M2 += n0 * m0 * m0
    if not S > 0.0:
        return INF, True, 0
    theta0 = min(max(M2 / S, 1e-6), 1e10)
    eta = math.log(theta0)
    lo = -INF
    hi = INF
    for it in range(1, max_iter + 1):
        theta = math.exp(eta)
        A, B = _theta_sums(kc, mc, nc, n0, m0, theta, vals, tails, nd, ta, tb)
        g = theta * A
        h = theta * theta * B + g
        if g > 0.0:
            lo = eta
        elif g < 0.0:
            hi = eta
        else:
            return theta, True, it
        if lo >= ETA_MAX:
            return INF, True, it
        new, newton = _newton_eta(eta, g, h, lo, hi)
        gain = 0.5 * g * g / -h if h < 0.0 else INF
        done = abs(new - eta) <= tol or (newton and gain <= tol * tol * n)
        eta = new
        if done:
            return math.exp(eta), True, it
    return math.exp(eta), False, max_iter


@_helper
def _theta_genes(fmt, X, indptr, indices, data, s, m, M, dense_mu, compact,
                 j0, j1, max_iter, tol, out, status):
    """fit_theta for genes j0:j1, serially: out[:, j] = theta, converged,
    iterations, loglik; status[j] (see the codes above)."""
    n = s.size
    kb = np.empty((GATHER, n))
    mb = np.empty((GATHER, n))
    nc = np.empty(GATHER, np.int64)
    n0 = np.empty(GATHER, np.int64)
    hist = np.zeros(HIST, np.int64)
    big = np.empty(n)
    vals = np.empty(n)
    tails = np.empty(n)
    ta = np.empty(TILE)
    tb = np.empty(TILE)
    s0 = s[0] if n > 0 else 1.0
    for b0 in range(j0, j1, GATHER):
        gn = min(GATHER, j1 - b0)
        good = _gather(fmt, X, indptr, indices, data, b0, gn, n, compact, kb, nc, n0)
        if dense_mu:
            for i in range(n):
                for g in range(gn):
                    mb[g, i] = M[i, b0 + g]
        for g in range(gn):
            j = b0 + g
            kc = kb[g]
            mc = mb[g]
            ncg = nc[g]
            n0g = n0[g]
            m0 = s0 * m[j]
            if not dense_mu:
                if compact:
                    mc[:ncg] = m0
                else:
                    for i in range(n):
                        mc[i] = s[i] * m[j]
            st = OK if good[g] else BAD_COUNTS
            total = 0.0
            for i in range(ncg):
                mu = mc[i]
                if not (mu >= 0.0 and mu < INF):
                    st = max(st, BAD_MEAN)
                elif mu == 0.0 and kc[i] > 0.0:
                    st = max(st, IMPOSSIBLE)
                total += kc[i]
            if n0g > 0 and not (m0 >= 0.0 and m0 < INF):
                st = max(st, BAD_MEAN)
            status[j] = st
            if st != OK:
                out[0, j] = NAN
                out[1, j] = 0.0
                out[2, j] = 0.0
                out[3, j] = -INF if st == IMPOSSIBLE else NAN
                continue
            if total == 0.0:
                # all counts 0: the likelihood increases as theta -> 0, to 1
                # (the point mass at 0)
                out[0, j] = 0.0
                out[1, j] = 1.0
                out[2, j] = 0.0
                out[3, j] = 0.0
                continue
            nd = _distinct(kc, ncg, hist, big, vals, tails)
            theta, conv, iters = _theta_gene(kc, mc, ncg, n0g, m0, vals, tails, nd, n,
                                             max_iter, tol, ta, tb)
            out[0, j] = theta
            out[1, j] = 1.0 if conv else 0.0
            out[2, j] = iters
            out[3, j] = _loglik(kc, mc, ncg, n0g, m0, theta, ta)


@compiled(parallel=True)
def theta_parallel(version, fmt, X, indptr, indices, data, s, m, M, dense_mu, compact,
                   max_iter, tol, out, status):
    """_theta_genes over all genes, blocks of GATHER genes on all threads."""
    numba.literally(version)
    ng = out.shape[1]
    for b in prange((ng + GATHER - 1) // GATHER):
        _theta_genes(fmt, X, indptr, indices, data, s, m, M, dense_mu, compact,
                     b * GATHER, min(b * GATHER + GATHER, ng), max_iter, tol, out, status)


@compiled()
def theta_serial(version, fmt, X, indptr, indices, data, s, m, M, dense_mu, compact,
                 max_iter, tol, out, status):
    """_theta_genes over all genes on the calling thread (Dask blocks)."""
    numba.literally(version)
    _theta_genes(fmt, X, indptr, indices, data, s, m, M, dense_mu, compact,
                 0, out.shape[1], max_iter, tol, out, status)

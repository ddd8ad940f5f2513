"""Compiled kernels of :mod:`nbnumba.fitting`: per gene, the maximum
likelihood inverse dispersion theta of NB(mu, theta) for given means
(:func:`theta_kernel`), and the NB GLM with log link, coefficients and
theta (:func:`glm_kernel`).

Layout. Genes are the columns of a counts matrix (cells x genes), given to
the kernels as the tuple ``src`` of :func:`_gather`: a C-contiguous dense
array (int64, int32, float64 or float32; cells x genes, or genes x cells
for an F-ordered input), or CSC arrays. One tuple type for all of them, so
one compiled kernel serves every input. Blocks of ``GATHER`` genes are
gathered at once (one cache line of a C-ordered X holds 8 genes) into
contiguous float64 rows; all later passes run over those. A gene's cells
are held either as all ``n`` cells (``kc``, with their means ``mc``), or,
where the mean of a gene is the same in every cell (no size factors,
``compact``), as its nonzero counts only plus a *zero group* of ``n0``
cells of count 0 and mean ``m0``, which enters every sum once, times ``n0``
(a sparse gene costs O(nnz) per iteration).

Sums. Per cell, the theta-derivatives of the log-pmf are split as in
:mod:`nbnumba._math.derivatives`: ``dlgamma_ratio(k, theta) +
log1pmx(v)`` and ``d2lgamma_ratio(k, theta) + v**2 / (k + theta)``,
``v = (k - mu) / (theta + mu)``. The digamma parts depend on k alone, so
they are summed over the distinct counts of the gene (glmGamPoi's trick),
telescoped: for the sorted distinct counts ``c_1 < c_2 < ...``,
``sum_l f_l (h(theta + c_l) - h(theta)) = sum_l N_l (h(theta + c_l) -
h(theta + c_{l-1}))`` with ``f_l`` the frequencies and ``N_l`` the number of
counts ``>= c_l``: one short call per distinct count (a gap of 1, mostly)
instead of up to 10 recurrence steps in each, and all terms of one sign,
so nothing cancels (each is exact to a few ulp wherever theta + c_{l-1} is
rounded). The other parts run over the cells in tiles of ``TILE``, in loops
without branches (``log_fast``; the series of ``log1pmx`` in ``r = v / (2 +
v)`` where ``|r| < 0.2``: exact in the Poisson limit) whose results are
summed by vectorized reductions. The log-likelihood reported at the
estimate is the exact one: ``nbinom``'s log-pmf per cell (its branch-free
path over a tile, the general one where that gives NaN).

Compilation. Numba links every function a kernel calls into the kernel's
module and optimizes the whole again, at each level of the call graph; so
the graph here is flat: the kernels call a few helpers that call only the
scalar math, and the small functions are inlined into their callers'
Numba IR. The kernels release the GIL; ``nbnumba.fitting`` runs blocks of
genes on a pool of threads (one compiled kernel for the threaded and the
Dask paths, where a ``prange`` wrapper would compile it all once more).
The kernels are cached on disk and take the literal ``VERSION`` (a hash of
nbnumba/_math's sources) as their first argument: Numba's cache is keyed
on this file alone, and the version in the signature keeps it from
serving code compiled from older math. The helpers are not cached (their
code lives on in the kernels' cache).
"""
import hashlib
import math
import pathlib

import numba
import numpy as np

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

#: a helper compiled on its own (once per process: not cached)
_helper = numba.njit(error_model="numpy")
#: a small function inlined into its callers' Numba IR
_ir = numba.njit(error_model="numpy", inline="always")
#: float reductions vectorize only where their additions may be reassociated
_reduce = numba.njit(error_model="numpy", fastmath={"reassoc"})


# ------------------------------------------------------------ small pieces

@_reduce
def _sum_rows(buf, r0, r1, L, out):
    """out[r] = sum(buf[r, :L]) for r0 <= r < r1 (vectorized, each row in
    a fixed order: the same result on every run)."""
    for r in range(r0, r1):
        row = buf[r]
        s = 0.0
        for i in range(L):
            s += row[i]
        out[r] = s


@_ir
def _neumaier(s, c, v):
    t = s + v
    e = (s - t) + v if abs(s) >= abs(v) else (v - t) + s
    return t, c + (0.0 if math.isinf(t) else e)


@_ir
def _log1pmx_fast(v, r, q):
    """log1p(v) - v, branch-free, for r = v / (2 + v) and q = 1 + v
    (formed by the caller from exact inputs; they need not agree to the
    last bit: an error e in r changes the result by e times itself). Where
    |r| < 0.2 the series of 2 atanh(r) (12 terms: 5e-19 relative), as
    special.log1pmx; otherwise log(q) - v, at least 0.07 in magnitude."""
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


@_ir
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


@_ir
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


@_ir
def _newton_eta(eta, g, h, lo, hi):
    """One safeguarded Newton step for the root of the score g(eta) (h its
    derivative), kept inside the bracket (lo, hi) where g(lo) > 0 > g(hi),
    steps of at most MAX_STEP: the new eta, and whether it is the Newton
    step."""
    if h < 0.0:
        step = -g / h
    else:
        step = MAX_STEP if g > 0.0 else -MAX_STEP
    step = min(max(step, -MAX_STEP), MAX_STEP)
    new = eta + step
    newton = h < 0.0 and abs(-g / h) <= MAX_STEP
    if not (lo < new < hi):
        newton = False
        if lo > -INF and hi < INF:
            new = 0.5 * (lo + hi)
        elif lo > -INF:
            new = lo + MAX_STEP
        else:
            new = hi - MAX_STEP
    return min(max(new, ETA_MIN), ETA_MAX), newton


@_ir
def _is_count(k):
    return k >= 0.0 and k < INF and k == floor(k)


# ------------------------------------------------------------ gathering

@_ir
def _gather_dense(X, tr, j0, gn, n, kb):
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


@_helper
def _gather(src, j0, gn, n, compact, kb, nc, n0, good):
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
            _gather_dense(xi8, tr, j0, gn, n, kb)
        elif fmt == 1:
            _gather_dense(xi4, tr, j0, gn, n, kb)
        elif fmt == 2:
            _gather_dense(xf8, tr, j0, gn, n, kb)
        else:
            _gather_dense(xf4, tr, j0, gn, n, kb)
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
            for q in range(indptr[j], indptr[j + 1]):
                k = data[q]
                ok = ok and _is_count(k)
                if compact:
                    if k != 0.0:
                        row[m] = k
                        m += 1
                else:
                    row[indices[q]] = k
            good[g] = ok
            nc[g] = m if compact else n
            n0[g] = n - m if compact else 0


@_ir
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


@_helper
def _distinct(kc, nc, hist, big, vals, tails):
    """Sorted distinct nonzero counts of kc[:nc] into vals, tails[l] = the
    number of counts >= vals[l]; returns their number. hist (HIST zeros)
    is left zeroed; counts from HIST on are heap-sorted (Numba's np.sort
    takes seconds to compile)."""
    top = 0
    nb = 0
    for i in range(nc):
        k = kc[i]
        if k > 0.0:
            if k < HIST:
                ik = int(k)
                hist[ik] += 1
                top = max(top, ik)
            else:
                big[nb] = k
                nb += 1
    nd = 0
    for ik in range(1, top + 1):
        if hist[ik] > 0:
            vals[nd] = ik
            tails[nd] = hist[ik]
            hist[ik] = 0
            nd += 1
    if nb > 0:
        for start in range(nb // 2 - 1, -1, -1):
            _sift(big, start, nb)
        for end in range(nb - 1, 0, -1):
            big[0], big[end] = big[end], big[0]
            _sift(big, 0, end)
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


# ------------------------------------------------------------ per-gene sums

@_helper
def _theta_sums(kc, mc, nc, n0, m0, theta, vals, tails, nd, buf, sums):
    """(d/dtheta, d2/dtheta2) of the gene's log-likelihood at theta (buf:
    (2, TILE), sums: 2)."""
    a = 0.0
    b = 0.0
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        ta = buf[0]
        tb = buf[1]
        for i in range(L):
            ta[i], tb[i] = _theta_terms(k[i], mu[i], theta)
        _sum_rows(buf, 0, 2, L, sums)
        a += sums[0]
        b += sums[1]
    if n0 > 0:
        za, zb = _theta_terms(0.0, m0, theta)
        a += n0 * za
        b += n0 * zb
    la, lb = _lgamma_parts(vals, tails, nd, theta)
    return a + la, b + lb


@_helper
def _loglik(kc, mc, nc, n0, m0, theta, vals, tails, nd, grouped, buf, sums):
    """The gene's exact log-likelihood: nbinom's log-pmf per cell (the
    branch-free path over a tile, the general one where it gives NaN), each
    tile summed by a vectorized reduction (terms of one sign: relative error
    below TILE / 4 ulp), the tiles with Neumaier's compensation. Where the
    mean is the same in every cell (``grouped``: mean m0, n0 zeros, the
    nonzero counts in kc), per distinct count instead."""
    s = 0.0
    c = 0.0
    if grouped:
        for l in range(nd):
            f = tails[l] - (tails[l + 1] if l + 1 < nd else 0.0)
            s, c = _neumaier(s, c, f * nbinom.logpmf(vals[l], m0, theta))
        if n0 > 0:
            s, c = _neumaier(s, c, n0 * nbinom.logpmf(0.0, m0, theta))
        return s + c
    out = buf[0]
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        for i in range(L):
            out[i] = nbinom._logpmf_fast(k[i], mu[i], theta)
        for i in range(L):
            if out[i] != out[i]:
                out[i] = nbinom._logpmf_slow(k[i], mu[i], theta)
        _sum_rows(buf, 0, 1, L, sums)
        s, c = _neumaier(s, c, sums[0])
    return s + c


# ------------------------------------------------------------ theta given mu

@compiled(nogil=True)
def theta_kernel(version, src, s, m, M, trM, dense_mu, compact, j0, j1, max_iter, tol,
                 out, status):
    """fit_theta for genes j0:j1 (on the calling thread, without the GIL):
    out[:, j] = theta, converged, iterations, loglik; status[j].

    Means mu_ij = s_i m_j, or M (C-contiguous, cells x genes, genes x cells
    where trM) where dense_mu; compact: s is constant (see the module
    docstring)."""
    numba.literally(version)
    n = s.size
    kb = np.empty((GATHER, n))
    mb = np.empty((GATHER, n))
    nc = np.empty(GATHER, np.int64)
    n0 = np.empty(GATHER, np.int64)
    good = np.empty(GATHER, np.bool_)
    hist = np.zeros(HIST, np.int64)
    big = np.empty(n)
    vals = np.empty(n)
    tails = np.empty(n)
    buf = np.empty((2, TILE))
    sums = np.empty(2)
    s0 = s[0] if n > 0 else 1.0
    for b0 in range(j0, j1, GATHER):
        gn = min(GATHER, j1 - b0)
        _gather(src, b0, gn, n, compact, kb, nc, n0, good)
        if dense_mu:
            _gather_dense(M, trM, b0, gn, n, mb)
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
            # checks; S / 2 = d loglik / d(1/theta) at 1/theta = 0; M2 for
            # the moment estimate sum(mu**2) / S
            st = OK if good[g] else BAD_COUNTS
            total = 0.0
            S = n0g * m0 * m0
            M2 = S
            for i in range(ncg):
                k = kc[i]
                mu = mc[i]
                if not (mu >= 0.0 and mu < INF):
                    st = max(st, BAD_MEAN)
                elif mu == 0.0 and k > 0.0:
                    st = max(st, IMPOSSIBLE)
                total += k
                d = k - mu
                S += d * d - k
                M2 += mu * mu
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
                # all counts 0: the likelihood rises to 1 as theta -> 0
                out[0, j] = 0.0
                out[1, j] = 1.0
                out[2, j] = 0.0
                out[3, j] = 0.0
                continue
            nd = _distinct(kc, ncg, hist, big, vals, tails)
            theta = INF
            conv = True
            iters = 0
            if S > 0.0:
                # Newton on eta = log(theta), bracketed
                eta = math.log(min(max(M2 / S, 1e-6), 1e10))
                lo = -INF
                hi = INF
                conv = False
                while iters < max_iter:
                    iters += 1
                    theta = math.exp(eta)
                    A, B = _theta_sums(kc, mc, ncg, n0g, m0, theta, vals, tails, nd, buf, sums)
                    gs = theta * A
                    h = theta * theta * B + gs
                    if gs > 0.0:
                        lo = eta
                    elif gs < 0.0:
                        hi = eta
                    else:
                        conv = True
                        break
                    if lo >= ETA_MAX:
                        theta = INF
                        conv = True
                        break
                    new, newton = _newton_eta(eta, gs, h, lo, hi)
                    gain = 0.5 * gs * gs / -h if h < 0.0 else INF
                    done = abs(new - eta) <= tol or (newton and gain <= tol * tol * n)
                    eta = new
                    theta = math.exp(eta)
                    if done:
                        conv = True
                        break
            out[0, j] = theta
            out[1, j] = 1.0 if conv else 0.0
            out[2, j] = iters
            out[3, j] = _loglik(kc, mc, ncg, n0g, m0, theta, vals, tails, nd, compact, buf, sums)


# ------------------------------------------------------------ the NB GLM
# Coefficients beta (p of them) and eta = log(theta) of one gene, with
# mu_i = s_i exp(x_i . beta): the offsets log(s_i) are the size factors.
# Per cell, with t = theta + mu, v = (k - mu) / t, the derivatives of the
# log-pmf through the linear predictor are
#   d/dbeta          x w1,    w1 = mu d_mu = theta v
#   d2/dbeta2        x x' w2, w2 = -theta mu (theta + k) / t**2
#   d2/dbeta dtheta  x w3,    w3 = mu d_mu_theta = mu v / t
# and the theta derivatives are those of fit_theta. The Cox-Reid term
# -log det(Bc) / 2, Bc = X' W X, has W = mu theta / t (WC), dW/dtheta =
# mu**2 / t**2 (WC1), d2W/dtheta2 = -2 mu**2 / t**3 (WC2), and mu dW/dmu =
# theta**2 mu / t**2 (Q). In the Poisson limit (poisson=True) the same
# slots hold w1 = k - mu, w2 = -mu, and theta**2 times w3, WC1 and Q
# (mu (k - mu), mu**2, mu): with them, the same formulas give the
# derivatives in 1/theta at 0.

# rows of the per-tile weight buffer
_W1, _W2, _W3, _A, _B, _SQ, _M2, _WC, _WC1, _WC2, _Q = range(11)
NBUF = 11


@_ir
def _nb_weights(k, mu, theta):
    t = theta + mu
    it = 1.0 / t
    d = k - mu
    tk = theta + k
    v = d * it
    r = d / (t + tk)
    a = _log1pmx_fast(v, r, tk * it)
    mit = mu * it
    wc1 = mit * mit
    return (theta * v, -theta * mit * tk * it, mit * v, a, v * v / tk, d * d - k, mu * mu,
            mit * theta, wc1, -2.0 * wc1 * it, theta * theta * mit * it)


@_ir
def _poisson_weights(k, mu):
    d = k - mu
    return d, -mu, mu * d, 0.0, 0.0, d * d - k, mu * mu, mu, mu * mu, 0.0, mu


@_ir
def _acc_layout(p):
    """Offsets in the flat accumulator: A, B, S, M2 (0..3), then gb, H,
    hbt, and for Cox-Reid Bc, B1, B2, T; and its size."""
    o_gb = 4
    o_h = o_gb + p
    o_hbt = o_h + p * p
    o_bc = o_hbt + p
    o_b1 = o_bc + p * p
    o_b2 = o_b1 + p * p
    o_t = o_b2 + p * p
    return o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, o_t + p * p * p


@_ir
def _acc_sums(sums, acc, p, cr, scale):
    """Tile sums of the weights (intercept only: x = 1) into acc."""
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    acc[0] += scale * sums[_A]
    acc[1] += scale * sums[_B]
    acc[2] += scale * sums[_SQ]
    acc[3] += scale * sums[_M2]
    acc[o_gb] += scale * sums[_W1]
    acc[o_h] += scale * sums[_W2]
    acc[o_hbt] += scale * sums[_W3]
    if cr:
        acc[o_bc] += scale * sums[_WC]
        acc[o_b1] += scale * sums[_WC1]
        acc[o_b2] += scale * sums[_WC2]
        acc[o_t] += scale * sums[_Q]


@_ir
def _acc_design(buf, Xt, i0, L, p, cr, acc):
    """The design-weighted sums of a tile into acc (lower triangles), cell
    by cell."""
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    for i in range(L):
        w1 = buf[_W1, i]
        w2 = buf[_W2, i]
        w3 = buf[_W3, i]
        for a in range(p):
            xa = Xt[a, i0 + i]
            acc[o_gb + a] += w1 * xa
            acc[o_hbt + a] += w3 * xa
            for b in range(a + 1):
                acc[o_h + a * p + b] += w2 * xa * Xt[b, i0 + i]
        if cr:
            wc = buf[_WC, i]
            wc1 = buf[_WC1, i]
            wc2 = buf[_WC2, i]
            q = buf[_Q, i]
            for a in range(p):
                xa = Xt[a, i0 + i]
                for b in range(a + 1):
                    xab = xa * Xt[b, i0 + i]
                    acc[o_bc + a * p + b] += wc * xab
                    acc[o_b1 + a * p + b] += wc1 * xab
                    acc[o_b2 + a * p + b] += wc2 * xab
                    for c in range(b + 1):
                        acc[o_t + (a * p + b) * p + c] += q * xab * Xt[c, i0 + i]


@_ir
def _symmetrize(acc, o, p, order):
    if order == 2:
        for a in range(p):
            for b in range(a):
                acc[o + b * p + a] = acc[o + a * p + b]
    else:
        for a in range(p):
            for b in range(p):
                for c in range(p):
                    i, j, l = a, b, c           # sorted descending
                    if i < j:
                        i, j = j, i
                    if j < l:
                        j, l = l, j
                    if i < j:
                        i, j = j, i
                    acc[o + (a * p + b) * p + c] = acc[o + (i * p + j) * p + l]


@_ir
def _means_into(mub, i0, L, s, off, Xt, icpt, beta, c, p):
    """Means of cells i0:i0+L into mub[:L]: s_i c (icpt, c = exp(beta0))
    or exp(log s_i + x_i . beta)."""
    if icpt:
        for i in range(L):
            mub[i] = s[i0 + i] * c
        return
    for i in range(L):
        mub[i] = off[i0 + i]
    for a in range(p):
        xa = Xt[a, i0:i0 + L]
        ba = beta[a]
        for i in range(L):
            mub[i] += ba * xa[i]
    for i in range(L):
        mub[i] = exp_fast(min(max(mub[i], -700.0), 700.0))


@_helper
def _glm_pass(kc, nc, n0, s, off, s0, Xt, icpt, compact, beta, theta, poisson, cr,
              vals, tails, nd, buf, mub, sums, acc, p):
    """The sums of one Newton iteration at (beta, theta) into acc (layout
    of _acc_layout): theta = inf where poisson."""
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    acc[:size] = 0.0
    c = math.exp(beta[0]) if icpt else 1.0
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        if compact:
            mub[:L] = s0 * c
        else:
            _means_into(mub, i0, L, s, off, Xt, icpt, beta, c, p)
        if poisson:
            for i in range(L):
                (buf[_W1, i], buf[_W2, i], buf[_W3, i], buf[_A, i], buf[_B, i], buf[_SQ, i],
                 buf[_M2, i], buf[_WC, i], buf[_WC1, i], buf[_WC2, i],
                 buf[_Q, i]) = _poisson_weights(k[i], mub[i])
        else:
            for i in range(L):
                (buf[_W1, i], buf[_W2, i], buf[_W3, i], buf[_A, i], buf[_B, i], buf[_SQ, i],
                 buf[_M2, i], buf[_WC, i], buf[_WC1, i], buf[_WC2, i],
                 buf[_Q, i]) = _nb_weights(k[i], mub[i], theta)
        if icpt:
            _sum_rows(buf, 0, NBUF, L, sums)
            _acc_sums(sums, acc, p, cr, 1.0)
        else:
            _sum_rows(buf, _A, _M2 + 1, L, sums)
            acc[0] += sums[_A]
            acc[1] += sums[_B]
            acc[2] += sums[_SQ]
            acc[3] += sums[_M2]
            _acc_design(buf, Xt, i0, L, p, cr, acc)
    if n0 > 0:
        # the zero group (compact: intercept only)
        m0 = s0 * c
        w = _poisson_weights(0.0, m0) if poisson else _nb_weights(0.0, m0, theta)
        for r in range(NBUF):
            sums[r] = w[r]
        _acc_sums(sums, acc, p, cr, float(n0))
    if not poisson:
        la, lb = _lgamma_parts(vals, tails, nd, theta)
        acc[0] += la
        acc[1] += lb
    _symmetrize(acc, o_h, p, 2)
    if cr:
        _symmetrize(acc, o_bc, p, 2)
        _symmetrize(acc, o_b1, p, 2)
        _symmetrize(acc, o_b2, p, 2)
        _symmetrize(acc, o_t, p, 3)


# ---- small dense linear algebra (p x p, row-major flat arrays)

@_ir
def _cholesky(A, o, p, L):
    """L (p x p) = the Cholesky factor of A[o:o+p*p] (symmetric positive
    definite); False where it is not (numerically)."""
    for i in range(p):
        for j in range(i + 1):
            s = A[o + i * p + j]
            for l in range(j):
                s -= L[i * p + l] * L[j * p + l]
            if i == j:
                if not s > 0.0:
                    return False
                L[i * p + i] = math.sqrt(s)
            else:
                L[i * p + j] = s / L[j * p + j]
    return True


@_ir
def _chol_solve(L, p, b, ob, x):
    """x = A^-1 b[ob:ob+p] from A's Cholesky factor L."""
    for i in range(p):
        s = b[ob + i]
        for l in range(i):
            s -= L[i * p + l] * x[l]
        x[i] = s / L[i * p + i]
    for i in range(p - 1, -1, -1):
        s = x[i]
        for l in range(i + 1, p):
            s -= L[l * p + i] * x[l]
        x[i] = s / L[i * p + i]


@_helper
def _cr_terms(acc, p, z, ws):
    """Cox-Reid pieces: crd = tr(Bc^-1 B1) + tr(Bc^-1 T(z)) and
    cr2 = tr(Bc^-1 B2) - tr((Bc^-1 B1)**2), T(z) = sum_c T[:, :, c] z_c
    (see glm_kernel); NaN where Bc is singular."""
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    pp = p * p
    L = ws[0:pp]
    inv = ws[pp:2 * pp]
    m = ws[2 * pp:3 * pp]
    e = ws[3 * pp:3 * pp + p]
    x = ws[3 * pp + p:3 * pp + 2 * p]
    if not _cholesky(acc, o_bc, p, L):
        return NAN, NAN
    for j in range(p):
        e[:p] = 0.0
        e[j] = 1.0
        _chol_solve(L, p, e, 0, x)
        for i in range(p):
            inv[i * p + j] = x[i]
    t1 = 0.0
    t2 = 0.0
    for a in range(p):
        for b in range(p):
            t1 += inv[a * p + b] * acc[o_b1 + b * p + a]
            t2 += inv[a * p + b] * acc[o_b2 + b * p + a]
            tzab = 0.0
            for c in range(p):
                tzab += acc[o_t + (b * p + a) * p + c] * z[c]
            t1 += inv[a * p + b] * tzab
    for a in range(p):
        for b in range(p):
            sab = 0.0
            for c in range(p):
                sab += inv[a * p + c] * acc[o_b1 + c * p + b]
            m[a * p + b] = sab
    for a in range(p):
        for b in range(p):
            t2 -= m[a * p + b] * m[b * p + a]
    return t1, t2


@compiled(nogil=True)
def glm_kernel(version, src, s, off, Xt, P, icpt, cr, j0, j1, max_iter, tol, out, status):
    """fit for genes j0:j1 (on the calling thread, without the GIL):
    out[:p, j] = coefficients, then theta, converged, iterations, loglik;
    status[j]. Xt: the design, p x cells; P: its pseudo-inverse (p x cells);
    icpt: intercept only (Xt and P unused)."""
    numba.literally(version)
    n = s.size
    p = out.shape[0] - 4
    compact = icpt and n > 0
    for i in range(1, n):
        if s[i] != s[0]:
            compact = False
    s0 = s[0] if n > 0 else 1.0
    ssum = 0.0
    for i in range(n):
        ssum += s[i]
    kb = np.empty((GATHER, n))
    nc = np.empty(GATHER, np.int64)
    n0 = np.empty(GATHER, np.int64)
    good = np.empty(GATHER, np.bool_)
    hist = np.zeros(HIST, np.int64)
    big = np.empty(n)
    vals = np.empty(n)
    tails = np.empty(n)
    buf = np.empty((NBUF, TILE))
    mub = np.empty(TILE)
    sums = np.empty(NBUF)
    mc = np.empty(n)
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    acc = np.empty(size)
    pp = p * p
    ws = np.empty(5 * pp + 2 * p)
    L = ws[4 * pp + 2 * p:]
    beta = np.empty(p)
    beta_p = np.empty(p)
    dbeta = np.empty(p)
    cvec = np.empty(p)
    for b0 in range(j0, j1, GATHER):
        gn = min(GATHER, j1 - b0)
        _gather(src, b0, gn, n, compact, kb, nc, n0, good)
        for g in range(gn):
            j = b0 + g
            kc = kb[g]
            ncg = nc[g]
            n0g = n0[g]
            status[j] = OK if good[g] else BAD_COUNTS
            if not good[g]:
                out[:, j] = NAN
                continue
            nd = _distinct(kc, ncg, hist, big, vals, tails)
            if nd == 0:
                # all counts 0: mean 0 fits best, and then every theta alike
                out[:p, j] = -INF if icpt else NAN
                out[p, j] = 0.0
                out[p + 1, j] = 1.0
                out[p + 2, j] = 0.0
                out[p + 3, j] = 0.0
                continue
            # ---- the Poisson GLM
            iters = 0
            conv = False
            if icpt:
                total = 0.0
                for i in range(ncg):
                    total += kc[i]
                beta[0] = math.log(total / ssum)       # its MLE
                conv = True
            else:
                # from the least squares fit of log(k + 1/2) - log(s)
                beta[:] = 0.0
                for i0 in range(0, ncg, TILE):
                    Lt = min(TILE, ncg - i0)
                    for i in range(Lt):
                        mub[i] = log_fast(kc[i0 + i] + 0.5) - off[i0 + i]
                    for a in range(p):
                        pa = P[a, i0:i0 + Lt]
                        for i in range(Lt):
                            beta[a] += pa[i] * mub[i]
                while iters < max_iter:
                    iters += 1
                    _glm_pass(kc, ncg, n0g, s, off, s0, Xt, icpt, compact, beta, INF, True,
                              False, vals, tails, nd, buf, mub, sums, acc, p)
                    for a in range(pp):
                        acc[o_h + a] = -acc[o_h + a]
                    if not _cholesky(acc, o_h, p, L):
                        break
                    _chol_solve(L, p, acc, o_gb, dbeta)
                    lam = 0.0
                    bigstep = 0.0
                    for a in range(p):
                        lam += acc[o_gb + a] * dbeta[a]
                        bigstep = max(bigstep, abs(dbeta[a]))
                    f = MAX_BETA_STEP / bigstep if bigstep > MAX_BETA_STEP else 1.0
                    for a in range(p):
                        beta[a] += f * dbeta[a]
                    if bigstep <= tol or 0.5 * lam <= tol * tol * n:
                        conv = True
                        break
            # ---- the Poisson limit: 2 d(APL)/d(1/theta) at 0 = S (+ Cox-Reid)
            _glm_pass(kc, ncg, n0g, s, off, s0, Xt, icpt, compact, beta, INF, True, cr,
                      vals, tails, nd, buf, mub, sums, acc, p)
            S = acc[2]
            M2 = acc[3]
            if cr:
                for a in range(pp):
                    acc[o_h + a] = -acc[o_h + a]
                if _cholesky(acc, o_h, p, L):
                    _chol_solve(L, p, acc, o_hbt, cvec)
                    crd, cr2 = _cr_terms(acc, p, cvec, ws)
                    S += crd
                else:
                    S = NAN
            beta_p[:] = beta
            theta = INF
            if S > 0.0 and conv:
                # ---- NB: joint Newton on (beta, eta), safeguarded in eta
                eta = math.log(min(max(M2 / S, 1e-6), 1e10))
                lo = -INF
                hi = INF
                conv = False
                while iters < max_iter:
                    iters += 1
                    theta = math.exp(eta)
                    _glm_pass(kc, ncg, n0g, s, off, s0, Xt, icpt, compact, beta, theta, False,
                              cr, vals, tails, nd, buf, mub, sums, acc, p)
                    gs = theta * acc[0]
                    h = theta * theta * acc[1] + gs
                    for a in range(pp):
                        acc[o_h + a] = -acc[o_h + a]       # N = -d2/dbeta2
                    for a in range(p):
                        acc[o_hbt + a] *= theta            # d2/dbeta deta
                    if not _cholesky(acc, o_h, p, L):
                        break
                    _chol_solve(L, p, acc, o_gb, dbeta)    # beta's Newton step at fixed eta
                    _chol_solve(L, p, acc, o_hbt, cvec)    # d(beta-hat)/d(eta)
                    # the profile likelihood's score and curvature in eta
                    lam = 0.0
                    for a in range(p):
                        lam += acc[o_gb + a] * dbeta[a]
                        gs += acc[o_hbt + a] * dbeta[a]
                        h += acc[o_hbt + a] * cvec[a]
                    if cr:
                        for a in range(p):
                            cvec[a] /= theta                # d(beta-hat)/d(theta)
                        crd, cr2 = _cr_terms(acc, p, cvec, ws)
                        for a in range(p):
                            cvec[a] *= theta
                        gc = -0.5 * theta * crd
                        gs += gc
                        h += -0.5 * theta * theta * cr2 + gc
                    if not (gs == gs and h == h):
                        break
                    if lam <= NEAR:
                        if gs > 0.0:
                            lo = eta
                        elif gs < 0.0:
                            hi = eta
                    if lo >= ETA_MAX:
                        beta[:] = beta_p
                        theta = INF
                        conv = True
                        break
                    new, newton = _newton_eta(eta, gs, h, lo, hi)
                    d_eta = new - eta
                    bigstep = abs(d_eta)
                    for a in range(p):
                        dbeta[a] += cvec[a] * d_eta
                        bigstep = max(bigstep, abs(dbeta[a]))
                    f = MAX_BETA_STEP / bigstep if bigstep > MAX_BETA_STEP else 1.0
                    for a in range(p):
                        beta[a] += f * dbeta[a]
                    eta = eta + f * d_eta
                    theta = math.exp(eta)
                    gain = 0.5 * (lam + gs * gs / -h) if h < 0.0 else INF
                    if bigstep <= tol or (newton and gain <= tol * tol * n):
                        conv = True
                        break
            # ---- the result, and the exact log-likelihood at it
            c = math.exp(beta[0]) if icpt else 1.0
            for i0 in range(0, ncg, TILE):
                Lt = min(TILE, ncg - i0)
                if compact:
                    mc[i0:i0 + Lt] = s0 * c
                else:
                    _means_into(mub, i0, Lt, s, off, Xt, icpt, beta, c, p)
                    mc[i0:i0 + Lt] = mub[:Lt]
            out[:p, j] = beta
            out[p, j] = theta
            out[p + 1, j] = 1.0 if conv else 0.0
            out[p + 2, j] = iters
            out[p + 3, j] = _loglik(kc, mc, ncg, n0g, s0 * c, theta, vals, tails, nd, compact,
                                    buf, sums)

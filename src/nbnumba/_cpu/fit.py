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
instead of a whole difference for each count, and all terms of one sign,
so nothing cancels (each is exact to a few ulp wherever theta + c_{l-1} is
rounded). The other parts run over the cells in tiles of ``TILE``, in loops
without branches (``special.log1pmx_ratio``: the series of ``log1pmx`` in
``v / (2 + v)`` where ``1 + v`` is in (sqrt(1/2), sqrt(2)], exact in the
Poisson limit, else a log; a tile none of whose cells took the log runs
the series alone next time, ``log1pmx_near``) whose results are summed by
vectorized reductions. The log-likelihood reported at the
estimate comes from ``nbinom``'s exact log-pmf (see :func:`_loglik`).

Compilation. Numba links every function a kernel calls into the kernel's
module and optimizes the whole again, at each level of the call graph, so
the graph here is shallow: the kernels call helpers that call only small
functions and the scalar math. Helpers get no constant arguments (Numba
compiles a function once per literal value). The kernels release the
GIL; ``nbnumba.fitting`` runs blocks of genes on a pool of threads: one
compiled kernel for the threaded and the Dask paths, where a ``prange``
wrapper would compile it all once more (~15 s).
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
from .._math.compile import compiled
from .._math.special import (add_compensated, log1p_fast, exp_fast, floor, log1pmx_near, log1pmx_ratio,
                             log_fast, takes_log)

VERSION = hashlib.sha1(b"".join(
    p.read_bytes() for p in sorted((pathlib.Path(__file__).parent.parent / "_math").glob("*.py"))
)).hexdigest()[:12]

#: Cells per tile of the per-cell loops (their buffers stay in L1).
TILE = 512
#: Genes gathered at once from a dense X.
GATHER = 8
#: Counts below this are tabulated by direct indexing; larger ones sorted.
HIST = 1024
#: The log-likelihood of means s_i m takes counts above this per cell.
BIG_K = 64.0
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
#: a per-element function of a loop that must vectorize: inlined by LLVM
_inline = numba.njit(error_model="numpy", forceinline=True)
#: float reductions vectorize only where their additions may be reassociated
_reduce = numba.njit(error_model="numpy", fastmath={"reassoc"})


# ------------------------------------------------------------ small pieces

@_reduce
def _sum_rows(buf, L, out):
    """out[r] = sum(buf[r, :L]) for every row r (vectorized, each row in a
    fixed order: the same result on every run). No constant arguments here
    or in any call of a helper: Numba compiles a function once for each
    literal value it is called with."""
    for r in range(buf.shape[0]):
        row = buf[r]
        s = 0.0
        for i in range(L):
            s += row[i]
        out[r] = s


@_inline
def _cell(k, mu, theta):
    """What every per-cell term starts from: 1 / (theta + mu), d = k - mu,
    theta + k, v = d / (theta + mu), and 1 + v = (theta + k) / (theta + mu)."""
    it = 1.0 / (theta + mu)
    d = k - mu
    tk = theta + k
    return it, d, tk, d * it, tk * it


@_inline
def _theta_terms(k, mu, theta):
    """The per-cell parts of d/dtheta and d2/dtheta2 of the log-pmf:
    log1pmx(v) and v**2 / (k + theta), v = (k - mu) / (theta + mu)."""
    it, d, tk, v, q = _cell(k, mu, theta)
    return log1pmx_ratio(v, q), v * v / tk, takes_log(q)


@_inline
def _theta_terms_series(k, mu, theta):
    """_theta_terms by the series alone, and whether it does not apply."""
    it, d, tk, v, q = _cell(k, mu, theta)
    return log1pmx_near(v), v * v / tk, takes_log(q)


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


@_helper
def _done(step, prev, newton, gain, n, tol):
    """Whether Newton's iteration has converged with this step (the
    largest component of it, taken): the step is at most tol; or it is a
    Newton step and the log-likelihood it predicts to gain is below
    tol**2 n (n cells); or the last two were Newton steps converging
    quadratically (step <= prev / 2) and the next, step**3 / prev**2 by
    that rate, is at most tol."""
    if step <= tol:
        return True
    if not newton:
        return False
    return gain <= tol * tol * n or (prev < INF and step <= 0.5 * prev
                                     and step * step * step <= tol * prev * prev)


@_inline
def _is_count(k):
    return (k >= 0.0) & (k < INF) & (k == floor(k))


# ------------------------------------------------------------ gathering

@_helper
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
            for i in range(n):
                ok &= _is_count(row[i])
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
                ok &= _is_count(k)
                if compact:
                    if k != 0.0:
                        row[m] = k
                        m += 1
                else:
                    row[indices[q]] = k
            good[g] = ok
            nc[g] = m if compact else n
            n0[g] = n - m if compact else 0


@_helper
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


# ------------------------------------------------------------ per-gene sums

@_reduce
def _moments(kc, mc, nc):
    """(sum k, sum((k - mu)**2 - k), sum(mu**2), any mean invalid, any
    count > 0 where the mean is 0) over kc[:nc], mc[:nc]."""
    total = 0.0
    S = 0.0
    M2 = 0.0
    bad = False
    impossible = False
    for i in range(nc):
        k = kc[i]
        mu = mc[i]
        bad |= not ((mu >= 0.0) & (mu < INF))
        impossible |= (mu == 0.0) & (k > 0.0)
        total += k
        d = k - mu
        S += d * d - k
        M2 += mu * mu
    return total, S, M2, bad, impossible


@_helper
def _theta_sums(kc, mc, nc, n0, m0, theta, vals, tails, nd, buf, sums, logs):
    """(d/dtheta, d2/dtheta2) of the gene's log-likelihood at theta (buf:
    (2, TILE), sums: 2). logs[t]: the number of cells of tile t that took
    the log (special.takes_log) in the previous call, -1 at first: where it
    was 0 the tile runs the series alone first (no log: half the time), and
    all over again with the logs where a cell needs one now; updated."""
    a = 0.0
    b = 0.0
    ta = buf[0]
    tb = buf[1]
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        t = i0 // TILE
        cnt = 1
        if logs[t] == 0:
            cnt = 0
            for i in range(L):
                ta[i], tb[i], big = _theta_terms_series(k[i], mu[i], theta)
                cnt += big
        if cnt > 0:
            cnt = 0
            for i in range(L):
                ta[i], tb[i], big = _theta_terms(k[i], mu[i], theta)
                cnt += big
        logs[t] = cnt
        _sum_rows(buf, L, sums)
        a += sums[0]
        b += sums[1]
    if n0 > 0:
        za, zb, big = _theta_terms(0.0, m0, theta)
        a += n0 * za
        b += n0 * zb
    la, lb = _lgamma_parts(vals, tails, nd, theta)
    return a + la, b + lb


@_helper
def _loglik(kc, mc, nc, n0, m0, theta, vals, tails, nd, mode, s, lgs, buf, sums):
    """The gene's log-likelihood at theta, from nbinom's log-pmf. ``mode``:

    0. per cell (means mc): the branch-free path over a tile, the general
       one where it gives NaN; exact to a few ulp per cell;
    1. the same mean m0 in every cell (the nonzero counts in kc, n0 zeros):
       per distinct count, exact;
    2. means s_i m0: per distinct count at the mean m0, plus per cell
       ``log pmf(k; s m0) - log pmf(k; m0) = k log s - (theta + k)
       log1p((s - 1) m0 / (theta + m0))`` (lgs = log s; one log per cell
       instead of two; absolute error a few ulp of k |log s|), for counts
       up to BIG_K; larger counts per cell as in mode 0.

    Tiles are summed by vectorized reductions, the tiles and the distinct
    counts with Neumaier's compensation (buf: (1, TILE), sums: 1)."""
    s_ = 0.0
    c = 0.0
    out = buf[0]
    if mode >= 1:
        for l in range(nd):
            if mode == 2 and vals[l] > BIG_K:
                break
            f = tails[l] - (tails[l + 1] if l + 1 < nd else 0.0)
            s_, c = add_compensated(s_, c, f * nbinom.logpmf(vals[l], m0, theta))
        zeros = n0 + nc - (tails[0] if nd > 0 else 0.0)
        if zeros > 0:
            s_, c = add_compensated(s_, c, zeros * nbinom.logpmf(0.0, m0, theta))
        if mode == 1:
            return s_ + c
        r = m0 / (theta + m0) if theta < INF else 0.0
        for i0 in range(0, nc, TILE):
            L = min(TILE, nc - i0)
            k = kc[i0:i0 + L]
            si = s[i0:i0 + L]
            li = lgs[i0:i0 + L]
            if theta < INF:
                for i in range(L):
                    out[i] = k[i] * li[i] - (theta + k[i]) * log1p_fast((si[i] - 1.0) * r)
            else:
                for i in range(L):
                    out[i] = k[i] * li[i] - (si[i] - 1.0) * m0
            for i in range(L):
                if k[i] > BIG_K:
                    out[i] = nbinom.logpmf(k[i], si[i] * m0, theta)
            _sum_rows(buf, L, sums)
            s_, c = add_compensated(s_, c, sums[0])
        return s_ + c
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        for i in range(L):
            out[i] = nbinom._logpmf_fast(k[i], mu[i], theta)
        for i in range(L):
            if out[i] != out[i]:
                out[i] = nbinom._logpmf_slow(k[i], mu[i], theta)
        _sum_rows(buf, L, sums)
        s_, c = add_compensated(s_, c, sums[0])
    return s_ + c


# ------------------------------------------------------------ theta given mu

@compiled(nogil=True)
def theta_kernel(version, src, s, lgs, m, M, trM, dense_mu, compact, j0, j1, max_iter, tol,
                 out, status):
    """fit_theta for genes j0:j1 (on the calling thread, without the GIL):
    out[:, j] = theta, converged, iterations, loglik; status[j].

    Means mu_ij = s_i m_j (lgs = log s), or M (C-contiguous, cells x genes, genes x cells
    where trM) where dense_mu; compact: s is constant (see the module
    docstring)."""
    numba.literally(version)
    n = s.size
    kb = np.empty((GATHER, n))
    mb = np.empty((GATHER, n))
    nc = np.empty(GATHER, np.int64)
    n0 = np.empty(GATHER, np.int64)
    good = np.empty(GATHER, np.bool_)
    hist = np.zeros((4, HIST + 1), np.int64)
    big = np.empty(n)
    vals = np.empty(n)
    tails = np.empty(n)
    buf = np.empty((2, TILE))
    sums = np.empty(2)
    lbuf = np.empty((1, TILE))
    lsum = np.empty(1)
    logs = np.empty((n + TILE - 1) // TILE + 1, np.int64)
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
            total, S, M2, bad, impossible = _moments(kc, mc, ncg)
            S += n0g * m0 * m0
            M2 += n0g * m0 * m0
            bad |= n0g > 0 and not (m0 >= 0.0 and m0 < INF)
            st = (BAD_COUNTS if not good[g] else BAD_MEAN if bad
                  else IMPOSSIBLE if impossible else OK)
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
                logs[:] = -1
                eta = math.log(min(max(M2 / S, 1e-6), 1e10))
                lo = -INF
                hi = INF
                conv = False
                prev = INF
                while iters < max_iter:
                    iters += 1
                    theta = math.exp(eta)
                    A, B = _theta_sums(kc, mc, ncg, n0g, m0, theta, vals, tails, nd, buf, sums,
                                       logs)
                    gs = theta * A
                    h = theta * theta * B + gs
                    if gs > 0.0:
                        lo = eta
                    elif gs < 0.0:
                        hi = eta
                    else:
                        conv = gs == 0.0            # not NaN
                        break
                    if lo >= ETA_MAX:
                        theta = INF
                        conv = True
                        break
                    new, newton = _newton_eta(eta, gs, h, lo, hi)
                    step = abs(new - eta)
                    gain = 0.5 * gs * gs / -h if h < 0.0 else INF
                    done = _done(step, prev, newton, gain, n, tol)
                    prev = step if newton else INF
                    eta = new
                    theta = math.exp(eta)
                    if done:
                        conv = True
                        break
            out[0, j] = theta
            out[1, j] = 1.0 if conv else 0.0
            out[2, j] = iters
            mode = 1 if compact else 0 if dense_mu else 2
            out[3, j] = _loglik(kc, mc, ncg, n0g, m[j] if mode == 2 else m0, theta, vals, tails,
                                nd, mode, s, lgs, lbuf, lsum)


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
# slots hold w1 = k - mu, w2 = -mu and the limits of theta**2 w3,
# theta**2 WC1 and Q (mu (k - mu), mu**2, mu): with them, the same formulas
# give the derivatives in 1/theta at 0.

# rows of the per-tile weight buffer: those an NB pass sums first (5, or 9
# with Cox-Reid), those of the Poisson limit last
_W1, _W2, _W3, _A, _B, _WC, _WC1, _WC2, _Q, _SQ, _M2 = range(11)
NBUF = 11


@_inline
def _weights(k, mu, theta, cell, a):
    """The weights of a cell (rows _W1.._M2) from _cell's values and a =
    log1pmx(v), and whether log1pmx took the log (see special.takes_log)."""
    it, d, tk, v, q = cell
    mit = mu * it
    wc1 = mit * mit
    return (theta * v, -theta * mit * q, mit * v, a, v * v / tk,
            mit * theta, wc1, -2.0 * wc1 * it, theta * theta * mit * it, d * d - k, mu * mu,
            takes_log(q))


@_inline
def _nb_weights(k, mu, theta):
    """_weights with log1pmx by the branch-free log or series."""
    cell = _cell(k, mu, theta)
    return _weights(k, mu, theta, cell, log1pmx_ratio(cell[3], cell[4]))


@_inline
def _nb_weights_series(k, mu, theta):
    """_nb_weights by the series of log1pmx alone (see _theta_sums)."""
    cell = _cell(k, mu, theta)
    return _weights(k, mu, theta, cell, log1pmx_near(cell[3]))


@_inline
def _poisson_weights(k, mu):
    d = k - mu
    return d, -mu, mu * d, 0.0, 0.0, mu, mu * mu, 0.0, mu, d * d - k, mu * mu


@_helper
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


@_helper
def _acc_sums(sums, acc, p, cr, poisson, scale):
    """Tile sums of the weights (intercept only: x = 1) into acc."""
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    acc[0] += scale * sums[_A]
    acc[1] += scale * sums[_B]
    if poisson:
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


@_helper
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


@_helper
def _symmetrize(acc, o, p):
    """Fill the upper triangle of the p x p matrix at acc[o:]."""
    for a in range(p):
        for b in range(a):
            acc[o + b * p + a] = acc[o + a * p + b]


@_helper
def _symmetrize3(acc, o, p):
    """Fill the p x p x p symmetric tensor at acc[o:] from its entries
    [a, b, c], a >= b >= c."""
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


@_helper
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
def _fill_means(mc, mub, nc, s, off, s0, Xt, icpt, compact, beta, p):
    """The means of the gene's cells into mc[:nc] (see _means_into)."""
    c = math.exp(beta[0]) if icpt else 1.0
    if compact:
        mc[:nc] = s0 * c
        return
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        _means_into(mub, i0, L, s, off, Xt, icpt, beta, c, p)
        for i in range(L):
            mc[i0 + i] = mub[i]


@_helper
def _glm_pass(kc, nc, n0, s, off, s0, Xt, icpt, compact, beta, theta, poisson, cr,
              vals, tails, nd, buf, mub, sums, acc, p, logs):
    """The sums of one Newton iteration at (beta, theta) into acc (layout
    of _acc_layout): theta = inf where poisson. logs: as in _theta_sums."""
    o_gb, o_h, o_hbt, o_bc, o_b1, o_b2, o_t, size = _acc_layout(p)
    acc[:size] = 0.0
    c = math.exp(beta[0]) if icpt else 1.0
    nrows = NBUF if poisson else _Q + 1 if cr else _B + 1
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        if compact:
            mub[:L] = s0 * c
        else:
            _means_into(mub, i0, L, s, off, Xt, icpt, beta, c, p)
        if poisson:
            for i in range(L):
                (buf[_W1, i], buf[_W2, i], buf[_W3, i], buf[_A, i], buf[_B, i], buf[_WC, i],
                 buf[_WC1, i], buf[_WC2, i], buf[_Q, i], buf[_SQ, i],
                 buf[_M2, i]) = _poisson_weights(k[i], mub[i])
        else:
            # the series alone first where no cell took the log last time
            # (see _theta_sums)
            t = i0 // TILE
            cnt = 1
            if logs[t] == 0:
                cnt = 0
                for i in range(L):
                    w = _nb_weights_series(k[i], mub[i], theta)
                    buf[_W1, i], buf[_W2, i], buf[_W3, i], buf[_A, i], buf[_B, i] = w[:5]
                    if cr:
                        buf[_WC, i], buf[_WC1, i], buf[_WC2, i], buf[_Q, i] = w[5:9]
                    cnt += w[11]
            if cnt > 0:
                cnt = 0
                for i in range(L):
                    w = _nb_weights(k[i], mub[i], theta)
                    buf[_W1, i], buf[_W2, i], buf[_W3, i], buf[_A, i], buf[_B, i] = w[:5]
                    if cr:
                        buf[_WC, i], buf[_WC1, i], buf[_WC2, i], buf[_Q, i] = w[5:9]
                    cnt += w[11]
            logs[t] = cnt
        # the rows in use: all (Poisson), the first 9 (Cox-Reid) or 5
        _sum_rows(buf[:nrows], L, sums)
        if icpt:
            _acc_sums(sums, acc, p, cr, poisson, 1.0)
        else:
            acc[0] += sums[_A]
            acc[1] += sums[_B]
            if poisson:
                acc[2] += sums[_SQ]
                acc[3] += sums[_M2]
            _acc_design(buf, Xt, i0, L, p, cr, acc)
    if n0 > 0:
        # the zero group (compact: intercept only)
        m0 = s0 * c
        if poisson:
            w = _poisson_weights(0.0, m0)
            for r in range(NBUF):
                sums[r] = w[r]
        else:
            wn = _nb_weights(0.0, m0, theta)[:NBUF]
            for r in range(NBUF):
                sums[r] = wn[r]
        _acc_sums(sums, acc, p, cr, poisson, float(n0))
    if not poisson:
        la, lb = _lgamma_parts(vals, tails, nd, theta)
        acc[0] += la
        acc[1] += lb
    _symmetrize(acc, o_h, p)
    if cr:
        _symmetrize(acc, o_bc, p)
        _symmetrize(acc, o_b1, p)
        _symmetrize(acc, o_b2, p)
        _symmetrize3(acc, o_t, p)


# ---- small dense linear algebra (p x p, row-major flat arrays)

@_helper
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


@_helper
def _factor(A, o, p, L):
    """_cholesky, and where that fails (a coefficient running off to -inf
    leaves a direction of nearly zero curvature) again after adding
    1e-12, 1e-10, ... times the largest diagonal entry to the diagonal of
    A (damped steps in that direction, where the likelihood is flat)."""
    if _cholesky(A, o, p, L):
        return True
    dmax = 0.0
    for a in range(p):
        dmax = max(dmax, A[o + a * p + a])
    if not (dmax > 0.0 and dmax < INF):
        return False
    delta = 1e-12
    while delta < 1.0:
        for a in range(p):
            A[o + a * p + a] += delta * dmax
        if _cholesky(A, o, p, L):
            return True
        delta *= 100.0
    return False


@_helper
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
    if not _factor(acc, o_bc, p, L):
        return NAN, NAN
    zero = p - p
    for j in range(p):
        e[:p] = 0.0
        e[j] = 1.0
        _chol_solve(L, p, e, zero, x)
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
    icpt: intercept only (Xt and P unused); cr: Cox-Reid. Per gene: the
    Poisson GLM; the Poisson limit's test; joint Newton steps on (beta,
    log theta), profile-safeguarded in log theta (see fitting.fit)."""
    numba.literally(version)
    n = s.size
    p = out.shape[0] - 4
    # flags as runtime values: a constant True or False would compile
    # _glm_pass once for each (Numba types constants as literals)
    no = n < 0
    yes = not no
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
    hist = np.zeros((4, HIST + 1), np.int64)
    big = np.empty(n)
    vals = np.empty(n)
    tails = np.empty(n)
    buf = np.empty((NBUF, TILE))
    mub = np.empty(TILE)
    sums = np.empty(NBUF)
    lbuf = np.empty((1, TILE))
    lsum = np.empty(1)
    logs = np.empty((n + TILE - 1) // TILE + 1, np.int64)
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
                prev = INF
                while iters < max_iter:
                    iters += 1
                    _glm_pass(kc, ncg, n0g, s, off, s0, Xt, icpt, compact, beta, INF, yes,
                              no, vals, tails, nd, buf, mub, sums, acc, p, logs)
                    for a in range(pp):
                        acc[o_h + a] = -acc[o_h + a]
                    if not _factor(acc, o_h, p, L):
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
                    if _done(bigstep, prev, f == 1.0, 0.5 * lam, n, tol):
                        conv = True
                        break
                    prev = bigstep if f == 1.0 else INF
            # ---- the Poisson limit: 2 d(APL)/d(1/theta) at 0 = S (+ Cox-Reid)
            if cr:
                _glm_pass(kc, ncg, n0g, s, off, s0, Xt, icpt, compact, beta, INF, yes, cr,
                          vals, tails, nd, buf, mub, sums, acc, p, logs)
                S = acc[2]
                M2 = acc[3]
            else:
                _fill_means(mc, mub, ncg, s, off, s0, Xt, icpt, compact, beta, p)
                total, S, M2, bad, impossible = _moments(kc, mc, ncg)
                m0 = s0 * math.exp(beta[0])
                S += n0g * m0 * m0
                M2 += n0g * m0 * m0
            if cr:
                for a in range(pp):
                    acc[o_h + a] = -acc[o_h + a]
                if _factor(acc, o_h, p, L):
                    _chol_solve(L, p, acc, o_hbt, cvec)
                    crd, cr2 = _cr_terms(acc, p, cvec, ws)
                    S += crd
                else:
                    S = NAN
            for a in range(p):
                beta_p[a] = beta[a]
            theta = INF
            if S > 0.0 and conv:
                # ---- NB: joint Newton on (beta, eta), safeguarded in eta
                logs[:] = -1
                eta = math.log(min(max(M2 / S, 1e-6), 1e10))
                lo = -INF
                hi = INF
                conv = False
                prev = INF
                while iters < max_iter:
                    iters += 1
                    theta = math.exp(eta)
                    _glm_pass(kc, ncg, n0g, s, off, s0, Xt, icpt, compact, beta, theta, no,
                              cr, vals, tails, nd, buf, mub, sums, acc, p, logs)
                    gs = theta * acc[0]
                    h = theta * theta * acc[1] + gs
                    for a in range(pp):
                        acc[o_h + a] = -acc[o_h + a]       # N = -d2/dbeta2
                    for a in range(p):
                        acc[o_hbt + a] *= theta            # d2/dbeta deta
                    if not _factor(acc, o_h, p, L):
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
                        for a in range(p):
                            beta[a] = beta_p[a]
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
                    newton = newton and f == 1.0
                    if _done(bigstep, prev, newton, gain, n, tol):
                        conv = True
                        break
                    prev = bigstep if newton else INF
            # ---- the result, and the exact log-likelihood at it
            c = math.exp(beta[0]) if icpt else 1.0
            if not icpt:
                _fill_means(mc, mub, ncg, s, off, s0, Xt, icpt, compact, beta, p)
            for a in range(p):
                out[a, j] = beta[a]
            out[p, j] = theta
            out[p + 1, j] = 1.0 if conv else 0.0
            out[p + 2, j] = iters
            mode = 1 if compact else 2 if icpt else 0
            out[p + 3, j] = _loglik(kc, mc, ncg, n0g, s0 * c if compact else c, theta, vals,
                                    tails, nd, mode, s, off, lbuf, lsum)

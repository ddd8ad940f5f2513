"""The NB GLM with log link, per gene: coefficients and theta (fit).

Coefficients beta (p of them) and eta = log(theta) of one gene, with
mu_i = s_i exp(x_i . beta): the offsets log(s_i) are the size factors.
Per cell, with t = theta + mu, v = (k - mu) / t, the derivatives of the
log-pmf through the linear predictor are

- d/dbeta: x w1, w1 = mu d_mu = theta v;
- d2/dbeta2: x x' w2, w2 = -theta mu (theta + k) / t**2;
- d2/dbeta dtheta: x w3, w3 = mu d_mu_theta = mu v / t;

and the theta derivatives are those of fit_theta. The Cox-Reid term
-log det(Bc) / 2, Bc = X' W X, has W = mu theta / t (WC), dW/dtheta =
mu**2 / t**2 (WC1), d2W/dtheta2 = -2 mu**2 / t**3 (WC2), and mu dW/dmu =
theta**2 mu / t**2 (Q). In the Poisson limit (poisson=True) the same
slots hold w1 = k - mu, w2 = -mu and the limits of theta**2 w3,
theta**2 WC1 and Q (mu (k - mu), mu**2, mu): with them, the same formulas
give the derivatives in 1/theta at 0.
"""
import math
from typing import Callable, NamedTuple

import numba
import numpy as np

from ..._math.compile import compiled
from ..._math.special import exp_fast, log1pmx_near, log1pmx_ratio, log_fast, takes_log
from .accumulators import (A, B, M2, NBUF, Q, SQ, W1, W2, W3, WC, WC1, WC2, add_design,
                           add_sums, clear, glm_sums, symmetrize)
from .base import (BAD_COUNTS, GATHER, INF, MAX_BETA_STEP, NAN, OK, TILE, Gene, cell, helper, inline,
                   merged, sum_rows)
from .gather import buffers, distinct, gather
from .likelihood import lgamma_parts, loglik, moments
from .linalg import chol_solve, factor
from .newton import newton


class Model(NamedTuple):
    """What the GLM's passes read besides a gene's counts."""

    s: np.ndarray       # the size factors, per cell
    off: np.ndarray     # their logs (the offsets)
    s0: float           # s[0]
    Xt: np.ndarray      # the design, p x cells (unused where icpt)
    icpt: bool          # intercept only
    compact: bool       # intercept only and s constant: genes held compact
    p: int              # the number of coefficients


class Tiles(NamedTuple):
    """The buffers of a pass over the tiles of a gene's cells."""

    buf: np.ndarray     # (NBUF, TILE): the per-cell weights
    mub: np.ndarray     # (TILE,): the means
    sums: np.ndarray    # (NBUF,): the tile's sums


class CoxReidWork(NamedTuple):
    """The buffers of _cr_terms."""

    L: np.ndarray       # (p, p): Bc's Cholesky factor
    inv: np.ndarray     # (p, p): Bc^-1
    m: np.ndarray       # (p, p): Bc^-1 B1
    e: np.ndarray       # (p,)
    x: np.ndarray       # (p,)


@inline
def _weights(k, mu, theta, c, a):
    """The weights of a cell (rows W1..M2) from cell's values c and a =
    log1pmx(v), and whether log1pmx took the log (see special.takes_log)."""
    it, d, tk, v, q = c
    mit = mu * it
    wc1 = mit * mit
    return (theta * v, -theta * mit * q, mit * v, a, v * v / tk,
            mit * theta, wc1, -2.0 * wc1 * it, theta * theta * mit * it, d * d - k, mu * mu,
            takes_log(q))


@inline
def _nb_weights(k, mu, theta):
    """_weights with log1pmx by the branch-free log or series."""
    c = cell(k, mu, theta)
    return _weights(k, mu, theta, c, log1pmx_ratio(c[3], c[4]))


@inline
def _nb_weights_series(k, mu, theta):
    """_nb_weights by the series of log1pmx alone (see theta._theta_sums)."""
    c = cell(k, mu, theta)
    return _weights(k, mu, theta, c, log1pmx_near(c[3]))


def _filler(weights: Callable) -> Callable:
    """The loop that puts the NB weights of a tile's cells, by ``weights``,
    into the rows of buf (those of Cox-Reid where cr), and returns how many
    cells took the log: one for each weights function, copied into its
    caller (``merged``, as the loops were written there before)."""
    @merged
    def fill(buf, k, mub, theta, L, cr):
        # two loops, not one with the Cox-Reid rows stored under a condition:
        # LLVM then reads those rows where it does not write them, and stale
        # subnormals there made the pass ~5x slower
        cnt = 0
        if cr:
            for i in range(L):
                w = weights(k[i], mub[i], theta)
                buf[W1, i], buf[W2, i], buf[W3, i], buf[A, i], buf[B, i] = w[:5]
                buf[WC, i], buf[WC1, i], buf[WC2, i], buf[Q, i] = w[5:9]
                cnt += w[11]
        else:
            for i in range(L):
                w = weights(k[i], mub[i], theta)
                buf[W1, i], buf[W2, i], buf[W3, i], buf[A, i], buf[B, i] = w[:5]
                cnt += w[11]
        return cnt

    return fill


_fill = _filler(_nb_weights)
_fill_series = _filler(_nb_weights_series)


@inline
def _poisson_weights(k, mu):
    d = k - mu
    return d, -mu, mu * d, 0.0, 0.0, mu, mu * mu, 0.0, mu, d * d - k, mu * mu


@helper
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


@helper
def _fill_means(mc, mub, nc, model, beta):
    """The means of the gene's cells into mc[:nc] (see _means_into)."""
    s, off, s0, Xt, icpt, compact, p = model
    c = math.exp(beta[0]) if icpt else 1.0
    if compact:
        mc[:nc] = s0 * c
        return
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        _means_into(mub, i0, L, s, off, Xt, icpt, beta, c, p)
        for i in range(L):
            mc[i0 + i] = mub[i]


@helper
def _glm_pass(gene, model, beta, theta, poisson, cr, tiles, acc):
    """The sums of one Newton iteration at (beta, theta) into acc: theta =
    inf where poisson. gene.logs: as in theta._theta_sums."""
    kc, nc, n0, vals, tails, nd, logs = gene
    s, off, s0, Xt, icpt, compact, p = model
    buf, mub, sums = tiles
    clear(acc)
    c = math.exp(beta[0]) if icpt else 1.0
    nrows = NBUF if poisson else Q + 1 if cr else B + 1
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        if compact:
            mub[:L] = s0 * c
        else:
            _means_into(mub, i0, L, s, off, Xt, icpt, beta, c, p)
        if poisson:
            for i in range(L):
                (buf[W1, i], buf[W2, i], buf[W3, i], buf[A, i], buf[B, i], buf[WC, i],
                 buf[WC1, i], buf[WC2, i], buf[Q, i], buf[SQ, i],
                 buf[M2, i]) = _poisson_weights(k[i], mub[i])
        else:
            # the series alone first where no cell took the log last time
            # (see theta._theta_sums)
            t = i0 // TILE
            cnt = 1
            if logs[t] == 0:
                cnt = _fill_series(buf, k, mub, theta, L, cr)
            if cnt > 0:
                cnt = _fill(buf, k, mub, theta, L, cr)
            logs[t] = cnt
        # the rows in use: all (Poisson), the first 9 (Cox-Reid) or 5
        sum_rows(buf[:nrows], L, sums)
        if icpt:
            add_sums(sums, acc, cr, poisson, 1.0)
        else:
            acc.dtheta[0] += sums[A]
            acc.dtheta[1] += sums[B]
            if poisson:
                acc.limit[0] += sums[SQ]
                acc.limit[1] += sums[M2]
            add_design(buf, Xt, i0, L, p, cr, acc)
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
        add_sums(sums, acc, cr, poisson, float(n0))
    if not poisson:
        la, lb = lgamma_parts(vals, tails, nd, theta)
        acc.dtheta[0] += la
        acc.dtheta[1] += lb
    symmetrize(acc, cr)


@helper
def _cr_terms(acc, z, ws):
    """Cox-Reid pieces: crd = tr(Bc^-1 B1) + tr(Bc^-1 T(z)) and
    cr2 = tr(Bc^-1 B2) - tr((Bc^-1 B1)**2), T(z) = sum_c T[:, :, c] z_c
    (see glm_kernel); NaN where Bc is singular."""
    L, inv, m, e, x = ws
    p = z.size
    if not factor(acc.bc, L):
        return NAN, NAN
    for j in range(p):
        e[:p] = 0.0
        e[j] = 1.0
        chol_solve(L, e, x)
        for i in range(p):
            inv[i, j] = x[i]
    t1 = 0.0
    t2 = 0.0
    for a in range(p):
        for b in range(p):
            t1 += inv[a, b] * acc.b1[b, a]
            t2 += inv[a, b] * acc.b2[b, a]
            tzab = 0.0
            for c in range(p):
                tzab += acc.t[b, a, c] * z[c]
            t1 += inv[a, b] * tzab
    for a in range(p):
        for b in range(p):
            sab = 0.0
            for c in range(p):
                sab += inv[a, c] * acc.b1[c, b]
            m[a, b] = sab
    for a in range(p):
        for b in range(p):
            t2 -= m[a, b] * m[b, a]
    return t1, t2


@helper
def _negate(h):
    p = h.shape[0]
    for a in range(p):
        for b in range(p):
            h[a, b] = -h[a, b]


@merged
def _poisson_evaluate(ctx, beta, theta, dbeta, cvec):
    """newton's evaluate for the Poisson GLM (theta = inf, fixed): the
    coefficients' Newton step."""
    gene, model, tiles, acc, L, yes, no = ctx
    _glm_pass(gene, model, beta, INF, yes, no, tiles, acc)
    _negate(acc.h)
    cvec[:] = 0.0
    if not factor(acc.h, L):
        return False, 0.0, -1.0, 0.0
    chol_solve(L, acc.gb, dbeta)
    lam = 0.0
    for a in range(beta.size):
        lam += acc.gb[a] * dbeta[a]
    return True, 0.0, -1.0, lam


@merged
def _nb_evaluate(ctx, beta, theta, dbeta, cvec):
    """newton's evaluate for the NB GLM: the coefficients' Newton step at
    fixed eta = log(theta), and the profile likelihood's score and
    curvature in eta (Cox-Reid adjusted where cr)."""
    gene, model, tiles, acc, L, no, cr, ws = ctx
    p = beta.size
    _glm_pass(gene, model, beta, theta, no, cr, tiles, acc)
    gs = theta * acc.dtheta[0]
    h = theta * theta * acc.dtheta[1] + gs
    _negate(acc.h)                              # N = -d2/dbeta2
    for a in range(p):
        acc.hbt[a] *= theta                     # d2/dbeta deta
    if not factor(acc.h, L):
        return False, gs, h, 0.0
    chol_solve(L, acc.gb, dbeta)                # beta's Newton step at fixed eta
    chol_solve(L, acc.hbt, cvec)                # d(beta-hat)/d(eta)
    # the profile likelihood's score and curvature in eta
    lam = 0.0
    for a in range(p):
        lam += acc.gb[a] * dbeta[a]
        gs += acc.hbt[a] * dbeta[a]
        h += acc.hbt[a] * cvec[a]
    if cr:
        for a in range(p):
            cvec[a] /= theta                    # d(beta-hat)/d(theta)
        crd, cr2 = _cr_terms(acc, cvec, ws)
        for a in range(p):
            cvec[a] *= theta
        gc = -0.5 * theta * crd
        gs += gc
        h += -0.5 * theta * theta * cr2 + gc
    return True, gs, h, lam


_poisson_newton = newton(_poisson_evaluate)
_nb_newton = newton(_nb_evaluate)


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
    model = Model(s, off, s0, Xt, icpt, compact, p)
    kb, nc, n0, good, hist, big, vals, tails = buffers(n)
    tiles = Tiles(np.empty((NBUF, TILE)), np.empty(TILE), np.empty(NBUF))
    mub = tiles.mub
    lbuf = np.empty((1, TILE))
    lsum = np.empty(1)
    logs = np.empty((n + TILE - 1) // TILE + 1, np.int64)
    mc = np.empty(n)
    acc = glm_sums(p)
    ws = CoxReidWork(np.empty((p, p)), np.empty((p, p)), np.empty((p, p)), np.empty(p),
                     np.empty(p))
    L = np.empty((p, p))
    beta = np.empty(p)
    beta_p = np.empty(p)
    dbeta = np.empty(p)
    cvec = np.empty(p)
    for b0 in range(j0, j1, GATHER):
        gn = min(GATHER, j1 - b0)
        gather(src, b0, gn, n, compact, kb, nc, n0, good)
        for g in range(gn):
            j = b0 + g
            kc = kb[g]
            ncg = nc[g]
            n0g = n0[g]
            status[j] = OK if good[g] else BAD_COUNTS
            if not good[g]:
                out[:, j] = NAN
                continue
            nd = distinct(kc, ncg, hist, big, vals, tails)
            if nd == 0:
                # all counts 0: mean 0 fits best, and then every theta alike
                out[:p, j] = -INF if icpt else NAN
                out[p, j] = 0.0
                out[p + 1, j] = 1.0
                out[p + 2, j] = 0.0
                out[p + 3, j] = 0.0
                continue
            gene = Gene(kc, ncg, n0g, vals, tails, nd, logs)
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
                _, conv, iters = _poisson_newton((gene, model, tiles, acc, L, yes, no), beta,
                                                 dbeta, cvec, 0.0, max_iter, n, tol,
                                                 MAX_BETA_STEP)
            # ---- the Poisson limit: 2 d(APL)/d(1/theta) at 0 = S (+ Cox-Reid)
            if cr:
                _glm_pass(gene, model, beta, INF, yes, cr, tiles, acc)
                S = acc.limit[0]
                m2 = acc.limit[1]
            else:
                _fill_means(mc, mub, ncg, model, beta)
                total, S, m2, bad, impossible = moments(kc, mc, ncg)
                m0 = s0 * math.exp(beta[0])
                S += n0g * m0 * m0
                m2 += n0g * m0 * m0
            if cr:
                _negate(acc.h)
                if factor(acc.h, L):
                    chol_solve(L, acc.hbt, cvec)
                    crd, cr2 = _cr_terms(acc, cvec, ws)
                    S += crd
                else:
                    S = NAN
            for a in range(p):
                beta_p[a] = beta[a]
            theta = INF
            if S > 0.0 and conv:
                # ---- NB: joint Newton on (beta, eta), safeguarded in eta
                logs[:] = -1
                eta = math.log(min(max(m2 / S, 1e-6), 1e10))
                theta, conv, k = _nb_newton((gene, model, tiles, acc, L, no, cr, ws), beta,
                                            dbeta, cvec, eta, max_iter - iters, n, tol,
                                            MAX_BETA_STEP)
                iters += k
                if theta == INF:
                    # the Poisson limit fits best: the Poisson fit's coefficients
                    for a in range(p):
                        beta[a] = beta_p[a]
            # ---- the result, and the exact log-likelihood at it
            c = math.exp(beta[0]) if icpt else 1.0
            if not icpt:
                _fill_means(mc, mub, ncg, model, beta)
            for a in range(p):
                out[a, j] = beta[a]
            out[p, j] = theta
            out[p + 1, j] = 1.0 if conv else 0.0
            out[p + 2, j] = iters
            mode = 1 if compact else 2 if icpt else 0
            out[p + 3, j] = loglik(gene, mc, s0 * c if compact else c, theta, mode, s, off, lbuf,
                                   lsum)

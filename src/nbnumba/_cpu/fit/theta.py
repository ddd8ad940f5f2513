"""Per gene, the maximum likelihood theta of NB(mu, theta) for given means
(fit_theta): Newton on log(theta) over the theta-derivatives of the
log-likelihood."""
import math

import numba
import numpy as np

from ..._math.compile import compiled
from ..._math.special import log1pmx_near, log1pmx_ratio, takes_log
from .base import (BAD_COUNTS, BAD_MEAN, GATHER, IMPOSSIBLE, INF, NAN, OK, TILE, Gene, cell,
                   helper, inline, merged, sum_rows)
from .gather import buffers, distinct, gather, gather_dense
from .likelihood import lgamma_parts, loglik, moments
from .newton import newton


@inline
def _theta_terms(k, mu, theta):
    """The per-cell parts of d/dtheta and d2/dtheta2 of the log-pmf:
    log1pmx(v) and v**2 / (k + theta), v = (k - mu) / (theta + mu)."""
    it, d, tk, v, q = cell(k, mu, theta)
    return log1pmx_ratio(v, q), v * v / tk, takes_log(q)


@inline
def _theta_terms_series(k, mu, theta):
    """_theta_terms by the series alone, and whether it does not apply."""
    it, d, tk, v, q = cell(k, mu, theta)
    return log1pmx_near(v), v * v / tk, takes_log(q)


@helper
def _theta_sums(gene, mc, m0, theta, buf, sums):
    """(d/dtheta, d2/dtheta2) of the gene's log-likelihood at theta (buf:
    (2, TILE), sums: 2). gene.logs[t]: the number of cells of tile t that
    took the log (special.takes_log) in the previous call, -1 at first:
    where it was 0 the tile runs the series alone first (no log: half the
    time), and all over again with the logs where a cell needs one now;
    updated."""
    kc, nc, n0, vals, tails, nd, logs = gene
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
        sum_rows(buf, L, sums)
        a += sums[0]
        b += sums[1]
    if n0 > 0:
        za, zb, big = _theta_terms(0.0, m0, theta)
        a += n0 * za
        b += n0 * zb
    la, lb = lgamma_parts(vals, tails, nd, theta)
    return a + la, b + lb


@merged
def _evaluate(ctx, beta, theta, dbeta, cvec):
    """newton's evaluate for theta alone (no coefficients): the score and
    curvature in eta = log(theta)."""
    gene, mc, m0, buf, sums = ctx
    A, B = _theta_sums(gene, mc, m0, theta, buf, sums)
    gs = theta * A
    return True, gs, theta * theta * B + gs, 0.0


_newton = newton(_evaluate)


@compiled(nogil=True)
def theta_kernel(version, src, s, lgs, m, M, trM, dense_mu, compact, j0, j1, max_iter, tol,
                 out, status):
    """fit_theta for genes j0:j1 (on the calling thread, without the GIL):
    out[:, j] = theta, converged, iterations, loglik; status[j].

    Means mu_ij = s_i m_j (lgs = log s), or M (C-contiguous, cells x genes, genes x cells
    where trM) where dense_mu; compact: s is constant (see the package
    docstring)."""
    numba.literally(version)
    n = s.size
    kb, nc, n0, good, hist, big, vals, tails = buffers(n)
    mb = np.empty((GATHER, n))
    buf = np.empty((2, TILE))
    sums = np.empty(2)
    lbuf = np.empty((1, TILE))
    lsum = np.empty(1)
    logs = np.empty((n + TILE - 1) // TILE + 1, np.int64)
    none = np.empty(0)                  # no coefficients
    s0 = s[0] if n > 0 else 1.0
    for b0 in range(j0, j1, GATHER):
        gn = min(GATHER, j1 - b0)
        gather(src, b0, gn, n, compact, kb, nc, n0, good)
        if dense_mu:
            gather_dense(M, trM, b0, gn, n, mb)
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
            total, S, M2, bad, impossible = moments(kc, mc, ncg)
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
            nd = distinct(kc, ncg, hist, big, vals, tails)
            gene = Gene(kc, ncg, n0g, vals, tails, nd, logs)
            theta = INF
            conv = True
            iters = 0
            if S > 0.0:
                # Newton on eta = log(theta), bracketed
                logs[:] = -1
                eta = math.log(min(max(M2 / S, 1e-6), 1e10))
                theta, conv, iters = _newton(
                    (gene, mc, m0, buf, sums), none, none, none, eta, max_iter, n, tol, INF)
            out[0, j] = theta
            out[1, j] = 1.0 if conv else 0.0
            out[2, j] = iters
            mode = 1 if compact else 0 if dense_mu else 2
            out[3, j] = loglik(gene, mc, m[j] if mode == 2 else m0, theta, mode, s, lgs, lbuf,
                               lsum)

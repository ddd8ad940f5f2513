"""The sums of one pass of the GLM over a gene, as a named structure, and
how a tile's per-cell weights are added into it."""
from typing import NamedTuple

import numpy as np

from .base import helper

# rows of the per-tile weight buffer (see glm): those an NB pass sums first
# (5, or 9 with Cox-Reid), those of the Poisson limit last
W1, W2, W3, A, B, WC, WC1, WC2, Q, SQ, M2 = range(11)
NBUF = 11


class GLMSums(NamedTuple):
    """The sums of one Newton iteration of a gene at (beta, theta), p
    coefficients; matrices hold their lower triangles until symmetrize."""

    dtheta: np.ndarray  # (2,): d/dtheta and d2/dtheta2 of the log-likelihood
    limit: np.ndarray   # (2,): the Poisson limit's S and M2 (see fit_theta)
    gb: np.ndarray      # (p,): d/dbeta
    h: np.ndarray       # (p, p): d2/dbeta2
    hbt: np.ndarray     # (p,): d2/dbeta dtheta
    bc: np.ndarray      # (p, p): Cox-Reid: X' W X, and its first ...
    b1: np.ndarray      # (p, p): ... and second derivatives in theta
    b2: np.ndarray      # (p, p)
    t: np.ndarray       # (p, p, p): sum_i mu_i dW_i/dmu_i x_i x_i' x_i (Cox-Reid)


@helper
def glm_sums(p):
    """A GLMSums for p coefficients (not zeroed: see clear)."""
    return GLMSums(np.empty(2), np.empty(2), np.empty(p), np.empty((p, p)), np.empty(p),
                   np.empty((p, p)), np.empty((p, p)), np.empty((p, p)), np.empty((p, p, p)))


@helper
def clear(acc):
    acc.dtheta[:] = 0.0
    acc.limit[:] = 0.0
    acc.gb[:] = 0.0
    acc.h[:] = 0.0
    acc.hbt[:] = 0.0
    acc.bc[:] = 0.0
    acc.b1[:] = 0.0
    acc.b2[:] = 0.0
    acc.t[:] = 0.0


@helper
def add_sums(sums, acc, cr, poisson, scale):
    """Tile sums of the weights (intercept only: x = 1) into acc."""
    acc.dtheta[0] += scale * sums[A]
    acc.dtheta[1] += scale * sums[B]
    if poisson:
        acc.limit[0] += scale * sums[SQ]
        acc.limit[1] += scale * sums[M2]
    acc.gb[0] += scale * sums[W1]
    acc.h[0, 0] += scale * sums[W2]
    acc.hbt[0] += scale * sums[W3]
    if cr:
        acc.bc[0, 0] += scale * sums[WC]
        acc.b1[0, 0] += scale * sums[WC1]
        acc.b2[0, 0] += scale * sums[WC2]
        acc.t[0, 0, 0] += scale * sums[Q]


@helper
def add_design(buf, Xt, i0, L, p, cr, acc):
    """The design-weighted sums of a tile into acc (lower triangles), cell
    by cell."""
    for i in range(L):
        w1 = buf[W1, i]
        w2 = buf[W2, i]
        w3 = buf[W3, i]
        for a in range(p):
            xa = Xt[a, i0 + i]
            acc.gb[a] += w1 * xa
            acc.hbt[a] += w3 * xa
            for b in range(a + 1):
                acc.h[a, b] += w2 * xa * Xt[b, i0 + i]
        if cr:
            wc = buf[WC, i]
            wc1 = buf[WC1, i]
            wc2 = buf[WC2, i]
            q = buf[Q, i]
            for a in range(p):
                xa = Xt[a, i0 + i]
                for b in range(a + 1):
                    xab = xa * Xt[b, i0 + i]
                    acc.bc[a, b] += wc * xab
                    acc.b1[a, b] += wc1 * xab
                    acc.b2[a, b] += wc2 * xab
                    for c in range(b + 1):
                        acc.t[a, b, c] += q * xab * Xt[c, i0 + i]


@helper
def _symmetrize(m):
    """Fill the upper triangle of the square matrix m from its lower one."""
    p = m.shape[0]
    for a in range(p):
        for b in range(a):
            m[b, a] = m[a, b]


@helper
def _symmetrize3(t):
    """Fill the symmetric p x p x p tensor t from its entries [a, b, c],
    a >= b >= c."""
    p = t.shape[0]
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
                t[a, b, c] = t[i, j, l]


@helper
def symmetrize(acc, cr):
    """The matrices of acc in full (the Cox-Reid ones where cr)."""
    _symmetrize(acc.h)
    if cr:
        _symmetrize(acc.bc)
        _symmetrize(acc.b1)
        _symmetrize(acc.b2)
        _symmetrize3(acc.t)

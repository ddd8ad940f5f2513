"""Fused log-likelihood sums: ``nbnumba.loglik``.

The log-pmf of every entry is summed as it is computed, so memory is
O(output) instead of O(X). Each row (or column) sum is compensated
(Neumaier) and computed by one thread in a fixed order; the total is the
exactly rounded sum (``math.fsum``) of the row sums. The result is
therefore the same whatever the number of threads.
"""
import math

import numpy as np
from numba import njit, prange

from . import _params
from ._math.special import jit
from .ufuncs import TILE, _operand, _row, _tile


@njit(inline="always")
def _add(s, c, v):
    """Neumaier's compensated addition: (s, c) += v."""
    t = s + v
    e = (s - t) + v if abs(s) >= abs(v) else (v - t) + s
    return t, c + (0.0 if math.isinf(t) else e)     # an impossible count: -inf


@jit
def _row_sum(x, mu, theta, i, n1):
    """Compensated sum of the log-pmf over row i, tile by tile, in order."""
    buf = np.empty(min(TILE, n1))
    s = 0.0
    c = 0.0
    for j0 in range(0, n1, TILE):
        j1 = min(j0 + TILE, n1)
        o = buf[:j1 - j0]
        _tile(0, _row(x, i, j0, j1), _row(mu, i, j0, j1), _row(theta, i, j0, j1), o)
        for j in range(j1 - j0):
            s, c = _add(s, c, o[j])
    return s + c


@jit
def _col_sums(x, mu, theta, n0, j0, j1, out):
    """Compensated sums of the log-pmf over columns j0:j1, rows in order."""
    s = np.zeros(j1 - j0)
    c = np.zeros(j1 - j0)
    o = np.empty(j1 - j0)
    for i in range(n0):
        _tile(0, _row(x, i, j0, j1), _row(mu, i, j0, j1), _row(theta, i, j0, j1), o)
        for j in range(j1 - j0):
            s[j], c[j] = _add(s[j], c[j], o[j])
    out[j0:j1] = s + c


@njit(parallel=True, cache=True)
def _rows(x, mu, theta, n1, out):
    """Row sums over operands as ufuncs._row takes them."""
    for i in prange(out.size):
        out[i] = _row_sum(x, mu, theta, i, n1)


@njit(parallel=True, cache=True)
def _cols(x, mu, theta, n0, out):
    """Column sums, blocks of 256 columns per thread."""
    for b in prange((out.size + 255) // 256):
        _col_sums(x, mu, theta, n0, b * 256, min(b * 256 + 256, out.size), out)


def loglik(x, mu, theta, axis=None, keepdims=False):
    """Sum of ``logpmf(x, mu, theta)`` without materialising the log-pmf.

    Parameters
    ----------
    x : array_like
        Counts, at most 2-D (cells x genes), or a Dask array.
    mu, theta : array_like
        Broadcast against ``x`` (e.g. mu per cell x gene, theta per gene).
    axis : None, 0 or 1
        None: the total; 1: per row (cell); 0: per column (gene).
    keepdims : bool
        Keep the summed axes as length 1, as ``np.sum``.

    Returns
    -------
    float or ndarray (float64)
        -inf where a count is impossible, NaN for invalid parameters.
    """
    if any(_params.is_dask(a) for a in (x, mu, theta)):
        from . import _dask
        return _dask.loglik(x, mu, theta, axis=axis, keepdims=keepdims)
    x = np.asarray(x)
    if x.ndim > 2:
        raise ValueError("loglik takes counts of at most 2 dimensions")
    if axis not in (None, 0, 1, -1, -2) or (x.ndim < 2 and axis not in (None, 0, -1)):
        raise ValueError(f"axis {axis} is out of range for a {x.ndim}-D array")
    shape2 = (1,) * (2 - x.ndim) + x.shape
    if np.broadcast_shapes(x.shape, np.shape(mu), np.shape(theta)) != x.shape:
        raise ValueError("mu and theta must broadcast to the shape of x")
    ops = [_operand(a, shape2, copy=True) for a in (x, mu, theta)]
    n0, n1 = shape2
    if x.ndim == 1 and axis in (0, -1):
        axis = None
    if axis is None:
        rows = np.empty(n0)
        _rows(*ops, n1, rows)
        total = math.fsum(rows)
        return np.full((1,) * x.ndim, total) if keepdims else total
    if axis in (1, -1):
        res = np.empty(n0)
        _rows(*ops, n1, res)
        return res[:, None] if keepdims else res
    res = np.empty(n1)
    _cols(*ops, n0, res)
    return res[None, :] if keepdims else res

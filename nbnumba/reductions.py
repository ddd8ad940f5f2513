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

from . import _params, _scalar


@njit(inline="always")
def _add(s, c, v):
    """Neumaier's compensated addition: (s, c) += v."""
    t = s + v
    if math.isinf(t):                  # an impossible count: the sum is -inf
        return t, c
    if abs(s) >= abs(v):
        c += (s - t) + v
    else:
        c += (v - t) + s
    return t, c


@njit(parallel=True, cache=True)
def _rows(x, mu, theta, out):
    n0, n1 = x.shape
    for i in prange(n0):
        s = 0.0
        c = 0.0
        for j in range(n1):
            s, c = _add(s, c, _scalar.logpmf(np.float64(x[i, j]), np.float64(mu[i, j]),
                                             np.float64(theta[i, j])))
        out[i] = s + c


@njit(parallel=True, cache=True)
def _cols(x, mu, theta, out):
    n0, n1 = x.shape
    nb = (n1 + 255) // 256
    for b in prange(nb):
        j0 = b * 256
        j1 = min(j0 + 256, n1)
        s = np.zeros(j1 - j0)
        c = np.zeros(j1 - j0)
        for i in range(n0):
            for j in range(j0, j1):
                s[j - j0], c[j - j0] = _add(s[j - j0], c[j - j0], _scalar.logpmf(
                    np.float64(x[i, j]), np.float64(mu[i, j]), np.float64(theta[i, j])))
        for j in range(j0, j1):
            out[j] = s[j - j0] + c[j - j0]


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
    x2 = x.reshape((1,) * (2 - x.ndim) + x.shape)
    mu2, theta2 = (np.broadcast_to(np.asarray(a), x.shape).reshape(x2.shape) for a in (mu, theta))
    if x.ndim == 1 and axis in (0, -1):
        axis = None
    if axis is None:
        rows = np.empty(x2.shape[0])
        _rows(x2, mu2, theta2, rows)
        total = math.fsum(rows)
        return np.full((1,) * x.ndim, total) if keepdims else total
    if axis in (1, -1):
        res = np.empty(x2.shape[0])
        _rows(x2, mu2, theta2, res)
        return res[:, None] if keepdims else res
    res = np.empty(x2.shape[1])
    _cols(x2, mu2, theta2, res)
    return res[None, :] if keepdims else res

"""Log-likelihood sums: ``nbnumba.loglik`` (and ``nbnumba.zinb.loglik``).

The log-pmf of every entry is summed as it is computed, so memory is
O(output) instead of O(X). Each row (or column) sum is compensated
(Neumaier) and computed by one thread in a fixed order; the total is the
exactly rounded sum (``math.fsum``) of the row sums. The result is
therefore the same whatever the number of threads.

Counts may be dense, scipy.sparse CSR / CSC (matrices or arrays; other
formats raise TypeError: convert with ``.tocsr()``) or Dask arrays. Sparse
counts are never densified: each row's zeros are summed in closed form
over the row's means (no count is read), then each stored count adds its
term minus the zero's; memory O(nnz + rows + cols). The mean may be a pair
``(size_factors, gene_means)``, the outer product ``mu[i, j] =
size_factors[i] * gene_means[j]`` of sctransform's and glmGamPoi's model,
which is never materialised.
"""
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _arrays


def loglik(x: Any, mu: Any, theta: ArrayLike, axis: int | None = None,
           keepdims: bool = False) -> Any:
    """Sum of ``logpmf(x, mu, theta)`` without materialising the log-pmf.

    Parameters
    ----------
    x : array_like, scipy.sparse CSR/CSC, or Dask array
        Counts, at most 2-D (cells x genes).
    mu : array_like, or a pair (size_factors, gene_means)
        Means, broadcast against ``x`` (e.g. per cell x gene), or the outer
        product of per-cell size factors and per-gene means.
    theta : array_like
        Inverse dispersion, broadcast against ``x`` (e.g. per gene).
    axis : None, 0 or 1
        None: the total; 1: per row (cell); 0: per column (gene).
    keepdims : bool
        Keep the summed axes as length 1, as ``np.sum``.

    Returns
    -------
    float or ndarray (float64)
        -inf where a count is impossible, NaN for invalid parameters.
        torch tensors in: a tensor on their device, in the parameters'
        dtype, differentiable in mu and theta (a training loss).
    """
    return reduce("nbinom", x, mu, (theta,), axis, keepdims)


def reduce(distribution, x, mu, rest, axis=None, keepdims=False, parallel=True):
    """Log-likelihood sums of ``distribution`` for counts x, mean mu (or a
    (size_factors, gene_means) pair) and the further operands ``rest``; on
    the calling thread only where not ``parallel`` (Dask blocks)."""
    outer = isinstance(mu, tuple)
    if outer and len(mu) != 2:
        raise ValueError("mu must be an array or a pair (size_factors, gene_means)")
    where = _arrays.target(x, *(mu if outer else (mu,)), *rest)
    if any(_arrays.is_torch(a) for a in (x, *(mu if outer else (mu,)), *rest)):
        # a tensor on the parameters' device, differentiable in them
        from . import _torch
        from .ufuncs import dispatch
        return _torch.loglik(dispatch, reduce, distribution, x, mu, rest, axis, keepdims)
    if where == "dask":
        from . import _dask
        return _dask.loglik(distribution, x, mu, rest, reduce, axis, keepdims)
    if where == "cuda":
        raise TypeError("loglik runs on the CPU; on the GPU, sum the log-pmf "
                        "(e.g. nbnumba.logpmf(x, mu, theta).sum(axis))")
    if isinstance(x, np.ma.MaskedArray) and np.ma.is_masked(x):
        raise TypeError("loglik does not take masked counts: pass x.filled(...) or select "
                        "the entries to sum")
    sparse = _arrays.is_sparse(x)
    if sparse:
        fmt = x.format
        if fmt not in ("csr", "csc"):
            raise TypeError(f"loglik takes CSR or CSC sparse counts; convert {fmt.upper()} "
                            "with .tocsr()")
        x = canonical(x)
        shape = x.shape
    else:
        x = _arrays.host(x, "x")
        shape = x.shape
    ndim = len(shape)
    if ndim > 2:
        raise ValueError("loglik takes counts of at most 2 dimensions")
    if axis not in (None, 0, 1, -1, -2) or (ndim < 2 and axis not in (None, 0, -1)):
        raise ValueError(f"axis {axis} is out of range for a {ndim}-D array")
    axis = None if axis is None else axis % max(ndim, 1)
    s2 = (1,) * (2 - ndim) + tuple(shape)
    if outer:
        sf, means = (_arrays.host(a, n).astype(np.float64) for a, n in
                     zip(mu, ("size_factors", "gene_means")))
        if sf.shape not in ((s2[0],), (1,), ()) or means.shape not in ((s2[1],), (1,), ()):
            raise ValueError(f"size_factors and gene_means must have {s2[0]} and {s2[1]} "
                             f"elements; got {sf.shape} and {means.shape}")
        a, scale = sf.reshape(-1, 1), means.reshape(1, -1)
    else:
        a, scale = mu, np.ones((1, 1))
    params = [a] + list(rest)
    for name, p in zip(("mu",) + ("theta",) * len(rest), params):
        if np.broadcast_shapes(s2, np.shape(_arrays.host(p, name))) != s2:
            raise ValueError(f"{name} must broadcast to the shape of x, {tuple(shape)}")
    ops = [_operand(_arrays.host(p, "mu"), s2) for p in params]
    scale = _operand(scale, s2)
    from ._cpu import forks, sums, tiles
    fname = tiles.kernel_name(distribution, "logpmf")
    total = axis is None or ndim < 2
    by_col = axis == 0 and ndim == 2
    serial = not (parallel and forks.parallel_ok())
    if sparse:
        res = _sparse(fname, x, ops, scale, s2, by_col, serial)
    elif by_col:
        res = np.empty(s2[1])
        tiles.call(sums.dense_cols, fname, (_counts(x).reshape(s2),) + tuple(ops), scale,
                   s2[0], res, serial, tiles.general(fname))
    else:
        res = np.empty(s2[0])
        tiles.call(sums.dense_rows, fname, (_counts(x).reshape(s2),) + tuple(ops), scale,
                   s2[1], res, serial, tiles.general(fname))
    if total:
        value = math.fsum(res)
        return np.full((1,) * ndim, value) if keepdims else value
    return np.expand_dims(res, axis) if keepdims else res


def canonical(x):
    """CSR/CSC counts x with duplicate entries summed (scipy's meaning of
    them), as a copy; x itself where it is canonical already (no copy).
    The kernels score each stored entry as a count of its own."""
    if x.has_canonical_format:
        return x
    x = x.copy()
    x.sum_duplicates()
    return x


def _counts(x):
    """Counts as a kernel reads them: their own dtype where it is int64,
    int32, float64 or float32 (no copy), else int64 (smaller integers) or
    float64 (uint64, which int64 cannot hold, and other floats)."""
    x = _arrays.host(x, "x")
    if x.dtype not in (np.int64, np.int32, np.float64, np.float32):
        x = x.astype(np.int64 if x.dtype.kind in "ib" or (x.dtype.kind == "u" and x.itemsize < 8)
                     else np.float64)
    return _arrays.two_d(x, _arrays.shape2(x.shape), x.shape)


def _operand(a, s2):
    return _arrays.two_d(np.asarray(a, np.float64), s2, s2)


def _transposed(a):
    v = np.ascontiguousarray(a.T)
    v.flags.writeable = False
    return v


def _sparse(fname, x, ops, scale, s2, by_col, serial):
    """Row sums of CSR counts, or column sums (by_col) of CSC ones, as row
    sums of the transpose; totals from whichever format x has."""
    from ._cpu import sums, tiles
    if by_col and x.format != "csc":
        x = x.tocsc()
    elif not by_col and x.format != "csr":
        x = x.tocsr()
    data = _counts(np.asarray(x.data)).reshape(-1)
    if by_col:
        ops = [_transposed(a) for a in ops]
        scale = _transposed(scale)
    n0, n1 = (s2[1], s2[0]) if by_col else s2
    zero = _arrays.two_d(np.zeros((1, 1), data.dtype), (1, 1), (1, 1))
    res = np.empty(n0)
    tiles.call(sums.sparse_rows, fname, data, np.asarray(x.indices), np.asarray(x.indptr),
               (zero,) + tuple(ops), scale, n1, res, serial, tiles.general(fname))
    return res


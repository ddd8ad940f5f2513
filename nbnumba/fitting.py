"""Maximum likelihood fits of the Negative Binomial per gene:
:func:`fit_theta` (theta for given means) and :func:`fit` (the NB GLM with
log link: coefficients and theta).

Counts are cells x genes (``axis=0``, the default: the cells are summed
over) or genes x cells (``axis=1``, glmGamPoi's and DESeq2's layout), as a
NumPy array (any integer or float dtype; float counts must be integers), a
SciPy sparse matrix or array (CSR or CSC; never densified: a gene's zeros
enter in closed form) or a Dask array (lazy: rechunked to whole genes, one
task per block of genes).

Conventions next to glmGamPoi's (R/Bioconductor):

===========================  ======================================  ==========================================
quantity                     nbnumba                                 glmGamPoi
===========================  ======================================  ==========================================
dispersion parameter         ``theta`` (inverse dispersion),         ``overdispersion`` = 1 / theta,
                             Var = mu + mu**2 / theta                Var = mu + overdispersion * mu**2
Poisson                      ``theta = inf``                         ``overdispersion = 0``
counts layout                cells x genes (``axis=0``) or           genes x cells
                             genes x cells (``axis=1``)
size factors                 ``size_factors``: per cell, enter as    ``size_factors``: the same offsets; its
                             the offset log(s_i); default none       default computes "normed_sum" factors
                             (all 1)                                 (here ``size_factors="normed_sum"``)
Cox-Reid adjustment          ``cox_reid=False`` (plain ML)           ``do_cox_reid_adjustment = TRUE`` in
                                                                     glm_gp, scaled by 0.99, with the means
                                                                     held fixed while theta moves
all-zero gene                theta = 0 (the supremum of the          overdispersion 0 (theta = inf)
                             likelihood: the point mass at 0),
                             loglik 0
===========================  ======================================  ==========================================
"""
import math
from dataclasses import dataclass

import numpy as np

from . import _params
from ._cpu import fit as _k

__all__ = ["fit_theta", "fit", "ThetaFit", "GLMFit"]


@dataclass(frozen=True)
class ThetaFit:
    """Result of :func:`fit_theta`, one entry per gene (NumPy arrays, or
    Dask arrays for Dask input).

    Attributes
    ----------
    theta : float64
        The maximum likelihood inverse dispersion: ``inf`` where the
        likelihood is largest in the Poisson limit (no overdispersion),
        ``0`` for genes whose counts are all 0 (the likelihood tends to its
        supremum, 1, as theta -> 0), NaN where the likelihood is 0 for
        every theta (a count > 0 where the mean is 0).
    converged : bool
        Whether the Newton iteration met ``tol`` within ``max_iter``.
    iterations : int64
        Newton iterations (evaluations of the score and its derivative);
        0 for the Poisson and all-zero genes, found without iterating.
    loglik : float64
        The gene's log-likelihood at theta (exact: nbnumba's log-pmf,
        compensated sum).
    """

    theta: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    loglik: np.ndarray


# ------------------------------------------------------------ operands

def _is_sparse(X):
    try:
        import scipy.sparse as sp
    except ImportError:     # pragma: no cover
        return False
    return sp.issparse(X)


def _counts(X, axis):
    """X as cells x genes: ('dense', 2-D array) or ('csc', canonical CSC
    matrix) or ('dask', dask array)."""
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be 0 (cells x genes) or 1 (genes x cells), not {axis}")
    genes_rows = axis in (1, -1)
    if _params.is_dask(X):
        if X.ndim != 2:
            raise ValueError("counts must be a 2-D array")
        return "dask", X.T if genes_rows else X
    if _is_sparse(X):
        if X.ndim != 2:
            raise ValueError("counts must be a 2-D array")
        X = X.T if genes_rows else X
        X = X.tocsc()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        return "csc", X
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError("counts must be a 2-D array")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)
            or X.dtype == np.bool_):
        raise TypeError(f"counts must be numbers, not {X.dtype}")
    if X.dtype == np.bool_ or X.dtype == np.float16:
        X = X.astype(np.float64)
    return "dense", X.T if genes_rows else X


def _kernel_counts(kind, X):
    """(fmt, X2d, indptr, indices, data) for the kernels."""
    if kind == "dense":
        return 0, X, np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0)
    data = X.data if X.data.dtype == np.float64 else X.data.astype(np.float64)
    return 1, np.empty((0, 0)), X.indptr, X.indices, data


def _means(mu, n, g, genes_rows):
    """(s, m, M): mu_ij = s_i m_j, or M (cells x genes, dense) where not None."""
    if isinstance(mu, tuple):
        if len(mu) != 2:
            raise ValueError("mu as a tuple is (size_factors, gene_means)")
        s = np.asarray(mu[0], np.float64).reshape(-1)
        m = np.asarray(mu[1], np.float64).reshape(-1)
        if s.size == 1:
            s = np.full(n, s[0])
        if m.size == 1:
            m = np.full(g, m[0])
        if s.size != n or m.size != g:
            raise ValueError(f"size factors must have one entry per cell ({n}) and gene means "
                             f"one per gene ({g}), not {s.size} and {m.size}")
        return s, m, None
    mu = np.asarray(mu, np.float64)
    if genes_rows and mu.ndim == 2:
        mu = mu.T
    elif genes_rows and mu.ndim == 1 and mu.size == g and g != n:
        raise ValueError("with axis=1 a 1-D mu broadcasts along the cells (last axis); "
                         "pass per-gene means as mu[:, None] or as a (size_factors, means) tuple")
    shape = (n, g)
    try:
        if np.broadcast_shapes(mu.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"mu of shape {mu.shape} does not broadcast to the counts' "
                         f"{'genes x cells' if genes_rows else 'cells x genes'} shape") from None
    if mu.ndim < 2:
        mu = mu.reshape((1,) * (2 - mu.ndim) + mu.shape)
    if mu.shape[0] == 1:
        return np.ones(n), np.broadcast_to(mu[0], (g,)).copy(), None
    if mu.shape[1] == 1:
        return mu[:, 0].copy(), np.ones(g), None
    return np.ones(n), np.ones(g), mu


def _check_options(max_iter, tol):
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError("max_iter must be a positive integer")
    if not (tol > 0.0):
        raise ValueError("tol must be positive")
    return int(max_iter), float(tol)


def _raise_status(status):
    bad = np.flatnonzero(status == _k.BAD_COUNTS)
    if bad.size:
        raise ValueError(f"counts must be non-negative integers (gene {bad[0]} is not)")
    bad = np.flatnonzero(status == _k.BAD_MEAN)
    if bad.size:
        raise ValueError(f"means must be non-negative and finite (gene {bad[0]}'s are not)")


# ------------------------------------------------------------ fit_theta

def _theta_numpy(kind, X, s, m, M, max_iter, tol, parallel):
    """fit_theta's (4, genes) array: theta, converged, iterations, loglik."""
    fmt, X2, indptr, indices, data = _kernel_counts(kind, X)
    g = X.shape[1]
    out = np.empty((4, g))
    status = np.zeros(g, np.int8)
    dense_mu = M is not None
    compact = not dense_mu and s.size > 0 and bool(np.all(s == s[0]))
    Mk = M if dense_mu else np.empty((1, 1))
    kernel = _k.theta_parallel if parallel else _k.theta_serial
    if g:
        kernel(_k.VERSION, fmt, X2, indptr, indices, data, s, m, Mk, dense_mu, compact,
               max_iter, tol, out, status)
    _raise_status(status)
    return out


def _theta_block(X, M, s, m, max_iter, tol, dense_mu):
    """One Dask block: columns of X (all cells) and their means."""
    kind, Xb = _counts(X, 0)
    return _theta_numpy(kind, Xb, s, m, M if dense_mu else None, max_iter, tol, False)


def _theta_result(out):
    return ThetaFit(theta=out[0], converged=out[1] != 0,
                    iterations=out[2].astype(np.int64), loglik=out[3])


def fit_theta(X, mu, *, axis=0, max_iter=100, tol=1e-8):
    """Maximum likelihood theta of NB(mu, theta) per gene, for given means.

    Parameters
    ----------
    X : array_like, sparse matrix/array or Dask array
        Counts, cells x genes (``axis=0``) or genes x cells (``axis=1``).
        Integer or integer-valued float counts; ``ValueError`` otherwise.
    mu : array_like or tuple
        The means: broadcastable to X (per cell x gene, per gene, per cell,
        a scalar), or ``(size_factors, gene_means)`` for ``mu_ij = s_i m_j``
        without forming the product. With ``axis=1``, a 2-D ``mu`` is genes x
        cells like X. Dense means of a Dask X may be NumPy or Dask arrays.
    axis : 0 or 1
        The axis of the cells.
    max_iter : int
        Largest number of Newton iterations per gene.
    tol : float
        Convergence: a Newton step in log(theta) of at most ``tol``, or a
        predicted log-likelihood gain of the next step below
        ``tol**2 * n_cells`` (1e-16 per cell by default).

    Returns
    -------
    ThetaFit
        ``theta``, ``converged``, ``iterations``, ``loglik`` per gene (see
        :class:`ThetaFit` for the edge cases: ``inf`` for Poisson genes,
        ``0`` for all-zero genes).

    Notes
    -----
    Newton's method on ``eta = log(theta)`` with the exact score and its
    derivative, started from the moment estimate ``sum(mu**2) /
    sum((x - mu)**2 - x)``, kept in a bracket of the score's sign change
    (bisection where a step leaves it, steps of at most 4 in eta). The
    Poisson limit is decided exactly first: the derivative of the
    log-likelihood in ``1/theta`` at 0 is ``sum((x - mu)**2 - x) / 2``; where
    it is <= 0 the estimate is ``inf``. The digamma sums run over the
    distinct counts of a gene, the rest over its cells in branch-free
    vectorized loops (over its nonzero cells only where mu is the same in
    every cell); genes run on all threads.

    glmGamPoi's ``overdispersion_mle(Y, mean = M)`` estimates
    ``1 / theta`` for genes x cells Y by ``nlminb`` within ``[1e-16, 1e16]``,
    0 for all-zero rows.
    """
    max_iter, tol = _check_options(max_iter, tol)
    kind, X = _counts(X, axis)
    n, g = X.shape
    genes_rows = axis in (1, -1)
    if kind == "dask":
        return _theta_dask(X, mu, genes_rows, max_iter, tol)
    if isinstance(mu, tuple):
        s, m, M = _means(mu, n, g, genes_rows)
    else:
        if _params.is_dask(mu):
            mu = mu.compute()
        s, m, M = _means(mu, n, g, genes_rows)
    return _theta_result(_theta_numpy(kind, X, s, m, M, max_iter, tol, True))


def _theta_dask(X, mu, genes_rows, max_iter, tol):
    import dask.array as da
    n, g = X.shape
    X = X.rechunk({0: -1})
    chunks = X.chunks[1]
    if isinstance(mu, tuple):
        s, m, _ = _means(tuple(np.asarray(a) for a in mu), n, g, genes_rows)
        M = None
    elif _params.is_dask(mu) and mu.ndim == 2 and mu.shape[0] > 1 and mu.shape[1] > 1:
        M = mu.T if genes_rows else mu
        if M.shape != (n, g):
            raise ValueError("mu does not match the counts' shape")
        s, m = np.ones(n), np.ones(g)
    else:
        s, m, M = _means(np.asarray(mu), n, g, genes_rows)
    dense_mu = M is not None
    md = da.from_array(m, chunks=(chunks,))
    Md = da.asarray(M).rechunk((n, chunks)) if dense_mu else X
    out = da.map_blocks(_theta_block_dask, X, Md, md[None, :], s=s, max_iter=max_iter, tol=tol,
                        dense_mu=dense_mu, chunks=((4,), chunks), dtype=np.float64,
                        meta=np.empty((0, 0)))
    return ThetaFit(theta=out[0], converged=out[1] != 0,
                    iterations=out[2].astype(np.int64), loglik=out[3])


def _theta_block_dask(X, M, m, s, max_iter, tol, dense_mu):
    return _theta_block(X, M, s, m[0], max_iter, tol, dense_mu)

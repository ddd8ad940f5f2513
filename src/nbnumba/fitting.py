"""Maximum likelihood fits of the Negative Binomial per gene:
:func:`fit_theta` (theta for given means) and :func:`fit` (the NB GLM with
log link: coefficients and theta).

Counts are cells x genes (``axis=0``, the default: the cells are summed
over) or genes x cells (``axis=1``, glmGamPoi's and DESeq2's layout), as a
NumPy array (any integer or float dtype; float counts must be integers), a
SciPy sparse matrix or array (CSR or CSC; never densified: a gene's zeros
enter in closed form) or a Dask array (lazy: rechunked to whole genes, one
task per block of genes). Genes run on ``numba.get_num_threads()`` threads.

Next to glmGamPoi's conventions (R/Bioconductor):

* dispersion: here ``theta``, the inverse dispersion, Var = mu + mu**2 /
  theta, ``inf`` for Poisson; glmGamPoi's ``overdispersion`` is 1 / theta
  (Var = mu + overdispersion mu**2), 0 for Poisson.
* layout: here cells x genes by default (``axis=1`` for genes x cells);
  glmGamPoi takes genes x cells.
* size factors: per cell, entering as offsets log(s_i), in both. Here the
  default is none (all 1); glmGamPoi's default computes "normed_sum"
  factors, here ``size_factors="normed_sum"`` (the cells' totals over their
  geometric mean).
* Cox-Reid: here ``cox_reid=False`` (plain maximum likelihood) by default;
  ``cox_reid=True`` maximises the adjusted profile likelihood exactly, as
  edgeR. glmGamPoi's ``do_cox_reid_adjustment`` (TRUE in ``glm_gp``) holds
  the means fixed while theta moves and scales the term by 0.99.
* all-zero genes: here theta = 0, the supremum of the likelihood (the point
  mass at 0), log-likelihood 0, and in ``fit`` fitted means 0
  (coefficients -inf, or NaN with a design); glmGamPoi returns
  overdispersion 0 (theta = inf) and an intercept of -1e8.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import types
from numpy.typing import ArrayLike

from . import _params
from ._cpu import fit as _k
from ._cpu import forks
from ._cpu.tiles import type_key

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
        The gene's log-likelihood at theta, from nbnumba's exact log-pmf
        (for means ``s_i m_j``: per distinct count at ``m_j`` plus a
        correction per cell; ~1e-15 relative either way).
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


_DTYPES = (np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.float64), np.dtype(np.float32))


def _ro(a):
    """a read-only view: read-only and writable inputs share one compiled
    kernel."""
    a = a.view()
    a.flags.writeable = False
    return a


def _dense_operand(A):
    """(A or A.T as a C-contiguous array, transposed?): no copy for C- and
    F-ordered arrays."""
    if A.flags.c_contiguous:
        return A, False
    if A.flags.f_contiguous:
        return A.T, True
    return np.ascontiguousarray(A), False


def _kernel_counts(kind, X):
    """The kernels' counts operand (see nbnumba._cpu.fit._gather): one tuple
    type for every dtype and layout, so that one compiled kernel serves them
    all."""
    dense = [_ro(np.empty((0, 0), d)) for d in _DTYPES]
    if kind == "dense":
        if X.dtype not in _DTYPES:
            integer = X.dtype == np.bool_ or (np.issubdtype(X.dtype, np.integer)
                                              and X.dtype != np.uint64)
            X = X.astype(np.int64 if integer else np.float64)
        A, tr = _dense_operand(X)
        fmt = _DTYPES.index(A.dtype)
        dense[fmt] = _ro(A)
        return (fmt, tr, *dense, _ro(np.zeros(1, np.int64)), _ro(np.empty(0, np.int32)),
                _ro(np.empty(0)))
    indptr = X.indptr.astype(np.int64)
    indices = X.indices if X.indices.dtype == np.int32 else X.indices.astype(np.int32)
    data = X.data if X.data.dtype == np.float64 else X.data.astype(np.float64)
    return (4, False, *dense, _ro(indptr), _ro(indices), _ro(data))


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
    shape = (g, n) if genes_rows else (n, g)        # the counts' own layout
    try:
        if mu.ndim > 2 or np.broadcast_shapes(mu.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"mu of shape {mu.shape} does not broadcast to the counts' "
                         f"shape {shape}") from None
    mu = mu.reshape((1,) * (2 - mu.ndim) + mu.shape)
    if genes_rows:
        mu = mu.T
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


_ENTRIES = {}
_POOLS = {}
# a forked child has the executors but not their threads: submitting hangs
os.register_at_fork(after_in_child=_POOLS.clear)


def _entry(kernel, args):
    """The compiled entry point of kernel for args (version first): Numba's
    dispatcher retypes a call with a literal argument each time (~ms), once
    per block of genes here."""
    key = (id(kernel),) + tuple(type_key(a) for a in args[1:])
    f = _ENTRIES.get(key)
    if f is None:
        typed = (types.literal(args[0]),) + tuple(numba.typeof(a) for a in args[1:])
        f = kernel.overloads.get(typed)
        if f is None:
            return None
        f = _ENTRIES[key] = f.entry_point
    return f


def _run(kernel, before, after, g, parallel):
    """kernel(VERSION, *before, j0, j1, *after) over genes 0:g: blocks of
    genes on a pool of numba.get_num_threads() threads (the kernels release
    the GIL), or all on the calling thread."""
    args = (_k.VERSION, *before, 0, 0, *after)
    f = _entry(kernel, args)
    if f is None:
        kernel(*args)                           # compiles, or loads from the cache
        f = _entry(kernel, args) or kernel
    nb = len(before) + 1
    threads = numba.get_num_threads() if parallel and forks.parallel_ok() else 1
    # several blocks per thread: a busy core's share goes to the others
    chunk = max(_k.GATHER, -(-g // (8 * threads) // _k.GATHER) * _k.GATHER)
    if threads <= 1 or g <= chunk:
        f(*args[:nb], 0, g, *after)
        return
    pool = _POOLS.get(threads)
    if pool is None:
        pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="nbnumba-fit")
    jobs = [pool.submit(f, *args[:nb], j0, min(j0 + chunk, g), *after)
            for j0 in range(0, g, chunk)]
    for job in jobs:
        job.result()


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
    src = _kernel_counts(kind, X)
    g = X.shape[1]
    out = np.empty((4, g))
    status = np.zeros(g, np.int8)
    dense_mu = M is not None
    compact = not dense_mu and s.size > 0 and bool(np.all(s == s[0]))
    Mk, trM = _dense_operand(np.asarray(M, np.float64)) if dense_mu else (np.empty((1, 1)), False)
    if g:
        lgs = np.log(s) if not dense_mu else s
        _run(_k.theta_kernel, (src, _ro(s), _ro(lgs), _ro(m), _ro(Mk), trM, dense_mu, compact),
             (max_iter, tol, out, status), g, parallel)
    _raise_status(status)
    return out


def _theta_block(X, M, s, m, max_iter, tol, dense_mu):
    """One Dask block: columns of X (all cells) and their means."""
    kind, Xb = _counts(X, 0)
    return _theta_numpy(kind, Xb, s, m, M if dense_mu else None, max_iter, tol, False)


def _theta_result(out):
    return ThetaFit(theta=out[0], converged=out[1] != 0,
                    iterations=out[2].astype(np.int64), loglik=out[3])


def fit_theta(X: Any, mu: Any, *, axis: int = 0, max_iter: int = 100,
              tol: float = 1e-8) -> "ThetaFit":
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
        Convergence, after the step that meets it: a step in log(theta) of
        at most ``tol``; or a Newton step whose predicted log-likelihood
        gain is below ``tol**2 * n_cells``; or two Newton steps converging
        quadratically whose rate puts the next step below ``tol``.

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


# ------------------------------------------------------------ fit

@dataclass(frozen=True)
class GLMFit:
    """Result of :func:`fit`, one row per gene (NumPy arrays, or Dask arrays
    for Dask input).

    Attributes
    ----------
    coefficients : float64, genes x p
        The coefficients of the log link, ``log mu_ij = log s_i + x_i .
        beta_j`` (glmGamPoi's ``Beta``, there p x genes). All-zero genes:
        ``-inf`` (intercept-only) or NaN (a design); their fitted means are 0
        (glmGamPoi: an intercept of -1e8).
    theta : float64
        The inverse dispersion (glmGamPoi's ``1 / overdispersions``): ``inf``
        for Poisson genes, ``0`` for all-zero genes (any theta fits their
        zero means equally).
    converged : bool
    iterations : int64
        Newton iterations of the Poisson fit and of the NB fit together (the
        intercept-only Poisson fit is closed form: none).
    loglik : float64
        The log-likelihood at the estimate (exact; without the Cox-Reid term
        even where ``cox_reid=True``).
    size_factors : ndarray
        The size factors used (per cell).
    design : ndarray or None
        The model matrix used (cells x p), None for intercept-only.
    axis : int
        The axis of the cells in the counts.
    """

    coefficients: np.ndarray
    theta: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    loglik: np.ndarray
    size_factors: np.ndarray
    design: object
    axis: int = 0

    def fitted_means(self):
        """The fitted means ``s_i exp(x_i . beta_j)`` (0 for all-zero genes),
        dense, in the counts' layout (cells x genes for ``axis=0``):
        computed on demand, never stored in the result (NumPy, or Dask for
        Dask results)."""
        beta = self.coefficients
        s = self.size_factors
        if self.design is None:
            mu = s[:, None] * np.exp(beta[:, 0])[None, :]
        else:
            mu = s[:, None] * np.exp(self.design @ beta.T)
        zero = self.theta == 0                      # all-zero genes: mean 0
        if _params.is_dask(mu):
            import dask.array as da
            mu = da.where(zero[None, :], 0.0, mu)
        elif zero.any():
            mu[:, zero] = 0.0
        return mu.T if self.axis in (1, -1) else mu


def _size_factors(size_factors, X, n):
    if size_factors is None:
        return np.ones(n)
    if isinstance(size_factors, str):
        if size_factors != "normed_sum":
            raise ValueError('size_factors must be None, "normed_sum" or an array')
        # glmGamPoi's "normed_sum": the cells' totals over their geometric mean
        tot = np.asarray(X.sum(axis=1)).reshape(-1).astype(np.float64)   # Dask: computed
        if not np.all(tot > 0):
            raise ValueError("normed_sum size factors need cells with a positive total")
        return tot / np.exp(np.mean(np.log(tot)))
    s = np.asarray(size_factors, np.float64).reshape(-1)
    if s.size == 1:
        s = np.full(n, s[0])
    if s.size != n:
        raise ValueError(f"size_factors must have one entry per cell ({n}), not {s.size}")
    if not np.all((s > 0) & np.isfinite(s)):
        raise ValueError("size_factors must be positive and finite")
    return s


def _design(design, n):
    """(Xt (p x n, C-contiguous), P (p x n): the least squares solver, icpt)."""
    if design is None:
        return np.ones((1, n)), np.empty((1, n)), True
    try:
        D = np.asarray(design, np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"design must be a numeric matrix, cells x p: {e}") from None
    if D.ndim == 1:
        D = D[:, None]
    if D.ndim != 2 or D.shape[0] != n:
        raise ValueError(f"design must be cells x p with {n} rows, not of shape {D.shape}")
    if D.shape[1] == 0:
        # the kernels read coefficient 0: a model without one has no fit
        raise ValueError("design must have at least one column (design=None is the "
                         "intercept-only model)")
    if not np.all(np.isfinite(D)):
        raise ValueError("design must be finite")
    if np.linalg.matrix_rank(D) < D.shape[1]:
        raise ValueError("design must have full column rank")
    return np.ascontiguousarray(D.T), np.ascontiguousarray(np.linalg.pinv(D)), False


def _glm_numpy(kind, X, s, Xt, P, icpt, cr, max_iter, tol, parallel):
    """fit's (p + 4, genes) array: coefficients, theta, converged,
    iterations, loglik."""
    src = _kernel_counts(kind, X)
    g = X.shape[1]
    p = Xt.shape[0]
    out = np.empty((p + 4, g))
    status = np.zeros(g, np.int8)
    if g:
        _run(_k.glm_kernel, (src, _ro(s), _ro(np.log(s)), _ro(Xt), _ro(P), icpt, cr),
             (max_iter, tol, out, status), g, parallel)
    _raise_status(status)
    return out


def _glm_block(X, s, Xt, P, icpt, cr, max_iter, tol):
    kind, Xb = _counts(X, 0)
    return _glm_numpy(kind, Xb, s, Xt, P, icpt, cr, max_iter, tol, False)


def fit(X: Any, size_factors: ArrayLike | None = None, design: ArrayLike | None = None, *,
        axis: int = 0, cox_reid: bool = False, max_iter: int = 100, tol: float = 1e-8) -> "GLMFit":
    """The Negative Binomial GLM with log link, per gene: maximum likelihood
    coefficients and theta.

    ``X_ij ~ NB(mu_ij, theta_j)``, ``log mu_ij = log s_i + x_i . beta_j``.

    Parameters
    ----------
    X : array_like, sparse matrix/array or Dask array
        Counts, cells x genes (``axis=0``) or genes x cells (``axis=1``).
    size_factors : None, array_like or "normed_sum"
        Per cell, entering as offsets ``log s_i``. None: all 1 (glmGamPoi's
        default is "normed_sum", which computes them: pass
        ``size_factors="normed_sum"`` for its convention, the cells' totals
        over their geometric mean).
    design : None or array_like
        The model matrix, cells x p (glmGamPoi's ``design`` as a matrix;
        a formula there, ``model.matrix`` of it here). None: intercept only
        (glmGamPoi's ``design = ~1``).
    axis : 0 or 1
        The axis of the cells in X.
    cox_reid : bool
        Estimate theta by the Cox-Reid adjusted profile likelihood
        ``l(beta_hat(theta), theta) - log det(X' W X) / 2``,
        ``W = diag(mu theta / (theta + mu))``, as edgeR and DESeq2 (exact:
        beta_hat follows theta, in the term too). glmGamPoi's
        ``do_cox_reid_adjustment = TRUE`` (the default of ``glm_gp``) holds
        the means fixed while it moves theta and scales the term by 0.99, so
        its estimates differ slightly.
    max_iter, tol : int, float
        Largest number of Newton iterations per gene (Poisson and NB fits
        together); convergence as in :func:`fit_theta`, with the largest
        component of the step (the coefficients, log(theta)).

    Returns
    -------
    GLMFit
        ``coefficients`` (genes x p), ``theta``, ``converged``,
        ``iterations``, ``loglik``, and ``fitted_means()`` to form the means
        (cells x genes, dense) on demand.

    Notes
    -----
    First the Poisson GLM (closed form for intercept-only: ``log(sum x /
    sum s)``; else Newton from the least squares fit of ``log(x + 0.5) -
    log s``). Where the derivative of the (adjusted) profile likelihood in
    ``1/theta`` at 0 is <= 0 the gene is Poisson: ``theta = inf`` with the
    Poisson coefficients. Otherwise joint Newton steps on (beta,
    log(theta)) with the exact Hessian, from the Poisson coefficients and
    the moment estimate of theta: the step in log(theta) is that of the
    profile likelihood (Schur complement), kept in a bracket of its score's
    sign change (bisection where a step leaves it), at most 4 in
    log(theta) and 8 in any coefficient. The Cox-Reid term enters the
    theta score exactly and its Hessian with the means held fixed.

    glmGamPoi's ``glm_gp`` alternates: coefficients by Fisher scoring for a
    rough overdispersion, then ``overdispersion_mle`` with the means held
    fixed, then the coefficients again; it shrinks the overdispersions
    towards a trend unless ``overdispersion_shrinkage = FALSE``.
    """
    max_iter, tol = _check_options(max_iter, tol)
    kind, X = _counts(X, axis)
    n, g = X.shape
    s = _size_factors(size_factors, X, n)
    Xt, P, icpt = _design(design, n)
    p = Xt.shape[0]
    design_out = None if icpt else np.ascontiguousarray(Xt.T)
    cr = bool(cox_reid)
    if kind == "dask":
        import dask.array as da
        X = X.rechunk({0: -1})
        chunks = X.chunks[1]
        out = da.map_blocks(_glm_block, X, s=s, Xt=Xt, P=P, icpt=icpt, cr=cr,
                            max_iter=max_iter, tol=tol, chunks=((p + 4,), chunks),
                            dtype=np.float64, meta=np.empty((0, 0)))
    else:
        out = _glm_numpy(kind, X, s, Xt, P, icpt, cr, max_iter, tol, True)
    return GLMFit(coefficients=out[:p].T, theta=out[p], converged=out[p + 1] != 0,
                  iterations=out[p + 2].astype(np.int64), loglik=out[p + 3],
                  size_factors=s, design=design_out, axis=axis)

"""Single-cell analysis on the NB GLM: differential expression
(:func:`test_de`), pseudobulk counts (:func:`pseudobulk`) and residuals
(:func:`residuals`).

Built on :func:`nbnumba.fit` and the elementwise functions: the models are
fitted there; this module forms designs, size factors, the tests and the
residuals from the fits.

Layout: counts are cells x genes (``axis=0``, the default, as AnnData) or
genes x cells (``axis=1``, DESeq2's and glmGamPoi's), dense NumPy, SciPy
sparse (CSR/CSC) or Dask.
"""
from dataclasses import dataclass
from typing import Any, Literal, Optional, Tuple, Union

import numba
import numpy as np

from . import _params, fitting
from ._cpu import forks
from ._math.compile import compiled

__all__ = ["test_de", "DEResult", "bh_adjust", "pseudobulk", "residuals"]

ArrayLike = Any


# ------------------------------------------------------------ operands

def _is_sparse(X):
    import scipy.sparse as sp
    return sp.issparse(X)


def _cells_genes(X, axis):
    """('dense' | 'sparse' | 'dask', X as cells x genes)."""
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be 0 (cells x genes) or 1 (genes x cells), not {axis}")
    genes_rows = axis in (1, -1)
    if _params.is_dask(X):
        kind = "dask"
    elif _is_sparse(X):
        kind = "sparse"
    else:
        X = np.asarray(X)
        kind = "dense"
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_) \
                or np.iscomplexobj(X):
            raise TypeError(f"counts must be real numbers, not {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"counts must be a 2-D array, not {X.ndim}-D")
    return kind, (X.T if genes_rows else X)


def _matrix(a, n, name):
    D = np.asarray(a, np.float64)
    if D.ndim == 1:
        D = D[:, None]
    if D.ndim != 2 or D.shape[0] != n:
        raise ValueError(f"{name} must be cells x p with {n} rows, not of shape {D.shape}")
    if not np.all(np.isfinite(D)):
        raise ValueError(f"{name} must be finite")
    return D


# ------------------------------------------------------------ size factors

def _poscounts(X, kind):
    """DESeq2's ``estimateSizeFactors(type = "poscounts")``: per gene the
    log geometric mean of its positive counts over all cells (sum of their
    logs / n_cells), per cell the median over its positive counts of log
    count minus that, exponentiated and scaled to geometric mean 1."""
    import scipy.sparse as sp
    if kind == "dask":
        X = X.compute()             # the per-cell median needs every gene of a cell
    A = sp.csr_matrix(X, dtype=np.float64)
    n, g = A.shape
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    pos = A.data > 0
    data, cols, rows = A.data[pos], A.indices[pos], rows[pos]
    logs = np.log(data)
    if cols.size == 0:
        raise ValueError('"poscounts" size factors need a positive count')
    lgm = np.bincount(cols, weights=logs, minlength=g) / n
    vals = logs - lgm[cols]
    order = np.lexsort((vals, rows))
    vals = vals[order]
    counts = np.bincount(rows, minlength=n)
    if not np.all(counts > 0):
        raise ValueError('"poscounts" size factors need every cell to have a positive count '
                         f"(cell {np.flatnonzero(counts == 0)[0]} has none)")
    start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    med = 0.5 * (vals[start + (counts - 1) // 2] + vals[start + counts // 2])
    return np.exp(med - np.mean(med))


def _size_factors(size_factors, X, kind):
    """DESeq2's "poscounts" here; None, "normed_sum" and arrays as fit's."""
    if isinstance(size_factors, str) and size_factors == "poscounts":
        return _poscounts(X, kind)
    if isinstance(size_factors, str) and size_factors != "normed_sum":
        raise ValueError('size_factors must be None, an array, "normed_sum" or "poscounts", '
                         f"not {size_factors!r}")
    return fitting._size_factors(size_factors, X, X.shape[0])


# ------------------------------------------------------------ test_de

@dataclass(frozen=True)
class DEResult:
    """Result of :func:`test_de`, one entry per gene (NumPy arrays).

    Attributes
    ----------
    statistic : float64
        LRT: the likelihood ratio statistic ``2 (l_full - l_reduced)``,
        chi-squared with ``df`` degrees of freedom under the null. Wald: the
        z statistic ``c'beta / se`` (signed, as DESeq2's ``stat``).
    pvalue : float64
    adj_pvalue : float64
        Benjamini-Hochberg adjusted p-values over the genes with a p-value
        (NaN genes neither count nor get one, as R's ``p.adjust``).
    lfc : float64
        log2 fold change: ``c'beta / log(2)`` of the full model, with ``c``
        the contrast (by default the last coefficient).
    theta : float64
        The full model's inverse dispersion (``inf``: Poisson; ``0``:
        all-zero gene).
    converged : bool
        Whether every fit of the gene converged.
    reason : object (str)
        ``""`` where the gene has a p-value, else why it is NaN.
    coefficients : float64, genes x p
        The full model's coefficients (natural log scale).
    theta_reduced : float64
        The reduced model's inverse dispersion (LRT; NaN for Wald).
    df : int
        Degrees of freedom of the test (1 for Wald).
    method : str
    size_factors : float64
        The size factors used, per cell.
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    adj_pvalue: np.ndarray
    lfc: np.ndarray
    theta: np.ndarray
    converged: np.ndarray
    reason: np.ndarray
    coefficients: np.ndarray
    theta_reduced: np.ndarray
    df: int
    method: str
    size_factors: np.ndarray

    def table(self) -> dict:
        """The per-gene columns as a dict of 1-D arrays (e.g. for
        ``pandas.DataFrame(result.table())``)."""
        return {name: getattr(self, name) for name in
                ("lfc", "statistic", "pvalue", "adj_pvalue", "theta", "converged", "reason")}


def bh_adjust(p: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN entries are left out (the
    number of tests is that of the non-NaN p-values) and stay NaN."""
    p = np.asarray(p, np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q)[::-1]                 # largest first
        adj = np.minimum.accumulate(q[order] * m / np.arange(m, 0, -1))
        res = np.empty(m)
        res[order] = np.minimum(adj, 1.0)
        out[ok] = res
    return out


def _reduced(D, reduced_design, c):
    """The reduced model matrix: the one given, or the design restricted to
    c'beta = 0."""
    if reduced_design is not None:
        return _matrix(reduced_design, D.shape[0], "reduced_design")
    from scipy.linalg import null_space
    return D @ null_space(c[None, :])


def _fisher_variance(D, s, beta, theta, c):
    """(c' I^-1 c, usable) per gene, I = D' W D with W = mu / (1 + mu /
    theta): the Fisher information of beta at the fitted means (beta and
    theta are orthogonal in the NB GLM); unusable where I is not finite or
    its condition number is 1e10 or more (a coefficient at infinity)."""
    n, p = D.shape
    g = beta.shape[0]
    DD = (D[:, :, None] * D[:, None, :]).reshape(n, p * p)
    info = np.empty((g, p, p))
    block = max(1, (1 << 21) // n)
    for j0 in range(0, g, block):
        j1 = min(j0 + block, g)
        with np.errstate(over="ignore", invalid="ignore"):
            mu = s[:, None] * np.exp(D @ beta[j0:j1].T)
            w = mu / (1.0 + mu / theta[None, j0:j1])
        info[j0:j1] = (DD.T @ w).T.reshape(-1, p, p)
    var = np.full(g, np.nan)
    ok = np.all(np.isfinite(info), axis=(1, 2))
    cond = np.full(g, np.inf)
    if ok.any():
        cond[ok] = np.linalg.cond(info[ok])
    ok &= cond < 1e10
    if ok.any():
        v = np.linalg.solve(info[ok], np.broadcast_to(c, (int(ok.sum()), p))[..., None])[..., 0]
        var[ok] = v @ c
    return var, ok


def _compute(*arrays):
    if any(_params.is_dask(a) for a in arrays):
        import dask
        return dask.compute(*arrays)
    return arrays


def test_de(X: ArrayLike, design: ArrayLike, *, reduced_design: Optional[ArrayLike] = None,
            contrast: Optional[ArrayLike] = None,
            size_factors: Union[None, ArrayLike, str] = None, axis: int = 0,
            method: Literal["lrt", "wald"] = "lrt", cox_reid: bool = False,
            max_iter: int = 100, tol: float = 1e-8) -> DEResult:
    """Differential expression per gene on the NB GLM: likelihood ratio or
    Wald test.

    ``X_ij ~ NB(mu_ij, theta_j)``, ``log mu_ij = log s_i + d_i . beta_j``,
    fitted by :func:`nbnumba.fit` (maximum likelihood of beta and theta).

    Parameters
    ----------
    X : array_like, sparse matrix/array or Dask array
        Counts, cells x genes (``axis=0``) or genes x cells (``axis=1``);
        non-negative integers. Dask: the fits run lazily per block of genes
        on the Dask scheduler, and their per-gene results (a few numbers per
        gene) are computed into memory.
    design : array_like
        The model matrix, cells x p (e.g. ``[1, condition]``), full column
        rank.
    reduced_design : array_like, optional
        LRT: the null model's matrix, cells x q, its columns in the span of
        ``design``'s. Default: ``design`` restricted to ``contrast' beta =
        0`` (without a contrast: ``design`` less its last column).
    contrast : array_like, optional
        A vector of p weights ``c``: the tested (Wald) and reported
        (``lfc``) combination ``c'beta``. Default: the last coefficient.
    size_factors : None, array_like, "normed_sum" or "poscounts"
        Per cell, entering as offsets ``log s_i``. None: all 1.
        ``"normed_sum"``: the cells' totals over their geometric mean
        (glmGamPoi's default). ``"poscounts"``: DESeq2's
        ``estimateSizeFactors(type = "poscounts")`` (for Dask input the
        counts are computed into memory once for it).
    axis : 0 or 1
        The axis of the cells in X.
    method : "lrt" or "wald"
        ``"lrt"``: the likelihood ratio test of the reduced model against
        the full one, theta re-estimated in each, chi-squared with ``p -
        q`` degrees of freedom. ``"wald"``: ``z = c'beta / se``, ``se**2 =
        c' (D' W D)^-1 c`` with ``W = mu / (1 + mu / theta)`` at the full
        fit, two-sided normal p-value.
    cox_reid : bool
        Wald test only: estimate theta by the Cox-Reid adjusted profile
        likelihood (see :func:`nbnumba.fit`), less biased with few samples
        (pseudobulk). The LRT compares maximized likelihoods, which the
        adjusted estimates are not (its statistic could be negative), and
        raises ValueError with it.
    max_iter, tol : int, float
        Passed to :func:`nbnumba.fit`.

    Returns
    -------
    DEResult
        ``statistic``, ``pvalue``, ``adj_pvalue`` (Benjamini-Hochberg),
        ``lfc`` (log2), ``theta``, ``converged`` and ``reason`` per gene.

    Notes
    -----
    A gene gets NaN statistic and p-values, and a ``reason``, where: all
    its counts are 0; a fit did not converge; the design (or the reduced
    design) is rank-deficient (every gene); the likelihood ratio is
    negative beyond rounding; or (Wald) the Fisher information is singular,
    as when a group's counts are all 0 and its coefficient runs to -inf
    (the LRT remains valid there, and its lfc is large and finite).

    DESeq2's LRT holds the (shrunken) dispersion of the full model in both
    fits; here theta is the maximum likelihood estimate of each model.
    glmGamPoi's ``test_de`` is a quasi-likelihood F test on shrunken
    overdispersions: its p-values differ, most for few samples.
    """
    from scipy import stats
    if method not in ("lrt", "wald"):
        raise ValueError(f'method must be "lrt" or "wald", not {method!r}')
    kind, Xc = _cells_genes(X, axis)
    n, g = Xc.shape
    D = _matrix(design, n, "design")
    p = D.shape[1]
    if contrast is None:
        c = np.zeros(p)
        c[-1] = 1.0
    else:
        c = np.asarray(contrast, np.float64).reshape(-1)
        if c.size != p or not np.all(np.isfinite(c)) or not np.any(c):
            raise ValueError(f"contrast must be {p} finite weights, not all 0")
    s = _size_factors(size_factors, Xc, kind)
    nan = np.full(g, np.nan)
    reason = np.full(g, "", dtype=object)

    def empty(why, df):
        reason[:] = why
        return DEResult(statistic=nan, pvalue=nan.copy(), adj_pvalue=nan.copy(), lfc=nan.copy(),
                        theta=nan.copy(), converged=np.zeros(g, bool), reason=reason,
                        coefficients=np.full((g, p), np.nan), theta_reduced=nan.copy(), df=df,
                        method=method, size_factors=s)

    rank = np.linalg.matrix_rank(D)
    if rank < p:
        return empty(f"design is rank-deficient (rank {rank} < {p} columns)", 0)
    opts: dict[str, Any] = dict(axis=0, cox_reid=cox_reid, max_iter=max_iter, tol=tol)
    if method == "lrt":
        if cox_reid:
            raise ValueError('cox_reid=True needs method="wald": the LRT compares maximized '
                             "likelihoods")
        if p < 2 and reduced_design is None:
            raise ValueError("the LRT needs a design of 2 or more columns, or a reduced_design")
        R = _reduced(D, reduced_design, c)
        q = np.linalg.matrix_rank(R) if R.shape[1] else 0
        if q < R.shape[1]:
            return empty(f"reduced design is rank-deficient (rank {q} < {R.shape[1]} columns)",
                         0)
        if R.shape[1]:
            fit_r, *_ = np.linalg.lstsq(D, R, rcond=None)
            if not np.allclose(D @ fit_r, R, rtol=1e-8, atol=1e-8 * np.abs(R).max()):
                raise ValueError("reduced_design must be nested in design (its columns in the "
                                 "span of design's)")
        df = p - q
        if df < 1:
            raise ValueError("reduced_design must have fewer columns than design")
        if q == 0:
            raise ValueError("reduced_design must have a column (an intercept at least)")
        const = q == 1 and np.ptp(R[:, 0]) == 0 and R[0, 0] != 0
        full = fitting.fit(Xc, s, D, **opts)
        red = fitting.fit(Xc, s, None if const else R, **opts)
        beta, th, conv, ll, th_r, conv_r, ll_r = _compute(
            full.coefficients, full.theta, full.converged, full.loglik, red.theta,
            red.converged, red.loglik)
        stat = 2.0 * (ll - ll_r)
        neg = stat < -1e-8 * np.maximum(1.0, np.abs(ll))     # beyond rounding
        stat = np.maximum(stat, 0.0)
        stat[neg] = np.nan
        pval = stats.chi2.sf(stat, df)
        converged = conv & conv_r
        reason[neg] = "the likelihood ratio is negative (the full fit is below the reduced one)"
        reason[~conv_r] = "the reduced model did not converge"
        reason[~conv] = "the full model did not converge"
        reason[~conv & ~conv_r] = "neither model converged"
    else:
        full = fitting.fit(Xc, s, D, **opts)
        beta, th, conv = _compute(full.coefficients, full.theta, full.converged)
        th_r = nan.copy()
        df = 1
        var, ok = _fisher_variance(D, s, beta, th, c)
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = (beta @ c) / np.sqrt(var)
        pval = 2.0 * stats.norm.sf(np.abs(stat))
        converged = conv
        reason[~ok] = ("the Fisher information is singular (a coefficient at infinity, e.g. a "
                       "group whose counts are all 0): use the LRT")
        reason[~conv] = "the model did not converge"
    zero = th == 0
    reason[zero] = "all counts are 0"
    bad = reason != ""
    stat = np.where(bad, np.nan, stat)
    pval = np.where(bad, np.nan, pval)
    with np.errstate(invalid="ignore"):
        lfc = np.where(zero | ~converged, np.nan, beta @ c / np.log(2.0))
    return DEResult(statistic=stat, pvalue=pval, adj_pvalue=bh_adjust(pval), lfc=lfc,
                    theta=th, converged=converged, reason=reason, coefficients=beta,
                    theta_reduced=th_r, df=df, method=method, size_factors=s)


# ------------------------------------------------------------ pseudobulk

def _group_codes(groups, n):
    """(code per cell, table: {name: labels per group})."""
    if hasattr(groups, "items") and callable(groups.items):
        columns = list(groups.items())
    elif isinstance(groups, (tuple, list)) and groups and np.ndim(groups[0]) == 1:
        columns = [(f"group{i}", a) for i, a in enumerate(groups)]
    else:
        columns = [("group", groups)]
    if not columns:
        raise ValueError("groups must have at least one column of labels")
    codes, uniques = [], []
    for name, a in columns:
        a = np.asarray(a)
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"groups[{name!r}] must hold one label per cell ({n}), not of "
                             f"shape {a.shape}")
        u, inv = np.unique(a, return_inverse=True)
        codes.append(inv.reshape(-1))
        uniques.append(u)
    flat = np.ravel_multi_index(codes, [u.size for u in uniques]) if len(codes) > 1 else codes[0]
    present, code = np.unique(flat, return_inverse=True)
    parts = np.unravel_index(present, [u.size for u in uniques])
    table = {name: u[part] for (name, _), u, part in zip(columns, uniques, parts)}
    return code.reshape(-1), table


def _indicator_product(G, block):
    out = G @ block
    return np.asarray(out.toarray() if _is_sparse(out) else out)


def pseudobulk(X: ArrayLike, groups: Any, *, axis: int = 0) -> Tuple[Any, dict]:
    """Counts summed per group of cells (e.g. per sample x cell type).

    Parameters
    ----------
    X : array_like, sparse matrix/array or Dask array
        Counts, cells x genes (``axis=0``) or genes x cells (``axis=1``).
        Sparse input is never densified: the sums are the product of a
        sparse groups x cells indicator matrix with X.
    groups : array_like, sequence of array_like, or mapping
        One label per cell; or several label arrays (a list/tuple, or a
        mapping such as a dict or a pandas DataFrame of columns): each
        combination of labels that occurs is a group.
    axis : 0 or 1
        The axis of the cells in X.

    Returns
    -------
    counts : ndarray or Dask array
        groups x genes (``axis=0``) or genes x groups (``axis=1``), dense
        (a groups x genes sum is small), integer for integer counts.
    table : dict
        One array per label column (keys: the mapping's keys, else
        ``"group"`` for one array, ``"group0"``, ``"group1"``, ... for
        several), the groups' labels in the order of ``counts``' rows, and
        ``"n_cells"``, the number of cells in each group. Groups are sorted
        by their labels.
    """
    import scipy.sparse as sp
    kind, Xc = _cells_genes(X, axis)
    n, g = Xc.shape
    code, table = _group_codes(groups, n)
    ng = int(code.max()) + 1 if n else 0
    table["n_cells"] = np.bincount(code, minlength=ng)
    integer = np.issubdtype(Xc.dtype, np.integer) or Xc.dtype == np.bool_
    dtype = np.int64 if integer else np.float64
    G = sp.csr_matrix((np.ones(n, dtype), (code, np.arange(n))), shape=(ng, n))
    if kind == "dask":
        import dask
        import dask.array as da
        blocks = Xc.to_delayed()
        bounds = np.cumsum((0,) + Xc.chunks[0])
        cols = []
        for j, width in enumerate(Xc.chunks[1]):
            parts = [dask.delayed(_indicator_product)(G[:, bounds[i]:bounds[i + 1]],
                                                      blocks[i, j])
                     for i in range(len(Xc.chunks[0]))]
            cols.append(da.from_delayed(dask.delayed(sum)(parts), shape=(ng, width),
                                        dtype=dtype))
        counts = da.concatenate(cols, axis=1).astype(dtype)
    else:
        counts = _indicator_product(G, Xc).astype(dtype, copy=False)
    return (counts.T if axis in (1, -1) else counts), table


# ------------------------------------------------------------ residuals

@compiled(no_cpython_wrapper=True)
def _log_ratio(a, b):
    """log(a / b) for positive a, b, also where a / b overflows."""
    r = a / b
    return np.log(r) if 0.0 < r < np.inf else np.log(a) - np.log(b)


@compiled(no_cpython_wrapper=True)
def _half_deviance(x, mu, th):
    """x log(x/mu) - (x + th) log((x + th)/(mu + th)), the NB unit deviance
    over 2 (th = inf: Poisson's x log(x/mu) - (x - mu)), without
    cancellation: for |x - mu| < mu/4 its series in a = (x - mu)/mu, whose
    terms share a sign or alternate decreasing (at most ~25 terms); else
    x log1p(e) - th log1p(b), e = th (x - mu)/(mu (x + th)),
    b = (x - mu)/(mu + th), each log1p from its ratio where |e|, |b| >= 1/2
    (no 1 + e formed by rounding)."""
    if not (x >= 0.0 and mu >= 0.0 and th >= 0.0):
        return np.nan
    if mu == 0.0:
        return 0.0 if x == 0.0 else np.inf
    if x == np.inf or mu == np.inf:
        return np.inf if x != mu else np.nan
    if th == 0.0:
        return 0.0                              # the point-mass limit: every deviance -> 0
    if x == 0.0:
        if th == np.inf:
            return mu
        r = mu / th
        return th * np.log1p(r) if r < np.inf else th * (np.log(mu) - np.log(th))
    d = x - mu
    a = d / mu
    if abs(a) < 0.25:
        # sum_{k>=2} mu (-a)^k / (k (k - 1)) c_k, c_k = 1 - q^(k-1), q = mu / (mu + th):
        # c_2 = 1 - q, c_(k+1) = (1 - q) + q c_k (positive terms only)
        if th == np.inf:
            omq, q = 1.0, 0.0
        else:
            omq, q = th / (mu + th), mu / (mu + th)
        t = a * a
        ck = omq
        total = 0.0
        for k in range(2, 200):
            term = t / (k * (k - 1)) * ck
            total += term
            if abs(term) <= 1e-17 * abs(total):
                break
            t *= -a
            ck = omq + q * ck
        return mu * total
    if th == np.inf:
        return x * _log_ratio(x, mu) - d
    b = d / (mu + th)
    lb = np.log1p(b) if abs(b) < 0.5 else _log_ratio(x + th, mu + th)
    e = th / (x + th) * a
    if abs(e) < 0.5:
        le = np.log1p(e)
    else:
        rq = (x / mu) * ((mu + th) / (x + th))
        le = np.log(rq) if 0.0 < rq < np.inf else _log_ratio(x, mu) + _log_ratio(mu + th, x + th)
    # >= 0 exactly; the last bits of a subnormal theta's term can fall below
    return max(x * le - th * lb, 0.0)


@numba.njit(inline="always")
def _deviance_row(x, mu, th, out, i):
    for j in range(out.shape[1]):
        xi, mi = x[i, j], mu[i, j]
        sign = 1.0 if xi > mi else (-1.0 if xi < mi else 0.0)
        out[i, j] = sign * np.sqrt(2.0 * _half_deviance(xi, mi, th[i, j]))


@compiled(parallel=True)
def _deviance_kernel(x, mu, th, out, serial):
    """The NB deviance residuals sign(x - mu) sqrt(2 half_deviance), row by
    row on all threads, or on the calling thread where serial (a process
    that may not start threads, see _cpu.forks)."""
    if serial:
        for i in range(out.shape[0]):
            _deviance_row(x, mu, th, out, i)
        return
    for i in numba.prange(out.shape[0]):
        _deviance_row(x, mu, th, out, i)


def _nb_deviance(x, mu, th):
    x, mu, th = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (x, mu, th)))
    out = np.empty(x.shape)
    if out.size:
        _deviance_kernel(*(a.reshape(1, -1) if a.ndim < 2 else a.reshape(-1, a.shape[-1])
                           for a in (x, mu, th, out)), not forks.parallel_ok())
    return out


def _expit(z):
    from scipy.special import expit
    return expit(z)


def _pearson(x, mu, th, zl):
    with np.errstate(divide="ignore", invalid="ignore"):
        if zl is None:
            mean = mu
            var = mu + mu * (mu / th)
        else:
            keep, pi = _expit(-zl), _expit(zl)          # 1 - pi and pi, each to full precision
            mean = keep * mu
            var = mean * (1.0 + mu / th + pi * mu)
        r = (x - mean) / np.sqrt(var)
        # mean 0 (the point mass at 0): residual 0 at x = 0; var inf (theta = 0): 0
        r = np.where(mean == 0, np.where(x == 0, 0.0, np.inf), r)
        return np.where((x >= 0) & (mu >= 0) & (th >= 0), r, np.nan)


def _deviance(x, mu, th, zl):
    r = _nb_deviance(x, mu, th)
    if zl is None:
        return r
    from . import ufuncs
    # x = 0: the saturated ZINB likelihood is 1 (mean 0), so d = -2 log P(0),
    # P(0) = 1 + (1 - pi) expm1(log p0): log1p of that where P(0) > 1/2 (no
    # cancellation near P(0) = 1), else log(pi + (1 - pi) p0) in logs. x > 0: the NB's
    # (pi cancels)
    lp0 = ufuncs.logpmf(np.zeros_like(r), mu, th)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = _expit(-zl) * np.expm1(lp0)
        z0 = np.where(y > -0.5, -np.log1p(np.maximum(y, -0.5)),
                      -np.logaddexp(-np.logaddexp(0.0, -zl), lp0 - np.logaddexp(0.0, zl)))
        r0 = np.where(mu > 0, -np.sqrt(2.0 * z0), np.where(mu == 0, 0.0, np.nan))
    return np.where(x == 0, r0, np.where(np.isnan(zl), np.nan, r))


def _quantile(x, mu, th, zl, v):
    """x, mu, th, zl (or None) and v of one shape."""
    from scipy.special import ndtri_exp
    from . import ufuncs, zinb
    if zl is None:
        logcdf, logpmf, logsf = ufuncs.logcdf, ufuncs.logpmf, ufuncs.logsf
        extra = (lambda sel: {})
    else:
        logcdf, logpmf, logsf = zinb.logcdf, zinb.logpmf, zinb.logsf
        extra = (lambda sel: {"zi_logits": zl[sel]})
    everything = (slice(None),) * np.ndim(x)
    lp = logpmf(x, mu, th, **extra(everything))
    # u = F(x - 1) + v P(x), or where u > 1/2, 1 - u = S(x) + (1 - v) P(x): in logs,
    # the smaller of the two carries a tail without rounding to 0 or 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_u = np.logaddexp(logcdf(x - 1.0, mu, th, **extra(everything)), np.log(v) + lp)
        out = np.empty(np.shape(x))
        low = log_u <= np.log(0.5)
        out[low] = ndtri_exp(log_u[low])
        up = ~low
        hi = logsf(x[up], mu[up], th[up], **extra(up))
        out[up] = -ndtri_exp(np.logaddexp(hi, np.log1p(-v[up]) + lp[up]))
    return out


_KINDS = {"pearson": _pearson, "deviance": _deviance, "quantile": _quantile}


def _uniforms(rng, shape):
    """Uniforms in (0, 1), C order: 53 random bits plus a half."""
    return (rng.integers(0, 1 << 53, size=shape, dtype=np.int64) + 0.5) * 2.0 ** -53


def _residuals_host(X, mu, th, zl, kind, v):
    """Residuals of a cells x genes NumPy or SciPy sparse block; mu, th, zl
    broadcast to it; v the uniforms (quantile) or None."""
    f = _KINDS[kind]
    shape = X.shape
    mu = np.broadcast_to(np.asarray(mu, np.float64), shape)
    th = np.broadcast_to(np.asarray(th, np.float64), shape)
    if zl is not None:
        zl = np.broadcast_to(np.asarray(zl, np.float64), shape)
    extra = () if v is None else (v,)
    if not _is_sparse(X):
        x = np.asarray(X, np.float64)
        if kind == "quantile":
            _check_integers(x)
        return f(x, mu, th, zl, *extra)
    A = X.tocoo()
    r, c, data = A.row, A.col, np.asarray(A.data, np.float64)
    if kind == "quantile":
        _check_integers(data)
    out = np.ascontiguousarray(f(np.zeros(shape), mu, th, zl, *extra))
    if data.size:
        pick = (lambda a: a[r, c])
        out[r, c] = f(data, pick(mu), pick(th), None if zl is None else pick(zl),
                      *(() if v is None else (pick(v),)))
    return out


def _check_integers(x):
    with np.errstate(invalid="ignore"):
        bad = ~((x >= 0) & (np.floor(x) == x))
    if bad.any():
        raise ValueError("quantile residuals need non-negative integer counts")


def _per_gene(a, n, g, name, genes_rows):
    """A parameter as a cells x genes broadcastable NumPy array: a scalar,
    one value per gene (1-D), or 2-D in the counts' layout."""
    a = np.asarray(a, np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        if a.size not in (1, g):
            raise ValueError(f"{name} must have one entry per gene ({g}), not {a.size}")
        return a.reshape(1, -1)
    if a.ndim == 2:
        a = a.T if genes_rows else a
        try:
            np.broadcast_shapes(a.shape, (n, g))
        except ValueError:
            raise ValueError(f"{name} of shape {a.shape} does not broadcast to the counts "
                             f"(cells x genes {(n, g)})") from None
        return a
    raise ValueError(f"{name} must be a scalar, per gene (1-D) or 2-D")


def residuals(X: ArrayLike, mu: Union[ArrayLike, Tuple[ArrayLike, ArrayLike]],
              theta: ArrayLike, *, kind: Literal["pearson", "deviance", "quantile"] = "pearson",
              clip: Optional[float] = None, random_state: Any = None,
              pi: Optional[ArrayLike] = None, zi_logits: Optional[ArrayLike] = None,
              axis: int = 0) -> Any:
    """Residuals of counts under NB(mu, theta) or ZINB(mu, theta, pi).

    Parameters
    ----------
    X : array_like, sparse matrix/array or Dask array
        Counts, cells x genes (``axis=0``) or genes x cells (``axis=1``).
    mu : array_like or (size_factors, gene_means)
        The NB means: broadcastable to X in its layout (e.g.
        ``fit.fitted_means()``), or a tuple ``(s, m)`` for ``mu_ij = s_i
        m_j`` (scanpy's analytic residuals: ``s`` the cells' totals over
        the grand total, ``m`` the genes' totals).
    theta : float or array_like
        Inverse dispersion: a scalar (scanpy's default is 100), one per gene
        (1-D), or 2-D in X's layout. ``inf``: Poisson.
    kind : "pearson", "deviance" or "quantile"
        ``"pearson"``: ``(x - E x) / sqrt(Var x)``, scanpy's analytic
        Pearson residuals for NB. ``"deviance"``: ``sign(x - mu)
        sqrt(d)``, d the unit deviance, for NB ``2 [x log(x / mu) - (x +
        theta) log((x + theta) / (mu + theta))]`` computed without
        cancellation (within 5e-15 relative at x near mu too); for ZINB
        the same at x > 0 (the zero inflation cancels) and ``-2 log P(0)``
        at x = 0, with a negative sign. ``"quantile"``: Dunn-Smyth
        randomized quantile residuals ``Phi^-1(u)``, u uniform on ``[F(x -
        1), F(x)]`` from nbnumba's exact (log-)cdf and sf, formed in logs so
        that the tails keep their values; N(0, 1) under the model.
    clip : float, optional
        Clip the residuals to ``[-clip, clip]``. None: ``sqrt(n_cells)``
        for Pearson residuals (scanpy's ``normalize_pearson_residuals``
        default), no clipping for the others. ``np.inf``: none.
    random_state : None, int, SeedSequence or Generator
        Quantile residuals' uniforms, drawn by ``numpy.random.default_rng
        (random_state)`` in the counts' cells x genes order: a seed gives
        the same residuals for dense and sparse input. Dask: each block
        draws from a stream of the seed and its place in the block grid
        (the same residuals for the same seed and chunks).
    pi, zi_logits : array_like, optional
        ZINB zero inflation (probability, or its logit as scvi-tools),
        shaped like ``theta``.
    axis : 0 or 1
        The axis of the cells in X.

    Returns
    -------
    ndarray or Dask array
        Float64 residuals in X's layout, dense for every input (residuals
        of zeros are not zero).

    Notes
    -----
    At ``mu = 0`` (an all-zero gene's fitted mean) x = 0 has residual 0
    (Pearson, deviance) and x > 0 ``+inf``; ``theta = 0`` (``mu > 0``)
    gives Pearson and deviance residuals 0 (the limits). Invalid
    parameters give NaN.
    """
    if kind not in _KINDS:
        raise ValueError(f'kind must be "pearson", "deviance" or "quantile", not {kind!r}')
    if clip is not None and not (clip >= 0):
        raise ValueError(f"clip must be >= 0 or None, not {clip!r}")
    if pi is not None and zi_logits is not None:
        raise ValueError("give pi or zi_logits, not both")
    family, Xc = _cells_genes(X, axis)
    n, g = Xc.shape
    genes_rows = axis in (1, -1)
    if clip is None and kind == "pearson":
        clip = np.sqrt(n)
    th = _per_gene(theta, n, g, "theta", genes_rows)
    zl = None
    if pi is not None:
        pz = _per_gene(pi, n, g, "pi", genes_rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            zl = np.where((pz >= 0) & (pz <= 1), np.log(pz) - np.log1p(-pz), np.nan)
    elif zi_logits is not None:
        zl = _per_gene(zi_logits, n, g, "zi_logits", genes_rows)
    dask_mu = False
    mu_c: Any
    if isinstance(mu, tuple):
        if len(mu) != 2:
            raise ValueError("mu as a tuple is (size_factors, gene_means)")
        s = np.asarray(mu[0], np.float64).reshape(-1)
        m = np.asarray(mu[1], np.float64).reshape(-1)
        if s.size != n or m.size != g:
            raise ValueError(f"mu's size factors need one entry per cell ({n}) and gene means "
                             f"one per gene ({g}), not {s.size} and {m.size}")
        mu_c = (s, m)
    elif _params.is_dask(mu):
        mu_c = mu.T if (genes_rows and mu.ndim == 2) else mu
        dask_mu = True
    else:
        mu_c = _per_gene(mu, n, g, "mu", genes_rows) if np.ndim(mu) != 2 else None
        if mu_c is None:
            a = np.asarray(mu, np.float64)
            mu_c = a.T if genes_rows else a
            if np.broadcast_shapes(mu_c.shape, (n, g)) != (n, g):
                raise ValueError(f"mu of shape {np.shape(mu)} does not broadcast to the counts")
    if family == "dask" or dask_mu:
        out = _residuals_dask(family, Xc, mu_c, th, zl, kind, random_state)
    else:
        M = mu_c[0][:, None] * mu_c[1][None, :] if isinstance(mu_c, tuple) else mu_c
        v = _uniforms(np.random.default_rng(random_state), (n, g)) if kind == "quantile" \
            else None
        out = _residuals_host(Xc, M, th, zl, kind, v)
    if clip is not None and clip < np.inf:
        out = out.clip(-clip, clip)
    return out.T if genes_rows else out


def _block_residuals(X, M, th, zl, *, kind, entropy, zinb, block_info=None):
    v = None
    if kind == "quantile":
        place = tuple(block_info[0]["chunk-location"])
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=place))
        v = _uniforms(rng, X.shape)
    return _residuals_host(X, M, th, zl if zinb else None, kind, v)


def _residuals_dask(family, X, mu, th, zl, kind, random_state):
    import dask.array as da
    if family != "dask":
        X = da.from_array(X, chunks=(X.shape[0], "auto"), asarray=not _is_sparse(X))
    n, g = X.shape
    rows, cols = X.chunks

    def like(a):
        a = da.asarray(a)
        a = a if a.ndim == 2 else a.reshape((1,) * (2 - a.ndim) + a.shape)
        return a.rechunk((rows if a.shape[0] == n else (1,), cols if a.shape[1] == g else (1,)))

    if isinstance(mu, tuple):
        M = da.from_array(mu[0], chunks=(rows,))[:, None] * \
            da.from_array(mu[1], chunks=(cols,))[None, :]
    else:
        M = like(mu)
    entropy = int(np.random.default_rng(random_state).integers(0, 1 << 63)) \
        if kind == "quantile" else 0
    Z = like(zl if zl is not None else np.zeros((1, 1)))
    return da.map_blocks(_block_residuals, X, M, like(th), Z, kind=kind, entropy=entropy,
                         zinb=zl is not None, dtype=np.float64, meta=np.empty((0, 0)))

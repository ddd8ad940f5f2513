"""nbnumba.fitting: fit_theta and fit against brute-force maximisation of the
exact log-likelihood (mpmath, 40 digits), across input formats, on edge
genes, and recovering known coefficients."""
import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import optimize, special

from nbnumba import fitting

mpmath = pytest.importorskip("mpmath")
mp = mpmath.mp


# ------------------------------------------------------------ references

def ll_mp(x, mu, theta):
    """The exact log-likelihood sum_i log NB(x_i; mu_i, theta) at 40 digits
    (theta = inf: Poisson, theta = 0: the point mass at 0)."""
    with mp.workdps(40):
        x = [int(v) for v in np.asarray(x).ravel()]
        mu = [mpmath.mpf(float(v)) for v in np.broadcast_to(mu, (len(x),))]
        if theta == 0:
            return 0.0 if not any(x) else -math.inf
        total = mpmath.mpf(0)
        if math.isinf(theta):
            for k, m in zip(x, mu):
                total += k * mpmath.log(m) - m - mpmath.loggamma(k + 1)
            return total
        t = mpmath.mpf(float(theta))
        lg = {}
        for k in set(x):
            lg[k] = mpmath.loggamma(k + t) - mpmath.loggamma(t) - mpmath.loggamma(k + 1)
        for k, m in zip(x, mu):
            total += lg[k] + t * mpmath.log(t / (t + m))
            if k:
                total += k * mpmath.log(m / (t + m))
        return total


def brute_theta(x, mu):
    """The maximum of ll_mp over theta: a grid in log(theta), then golden
    section search around the best point, all at 40 digits; returns
    (theta, loglik), the grid's ends (theta = 1e-8, 1e12) and inf
    included."""
    grid = np.linspace(math.log(1e-8), math.log(1e12), 41)
    vals = [ll_mp(x, mu, math.exp(e)) for e in grid]
    i = int(np.argmax(vals))
    best = (math.exp(grid[i]), vals[i])
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    g = (math.sqrt(5) - 1) / 2
    a, b = lo + (1 - g) * (hi - lo), lo + g * (hi - lo)
    fa, fb = ll_mp(x, mu, math.exp(a)), ll_mp(x, mu, math.exp(b))
    while hi - lo > 1e-9:
        if fa > fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - g) * (hi - lo)
            fa = ll_mp(x, mu, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = ll_mp(x, mu, math.exp(b))
    for t, v in ((math.exp(a), fa), (math.exp(b), fb), (math.inf, ll_mp(x, mu, math.inf))):
        if v > best[1]:
            best = (t, v)
    return best


def assert_at_least(ll, ll_ref, rel):
    """ll >= ll_ref up to rel relative."""
    assert float(ll) >= float(ll_ref) - rel * abs(float(ll_ref)), (float(ll), float(ll_ref))


def simulate(rng, n, mu, theta):
    mu = np.broadcast_to(mu, (n,))
    if math.isinf(theta):
        return rng.poisson(mu)
    return rng.poisson(rng.gamma(theta, mu / theta))


# ------------------------------------------------------------ fit_theta

@pytest.fixture(scope="module")
def genes():
    """Small genes (cells x genes) with per-cell means s_i m_j."""
    rng = np.random.default_rng(7)
    n = 60
    s = np.exp(rng.normal(0, 0.4, n))
    cols, means = [], []
    for m, theta in ((2.0, 1.5), (0.3, 0.2), (20.0, 8.0), (5.0, 300.0), (1.0, 0.05),
                     (100.0, 2.0), (0.05, 1.0)):
        cols.append(simulate(rng, n, s * m, theta))
        means.append(m)
    return np.column_stack(cols), s, np.array(means)


def test_theta_is_the_maximum(genes):
    """The likelihood at nbnumba's theta is at least the brute force's
    maximum (1e-12 relative), and the reported loglik is exact."""
    X, s, m = genes
    r = fitting.fit_theta(X, (s, m))
    assert r.converged.all()
    for j in range(X.shape[1]):
        mu = s * m[j]
        t_bf, ll_bf = brute_theta(X[:, j], mu)
        ll = ll_mp(X[:, j], mu, r.theta[j])
        assert_at_least(ll, ll_bf, 1e-12)
        assert abs(r.loglik[j] - float(ll)) <= 1e-13 * abs(float(ll))
        if math.isfinite(t_bf) and t_bf < 1e8:
            assert abs(math.log(r.theta[j] / t_bf)) < 1e-3


def test_theta_same_mean_everywhere():
    """Constant means (no size factors): zeros enter as one group."""
    rng = np.random.default_rng(3)
    x = simulate(rng, 80, 1.5, 0.7)
    r = fitting.fit_theta(x[:, None], 1.5)
    t_bf, ll_bf = brute_theta(x, 1.5)
    assert_at_least(ll_mp(x, 1.5, r.theta[0]), ll_bf, 1e-12)
    assert abs(r.loglik[0] - float(ll_mp(x, 1.5, r.theta[0]))) <= 1e-13 * abs(r.loglik[0])


def test_theta_formats_agree(genes):
    """Dense (int, float, float32, F order, axis=1), CSR, CSC, sparse arrays,
    dense means and Dask give the same results (1e-12; in fact equal)."""
    X, s, m = genes
    ref = fitting.fit_theta(X, (s, m))
    M = s[:, None] * m[None, :]
    variants = [fitting.fit_theta(X.astype(np.float64), (s, m)),
                fitting.fit_theta(X.astype(np.float32), (s, m)),
                fitting.fit_theta(X.astype(np.int32), M),
                fitting.fit_theta(np.asfortranarray(X), np.asfortranarray(M)),
                fitting.fit_theta(X.T, M.T, axis=1),
                fitting.fit_theta(X.T.copy(), (s, m), axis=1),
                fitting.fit_theta(sp.csr_matrix(X), (s, m)),
                fitting.fit_theta(sp.csc_matrix(X), (s, m)),
                fitting.fit_theta(sp.csr_array(X.astype(float)), M),
                fitting.fit_theta(sp.csr_matrix(X.T), (s, m), axis=1)]
    da = pytest.importorskip("dask.array")
    d = fitting.fit_theta(da.from_array(X, chunks=(25, 3)), (s, m))
    assert isinstance(d.theta, da.Array)
    variants.append(fitting.ThetaFit(*(np.asarray(a) for a in (
        d.theta, d.converged, d.iterations, d.loglik))))
    d2 = fitting.fit_theta(da.from_array(X, chunks=(25, 3)), da.from_array(M, chunks=(30, 2)))
    variants.append(fitting.ThetaFit(*(np.asarray(a) for a in (
        d2.theta, d2.converged, d2.iterations, d2.loglik))))
    for v in variants:
        np.testing.assert_allclose(v.theta, ref.theta, rtol=1e-12)
        np.testing.assert_allclose(v.loglik, ref.loglik, rtol=1e-12)
        np.testing.assert_array_equal(v.converged, ref.converged)


def test_theta_mean_shapes(genes):
    """Means per cell, per gene, per cell x gene, as a tuple, in both
    layouts."""
    X, s, m = genes
    per_cell = fitting.fit_theta(X, s[:, None])
    for r in (fitting.fit_theta(X, (s, 1.0)), fitting.fit_theta(X.T, s, axis=1),
              fitting.fit_theta(X.T, s[None, :], axis=1),
              fitting.fit_theta(X, np.broadcast_to(s[:, None], X.shape))):
        np.testing.assert_array_equal(r.theta, per_cell.theta)
    per_gene = fitting.fit_theta(X, m)
    for r in (fitting.fit_theta(X, (1.0, m)), fitting.fit_theta(X.T, m[:, None], axis=1),
              fitting.fit_theta(X, m[None, :])):
        np.testing.assert_array_equal(r.theta, per_gene.theta)
    with pytest.raises(ValueError):
        fitting.fit_theta(X.T, m, axis=1)           # a 1-D mu runs along the cells there


def test_theta_edge_genes():
    """All zeros -> 0 (loglik 0); under- or equidispersed -> inf (Poisson,
    not a large number); a single nonzero cell; huge counts."""
    rng = np.random.default_rng(11)
    n = 50
    s = np.exp(rng.normal(0, 0.3, n))
    X = np.zeros((n, 5), np.int64)
    X[:, 1] = np.round(3 * s)                       # less variable than Poisson
    X[7, 2] = 4                                     # one nonzero cell
    X[:, 3] = simulate(rng, n, 2e5 * s, 0.8)        # huge counts
    X[:, 4] = rng.binomial(8, 0.5, n)               # underdispersed
    m = np.array([1.0, 3.0, 0.1, 2e5, 4.0])
    r = fitting.fit_theta(X, (s, m))
    assert r.theta[0] == 0 and r.loglik[0] == 0 and r.converged[0]
    assert r.theta[1] == np.inf and r.theta[4] == np.inf and r.converged.all()
    for j in (1, 2, 3, 4):
        t_bf, ll_bf = brute_theta(X[:, j], s * m[j])
        ll = ll_mp(X[:, j], s * m[j], r.theta[j])
        assert_at_least(ll, ll_bf, 1e-12)
        assert abs(r.loglik[j] - float(ll)) <= 1e-13 * abs(float(ll))
    # for an all-zero gene the likelihood only grows as theta falls
    assert float(ll_mp(X[:, 0], s, 1e-6)) < 0


def test_theta_impossible_and_invalid():
    X = np.array([[0, 1], [2, 0]])
    r = fitting.fit_theta(X, np.array([[1.0, 0.0], [1.0, 1.0]]))
    assert np.isnan(r.theta[1]) and r.loglik[1] == -np.inf and not r.converged[1]
    assert np.isfinite(r.loglik[0])
    with pytest.raises(ValueError):
        fitting.fit_theta(np.array([[0, -1], [2, 0]]), 1.0)
    with pytest.raises(ValueError):
        fitting.fit_theta(np.array([[0, 1.5], [2, 0]]), 1.0)
    with pytest.raises(ValueError):
        fitting.fit_theta(X, np.array([[1.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError):
        fitting.fit_theta(X, np.ones(3))
    with pytest.raises(ValueError):
        fitting.fit_theta(X, (np.ones(3), np.ones(2)))


# ------------------------------------------------------------ fit

def nb_ll_float(x, mu, theta):
    """float64 log-likelihood (scipy), for the brute-force optimisers."""
    return float(np.sum(special.gammaln(x + theta) - special.gammaln(theta) - special.gammaln(x + 1)
                        + theta * np.log(theta / (theta + mu)) + x * np.log(mu / (theta + mu))))


def brute_glm(x, s, D):
    """The NB GLM's maximum by scipy (Nelder-Mead then BFGS on the float64
    log-likelihood, from beta = (log(mean x / mean s), 0, ...) and
    log(theta) = 0): the estimate and its log-likelihood at 40 digits."""
    p = D.shape[1]

    def f(par):
        mu = s * np.exp(D @ par[:p])
        return -nb_ll_float(x, mu, math.exp(par[p]))

    start = np.zeros(p + 1)
    start[0] = math.log(x.mean() / s.mean())
    res = optimize.minimize(f, start, method="Nelder-Mead",
                            options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000, maxfev=20000))
    res = optimize.minimize(f, res.x, method="BFGS", options=dict(gtol=1e-10))
    mu = s * np.exp(D @ res.x[:p])
    return res.x, ll_mp(x, mu, math.exp(res.x[p]))


def test_fit_intercept_and_design_are_the_maximum():
    rng = np.random.default_rng(5)
    n = 80
    s = np.exp(rng.normal(0, 0.4, n))
    D = np.column_stack([np.ones(n), np.arange(n) % 2, rng.normal(size=n)])
    X = np.column_stack([simulate(rng, n, s * np.exp(D @ b), t) for b, t in (
        ([0.5, 0.7, -0.3], 2.0), ([1.5, -0.5, 0.2], 0.4), ([-0.5, 1.0, 0.5], 10.0))])
    for design in (None, D[:, :2], D):
        r = fitting.fit(X, s, design)
        Dm = np.ones((n, 1)) if design is None else design
        assert r.converged.all()
        for j in range(X.shape[1]):
            mu = s * np.exp(Dm @ r.coefficients[j])
            ll = ll_mp(X[:, j], mu, r.theta[j])
            _, ll_bf = brute_glm(X[:, j].astype(float), s, Dm)
            assert_at_least(ll, ll_bf, 1e-12)
            assert abs(r.loglik[j] - float(ll)) <= 1e-12 * abs(float(ll))
        np.testing.assert_allclose(r.fitted_means(), s[:, None] * np.exp(Dm @ r.coefficients.T),
                                   rtol=1e-14)


def test_fit_recovers_coefficients():
    """Simulated data with known coefficients, size factors and theta."""
    rng = np.random.default_rng(2)
    n, g = 2000, 40
    s = np.exp(rng.normal(0, 0.5, n))
    D = np.column_stack([np.ones(n), rng.integers(0, 2, n), rng.normal(size=n)])
    B = np.column_stack([rng.uniform(0, 2, g), rng.normal(0, 0.5, g), rng.normal(0, 0.3, g)])
    theta = np.exp(rng.uniform(np.log(0.5), np.log(50), g))
    mu = s[:, None] * np.exp(D @ B.T)
    X = rng.poisson(rng.gamma(theta, mu / theta))
    r = fitting.fit(X, s, D)
    assert r.converged.all()
    err = np.abs(r.coefficients - B)
    assert err.max() < 0.2 and np.median(err) < 0.04
    assert np.median(np.abs(np.log(r.theta / theta))) < 0.2
    r1 = fitting.fit(X, s)                      # Poisson genes: log(sum x / sum s)
    np.testing.assert_allclose(r1.coefficients[:, 0][np.isinf(r1.theta)],
                               np.log(X.sum(0) / s.sum())[np.isinf(r1.theta)], rtol=1e-12)


def test_fit_formats_agree():
    rng = np.random.default_rng(9)
    n = 70
    s = np.exp(rng.normal(0, 0.4, n))
    D = np.column_stack([np.ones(n), np.arange(n) % 3 == 0])
    X = np.column_stack([simulate(rng, n, s * 2.0, 1.0), simulate(rng, n, s * 0.2, 5.0),
                         np.zeros(n, np.int64), simulate(rng, n, s * 50.0, 3.0)])
    for design in (None, D):
        ref = fitting.fit(X, s, design)
        variants = [fitting.fit(X.astype(float), s, design),
                    fitting.fit(np.asfortranarray(X), s, design),
                    fitting.fit(X.T, s, design, axis=1),
                    fitting.fit(sp.csr_matrix(X), s, design),
                    fitting.fit(sp.csc_matrix(X), s, design)]
        da = pytest.importorskip("dask.array")
        d = fitting.fit(da.from_array(X, chunks=(20, 3)), s, design)
        variants.append(d)
        for v in variants:
            np.testing.assert_allclose(np.asarray(v.coefficients), ref.coefficients, rtol=1e-12)
            np.testing.assert_allclose(np.asarray(v.theta), ref.theta, rtol=1e-12)
            np.testing.assert_allclose(np.asarray(v.loglik), ref.loglik, rtol=1e-12)
        # all-zero gene
        assert ref.theta[2] == 0 and ref.loglik[2] == 0 and ref.converged[2]
        assert np.all(ref.fitted_means()[:, 2] == 0)


def test_fit_without_size_factors_is_compact():
    """No size factors: the intercept-only fit runs over nonzero counts and
    one zero group; the same as with size factors all 1 given per cell."""
    rng = np.random.default_rng(4)
    X = np.column_stack([simulate(rng, 300, 0.4, 0.5), simulate(rng, 300, 3.0, 2.0)])
    a = fitting.fit(X)
    b = fitting.fit(X, np.ones(300) * 2.0)              # constant: compact too
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-10)
    np.testing.assert_allclose(a.coefficients - math.log(2.0), b.coefficients, rtol=1e-10)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-12)
    for j in range(2):
        _, ll_bf = brute_glm(X[:, j].astype(float), np.ones(300), np.ones((300, 1)))
        assert_at_least(ll_mp(X[:, j], math.exp(a.coefficients[j, 0]), a.theta[j]), ll_bf, 1e-12)


def apl(x, s, D, theta):
    """The Cox-Reid adjusted profile likelihood at theta (float64): beta
    maximised by Newton's method (numpy, to convergence), minus
    log det(D' W D) / 2, W = mu theta / (theta + mu)."""
    b = np.zeros(D.shape[1])
    b[0] = math.log(x.mean() / s.mean())
    for _ in range(200):
        mu = s * np.exp(D @ b)
        t = theta + mu
        g = D.T @ (theta * (x - mu) / t)
        N = (D.T * (theta * mu * (theta + x) / t ** 2)) @ D
        step = np.linalg.solve(N, g)
        b += step
        if np.abs(step).max() < 1e-14:
            break
    mu = s * np.exp(D @ b)
    W = mu * theta / (theta + mu)
    return nb_ll_float(x, mu, theta) - 0.5 * np.linalg.slogdet(D.T @ (W[:, None] * D))[1]


def test_fit_cox_reid():
    """cox_reid=True maximises the adjusted profile likelihood."""
    rng = np.random.default_rng(8)
    n = 40
    s = np.exp(rng.normal(0, 0.3, n))
    D = np.column_stack([np.ones(n), np.arange(n) % 2])
    X = np.column_stack([simulate(rng, n, s * 3.0 * np.exp(0.5 * D[:, 1]), 3.0),
                         simulate(rng, n, s * 0.7, 1.0)])
    for design in (D, None):
        r = fitting.fit(X, s, design, cox_reid=True)
        plain = fitting.fit(X, s, design)
        Dm = np.ones((n, 1)) if design is None else design
        assert r.converged.all()
        for j in range(2):
            x = X[:, j].astype(float)
            res = optimize.minimize_scalar(lambda e: -apl(x, s, Dm, math.exp(e)),
                                           bounds=(-5, 12), method="bounded",
                                           options=dict(xatol=1e-9))
            assert abs(math.log(r.theta[j]) - res.x) < 1e-4
            assert apl(x, s, Dm, r.theta[j]) >= -res.fun - 1e-9 * abs(res.fun)
            # the adjustment lowers theta (more overdispersion), and the
            # plain likelihood is then below the plain fit's
            assert r.theta[j] < plain.theta[j]
            assert r.loglik[j] <= plain.loglik[j]


def test_fit_invalid():
    X = np.ones((5, 2), np.int64)
    with pytest.raises(ValueError):
        fitting.fit(X, np.ones(4))
    with pytest.raises(ValueError):
        fitting.fit(X, -np.ones(5))
    with pytest.raises(ValueError):
        fitting.fit(X, None, np.ones((5, 2)))           # rank deficient
    with pytest.raises(ValueError):
        fitting.fit(X - 2)
    s = fitting.fit(X, "normed_sum").size_factors
    np.testing.assert_allclose(s, 1.0)


@pytest.mark.parametrize("design,match", [
    (np.ones((5, 0)), "at least one column"),
    (np.ones((4, 1)), "5 rows"),
    (np.ones((5, 1, 1)), "cells x p"),
    (np.array([["a"], ["b"], ["c"], ["d"], ["e"]]), "numeric"),
    (np.full((5, 1), np.nan), "finite"),
    (np.ones((5, 6)), "rank"),
])
def test_fit_bad_designs_name_the_parameter(design, match):
    X = np.arange(10).reshape(5, 2)
    with pytest.raises(ValueError, match="design") as info:
        fitting.fit(X, design=design)
    assert match in str(info.value)


def test_fit_empty_design_reproducer():
    X = np.random.default_rng(0).poisson(3, (10, 4))
    for _ in range(3):          # once read past an empty coefficient array
        with pytest.raises(ValueError, match="design"):
            fitting.fit(X, design=np.ones((10, 0)))


def test_duplicate_sparse_entries_are_summed_in_fits():
    rng = np.random.default_rng(5)
    X = rng.negative_binomial(2, 0.3, (40, 6))
    rows, cols = np.nonzero(X)
    half = X[rows, cols] // 2
    # each count as two entries (COO -> CSR would sum them: built directly)
    order = np.lexsort((np.concatenate([cols, cols]), np.concatenate([rows, rows])))
    data = np.concatenate([half, X[rows, cols] - half])[order]
    ind = np.concatenate([cols, cols])[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(np.concatenate([rows, rows]),
                                                      minlength=40))])
    dup = sp.csr_matrix((data.astype(float), ind, ptr), shape=X.shape)
    assert not dup.has_canonical_format
    mu = X.mean(0) + 0.1
    a, b = fitting.fit_theta(dup, mu), fitting.fit_theta(X, mu)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-10)
    a, b = fitting.fit(dup), fitting.fit(X)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-10)
    np.testing.assert_allclose(a.coefficients, b.coefficients, rtol=1e-10)

"""nbnumba.analysis: test_de, pseudobulk, residuals.

Truths: simulated data with known parameters (calibration, power, lfc),
scipy's Benjamini-Hochberg, a brute-force maximum likelihood fit by
scipy.optimize with the log-likelihood evaluated in mpmath, the residuals'
formulas in mpmath at 60 digits, and exact checks of sparse = dense.
"""
import math

import mpmath as mp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import optimize, special, stats

import nbnumba
from nbnumba import analysis


def simulate(n=800, g=300, seed=0, mean=1.0):
    """(X cells x genes, s, D, true log2 fold changes): two conditions, 10%
    of the genes 2-fold changed, known size factors."""
    rng = np.random.default_rng(seed)
    s = np.exp(rng.normal(0.0, 0.3, n))
    s /= np.exp(np.mean(np.log(s)))
    cond = np.repeat([0.0, 1.0], n // 2)
    m = np.exp(rng.normal(mean, 1.0, g))
    lfc = np.zeros(g)
    de = rng.choice(g, g // 10, replace=False)
    lfc[de] = rng.choice([-1.0, 1.0], de.size)
    theta = np.exp(rng.uniform(np.log(0.5), np.log(20.0), g))
    mu = s[:, None] * m[None, :] * np.exp2(lfc[None, :] * cond[:, None])
    X = rng.poisson(rng.gamma(theta[None, :], mu / theta[None, :]))
    return X, s, np.column_stack([np.ones(n), cond]), lfc


@pytest.fixture(scope="module")
def data():
    return simulate()


# ------------------------------------------------------------ test_de

@pytest.mark.parametrize("method", ["lrt", "wald"])
def test_calibration_power_lfc(data, method):
    X, s, D, lfc = data
    r = nbnumba.test_de(X, D, size_factors=s, method=method)
    de = lfc != 0
    assert np.all(r.reason == "") and r.converged.all()
    assert stats.kstest(r.pvalue[~de], "uniform").pvalue > 1e-3
    auc = stats.mannwhitneyu(-r.pvalue[de], -r.pvalue[~de]).statistic / (de.sum() * (~de).sum())
    assert auc > 0.95
    assert np.median(np.abs(r.lfc[de] - lfc[de])) < 0.1
    np.testing.assert_allclose(r.adj_pvalue, stats.false_discovery_control(r.pvalue))


def test_lrt_and_wald_agree_and_layouts(data):
    X, s, D, _ = data
    X, D, s = X[:, :40], D, s
    ref = nbnumba.test_de(X, D, size_factors=s)
    for Y, axis in ((sp.csr_matrix(X), 0), (sp.csc_matrix(X), 0), (X.T.copy(), 1),
                    (sp.csr_matrix(X.T), 1)):
        r = nbnumba.test_de(Y, D, size_factors=s, axis=axis)
        np.testing.assert_array_equal(r.statistic, ref.statistic)
    da = pytest.importorskip("dask.array")
    r = nbnumba.test_de(da.from_array(X, chunks=(200, 16)), D, size_factors=s)
    np.testing.assert_array_equal(r.statistic, ref.statistic)
    w = nbnumba.test_de(X, D, size_factors=s, method="wald")
    np.testing.assert_allclose(w.statistic ** 2, ref.statistic, rtol=0.2, atol=0.5)
    assert ref.df == 1 and w.df == 1


def test_contrast_reduced_design_equals_explicit():
    rng = np.random.default_rng(4)
    n = 300
    grp = rng.integers(0, 3, n)
    D = np.column_stack([np.ones(n), grp == 1, grp == 2]).astype(float)
    X = rng.negative_binomial(3, 0.3, size=(n, 12))
    # contrast b1 - b2 = 0 merges groups 1 and 2
    r1 = nbnumba.test_de(X, D, contrast=[0, 1, -1])
    R = np.column_stack([np.ones(n), grp > 0]).astype(float)
    r2 = nbnumba.test_de(X, D, reduced_design=R, contrast=[0, 1, -1])
    np.testing.assert_allclose(r1.statistic, r2.statistic, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r1.lfc, (r1.coefficients[:, 1] - r1.coefficients[:, 2])
                               / np.log(2))
    r3 = nbnumba.test_de(X, D, reduced_design=np.ones(n))
    assert r3.df == 2
    assert np.all((r3.pvalue >= 0) & (r3.pvalue <= 1))


def _nb_nll(params, x, s, D):
    """Negative NB log-likelihood in (beta, log theta) and its gradient,
    from scipy's gammaln/digamma (independent of nbnumba)."""
    p = D.shape[1]
    beta, th = params[:p], math.exp(params[p])
    mu = s * np.exp(D @ beta)
    ll = (special.gammaln(x + th) - special.gammaln(th) - special.gammaln(x + 1)
          + th * np.log(th / (th + mu)) + x * np.log(mu / (th + mu)))
    r = x - mu * (x + th) / (th + mu)
    dth = (special.digamma(x + th) - special.digamma(th) + np.log(th / (th + mu))
           + (mu - x) / (th + mu))
    return -ll.sum(), -np.concatenate([D.T @ r, [th * dth.sum()]])


def _mp_loglik(params, x, s, D):
    p = D.shape[1]
    with mp.workdps(50):
        th = mp.exp(mp.mpf(params[p]))
        total = mp.mpf(0)
        for xi, si, di in zip(x, s, D):
            mu = mp.mpf(si) * mp.exp(mp.fsum(mp.mpf(a) * mp.mpf(b) for a, b in zip(di, params)))
            total += (mp.loggamma(xi + th) - mp.loggamma(th) - mp.loggamma(xi + 1)
                      + th * mp.log(th / (th + mu)) + xi * mp.log(mu / (th + mu)))
        return total


def _brute_fit(x, s, D):
    best = None
    for lt in (-1.0, 0.5, 2.0):
        start = np.concatenate([np.linalg.lstsq(D, np.log(x + 0.5) - np.log(s), rcond=None)[0],
                                [lt]])
        res = optimize.minimize(_nb_nll, start, args=(x, s, D), jac=True, method="BFGS",
                                options={"gtol": 1e-11, "maxiter": 10000})
        if best is None or res.fun < best.fun:
            best = res
    return best.x, _mp_loglik(best.x, x, s, D)


def test_lrt_brute_force_high_precision():
    rng = np.random.default_rng(11)
    n = 60
    cond = np.repeat([0.0, 1.0], n // 2)
    s = np.exp(rng.normal(0, 0.3, n))
    D = np.column_stack([np.ones(n), cond])
    x = rng.negative_binomial(2.0, 2.0 / (2.0 + 3.0 * 1.6 ** cond)).astype(float)
    r = nbnumba.test_de(x[:, None], D, size_factors=s, tol=1e-12)
    pf, llf = _brute_fit(x, s, D)
    pr, llr = _brute_fit(x, s, D[:, :1])
    stat = float(2 * (llf - llr))
    assert r.statistic[0] == pytest.approx(stat, rel=1e-7, abs=1e-9)
    assert r.pvalue[0] == pytest.approx(float(stats.chi2.sf(stat, 1)), rel=1e-6)
    assert r.theta[0] == pytest.approx(math.exp(pf[2]), rel=1e-5)
    assert r.theta_reduced[0] == pytest.approx(math.exp(pr[1]), rel=1e-5)
    assert r.lfc[0] == pytest.approx(pf[1] / math.log(2), rel=1e-5)


#: genes x cells counts, size factors, and glmGamPoi 1.10.2's
#: glm_gp(Y, design = ~cond, size_factors = s, overdispersion_shrinkage = FALSE,
#: do_cox_reid_adjustment = FALSE): Beta[, 1], Beta[, 2], overdispersions (%.17g)
GLMGAMPOI_Y = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 1, 0, 0,
     0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0, 1, 5, 1, 5, 2, 1, 9, 6, 0, 3, 1, 0, 14, 0, 5, 9, 0, 0, 2, 0, 0, 2, 2, 7, 1, 2, 11, 4, 12,
     5, 3, 0, 6, 0, 10, 5, 1, 0, 1],
    [2, 1, 5, 0, 0, 6, 1, 5, 0, 0, 7, 1, 5, 1, 0, 7, 6, 6, 2, 3, 7, 6, 5, 3, 4, 8, 7, 20, 3, 5,
     27, 8, 28, 3, 6, 0, 9, 0, 13, 7],
    [0, 4, 5, 0, 0, 0, 2, 3, 0, 0, 0, 1, 2, 0, 0, 0, 3, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0,
     0, 0, 1, 0, 0, 0, 0, 1, 0, 0],
    [4, 21, 15, 12, 3, 4, 10, 7, 17, 0, 93, 4, 2, 9, 26, 37, 6, 55, 3, 39, 30, 2, 31, 0, 36, 16,
     89, 54, 51, 22, 27, 45, 34, 26, 12, 16, 25, 22, 49, 6]]
GLMGAMPOI_S = [0.6, 1.0, 1.4, 0.7, 1.1, 1.5, 0.8, 1.2, 1.6, 0.9, 1.3] * 3 + [
    0.6, 1.0, 1.4, 0.7, 1.1, 1.5, 0.8]
GLMGAMPOI_BETA = [
    [-1.9940628452145923, 0.96659192653971993, 0.95953693807575147, -0.028368361874256988,
     2.8515796334008106],
    [0.71800795779101612, 0.25845744635135526, 1.0851631510825841, -1.4516089930126068,
     0.5298249372966839]]
GLMGAMPOI_OD = [1.306497609455312, 0.96657826119201207, 0.52420213636133128,
                1.3448507554600329, 0.90196884458309445]


def test_agrees_with_glmgampoi():
    """The same maximum likelihood fit as glmGamPoi's (to its convergence,
    ~1e-6 in the coefficients), and a log-likelihood (scipy's nbinom) at
    least as high as at glmGamPoi's estimate."""
    Y = np.array(GLMGAMPOI_Y)
    s = np.array(GLMGAMPOI_S)
    n = Y.shape[1]
    D = np.column_stack([np.ones(n), np.arange(n) >= n // 2])
    r = nbnumba.test_de(Y, D, size_factors=s, axis=1, tol=1e-12)
    beta = np.array(GLMGAMPOI_BETA).T
    np.testing.assert_allclose(r.coefficients, beta, atol=1e-5)
    theta_r = 1 / np.array(GLMGAMPOI_OD)
    np.testing.assert_allclose(r.theta, theta_r, rtol=2e-3)

    def ll(b, th):
        mu = s[None, :] * np.exp(b @ D.T)
        return stats.nbinom.logpmf(Y, th[:, None], th[:, None] / (th[:, None] + mu)).sum(axis=1)

    assert np.all(ll(r.coefficients, r.theta) >= ll(beta, theta_r) - 1e-9)


def test_wald_standard_error_is_fisher():
    """se**2 = c' (D' W D)^-1 c at the fit, W = mu / (1 + mu / theta): each
    gene's information summed cell by cell in plain Python."""
    X, s, D, _ = simulate(n=200, g=5, seed=3)
    r = nbnumba.test_de(X, D, size_factors=s, method="wald", contrast=[1.0, 2.0])
    for j in range(X.shape[1]):
        b, th = r.coefficients[j], r.theta[j]
        info = np.zeros((2, 2))
        for i in range(X.shape[0]):
            mu = s[i] * math.exp(D[i] @ b)
            info += mu / (1 + mu / th) * np.outer(D[i], D[i])
        c = np.array([1.0, 2.0])
        se = math.sqrt(c @ np.linalg.inv(info) @ c)
        assert r.statistic[j] == pytest.approx((c @ b) / se, rel=1e-9)


def test_bh_against_direct_definition():
    rng = np.random.default_rng(2)
    p = rng.uniform(size=200) ** 3
    p[[3, 50, 51]] = np.nan
    p[10] = p[11]                                       # a tie
    got = analysis.bh_adjust(p)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    rank = stats.rankdata(q, method="max")
    direct = np.array([min(1.0, min(q[k] * m / rank[k] for k in range(m) if q[k] >= qi))
                       for qi in q])
    np.testing.assert_allclose(got[ok], direct, rtol=1e-15)
    np.testing.assert_allclose(got[ok], stats.false_discovery_control(q), rtol=1e-15)
    assert np.isnan(got[~ok]).all()


def test_reasons():
    X, s, D, _ = simulate(n=200, g=6, seed=5)
    X[:, 0] = 0
    X[D[:, 1] == 1, 1] = 0                 # a group of zeros: coefficient at -inf
    r = nbnumba.test_de(X, D, size_factors=s)
    assert r.reason[0] == "all counts are 0" and np.isnan(r.pvalue[0]) and np.isnan(r.lfc[0])
    assert r.reason[1] == "" and r.pvalue[1] < 1e-6      # the LRT holds
    assert np.all(r.reason[2:] == "")
    w = nbnumba.test_de(X, D, size_factors=s, method="wald")
    assert "Fisher information is singular" in w.reason[1] and np.isnan(w.pvalue[1])
    assert np.isnan(w.adj_pvalue[[0, 1]]).all() and not np.isnan(w.adj_pvalue[2:]).any()
    bad = np.column_stack([D, 2 * D[:, 1]])
    rb = nbnumba.test_de(X, bad, size_factors=s)
    assert np.all(rb.reason == "design is rank-deficient (rank 2 < 3 columns)")
    assert np.isnan(rb.pvalue).all() and np.isnan(rb.statistic).all()
    rn = nbnumba.test_de(X, D, size_factors=s, max_iter=1)
    nc = ~rn.converged
    assert nc.any() and np.isnan(rn.pvalue[nc]).all()
    assert all("converge" in why for why in rn.reason[nc])


def test_size_factors():
    X, s, D, _ = simulate(n=100, g=50, seed=6)
    X[:, 3] = 0
    got = analysis._size_factors("poscounts", X, "dense")
    # DESeq2's poscounts written out per cell
    logs = np.where(X > 0, np.log(np.maximum(X, 1)), 0.0)
    lgm = logs.sum(axis=0) / X.shape[0]
    use = X.sum(axis=0) > 0
    sf = np.array([math.exp(np.median((np.log(X[i, use & (X[i] > 0)])
                                       - lgm[use & (X[i] > 0)]))) for i in range(X.shape[0])])
    sf /= math.exp(np.mean(np.log(sf)))
    np.testing.assert_allclose(got, sf, rtol=1e-13)
    np.testing.assert_array_equal(analysis._size_factors("poscounts", sp.csc_matrix(X),
                                                         "sparse"), got)
    tot = X.sum(axis=1)
    np.testing.assert_allclose(analysis._size_factors("normed_sum", X, "dense"),
                               tot / math.exp(np.mean(np.log(tot))), rtol=1e-14)
    r = nbnumba.test_de(X, D, size_factors="poscounts")
    np.testing.assert_array_equal(r.size_factors, got)
    # DESeq2 1.38.3: sizeFactors(estimateSizeFactors(dds, type = "poscounts")) of Y' (genes x
    # cells there), printed with %.17g
    Y = [[0, 1, 1, 5, 4, 2, 2, 3, 3], [0, 4, 9, 0, 8, 7, 2, 7, 4], [0, 0, 0, 0, 1, 8, 2, 8, 12],
         [0, 5, 9, 1, 5, 4, 1, 3, 3], [0, 1, 3, 1, 6, 1, 6, 10, 10],
         [0, 1, 2, 3, 0, 0, 32, 4, 19], [0, 3, 19, 2, 3, 0, 1, 3, 6]]
    deseq2 = [0.55828137625812213, 1.8834711429465445, 1.402565577584322, 0.843962313391873,
              0.94545289223715134, 1.0458245918867912, 0.81253656620038117]
    np.testing.assert_allclose(analysis._size_factors("poscounts", np.array(Y), "dense"),
                               deseq2, rtol=1e-14)


def test_bad_input():
    X, s, D, _ = simulate(n=60, g=4, seed=7)
    with pytest.raises(ValueError, match="method"):
        nbnumba.test_de(X, D, method="ql")
    with pytest.raises(ValueError, match="design"):
        nbnumba.test_de(X, D[:-1])
    with pytest.raises(ValueError, match="contrast"):
        nbnumba.test_de(X, D, contrast=[1, 0, 0])
    with pytest.raises(ValueError, match="nested"):
        nbnumba.test_de(X, D, reduced_design=np.arange(60.0))
    with pytest.raises(ValueError, match="size_factors"):
        nbnumba.test_de(X, D, size_factors="ratio")
    with pytest.raises(ValueError, match="size_factors"):
        nbnumba.test_de(X, D, size_factors=-s)
    with pytest.raises(ValueError, match="cox_reid"):
        nbnumba.test_de(X, D, cox_reid=True)
    with pytest.raises(ValueError, match="2 or more columns"):
        nbnumba.test_de(X, D[:, :1])
    with pytest.raises(ValueError, match="non-negative integers"):
        nbnumba.test_de(X - 1, D)
    with pytest.raises(ValueError, match="2-D"):
        nbnumba.test_de(X[:, 0], D)
    with pytest.raises(ValueError, match="axis"):
        nbnumba.test_de(X, D, axis=2)
    with pytest.raises(ValueError, match="kind"):
        nbnumba.residuals(X, 1.0, 1.0, kind="anscombe")
    with pytest.raises(ValueError, match="clip"):
        nbnumba.residuals(X, 1.0, 1.0, clip=-1)
    with pytest.raises(ValueError, match="not both"):
        nbnumba.residuals(X, 1.0, 1.0, pi=0.1, zi_logits=0.0)
    with pytest.raises(ValueError, match="theta"):
        nbnumba.residuals(X, 1.0, np.ones(3))
    with pytest.raises(ValueError, match="integer"):
        nbnumba.residuals(X + 0.5, 1.0, 1.0, kind="quantile")
    with pytest.raises(ValueError, match="one label per cell"):
        nbnumba.pseudobulk(X, np.arange(3))


# ------------------------------------------------------------ pseudobulk

def test_pseudobulk():
    rng = np.random.default_rng(8)
    X = rng.poisson(0.5, size=(300, 20))
    sample = rng.choice(["s1", "s2", "s3"], 300)
    ctype = rng.integers(0, 2, 300)
    ref, table = nbnumba.pseudobulk(X, {"sample": sample, "cell_type": ctype})
    assert ref.dtype == np.int64 and ref.shape == (6, 20)
    for k in range(6):
        sel = (sample == table["sample"][k]) & (ctype == table["cell_type"][k])
        np.testing.assert_array_equal(ref[k], X[sel].sum(axis=0))
        assert table["n_cells"][k] == sel.sum()
    for Y, axis in ((sp.csr_matrix(X), 0), (sp.csc_matrix(X), 0), (X.T, 1)):
        got, t = nbnumba.pseudobulk(Y, [sample, ctype], axis=axis)
        np.testing.assert_array_equal(got.T if axis else got, ref)
        np.testing.assert_array_equal(t["group0"], table["sample"])
    da = pytest.importorskip("dask.array")
    got, _ = nbnumba.pseudobulk(da.from_array(X, chunks=(70, 8)), sample)
    ref1, t1 = nbnumba.pseudobulk(X, sample)
    np.testing.assert_array_equal(got.compute(), ref1)
    assert list(t1) == ["group", "n_cells"]


# ------------------------------------------------------------ residuals

def _mp_pearson(x, mu, th, pi=0.0):
    with mp.workdps(60):
        x, mu, pi = mp.mpf(x), mp.mpf(mu), mp.mpf(pi)
        v = mu if th == math.inf else mu + mu * mu / mp.mpf(th)
        mean = (1 - pi) * mu
        var = (1 - pi) * (v + pi * mu * mu) if pi else v
        return float((x - mean) / mp.sqrt(var))


def _mp_deviance(x, mu, th):
    with mp.workdps(60):
        x, mu = mp.mpf(x), mp.mpf(mu)
        t1 = x * mp.log(x / mu) if x else mp.mpf(0)
        if th == math.inf:
            d = t1 - (x - mu)
        else:
            th = mp.mpf(th)
            d = t1 - (x + th) * mp.log((x + th) / (mu + th))
        return float(mp.sign(x - mu) * mp.sqrt(2 * d))


def _grid():
    rng = np.random.default_rng(9)
    pts = []
    for mu in (1e-6, 0.01, 0.3, 1.0, 2.5, 40.0, 1e3, 1e6):
        for th in (1e-4, 0.05, 1.0, 9.0, 300.0, 1e8, math.inf):
            for x in {0, 1, 2, 7, 100, 10 ** 5, round(mu), round(mu) + 1, round(1.5 * mu),
                      round(0.5 * mu), round(3 * mu)}:
                pts.append((float(x), mu, th))
    for _ in range(300):                        # x near mu: the cancellation-prone case
        mu = 10 ** rng.uniform(-1, 5)
        pts.append((float(round(mu * (1 + rng.normal(0, 0.05)))), mu, 10 ** rng.uniform(-3, 9)))
    return np.array(pts)


def test_pearson_and_deviance_match_mpmath():
    P = _grid()
    x, mu, th = P[:, :1], P[:, 1:2], P[:, 2:]
    pr = nbnumba.residuals(x, mu, th, kind="pearson", clip=np.inf)[:, 0]
    dv = nbnumba.residuals(x, mu, th, kind="deviance")[:, 0]
    for k, (xi, mi, ti) in enumerate(P):
        ref = _mp_pearson(xi, mi, ti)
        assert pr[k] == pytest.approx(ref, rel=1e-12, abs=1e-300), (xi, mi, ti)
        ref = _mp_deviance(xi, mi, ti)
        assert dv[k] == pytest.approx(ref, rel=1e-12, abs=1e-300), (xi, mi, ti)


def test_deviance_at_extremes():
    """Ratios that overflow or underflow a double (x / mu, (x + theta) / (mu +
    theta)), theta far above or below the counts: mpmath at 1400 digits
    (1e300 + 5 exactly)."""
    pts = [(1e10, 1e-300, 1.0), (1e10, 1e-300, 1e-300), (1e300, 1e-10, 1e5), (2, 1e-320, 5.0),
           (2, 1e-320, math.inf), (1e300, 1e-10, math.inf), (1e-300, 1e300, 1.0),
           (1e-300, 1e300, 1e-300), (1e-20, 1e300, 1e300), (5, 1e-300, 1e300),
           (1e15, 1e15 + 2, 1e-5), (1e15, 1e15 + 2, 1e30), (0, 1e300, 1e-300)]
    P = np.array(pts)
    got = nbnumba.residuals(P[:, :1], P[:, 1:2], P[:, 2:], kind="deviance")[:, 0]
    for (x, mu, th), g in zip(pts, got):
        with mp.workdps(1400):
            X, M = mp.mpf(x), mp.mpf(mu)
            d = X * mp.log(X / M) if x else mp.mpf(0)
            if th == math.inf:
                d -= X - M
            else:
                d -= (X + th) * mp.log((X + th) / (M + th))
            ref = float(mp.sign(X - M) * mp.sqrt(2 * d))
        assert g == pytest.approx(ref, rel=1e-12), (x, mu, th)


def test_zinb_pearson_and_deviance_match_mpmath():
    P = _grid()[::7]
    P = np.concatenate([P, [[0.0, mu, th] for mu in (0.5, 3.0, 40.0, 1e3)    # P(0) < 1/2 too
                            for th in (0.05, 1.0, 9.0, 1e8)]])
    z = -1.3
    pi = float(special.expit(z))
    x, mu, th = P[:, :1], P[:, 1:2], P[:, 2:]
    pr = nbnumba.residuals(x, mu, th, kind="pearson", clip=np.inf, zi_logits=z)[:, 0]
    dv = nbnumba.residuals(x, mu, th, kind="deviance", zi_logits=z)[:, 0]
    pr2 = nbnumba.residuals(x, mu, th, kind="pearson", clip=np.inf, pi=pi)[:, 0]
    np.testing.assert_allclose(pr2, pr, rtol=1e-14)
    for k, (xi, mi, ti) in enumerate(P):
        with mp.workdps(60):
            pim = 1 / (1 + mp.exp(-mp.mpf(z)))
            mean = (1 - pim) * mi
        if abs(xi - float(mean)) > 1e-3 * float(mean):     # x - E x well conditioned
            ref = _mp_pearson(xi, mi, ti, pim)
            assert pr[k] == pytest.approx(ref, rel=1e-12), (xi, mi, ti)
        if xi > 0:
            ref = _mp_deviance(xi, mi, ti)
        else:
            with mp.workdps(60):
                p0 = 1.0 if ti == math.inf else (mp.mpf(ti) / (mp.mpf(ti) + mi)) ** mp.mpf(ti)
                if ti == math.inf:
                    p0 = mp.exp(-mp.mpf(mi))
                ref = -float(mp.sqrt(-2 * mp.log(pim + (1 - pim) * p0)))
        assert dv[k] == pytest.approx(ref, rel=1e-12, abs=1e-300), (xi, mi, ti)


def test_edge_values():
    r = nbnumba.residuals(np.array([[0.0, 3.0, 0.0, 2.0]]), np.array([0.0, 0.0, 2.0, 2.0]),
                          np.array([1.0, 1.0, 0.0, 0.0]), kind="deviance")
    np.testing.assert_array_equal(r, [[0.0, np.inf, 0.0, 0.0]])
    r = nbnumba.residuals(np.array([[0.0, 3.0, 0.0]]), np.array([0.0, 0.0, 2.0]),
                          np.array([1.0, 1.0, 0.0]), kind="pearson", clip=np.inf)
    np.testing.assert_array_equal(r, [[0.0, np.inf, 0.0]])
    for kind in ("pearson", "deviance"):
        r = nbnumba.residuals(np.array([[1.0, 1.0, 1.0, -1.0]]), np.array([-1.0, np.nan, 1.0, 1.0]),
                              np.array([1.0, 1.0, -2.0, 1.0]), kind=kind)
        assert np.isnan(r).all()
        r = nbnumba.residuals(np.array([[1.0, 0.0]]), 1.0, 1.0, zi_logits=np.nan, kind=kind)
        assert np.isnan(r).all()


def test_pearson_clip_is_scanpys():
    rng = np.random.default_rng(10)
    X = rng.poisson(1.0, size=(16, 30))
    X[0, 0] = 400
    tot_c, tot_g = X.sum(axis=1), X.sum(axis=0)
    mu = np.outer(tot_c, tot_g) / X.sum()
    # scanpy.experimental.pp.normalize_pearson_residuals, theta = 100
    ref = np.clip((X - mu) / np.sqrt(mu + mu ** 2 / 100), -4.0, 4.0)
    got = nbnumba.residuals(X, (tot_c / X.sum(), tot_g), 100.0)
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    assert got[0, 0] == 4.0
    assert nbnumba.residuals(X, mu, 100.0, clip=np.inf)[0, 0] > 4.0


@pytest.mark.parametrize("kind", ["pearson", "deviance", "quantile"])
@pytest.mark.parametrize("zinb", [False, True])
def test_sparse_equals_dense(kind, zinb):
    rng = np.random.default_rng(12)
    n, g = 90, 25
    s, m = np.exp(rng.normal(0, 0.4, n)), np.exp(rng.normal(0, 1.5, g))
    th = np.exp(rng.uniform(-1, 3, g))
    X = rng.poisson(np.outer(s, m) * rng.gamma(th, 1 / th, (n, g)))
    kw = dict(kind=kind, random_state=3, zi_logits=rng.normal(size=g) if zinb else None)
    ref = nbnumba.residuals(X, (s, m), th, **kw)
    assert ref.shape == (n, g) and np.isfinite(ref).all()
    for Y in (sp.csr_matrix(X), sp.csc_matrix(X)):
        np.testing.assert_array_equal(nbnumba.residuals(Y, np.outer(s, m), th, **kw), ref)
    np.testing.assert_array_equal(nbnumba.residuals(X.T, (s, m), th, axis=1, **kw).T, ref)
    da = pytest.importorskip("dask.array")
    got = nbnumba.residuals(da.from_array(X, chunks=(40, 10)), (s, m), th, **kw)
    again = nbnumba.residuals(da.from_array(X, chunks=(40, 10)), (s, m), th, **kw)
    if kind == "quantile":      # the same seed and chunks: the same residuals
        np.testing.assert_array_equal(got.compute(), again.compute())
    else:
        np.testing.assert_array_equal(got.compute(), ref)


@pytest.mark.parametrize("zinb", [False, True])
def test_quantile_residuals_are_standard_normal(zinb):
    rng = np.random.default_rng(13)
    n, g = 400, 50
    mu = np.outer(np.exp(rng.normal(0, 0.3, n)), np.exp(rng.normal(0, 1.5, g)))
    th = np.exp(rng.uniform(-1, 3, g))
    z = rng.normal(-1, 1, g) if zinb else None
    if zinb:
        X = nbnumba.zinb.rvs(mu, th, zi_logits=z, random_state=14)
    else:
        X = nbnumba.rvs(mu, th, random_state=14)
    r = nbnumba.residuals(X, mu, th, kind="quantile", zi_logits=z, random_state=15)
    assert stats.kstest(r.ravel(), "norm").pvalue > 1e-3
    np.testing.assert_array_equal(
        r, nbnumba.residuals(X, mu, th, kind="quantile", zi_logits=z, random_state=15))
    assert not np.array_equal(
        r, nbnumba.residuals(X, mu, th, kind="quantile", zi_logits=z, random_state=16))


def test_quantile_residual_within_its_cdf_interval():
    """Phi(r) in [F(x - 1), F(x)] by mpmath's cdf (regularized incomplete
    beta), in the far tails too (upper: 1 - Phi(r) in [S(x), S(x - 1)])."""
    pts = [(0, 3.0, 2.0), (5, 3.0, 2.0), (60, 3.0, 2.0), (400, 1.0, 50.0), (0, 500.0, 30.0),
           (1, 800.0, 0.5), (2, 1e-3, 1e3)]
    x = np.array([p[0] for p in pts], float)
    mu = np.array([p[1] for p in pts])
    th = np.array([p[2] for p in pts])
    r = nbnumba.residuals(x[None], mu[None], th[None], kind="quantile", random_state=1)[0]
    with mp.workdps(80):
        for (k, m, t), rk in zip(pts, r):
            p = mp.mpf(t) / (mp.mpf(t) + mp.mpf(m))
            cdf = (lambda j: mp.betainc(t, j + 1, 0, p, regularized=True) if j >= 0 else 0)
            q = mp.mpf(m) / (mp.mpf(t) + mp.mpf(m))
            sf = (lambda j: mp.betainc(j + 1, t, 0, q, regularized=True) if j >= 0 else 1)
            assert math.isfinite(rk)
            if rk <= 0:
                assert cdf(k - 1) * (1 - 1e-12) <= mp.ncdf(rk) <= cdf(k) * (1 + 1e-12)
            else:
                assert sf(k) * (1 - 1e-12) <= mp.ncdf(-rk) <= sf(k - 1) * (1 + 1e-12)

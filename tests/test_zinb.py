"""The zero-inflated NB: values against mpmath, semantics, sampling, faces."""
import math
import pathlib

import mpmath as mp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats

import nbnumba
from nbnumba import ZeroInflatedNegativeBinomial, zinb, zinbinom

REF = np.genfromtxt(pathlib.Path(__file__).parent / "data" / "reference.csv", delimiter=",",
                    names=True, dtype=None, encoding=None)
LOGITS = [-40.0, -7.0, -0.5, 0.0, 2.0, 40.0]


def mp_log_pi(z):
    """(log pi, log(1 - pi)) at 50 digits."""
    z = mp.mpf(z)
    return -mp.log1p(mp.exp(-z)), -mp.log1p(mp.exp(z))


def error(got, want):
    """Relative error, absolute where |want| < 1."""
    return abs(got - want) / max(1.0, abs(want))


@pytest.mark.parametrize("z", LOGITS)
def test_log_functions_against_mpmath(z):
    mp.mp.dps = 50
    lpi, lq = mp_log_pi(z)
    rows = REF
    k, mu, theta = rows["k"].astype(float), rows["mu"], rows["theta"]
    got = {name: getattr(zinb, name)(k, mu, theta, zi_logits=z)
           for name in ("logpmf", "logcdf", "logsf")}
    worst = {name: 0.0 for name in got}
    for i, r in enumerate(rows):
        lp, lc, ls = (mp.mpf(str(r[c])) for c in ("logpmf", "logcdf", "logsf"))
        want = {
            "logpmf": (mp.log(mp.exp(lpi) + mp.exp(lq + lp)) if r["k"] == 0 else lq + lp),
            "logcdf": mp.log(mp.exp(lpi) + mp.exp(lq + lc)),
            "logsf": lq + ls,
        }
        for name, w in want.items():
            g = got[name][i]
            assert math.isfinite(g), (name, r, z)
            worst[name] = max(worst[name], error(g, float(w)))
    assert worst["logpmf"] <= 1e-14, worst
    assert worst["logcdf"] <= 1e-13 and worst["logsf"] <= 1e-13, worst


def mp_zinb_grad(k, mu, theta, z):
    """(d_mu, d_theta, d_zi_logits) of the ZINB log-pmf at 50 digits and the
    magnitude of d_theta's terms (see helpers.mp_reference): for
    k > 0 the NB's and -pi; at 0, with f0 = p**theta and P0 = pi + (1 - pi)
    f0, w = (1 - pi) f0 / P0 times the NB's -p and log(p) + q, and pi (1 -
    pi) (1 - f0) / P0."""
    from helpers import mp_reference
    mp.mp.dps = 50
    lpi, lq = mp_log_pi(z)
    pi = mp.exp(lpi)
    if k > 0:
        (d_mu, d_theta, *_), (_, scale, *_) = mp_reference(k, mu, theta)
        return (d_mu, d_theta, float(-pi)), scale
    M, T = mp.mpf(mu), mp.mpf(theta)
    p, q = T / (T + M), M / (T + M)
    lf0 = T * mp.log(p)
    w = mp.exp(lq + lf0) / (pi + mp.exp(lq + lf0))
    return (float(-w * p), float(w * (mp.log(p) + q)),
            float(pi * mp.exp(lq) * -mp.expm1(lf0) / (pi + mp.exp(lq + lf0)))), 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_against_mpmath(dtype):
    """The kernels' fast and general paths, every count below and above
    FAST_K; at zero the weights' exponent lf0 = theta log(p) is rounded: its
    ulp bounds their relative error (as for logpmf). float32: within 1 ulp
    more (the reference is taken at the inputs rounded to float32). The
    per-column path gives the same bits."""
    pts = sorted({tuple(float(dtype(x)) for x in (k, mu, th, z))
                  for k in (0.0, 1.0, 2.0, 3.0, 12.0, 13.0, 40.0)
                  for mu in (1e-3, 0.2, 4.5, 130.0, 1e4) for th in (1e-3, 0.7, 10.0, 1e3, 1e8)
                  for z in LOGITS})
    k, mu, th, z = (np.array(c, dtype=dtype) for c in zip(*pts))
    got = zinb.logpmf_grad(k, mu, th, zi_logits=z)
    # and through the per-column tables: theta constant down the columns
    tabled = zinb.logpmf_grad(*(np.tile(a, (4, 1)) for a in (k, mu)), th, zi_logits=np.tile(z, (4, 1)))
    assert all(a.dtype == dtype for a in got + tabled)
    np.testing.assert_array_equal(np.stack([a[3] for a in tabled]), np.stack(got))
    bad = []
    for g, pt in zip(np.stack(got, axis=1), pts):
        want, scale = mp_zinb_grad(*pt)
        lf0 = pt[2] * math.log(pt[2] / (pt[2] + pt[1]))
        rel = 1e-13 + 4e-16 * abs(lf0) if pt[0] == 0 else 1e-13
        for i, (a, b) in enumerate(zip(g, want)):
            tol = (1e-12 if i == 1 else rel) * abs(b) + (1e-14 * scale if i == 1 else 0.0)
            tol += float(np.spacing(dtype(abs(b)))) if dtype == np.float32 else 0.0
            if not abs(float(a) - b) <= tol:
                bad.append((abs(float(a) - b) / tol, i, pt, a, b))
    assert not bad, sorted(bad, reverse=True)[:5]


def test_pi_zero_is_the_nb_and_pi_one_the_point_mass():
    k = np.arange(40.0)
    for name in ("logpmf", "cdf", "logsf", "ppf"):
        x = k if name != "ppf" else np.linspace(0, 1, 40)
        nb = getattr(nbnumba, name)(x, 3.0, 1.5)
        np.testing.assert_array_equal(getattr(zinb, name)(x, 3.0, 1.5, 0.0), nb)
        np.testing.assert_array_equal(getattr(zinb, name)(x, 3.0, 1.5, zi_logits=-np.inf), nb)
    np.testing.assert_array_equal(zinb.pmf(k, 3.0, 1.5, 1.0), (k == 0).astype(float))
    assert zinb.logpmf(0, 3.0, 1.5, zi_logits=40.0) == pytest.approx(-math.exp(-40.0) * (
        1 - nbnumba.pmf(0, 3.0, 1.5)), rel=1e-14)
    assert zinb.logpmf(2, 3.0, 1.5, zi_logits=40.0) == pytest.approx(
        -40.0 - math.exp(-40.0) + nbnumba.logpmf(2, 3.0, 1.5), rel=1e-15)


def test_invalid_parameters_give_nan():
    assert np.isnan(zinb.logpmf(1, 3.0, 1.5, 1.5))          # pi > 1
    assert np.isnan(zinb.cdf(1, -3.0, 1.5, 0.2))
    assert np.isnan(zinb.ppf(0.5, 3.0, 1.5, zi_logits=np.nan))
    with pytest.raises(ValueError, match="exactly one of pi and zi_logits"):
        zinb.logpmf(1, 3.0, 1.5)
    with pytest.raises(ValueError, match="exactly one of pi and zi_logits"):
        zinb.logpmf(1, 3.0, 1.5, 0.2, zi_logits=0.1)


@pytest.mark.parametrize("mu,theta,pi", [(3.0, 1.5, 0.3), (0.2, 0.1, 0.9), (50.0, 20.0, 0.05),
                                         (5.0, np.inf, 0.5)])
def test_cdf_sf_and_quantiles_are_consistent(mu, theta, pi):
    k = np.arange(0.0, 200.0)
    pmf = zinb.pmf(k, mu, theta, pi)
    np.testing.assert_allclose(zinb.cdf(k, mu, theta, pi), np.minimum(np.cumsum(pmf), 1),
                               rtol=1e-13)
    np.testing.assert_allclose(zinb.sf(k, mu, theta, pi) + zinb.cdf(k, mu, theta, pi), 1.0,
                               rtol=1e-14)
    cdf = zinb.cdf(k, mu, theta, pi)
    sf = zinb.sf(k, mu, theta, pi)
    q = np.random.default_rng(1).uniform(0, 1, 500)
    # the smallest k with cdf(k) >= q, by brute force over the same cdf
    np.testing.assert_array_equal(zinb.ppf(q, mu, theta, pi), np.searchsorted(cdf, q))
    want_isf = np.array([np.argmax(sf <= v) for v in q], dtype=float)
    np.testing.assert_array_equal(zinb.isf(q, mu, theta, pi), want_isf)
    np.testing.assert_array_equal(zinb.ppf(cdf[:30], mu, theta, pi), k[:30])
    assert zinb.ppf(0.0, mu, theta, pi) == -1.0 and zinb.ppf(1.0, mu, theta, pi) == np.inf
    assert zinb.isf(1.0, mu, theta, pi) == -1.0 and zinb.isf(0.0, mu, theta, pi) == np.inf


@pytest.mark.parametrize("mu,theta,pi", [(3.0, 1.5, 0.3), (0.2, 0.1, 0.9), (50.0, 20.0, 0.05)])
def test_samples_fit_the_pmf(mu, theta, pi):
    """Chi-square goodness of fit, fixed seed; cells with expected counts >= 20."""
    n = 200000
    x = zinb.rvs(mu, theta, pi, size=n, random_state=7)
    top = int(zinb.isf(1e-6, mu, theta, pi))
    counts = np.bincount(np.minimum(x, top), minlength=top + 1)
    p = zinb.pmf(np.arange(top + 1.0), mu, theta, pi)
    p[-1] = zinb.sf(top - 1.0, mu, theta, pi)
    keep = n * p >= 20
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(n * p[keep], n * p[~keep].sum())
    stat, pval = scipy.stats.chisquare(obs, exp * obs.sum() / exp.sum())
    assert pval > 1e-4, (stat, pval)
    # the same key gives the NB's draws where the zero inflation keeps them
    nb = nbnumba.rvs(mu, theta, size=n, random_state=7)
    assert np.all((x == nb) | (x == 0))


def test_sampler_rejects_a_wrong_pi():
    x = zinb.rvs(3.0, 1.5, 0.3, size=200000, random_state=3)
    p0 = zinb.pmf(0, 3.0, 1.5, 0.33)
    z = (np.mean(x == 0) - p0) / math.sqrt(p0 * (1 - p0) / x.size)
    assert abs(z) > 10


def test_scvi_face():
    zl = np.array([-2.0, 0.5, 3.0])
    d = ZeroInflatedNegativeBinomial(mu=np.array([1.0, 4.0, 9.0]), theta=2.0, zi_logits=zl)
    pi = 1 / (1 + np.exp(-zl))
    np.testing.assert_allclose(d.zi_probs, pi, rtol=1e-15)
    keep = 1 / (1 + np.exp(zl))         # 1 - pi, without the cancellation of 1 - pi
    np.testing.assert_allclose(d.mean, keep * d.mu, rtol=1e-15)
    # scvi-tools' variance formula
    np.testing.assert_allclose(d.variance, keep * d.mu * (d.mu + d.theta + pi * d.mu * d.theta)
                               / d.theta, rtol=1e-14)
    x = np.array([0.0, 3.0, 7.0])
    np.testing.assert_array_equal(d.log_prob(x), zinb.logpmf(x, d.mu, d.theta, zi_logits=zl))
    s = d.sample((4000,), random_state=1)
    assert s.shape == (4000, 3) and s.dtype == np.float64
    assert abs(s.mean(0) - d.mean).max() < 5 * np.sqrt(d.variance / 4000).max()
    assert d.expand((2, 3)).batch_shape == (2, 3)
    h = d.entropy()
    k = np.arange(400.0)
    for j in range(3):
        p = zinb.pmf(k, d.mu[j], d.theta[j], zi_logits=zl[j])
        assert h[j] == pytest.approx(-np.sum(p[p > 0] * np.log(p[p > 0])), rel=1e-12)
    with pytest.raises(ValueError, match="zi_logits"):
        ZeroInflatedNegativeBinomial(mu=1.0, theta=1.0)
    with pytest.raises(ValueError, match="zi_logits"):
        ZeroInflatedNegativeBinomial(mu=1.0, theta=1.0, zi_logits=np.nan, validate_args=True)


def test_scipy_face():
    f = zinbinom(mu=3.0, theta=2.0, pi=0.2)
    g = zinbinom(total_count=2.0, probs=0.6, zi_logits=math.log(0.25))
    k = np.arange(30)
    np.testing.assert_allclose(f.logpmf(k), g.logpmf(k), rtol=1e-14)
    np.testing.assert_array_equal(f.cdf(k), zinb.cdf(k, 3.0, 2.0, 0.2))
    m, v, s, kurt = f.stats("mvsk")
    kk = np.arange(2000.0)
    p = f.pmf(kk)
    mean = np.sum(kk * p)
    var = np.sum((kk - mean) ** 2 * p)
    assert m == pytest.approx(mean, rel=1e-13) and v == pytest.approx(var, rel=1e-12)
    assert s == pytest.approx(np.sum((kk - mean) ** 3 * p) / var ** 1.5, rel=1e-10)
    assert kurt == pytest.approx(np.sum((kk - mean) ** 4 * p) / var ** 2 - 3, rel=1e-10)
    assert f.moment(3) == pytest.approx(np.sum(kk ** 3 * p), rel=1e-12)
    assert f.expect(lambda x: x ** 2) == pytest.approx(np.sum(kk ** 2 * p), rel=1e-12)
    pos = p[p > 0]
    assert f.entropy() == pytest.approx(-np.sum(pos * np.log(pos)), rel=1e-12)
    assert zinbinom.cdf(3, mu=3.0, theta=2.0, pi=0.2) == f.cdf(3)
    assert isinstance(f.rvs(random_state=1), int)
    with pytest.raises(TypeError, match="keyword"):
        zinbinom(2.0, 0.5)


def test_loglik_dense_and_sparse():
    rng = np.random.default_rng(2)
    X = zinb.rvs(2.0, 1.5, 0.4, size=(300, 50), random_state=2)
    mu = rng.uniform(0.5, 4, (300, 50))
    theta = rng.uniform(0.5, 5, 50)
    zl = rng.normal(0, 1, 50)
    full = zinb.logpmf(X, mu, theta, zi_logits=zl)
    for axis in (None, 0, 1):
        want = full.sum(axis=axis)
        got = zinb.loglik(X, mu, theta, zi_logits=zl, axis=axis)
        np.testing.assert_allclose(got, want, rtol=1e-13)
        np.testing.assert_allclose(zinb.loglik(sp.csr_matrix(X), mu, theta, zi_logits=zl,
                                               axis=axis), got, rtol=1e-14)


# ------------------------------------------------------------------ issue 31

def _mp_entropy(mu, theta, z, terms):
    """The ZINB entropy by direct summation (precision to resolve 1 - P0)."""
    with mp.workdps(60 + int(-math.log10(mu)) if mu < 1 else 60):
        mu, theta, z = mp.mpf(mu), mp.mpf(theta), mp.mpf(z)
        pi = 1 / (1 + mp.exp(-z))
        h = mp.mpf(0)
        for k in range(terms):
            lf = (mp.loggamma(k + theta) - mp.loggamma(theta) - mp.loggamma(k + 1)
                  + theta * mp.log(theta / (theta + mu)) + k * mp.log(mu / (theta + mu)))
            f = (1 - pi) * mp.exp(lf) + (pi if k == 0 else 0)
            h -= f * mp.log(f)
        return float(h)


@pytest.mark.parametrize("mu,theta,z", [(1e-12, 5.0, 10.0), (1e-300, 5.0, 10.0),
                                        (1e-200, 0.1, -3.0), (1e-8, 1e-3, 30.0),
                                        (1e-5, 0.5, 3.0), (0.3, 2.0, -2.0), (2.0, 1.5, 0.0)])
def test_entropy_near_a_point_mass(mu, theta, z):
    want = _mp_entropy(mu, theta, z, 12 if mu < 1e-3 else 120)
    assert zinb.entropy(mu, theta, zi_logits=z) == pytest.approx(want, rel=2e-15)
    assert zinb.entropy(np.array([mu]), theta, zi_logits=z)[0] == pytest.approx(want, rel=2e-15)


def test_float32_pi_is_converted_in_float64():
    pi = np.float32(0.25)
    with mp.workdps(40):
        p = mp.mpf(float(pi))
        f0 = (mp.mpf(1.5) / mp.mpf(3.5)) ** mp.mpf(1.5)
        want = float(mp.log(p + (1 - p) * f0))
    got = zinb.logpmf(0, np.array(2.0), 1.5, pi)               # a float64 result
    assert got.dtype == np.float64
    assert got == pytest.approx(want, rel=1e-15)                # -0.7756066188
    assert zinb.logpmf(np.zeros(3), 2.0, 1.5, pi)[0] == pytest.approx(want, rel=1e-15)
    # float32 where every input is: the float64 logit rounded once
    got32 = zinb.logpmf(0, np.float32(2.0), np.float32(1.5), pi)
    assert got32.dtype == np.float32
    assert got32 == np.float32(zinb.logpmf(0, np.float32(2.0), np.float32(1.5),
                                           zi_logits=np.float32(math.log(1 / 3))))
    assert zinb.loglik(np.zeros((1, 1)), 2.0, 1.5, pi) == pytest.approx(want, rel=1e-15)
    # the scipy face likewise
    d = zinbinom(mu=np.array([2.0]), theta=1.5, pi=pi)
    assert d.logpmf(0)[0] == pytest.approx(want, rel=1e-15)
    assert zinbinom(mu=np.float32(2.0), theta=np.float32(1.5), pi=pi).logpmf(0).dtype == np.float32


def test_gradient_where_pi_is_one():
    for theta in (0.0, 1.5):
        for z in (math.inf, 800.0):
            got = zinb.logpmf_grad(0, 2.0, theta, zi_logits=z)
            assert [float(g) for g in got] == [0.0, 0.0, 0.0], (theta, z, got)
            assert not any(math.copysign(1, g) < 0 for g in got)


def _mp_moments(mu, theta, pi):
    """(mean, variance, skewness, excess kurtosis) of the ZINB from its raw
    moments at 80 digits."""
    with mp.workdps(80):
        mu, pi = mp.mpf(mu), mp.mpf(pi)
        x = 0 if theta == math.inf else mu / mp.mpf(theta)
        v2, v3 = mu * (1 + x), mu * (1 + x) * (1 + 2 * x)
        v4 = 3 * v2 ** 2 + v2 * (1 + 6 * x * (1 + x))
        r = [1, mu, v2 + mu ** 2, v3 + 3 * mu * v2 + mu ** 3,
             v4 + 4 * mu * v3 + 6 * mu ** 2 * v2 + mu ** 4]
        R = [(1 - pi) * m for m in r]
        c2 = R[2] - R[1] ** 2
        c3 = R[3] - 3 * R[1] * R[2] + 2 * R[1] ** 3
        c4 = R[4] - 4 * R[1] * R[3] + 6 * R[1] ** 2 * R[2] - 3 * R[1] ** 4
        return [float(v) for v in (R[1], c2, c3 / c2 ** 1.5, c4 / c2 ** 2 - 3)]


@pytest.mark.parametrize("mu,theta,pi", [(1e12, math.inf, 1e-10), (1e5, 0.01, 1e-8),
                                         (1e8, 10.0, 0.25), (1e-5, 100.0, 0.5),
                                         (3.0, 1e6, 0.999), (1e150, 1.0, 0.3),
                                         (7.0, math.inf, 0.4999), (2.0, 1.5, 0.3)])
def test_moments_keep_their_digits(mu, theta, pi):
    d = zinbinom(mu=mu, theta=theta, pi=pi)
    got = d.stats("mvsk")
    want = _mp_moments(mu, theta, pi)
    for g, w, tol in zip(got, want, (1e-15, 1e-14, 1e-13, 1e-13)):
        assert float(g) == pytest.approx(w, rel=tol), (got, want)
    if (mu, pi) == (1e12, 1e-10):
        assert float(d.var()) == pytest.approx(100999999989900.0, rel=1e-14)
    t = ZeroInflatedNegativeBinomial(mu=np.array(mu), theta=np.array(theta),
                                     zi_logits=np.array(math.log(pi) - math.log1p(-pi)))
    assert float(t.variance) == pytest.approx(want[1], rel=1e-14)


def test_extreme_quantiles_and_far_entropy_are_fast():
    """Documented NaN entropy without the walk; quantiles at the extreme
    levels within a loose budget (shared machine): the ZINB's cost is the
    NB's, not twice it."""
    import time
    n = 2000
    mu, theta = np.full(n, 1e5), np.full(n, 0.01)
    zinb.entropy(mu[:2], theta[:2], zi_logits=0.3)
    t = time.perf_counter()
    h = zinb.entropy(mu, theta, zi_logits=0.3)
    assert np.isnan(h).all()
    assert (time.perf_counter() - t) / n < 20e-6
    for f, q in ((zinb.ppf, 1 - 1e-16), (zinb.isf, 1e-300), (zinb.isf, 1e-20)):
        f(np.full(2, q), 2.0, 1.5, zi_logits=0.3)
        t = time.perf_counter()
        f(np.full(n, q), 2.0, 1.5, zi_logits=0.3)
        assert (time.perf_counter() - t) / n < 40e-6, f


@pytest.mark.parametrize("q,mu,theta,z", [(0.99999, 1e10, 1e-3, 0.3), (0.99999, 1e15, 1.5, 5.0),
                                          (1 - 1e-10, 1e5, 1e-3, 0.3), (1 - 1e-10, 1e10, 1.5, 5.0),
                                          (1 - 1e-16, 1e10, 1e-3, -3.0), (1e-300, 1e10, 1e-3, 0.3),
                                          (1e-20, 1e6, 1e6, 0.3), (1e-5, 1e15, 1e6, 5.0)])
def test_quantiles_are_exact_far_in_the_tails(q, mu, theta, z):
    """The smallest k by this distribution's own cdf / sf, where the NB
    quantile of the shifted level is off by up to thousands of counts (the
    cdf moving by less than an ulp per count)."""
    k = zinb.ppf(q, mu, theta, zi_logits=z)
    assert zinb.cdf(k, mu, theta, zi_logits=z) >= q > zinb.cdf(k - 1, mu, theta, zi_logits=z)
    k = zinb.isf(1 - q if q > 0.5 else q, mu, theta, zi_logits=z)
    s = 1 - q if q > 0.5 else q
    assert zinb.sf(k, mu, theta, zi_logits=z) <= s < zinb.sf(k - 1, mu, theta, zi_logits=z)


@pytest.mark.parametrize("mu,theta,z", [(1e-6, 1e-4, -1.3), (1e-6, 1e-4, 0.0), (1e-8, 1e-6, 3.0),
                                        (1e-8, 1e-6, -29.0), (1e-6, 1e-4, -40.0), (1e-3, 1e-2, -5.0)])
def test_log_p0_near_one(mu, theta, z):
    """log P(0) and log cdf(0) where P(0) is near 1: log1p(-(1 - pi)(1 - f0)),
    not a cancelling log-sum (relative errors were up to 1.3e-8)."""
    with mp.workdps(50):
        pi = 1 / (1 + mp.exp(-mp.mpf(z)))
        want = float(mp.log(pi + (1 - pi) * (mp.mpf(theta) / (mp.mpf(theta) + mp.mpf(mu))) ** mp.mpf(theta)))
    for got in (zinb.logpmf(0, mu, theta, zi_logits=z), zinb.logpmf(np.zeros(3), mu, theta, zi_logits=z)[0],
                zinb.logcdf(0, mu, theta, zi_logits=z),
                # the logit rows (the face given logits)
                float(ZeroInflatedNegativeBinomial(total_count=theta, logits=math.log(mu / theta),
                                                   zi_logits=z).log_prob(0.0))):
        assert abs(got - want) <= 4e-15 * abs(want), (got, want)

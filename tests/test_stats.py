"""The scipy.stats face against scipy.stats.nbinom (semantics) and mpmath."""
import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats

from nbnumba import nbinom

RNG = np.random.default_rng(11)
N = RNG.uniform(0.2, 50, 60)
P = RNG.uniform(0.05, 0.95, 60)
K = RNG.integers(0, 80, 60).astype(float)
Q = RNG.uniform(0, 1, 60)


@pytest.mark.parametrize("method", ["pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"])
def test_elementwise_methods_match_scipy(method):
    got = getattr(nbinom(N, P), method)(K)
    want = getattr(scipy.stats.nbinom(N, P), method)(K)
    # scipy's logsf near 0 is log(1 - cdf): only absolutely accurate there
    atol = 1e-15 if method.startswith("log") else 1e-300
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=atol)
    np.testing.assert_allclose(getattr(nbinom, method)(K, N, P), want, rtol=1e-11, atol=atol)


@pytest.mark.parametrize("method", ["ppf", "isf"])
def test_quantiles_match_scipy(method):
    got = getattr(nbinom(N, P), method)(Q)
    want = getattr(scipy.stats.nbinom(N, P), method)(Q)
    np.testing.assert_array_equal(got, want)


def test_loc_shifts_everything():
    f, g = nbinom(4.5, 0.3, loc=3), scipy.stats.nbinom(4.5, 0.3, loc=3)
    k = np.arange(-2, 40)
    np.testing.assert_allclose(f.pmf(k), g.pmf(k), rtol=1e-12)
    np.testing.assert_allclose(f.cdf(k), g.cdf(k), rtol=1e-12)
    np.testing.assert_array_equal(f.ppf(Q), g.ppf(Q))
    assert f.support() == g.support() and f.kwds == g.kwds == {"loc": 3}
    assert f.mean() == pytest.approx(g.mean()) and f.moment(3) == pytest.approx(g.moment(3))
    assert nbinom.pmf(5, 4.5, 0.3, 3) == pytest.approx(g.pmf(5))


def test_summaries_match_scipy():
    for n, p in [(5.0, 0.5), (0.7, 0.2), (30.0, 0.9)]:
        f, g = nbinom(n, p), scipy.stats.nbinom(n, p)
        np.testing.assert_allclose(f.stats("mvsk"), g.stats("mvsk"), rtol=1e-13)
        for m in ("mean", "var", "std", "median"):
            assert getattr(f, m)() == pytest.approx(getattr(g, m)(), rel=1e-13)
        assert f.entropy() == pytest.approx(g.entropy(), rel=1e-11)
        assert f.entropy() == pytest.approx(mp_entropy(n * (1 - p) / p, n), rel=1e-15)
        assert f.interval(0.9) == g.interval(0.9)
        for order in range(7):
            assert f.moment(order) == pytest.approx(g.moment(order), rel=1e-10)
        assert f.expect(lambda k: k ** 2) == pytest.approx(g.expect(lambda k: k ** 2), rel=1e-12)
        assert f.expect(lambda k: k, lb=2, ub=7, conditional=True) == pytest.approx(
            g.expect(lambda k: k, lb=2, ub=7, conditional=True), rel=1e-12)
        assert f.a == g.a and f.b == g.b and f.args == g.args and f.dist is nbinom


def mp_entropy(mu, theta):
    """-sum pmf log pmf at 30 digits (scipy's own sum loses ~1e-12)."""
    mp.mp.dps = 30
    mu = mp.mpf(mu)
    if theta == np.inf:
        def lp(k):
            return k * mp.log(mu) - mu - mp.loggamma(k + 1)
    else:
        t = mp.mpf(theta)

        def lp(k):
            return (mp.loggamma(k + t) - mp.loggamma(t) - mp.loggamma(k + 1)
                    + t * mp.log(t / (t + mu)) + k * mp.log(mu / (t + mu)))
    return float(mp.nsum(lambda k: -mp.exp(lp(k)) * lp(k), [0, mp.inf]))


def test_vectorised_summaries():
    f = nbinom(mu=np.array([[1.0], [20.0]]), theta=np.array([0.5, 3.0, np.inf]))
    assert f.entropy().shape == (2, 3) and f.mean().shape == (2, 3)
    want = [[mp_entropy(m, t) for t in (0.5, 3.0, np.inf)] for m in (1.0, 20.0)]
    np.testing.assert_allclose(f.entropy(), want, rtol=1e-14)
    np.testing.assert_allclose(f.moment(2), f.var() + f.mean() ** 2, rtol=1e-14)


def test_keyword_parameterizations_agree():
    mu, theta = 3.0, 1.5
    ref = nbinom(theta, theta / (theta + mu))
    k = np.arange(30)
    for f in (nbinom(mu=mu, theta=theta), nbinom(total_count=theta, probs=mu / (mu + theta)),
              nbinom(total_count=theta, logits=math.log(mu / theta)), nbinom(n=theta, p=ref.args[1])):
        np.testing.assert_allclose(f.logpmf(k), ref.logpmf(k), rtol=1e-14)
    assert nbinom.logpmf(2, mu=mu, theta=theta) == pytest.approx(ref.logpmf(2), rel=1e-15)


@pytest.mark.parametrize("kwds", [dict(mu=1.0), dict(mu=1.0, probs=0.3), dict(theta=1.0, logits=0.0),
                                  dict(total_count=1.0, probs=0.2, logits=0.1)])
def test_bad_parameter_sets_raise(kwds):
    with pytest.raises(TypeError, match="mu, theta"):
        nbinom(**kwds)


def test_positional_and_keyword_mixed_raise():
    with pytest.raises(TypeError, match="not both"):
        nbinom(5, 0.5, mu=2.0)


def test_invalid_parameters_give_nan_like_scipy():
    for n, p in [(0.0, 0.5), (-1.0, 0.5), (5.0, 0.0), (5.0, 1.5), (np.nan, 0.5)]:
        assert np.isnan(nbinom.pmf(2, n, p)) and np.isnan(scipy.stats.nbinom.pmf(2, n, p))
        assert np.isnan(nbinom(n, p).mean()) == np.isnan(scipy.stats.nbinom(n, p).mean())
    assert nbinom.pmf(0, 5, 1.0) == scipy.stats.nbinom.pmf(0, 5, 1.0) == 1.0


def test_scipy_regressions():
    # scipy ticket 1779 and gh-4029, as values
    assert np.exp(nbinom.logpmf(700, 721, 0.52)) == pytest.approx(nbinom.pmf(700, 721, 0.52), rel=1e-14)
    assert nbinom.logpmf(0, 1, 1) == 0.0


def test_far_tails_are_finite_where_scipy_gives_minus_inf():
    f = nbinom(mu=1.0, theta=1.0)
    assert np.isneginf(scipy.stats.nbinom(1.0, 0.5).logsf(2000))
    assert f.logsf(2000) == pytest.approx(2001 * math.log(0.5), rel=1e-14)   # geometric tail
    assert f.logcdf(-1) == -np.inf and np.isfinite(nbinom(mu=1e6, theta=1.0).logcdf(0))


def test_rvs_semantics():
    f = nbinom(mu=4.0, theta=2.0)
    a, b = f.rvs(size=(3, 4), random_state=5), f.rvs(size=(3, 4), random_state=5)
    assert a.dtype == np.int64 and a.shape == (3, 4)
    np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    x = f.rvs(size=200000, random_state=rng)
    assert abs(x.mean() - 4.0) < 5 * math.sqrt(12.0 / 200000)
    assert abs(x.var() - 12.0) < 0.2
    assert isinstance(nbinom.rvs(5, 0.5, random_state=np.random.RandomState(1)), (int, np.integer))
    assert (nbinom(mu=3.0, theta=np.inf).rvs(size=1000, random_state=1) >= 0).all()
    with pytest.raises(ValueError, match="random_state"):
        f.rvs(random_state="seed")


def test_float32_stays_float32():
    f = nbinom(mu=np.float32(2.0), theta=np.float32(3.0))
    assert f.logpmf(np.arange(5, dtype=np.float32)).dtype == np.float32

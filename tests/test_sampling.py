"""Philox and the NB sampler: known answers, goodness of fit, reproducibility."""
import math

import numba
import numpy as np
import pytest
import scipy.stats

import nbnumba
from nbnumba import NegativeBinomial
from nbnumba._math import random as _random
from nbnumba.sampling import draw

U = np.uint64


@pytest.mark.parametrize("ctr, key, want", [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((0xffffffff,) * 4, (0xffffffff,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))])
def test_philox_known_answers(ctr, key, want):
    """Random123's kat_vectors for philox4x32-10 (an inlined helper: called
    from compiled code, it has no Python entry point)."""
    philox = numba.njit(lambda c0, c1, c2, c3, k0, k1: _random.philox(c0, c1, c2, c3, k0, k1))
    assert tuple(int(w) for w in philox(*map(U, ctr), *map(U, key))) == want


def reference_pmf(k, mu, theta):
    """scipy's pmf (Poisson for theta >= 1e8, where NB and Poisson agree to
    O(mu / theta), far below what 1e5 draws can see)."""
    if theta >= 1e8:
        return scipy.stats.poisson.pmf(k, mu)
    return scipy.stats.nbinom.pmf(k, theta, theta / (theta + mu))


def chi2_pvalue(x, mu, theta):
    """Chi-square test of draws x against the exact pmf; bins with expected
    counts >= 20, both tails pooled into end bins."""
    n = x.size
    hi = int(scipy.stats.nbinom.isf(1e-9, theta, theta / (theta + mu))) if theta < 1e8 else \
        int(scipy.stats.poisson.isf(1e-9, mu))
    lo = int(max(0, mu - 40 * math.sqrt(mu + mu * mu / min(theta, 1e300))))
    ks = np.arange(lo, hi + 1)
    expected = n * reference_pmf(ks, mu, theta)
    observed = np.bincount(np.clip(x - lo, 0, hi - lo + 1).astype(np.int64), minlength=ks.size + 1)
    exp_full = np.append(expected, n - expected.sum())
    exp_full[0] += n * (scipy.stats.nbinom.cdf(lo - 1, theta, theta / (theta + mu)) if theta < 1e8
                        else scipy.stats.poisson.cdf(lo - 1, mu))
    # pool adjacent bins until every pooled bin expects >= 20
    obs_b, exp_b, o, e = [], [], 0.0, 0.0
    for ob, ex in zip(observed, exp_full):
        o, e = o + ob, e + ex
        if e >= 20:
            obs_b.append(o)
            exp_b.append(e)
            o = e = 0.0
    obs_b[-1] += o
    exp_b[-1] += e
    obs_b, exp_b = np.array(obs_b), np.array(exp_b)
    stat = np.sum((obs_b - exp_b) ** 2 / exp_b)
    return scipy.stats.chi2.sf(stat, max(1, obs_b.size - 1))


GRID = [(0.05, 0.5), (0.7, 0.05), (3.0, 2.0), (9.9, 1e-3), (10.5, 1e-3), (25.0, 7.0), (400.0, 0.8),
        (1e3, 100.0), (5.0, 1e12), (60.0, np.inf), (12.0, 0.3)]


@pytest.mark.parametrize("mu, theta", GRID)
def test_goodness_of_fit(mu, theta):
    x = nbnumba.rvs(mu, theta, size=100_000, random_state=20261126)
    # fixed seeds: deterministic; at 1e-6 a correct sampler fails once in a million grids
    assert chi2_pvalue(x, mu, theta) > 1e-6


@pytest.mark.parametrize("mu, theta", [(3.0, 2.0), (25.0, 7.0), (400.0, 0.8)])
def test_the_same_checks_reject_a_wrong_theta(mu, theta):
    x = nbnumba.rvs(mu, 1.1 * theta, size=100_000, random_state=1)
    assert chi2_pvalue(x, mu, theta) < 1e-6


@pytest.mark.parametrize("mu, theta", [(1e9, 3.0), (1e9, np.inf), (1e12, 50.0), (2e8, 1e-2)])
def test_huge_means_mean_and_variance(mu, theta):
    n = 200_000
    x = nbnumba.rvs(mu, theta, size=n, random_state=3).astype(float)
    var = mu + mu * mu / theta
    assert abs(x.mean() - mu) < 5 * math.sqrt(var / n)
    # variance of the sample variance ~ (kurtosis + 2) var^2 / n
    kurt = 6 / theta + 1 / mu if np.isfinite(theta) else 1 / mu
    assert abs(x.var() / var - 1) < 5 * math.sqrt((kurt + 2) / n)


def test_gamma_variates_fit():
    for a in (0.05, 0.5, 1.0, 3.7, 100.0):
        g = np.array([_random.gamma_variate(a, U(7), U(9), i) for i in range(20000)])
        x = g[:, 0] * np.exp(g[:, 1])
        assert scipy.stats.kstest(x, scipy.stats.gamma(a).cdf).pvalue > 1e-6


@numba.njit
def _scalar_draws(mu, theta, k0, k1, out):
    for i in range(out.size):
        out[i] = _random.nb_variate(mu[i], theta[i], k0, k1, i)


def test_kernel_draws_are_the_scalar_samplers_bit_for_bit():
    """The tile kernel's branch-free passes and fallbacks give nb_variate's
    draws (as the GPU kernel, which calls it), over every regime and edge."""
    rng = np.random.default_rng(0)
    n = 100_000
    mu = np.exp(rng.uniform(-8, 16, n))
    mu[::7] = rng.uniform(0, 12, mu[::7].size)
    theta = np.exp(rng.uniform(-8, 12, n))
    theta[::5] = np.inf
    theta[::11] = rng.uniform(0.5, 2, theta[::11].size)
    mu[::101], theta[::103], mu[::107], theta[::109], mu[::113] = 0.0, 0.0, np.nan, -1.0, np.inf
    k0, k1 = U(5), U(6)
    want = np.empty(n)
    _scalar_draws(mu, theta, k0, k1, want)
    np.testing.assert_array_equal(draw((mu, theta), (n,), (k0, k1), np.float64), want)
    np.testing.assert_array_equal(draw((mu.reshape(100, -1), theta.reshape(100, -1)), (100, n // 100),
                                       (k0, k1), np.float64).ravel(), want)
    big = np.where(mu <= 10.0, 20.0, mu)      # tiles with no mean <= 10 (NaN, inf kept)
    _scalar_draws(big, theta, k0, k1, want)
    np.testing.assert_array_equal(draw((big, theta), (n,), (k0, k1), np.float64), want)


def test_independence_of_neighbours_and_keys():
    x = nbnumba.rvs(5.0, 2.0, size=400_000, random_state=5).astype(float)
    y = nbnumba.rvs(5.0, 2.0, size=400_000, random_state=6).astype(float)
    bound = 5 / math.sqrt(x.size)
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < bound
    assert abs(np.corrcoef(x, y)[0, 1]) < bound


def test_same_result_for_any_thread_count_and_split():
    mu = np.linspace(0.1, 300, 60_000)
    n = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = nbnumba.rvs(mu, 2.0, random_state=11)
    finally:
        numba.set_num_threads(n)
    two = nbnumba.rvs(mu, 2.0, random_state=11)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(nbnumba.rvs(4.0, 1.0, size=1000, random_state=2)[:300],
                                  nbnumba.rvs(4.0, 1.0, size=300, random_state=2))
    np.testing.assert_array_equal(nbnumba.rvs(4.0, 1.0, size=(10, 100), random_state=2).ravel(),
                                  nbnumba.rvs(4.0, 1.0, size=1000, random_state=2))
    # a block of a larger array, by offset
    whole = draw((4.0, 1.0), (1000,), 9, np.float64)
    np.testing.assert_array_equal(draw((4.0, 1.0), (200,), 9, np.float64, offset=500), whole[500:700])


def test_limits():
    assert (nbnumba.rvs(0.0, 3.0, size=100, random_state=0) == 0).all()
    assert (nbnumba.rvs(7.0, 0.0, size=100, random_state=0) == 0).all()
    s = NegativeBinomial(mu=np.array([1.0, -1.0]), theta=1.0).sample((3,), random_state=0)
    assert np.isnan(s[:, 1]).all() and np.isfinite(s[:, 0]).all()
    with pytest.raises(ValueError, match="Domain error"):
        nbnumba.rvs(-1.0, 3.0)
    with pytest.raises(ValueError, match="Domain error"):
        nbnumba.nbinom(mu=np.inf, theta=1.0).rvs()


def test_random_state_kinds():
    g = np.random.default_rng(0)
    a, b = nbnumba.rvs(5.0, 1.0, size=50, random_state=g), nbnumba.rvs(5.0, 1.0, size=50, random_state=g)
    assert not np.array_equal(a, b)                         # the Generator advanced
    ss = np.random.SeedSequence(4)
    np.testing.assert_array_equal(nbnumba.rvs(5.0, 1.0, size=50, random_state=ss),
                                  nbnumba.rvs(5.0, 1.0, size=50, random_state=np.random.SeedSequence(4)))
    rs = np.random.RandomState(3)
    assert nbnumba.rvs(5.0, 1.0, size=5, random_state=rs).shape == (5,)
    np.random.seed(12)
    c = nbnumba.rvs(5.0, 1.0, size=5)
    np.random.seed(12)
    np.testing.assert_array_equal(c, nbnumba.rvs(5.0, 1.0, size=5))   # None: NumPy's global state
    with pytest.raises(ValueError, match="random_state"):
        nbnumba.rvs(5.0, 1.0, random_state="x")


def test_faces_use_the_sampler():
    a = nbnumba.nbinom(mu=3.0, theta=2.0).rvs(size=20, random_state=8)
    np.testing.assert_array_equal(a, nbnumba.rvs(3.0, 2.0, size=20, random_state=8))
    s = NegativeBinomial(mu=3.0, theta=2.0).sample((20,), random_state=8)
    assert s.dtype == np.float64
    np.testing.assert_array_equal(s, a)
    assert nbnumba.nbinom(3, 0.5, loc=2).rvs(size=5, random_state=1).min() >= 2


def test_draws_beyond_int64_raise_in_rvs_and_stay_floats_in_sample():
    with pytest.raises(ValueError, match="int64"):
        nbnumba.rvs(1e300, 1.0, size=10, random_state=0)
    s = NegativeBinomial(mu=1e300, theta=1.0).sample((1000,), random_state=0)
    assert np.isfinite(s).all() and (s >= 0).all()
    assert 0.5 < np.mean(s) / 1e300 < 2.0        # Gamma(1) mean 1, 1000 draws


def test_parameters_share_one_compiled_kernel():
    """Writable, read-only and broadcast parameters all reach the kernel
    read-only, and int64 and float draws share its float64 output: one
    compiled version (seconds each) serves every mix."""
    mu = np.full((3, 4), 3.0)
    ro = np.full(4, 2.0)
    ro.flags.writeable = False
    for a, b in [(mu, 2.0), (ro, mu), (mu, ro), (2.0, mu), (mu, np.float64(5.0))]:
        nbnumba.rvs(a, b, random_state=1)
    NegativeBinomial(mu=mu, theta=ro).sample(random_state=1)
    nbnumba.zinb.rvs(mu, ro, 0.3, random_state=1)
    from nbnumba._cpu.sampling import sample_tiles
    sigs = sample_tiles.signatures
    assert len(sigs) == 1 and not sigs[0][0].mutable and not sigs[0][1].mutable

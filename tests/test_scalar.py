"""The scalar core against mpmath, scipy's semantics and its own identities."""
import math

import mpmath as mp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from llvmlite import binding as llvm
from numba import njit

from helpers import rel_err
from nbnumba._math import nbinom as S

INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("name, tol", [("logpmf", 1e-14), ("logcdf", 1e-13), ("logsf", 1e-13)])
def test_reference_table(reference, name, tol):
    bad = []
    for r in reference:
        got = getattr(S, name)(r["k"], r["mu"], r["theta"])
        if rel_err(got, r[name]) > tol:
            bad.append((r["k"], r["mu"], r["theta"], got, r[name]))
    assert not bad, f"{len(bad)} values off, e.g. {bad[:5]}"


def test_reference_covers_regimes(reference):
    mus = [r["mu"] for r in reference]
    thetas = [r["theta"] for r in reference]
    assert min(thetas) <= 1e-8 and INF in thetas and max(mus) >= 1e7
    assert max(r["k"] for r in reference) >= 1e7
    assert min(r["logsf"] for r in reference) < -700      # sf far below 1e-300
    assert min(r["logcdf"] for r in reference) < -700


def test_pmf_cdf_sf_consistent(reference):
    for r in reference[::7]:
        k, mu, th = r["k"], r["mu"], r["theta"]
        assert rel_err(S.pmf(k, mu, th), math.exp(r["logpmf"])) < 1e-12
        c, s = S.cdf(k, mu, th), S.sf(k, mu, th)
        assert abs(c - math.exp(r["logcdf"])) <= 1e-13 * max(math.exp(r["logcdf"]), 1e-300) + 1e-16
        assert abs(s - math.exp(r["logsf"])) <= 1e-12 * max(math.exp(r["logsf"]), 1e-300) + 1e-16
        assert abs(c + s - 1.0) <= 1e-14


# ------------------------------------------------------------------ semantics
@pytest.mark.parametrize("mu, theta", [(-1.0, 1.0), (1.0, -1.0), (NAN, 1.0), (1.0, NAN), (INF, 1.0)])
def test_invalid_parameters_give_nan(mu, theta):
    for f in (S.logpmf, S.pmf, S.cdf, S.sf, S.logcdf, S.logsf):
        assert math.isnan(f(1.0, mu, theta))
    for f in (S.ppf, S.isf):
        assert math.isnan(f(0.5, mu, theta))


def test_nan_argument():
    for f in (S.logpmf, S.pmf, S.cdf, S.sf, S.logcdf, S.logsf, S.ppf, S.isf):
        assert math.isnan(f(NAN, 2.0, 3.0))


@pytest.mark.parametrize("k", [-1.0, -0.5, 2.5, 1e-9 + 3, INF])
def test_outside_support(k):
    assert S.logpmf(k, 2.0, 3.0) == -INF and S.pmf(k, 2.0, 3.0) == 0.0


def test_cdf_floor_and_negative_k():
    n, p = 3.0, 3.0 / 5.0
    for k in [-3.0, -0.5, 0.0, 0.5, 2.7, 10.2, INF]:
        assert S.cdf(k, 2.0, 3.0) == pytest.approx(scipy.stats.nbinom.cdf(k, n, p), rel=1e-14, abs=0)
        assert S.sf(k, 2.0, 3.0) == pytest.approx(scipy.stats.nbinom.sf(k, n, p), rel=1e-13, abs=0)
    assert S.logcdf(-1.0, 2.0, 3.0) == -INF and S.logsf(-1.0, 2.0, 3.0) == 0.0


def test_ppf_isf_edges():
    assert S.ppf(0.0, 2.0, 3.0) == -1.0 and S.ppf(1.0, 2.0, 3.0) == INF
    assert S.isf(1.0, 2.0, 3.0) == -1.0 and S.isf(0.0, 2.0, 3.0) == INF
    for q in (-0.1, 1.1, NAN):
        assert math.isnan(S.ppf(q, 2.0, 3.0)) and math.isnan(S.isf(q, 2.0, 3.0))


@pytest.mark.parametrize("mu, theta", [(0.0, 3.0), (0.0, 0.0), (5.0, 0.0), (0.0, INF)])
def test_point_mass_at_zero(mu, theta):
    assert S.logpmf(0.0, mu, theta) == 0.0 and S.logpmf(1.0, mu, theta) == -INF
    assert S.cdf(0.0, mu, theta) == 1.0 and S.sf(0.0, mu, theta) == 0.0
    assert S.ppf(0.3, mu, theta) == 0.0 and S.isf(0.3, mu, theta) == 0.0


def test_theta_inf_is_poisson():
    for k in [0.0, 1.0, 7.0, 30.0, 400.0]:
        for mu in [0.3, 7.0, 250.0]:
            want = scipy.stats.poisson.logpmf(k, mu)
            assert S.logpmf(k, mu, INF) == pytest.approx(want, rel=1e-13)
            assert S.cdf(k, mu, INF) == pytest.approx(scipy.stats.poisson.cdf(k, mu), rel=1e-12)


def test_tiny_theta_goes_to_point_mass():
    assert S.pmf(0.0, 5.0, 1e-300) == pytest.approx(1.0, abs=1e-296)
    assert S.sf(0.0, 5.0, 1e-300) == pytest.approx(1e-300 * math.log(5e300), rel=1e-13)


# ----------------------------------------------------------------- quantiles
@pytest.mark.parametrize("mu, theta", [(0.5, 2.0), (3.0, 0.3), (40.0, 5.0), (1e4, 20.0),
                                       (2.0, INF), (1e6, 1e3), (5.0, 1e-4)])
def test_ppf_isf_invert_cdf_sf(mu, theta):
    m, s = mu, math.sqrt(mu + mu * mu / theta)
    ks = sorted({max(0.0, math.floor(m + z * s)) for z in (-3, -1, -0.3, 0, 0.4, 1, 2.5, 6)})
    for k in ks:
        c = S.cdf(k, mu, theta)
        if S.pmf(k, mu, theta) > 1e-12 * c:     # else cdf(k - 1) == cdf(k)
            assert S.ppf(c, mu, theta) == k
        s_ = S.sf(k, mu, theta)
        if S.pmf(k, mu, theta) > 1e-12 * s_ and s_ > 0:
            assert S.isf(s_, mu, theta) == k


@settings(max_examples=300, deadline=None)
@given(q=st.floats(1e-12, 1 - 1e-12), mu=st.floats(1e-3, 1e5), theta=st.floats(1e-2, 1e4))
def test_ppf_is_smallest_k(q, mu, theta):
    k = S.ppf(q, mu, theta)
    assert k >= 0 and k == math.floor(k)
    assert S.cdf(k, mu, theta) >= q
    assert k == 0 or S.cdf(k - 1, mu, theta) < q
    j = S.isf(q, mu, theta)
    assert S.sf(j, mu, theta) <= q and (j == 0 or S.sf(j - 1, mu, theta) > q)


# ---------------------------------------------------------------- properties
@settings(max_examples=300, deadline=None)
@given(k=st.integers(0, 10**6), mu=st.floats(1e-4, 1e6), theta=st.floats(1e-6, 1e12))
def test_cdf_plus_sf_and_monotone(k, mu, theta):
    k = float(k)
    c, s = S.cdf(k, mu, theta), S.sf(k, mu, theta)
    assert abs(c + s - 1.0) <= 4e-15 + 1e-13 * min(c, s)
    assert S.cdf(k + 1, mu, theta) >= c
    assert S.logcdf(k, mu, theta) <= 0.0 and S.logsf(k, mu, theta) <= 0.0


@pytest.mark.parametrize("mu, theta", [(0.3, 0.05), (4.0, 2.0), (60.0, 1e8), (12.0, INF)])
def test_pmf_sums_to_one(mu, theta):
    total = math.fsum(S.pmf(float(k), mu, theta) for k in range(20000))
    assert total == pytest.approx(1.0, abs=1e-13)


# -------------------------------------------------------------- vs scipy
def test_agrees_with_scipy_where_scipy_is_accurate():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        mu = 10 ** rng.uniform(-2, 3)
        theta = 10 ** rng.uniform(-1, 2)
        k = float(rng.integers(0, int(3 * mu + 10)))
        n, p = theta, theta / (theta + mu)
        assert S.logpmf(k, mu, theta) == pytest.approx(scipy.stats.nbinom.logpmf(k, n, p), rel=1e-11, abs=1e-11)
        assert S.cdf(k, mu, theta) == pytest.approx(scipy.stats.nbinom.cdf(k, n, p), rel=1e-11, abs=1e-14)


def test_poisson_limit_beats_scipy():
    """scipy is off by O(1) in log space here; mpmath says we are exact."""
    k, mu, theta = 40.0, 10.0, 1e16
    mp.mp.dps = 50
    ref = float(40 * mp.log(10) - 10 - mp.loggamma(41))   # the Poisson limit
    assert rel_err(S.logpmf(k, mu, theta), ref) < 1e-14
    assert abs(scipy.stats.nbinom.logpmf(k, theta, theta / (theta + mu)) - ref) > 1e-6


@pytest.mark.parametrize("k, mu, theta", [(48715480.0, 82289886.5546966, 1.632953047446655e-05),
                                          (1758870.0, 254.15002652177125, 1.526552135101019e-09),
                                          (16426723737.0, 12420500.985729365, 2.65794782968172e-09)])
def test_tiny_theta_huge_counts_stay_finite(k, mu, theta):
    """Found by a random sweep: every direct method hits its loop bound here;
    the complement of the other tail stands in (absolutely accurate)."""
    c, s = S.cdf(k, mu, theta), S.sf(k, mu, theta)
    assert math.isfinite(S.logcdf(k, mu, theta)) and math.isfinite(S.logsf(k, mu, theta))
    assert 0.0 <= s <= 1.0 and abs(c + s - 1.0) < 1e-14


def test_tiny_theta_huge_count_absolute_accuracy():
    # reference: the positive series of _log_upper_series summed to all 1.76e6 terms
    k, mu, theta = 1758870.0, 254.15002652177125, 1.526552135101019e-09
    x = mu / theta
    q = x / (1 + x)
    j = np.arange(2, int(k) + 1, dtype=float)
    u = math.fsum(np.concatenate([[q], q * np.cumprod((theta + (j - 1)) * q / j)]))
    log_p0 = njit(lambda m, t: S._log_p0(m, t))     # private: no Python entry point
    sf = -math.expm1(log_p0(mu, theta) + math.log1p(theta * u))
    assert abs(S.sf(k, mu, theta) - sf) < 1e-14


@pytest.mark.parametrize("q, mu, theta", [(0.9316419669378844, 1077029.6821088218, 3.6529102012309693e-08),
                                          (0.24839045617701083, 2605595.6188085363, 4.4996986677901996e-09),
                                          (0.37884982929623023, 212175644.68252277, 2.3298881365033307e-05)])
def test_isf_tiny_theta_huge_mean(q, mu, theta):
    """Found by a random sweep: sf near the mean was NaN here, so isf overshot."""
    k = S.isf(q, mu, theta)
    assert S.sf(k, mu, theta) <= q and (k == 0 or S.sf(k - 1, mu, theta) > q)
    assert math.isfinite(S.logsf(math.floor(mu), mu, theta))


def test_counts_beyond_int64():
    """Numba's math.floor returns int64: every floor here must stay float."""
    k, mu = 1e20, 1e20
    assert S.logpmf(k, mu, math.inf) == pytest.approx(-0.5 * math.log(2 * math.pi * k), rel=1e-9)
    assert 0.36 < S.sf(k, mu, 1.0) < 0.37            # geometric-like: (1 - 1/(1 + mu))**(k + 1)
    assert S.ppf(0.5, 1e20, 10.0) > 9e19


def test_no_hang_beyond_2_53():
    """Loops count iterations: beyond 2**53, j - 1 == j. The Poisson bulk at
    mu = 1e20 is beyond every method's bound: NaN, promptly, never a hang."""
    assert math.isnan(S.cdf(1e20, 1e20, math.inf)) or 0.4 < S.cdf(1e20, 1e20, math.inf) < 0.6
    assert math.isnan(S.entropy(1e20, 1e3))


def test_fast_log_exp_within_1_ulp():
    """The branch-free log and exp of the common path, against mpmath."""

    from nbnumba._math.special import exp_fast, log_fast
    mp.mp.dps = 40
    rng = np.random.default_rng(5)
    xs = np.concatenate([np.exp(rng.uniform(-700, 700, 3000)), 1 + rng.uniform(-0.3, 0.45, 3000),
                         [2.2250738585072014e-308, 1.0, 2.0, 0.5, 1.7976931348623157e308]])
    es = np.concatenate([rng.uniform(-708, 709, 3000), rng.uniform(-1, 1, 3000), [-708.0, 0.0, 709.0]])
    log = njit(lambda x: log_fast(x))
    exp = njit(lambda x: exp_fast(x))
    for f, ref, args in ((log, mp.log, xs), (exp, mp.exp, es)):
        for x in args:
            exact = float(ref(mp.mpf(float(x))))
            assert abs(f(x) - exact) <= np.spacing(abs(exact)), (f, x)


def test_int_to_float_exact():
    """The conversion of the SIMD loops equals float(n) wherever it is used."""

    from nbnumba._math.special import int_to_float
    conv = njit(lambda n: int_to_float(n))
    rng = np.random.default_rng(4)
    ns = np.concatenate([rng.integers(-2 ** 51 + 1, 2 ** 51, 3000), rng.integers(-3000, 3000, 3000),
                         [0, 1, -1, 2 ** 32 - 1, 2 ** 51 - 1, -2 ** 51 + 1]])
    for n in ns:
        assert conv(np.int64(n)) == float(n), n


def test_sampler_cos_and_log_factorial():
    """The branch-free cos(2 pi x) of the normals and log(k!) of the PTRS
    acceptance test, against mpmath."""

    from nbnumba._math.special import cos_2pi, log_factorial
    mp.mp.dps = 40
    cos = njit(lambda x: cos_2pi(x))
    lf = njit(lambda k: log_factorial(k))
    for x in np.concatenate([np.random.default_rng(6).uniform(0, 1, 3000),
                             [0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 2.0 ** -33]]):
        assert abs(cos(x) - float(mp.cos(2 * mp.pi * mp.mpf(float(x))))) <= 2.3e-16, x
    for k in list(range(40)) + [100.0, 12345.0, 1e6, 3e9]:
        exact = float(mp.loggamma(mp.mpf(k) + 1))
        assert abs(lf(float(k)) - exact) <= 4 * np.spacing(max(exact, 1.0)), k


@pytest.mark.skipif("+avx512f" not in llvm.get_host_cpu_features().flatten().split(","),
                    reason="the CPU has no AVX-512")
def test_wide_vectors_gives_512_bit_loops():
    """wide_vectors makes LLVM vectorize its caller's loops with zmm registers."""

    from nbnumba._math.compile import wide_vectors

    @njit(error_model="numpy")
    def twice(x):
        wide_vectors()
        for i in range(x.size):
            x[i] = 2.0 * x[i] + 1.0

    x = np.arange(100.0)
    twice(x)
    assert np.array_equal(x, 2.0 * np.arange(100.0) + 1.0)
    assert "zmm" in twice.inspect_asm(twice.signatures[0])


def test_short_product_stays_normal():
    """k = 32 at mu = 1e-9: the product underflows to subnormals; the saddle
    point takes over (the log of a subnormal loses digits)."""
    mp.mp.dps = 40
    for k, mu, theta in ((32.0, 1e-9, 1e12), (32.0, 2e-9, math.inf), (8.0, 1e-9, 1.0)):
        K, M = mp.mpf(k), mp.mpf(mu)
        if theta == INF:
            exact = K * mp.log(M) - M - mp.loggamma(K + 1)
        else:
            T = mp.mpf(theta)
            exact = (mp.loggamma(K + T) - mp.loggamma(T) - mp.loggamma(K + 1)
                     + T * mp.log(T / (T + M)) + K * mp.log(M / (T + M)))
        assert rel_err(S.logpmf(k, mu, theta), float(exact)) < 1e-14


@pytest.mark.parametrize("q", [0.025, 0.5, 0.975])
def test_quantiles_beyond_reach_are_nan_not_wrong(q):
    """The Poisson-like bulk at mean 1e12 is beyond the cdf's methods (NaN):
    quantiles are then NaN, never a bracket built on NaN comparisons. At 1e9
    they are exact (normal approximation as a sanity bound)."""
    z = {0.025: -1.959963984540054, 0.5: 0.0, 0.975: 1.959963984540054}[q]
    for f in (S.ppf, S.isf):
        r = f(q, 1e12, math.inf)
        assert math.isnan(r) or abs(r - 1e12 - (z if f is S.ppf else -z) * 1e6) < 10
        r = f(q, 1e9, math.inf)
        assert abs(r - 1e9 - (z if f is S.ppf else -z) * 31622.78) < 3

"""Derivatives of the log-pmf in (mu, theta) against mpmath, and their edge cases."""
import itertools
import math
import types
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest

import nbnumba

from helpers import _float, mp_reference, rel_err
from nbnumba._math.derivatives import d2lgamma_ratio, dlgamma_ratio, logpmf_grad, logpmf_hess

INF, NAN = math.inf, math.nan
NAMES = ("d_mu", "d_theta", "d_mu_mu", "d_mu_theta", "d_theta_theta")
#: relative tolerance of each derivative
REL = (1e-13, 1e-12, 1e-10, 1e-10, 1e-10)
#: absolute tolerance, in units of the magnitude of the terms (see mp_reference)
TERMS = 1e-14


def _errors(points):
    """Points whose derivatives miss the tolerances: (error / tolerance, name, point, got, want)."""
    bad = []
    for k, mu, theta in points:
        got = logpmf_grad(k, mu, theta) + logpmf_hess(k, mu, theta)
        want, scales = mp_reference(k, mu, theta)
        for name, g, w, s, rel in zip(NAMES, got, want, scales, REL):
            if g == w:
                continue
            # plus an ulp of w: subnormal values have fewer digits
            tol = rel * abs(w) + TERMS * s + (math.ulp(w) if math.isfinite(w) else 0.0)
            if not (abs(g - w) <= tol):
                bad.append((abs(g - w) / tol, name, (k, mu, theta), g, w))
    return sorted(bad, reverse=True)


def _counts(mu):
    """Counts around mu and in both tails, the small-count branches and the
    boundaries of the finite sums."""
    m = int(mu)
    return sorted({0.0, 1.0, 2.0, 3.0, 10.0, 11.0, float(m), m + 1.0, 3.0 * m + 5.0,
                   float(max(m // 10, 0))})


def _grid(thetas, mus):
    return [(k, mu, th) for th, mu in itertools.product(thetas, mus) for k in _counts(mu)]


REGIMES = {
    "typical": _grid([1e-3, 0.04, 0.7, 3.0, 9.99, 10.0, 57.0, 1e3, 1e6],
                     [1e-3, 0.2, 4.5, 130.0, 1e4]),
    "poisson": _grid([1e6, 3e7, 1e10, 1e12, 1e15], [1e-3, 0.6, 12.0, 900.0, 1e4]),
    "tiny_theta": _grid([1e-8, 1e-6, 3e-5, 1e-3], [1e-3, 0.5, 40.0, 1e4]),
    "huge_counts": [(math.floor(f * mu), mu, th)
                    for th, mu, f in itertools.product([0.02, 1.0, 25.0, 1e4, 1e8], [1e5, 3e6, 1e9],
                                                       [0.0, 0.5, 0.999, 1.0, 1.001, 2.0])]
    + [(k, mu, th) for th, k, mu in itertools.product([0.3, 9.5, 1e3, 1e9],
                                                      [1e5, 1e9], [1e-3, 1.0, 30.0])],
    # the ends of the double range, where values may overflow (then to the
    # reference's infinity) or underflow
    "extremes": [(k, mu, th) for th, mu, k in itertools.product(
        [1e-300, 1e-285, 1e-20, 1e300], [1e-300, 1e-180, 1.0, 1e15],
        [0.0, 1.0, 2.0, 1e9])
        if not (th < 1e-154 and mu < 1e-154 and k >= 2)]    # see test_overflow_to_nan
    # the lower end of the fast path's theta range, where theta / (mu (theta
    # + mu)) is subnormal
    + [(8.0, 8.5e14, 5e-285), (12.0, 1e15, 2e-278)],
}


@pytest.mark.parametrize("regime", REGIMES)
def test_against_mpmath(regime):
    bad = _errors(REGIMES[regime])
    assert not bad, f"{len(bad)} values off, worst (error / tolerance, ...): {bad[:5]}"


def _float32_points():
    """The points of the regimes inside float32's range, their inputs rounded
    to float32 (the reference is taken at the rounded inputs)."""
    pts = {tuple(float(np.float32(x)) for x in pt) for regime in ("typical", "poisson", "tiny_theta")
           for pt in REGIMES[regime]}
    return sorted(pt for pt in pts if pt[1] > 0 and pt[2] > 0 and pt[0] < 2**24)


def test_float32_within_one_ulp():
    """float32 arrays give float32 gradients within 1 ulp of the exact
    value (the kernels compute in float64 and round once), on the plain
    fast path (1-D) and on the per-column tables (theta constant down the
    columns of a 2-D call); near d_theta's zeros, plus TERMS times its
    terms, as in float64."""
    pts = _float32_points()
    k, mu, theta = (np.array(c, dtype=np.float32) for c in zip(*pts))
    flat = nbnumba.logpmf_grad(k, mu, theta)
    tabled = nbnumba.logpmf_grad(np.tile(k, (4, 1)), np.tile(mu, (4, 1)), theta)
    assert all(a.dtype == np.float32 for a in flat + tabled)
    bad = []
    for i, pt in enumerate(pts):
        want, scales = mp_reference(*pt)
        for name, got, w, s in zip(("d_mu", "d_theta", "d_mu, tables", "d_theta, tables"),
                                   (flat[0][i], flat[1][i], tabled[0][3, i], tabled[1][3, i]),
                                   2 * want[:2], 2 * scales[:2]):
            tol = np.spacing(np.float32(abs(w))) + TERMS * s
            if not abs(float(got) - w) <= tol:
                bad.append((abs(float(got) - w) / tol, name, pt, got, w))
    assert not bad, f"{len(bad)} values off, worst (error / tolerance, ...): {sorted(bad, reverse=True)[:5]}"


def test_reference_table_points(reference_rows):
    """The (k, mu, theta) of tests/data/reference.csv; theta = inf: the
    Poisson derivatives, exactly."""
    finite = [r for r in reference_rows if r[2] < INF]
    bad = _errors(finite)
    assert not bad, f"{len(bad)} values off, worst (error / tolerance, ...): {bad[:5]}"
    for k, mu, theta in reference_rows:
        if theta == INF:
            want = (float(Fraction(k) / Fraction(mu) - 1), 0.0,
                    float(-Fraction(k) / Fraction(mu)**2), 0.0, 0.0)
            got = logpmf_grad(k, mu, theta) + logpmf_hess(k, mu, theta)
            assert all(rel_err(g, w) <= 1e-15 * max(abs(w), 1.0) for g, w in zip(got, want))


@pytest.fixture
def reference_rows(reference):
    return [(r["k"], r["mu"], r["theta"]) for r in reference]


def test_reference_is_the_derivative():
    """mp_reference()'s closed forms against mpmath.diff of the log-pmf itself."""
    orders = [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    for k, mu, theta in [(0, 0.7, 3.0), (1, 2.5, 0.04), (7, 3.2, 12.0), (40, 25.0, 1e3), (3, 1e-3, 1e-3)]:
        want, _ = mp_reference(k, mu, theta)
        with mp.workdps(50):
            def logpmf(m, t):
                return (mp.loggamma(k + t) - mp.loggamma(t) - mp.loggamma(k + 1)
                        + t * mp.log(t / (t + m)) + k * mp.log(m / (t + m)))
            for order, w in zip(orders, want):
                assert rel_err(float(mp.diff(logpmf, (mu, theta), order)), w) <= 1e-15 * max(abs(w), 1.0)


@pytest.mark.parametrize("mu", [1e-300, 1e-12, 1e-6, 1e-3, 0.1, 1.0, 3.0, 1e15])
def test_count_one_small_mu(mu):
    """k = 1: d_theta and d_theta_theta vanish as mu -> 0 (log pmf(1) =
    log(theta) + theta log(p) + log(q)), where dlgamma_ratio and log1pmx
    cancel; their own form keeps them relative (no terms bound here; mu = 2,
    a zero of both in the Poisson limit, is left out)."""
    for theta in [1e-300, 1e-8, 1e-3, 0.5, 9.9, 10.0, 1e3, 1e6, 1e12, 1e100, 1e300]:
        got = logpmf_grad(1.0, mu, theta) + logpmf_hess(1.0, mu, theta)
        want, _ = mp_reference(1.0, mu, theta)
        for g, w, rel in zip(got, want, REL):
            assert g == w or abs(g - w) <= rel * abs(w), (mu, theta, got, want)


def test_d_theta_poisson_series():
    """d_theta = (k - d**2) / (2 theta**2) + (k/6 - k**2/2 + mu d**2 + d**3/3)
    / theta**3 + O(theta**-4), d = k - mu. At theta = 1e10 the second term
    is 2.4e-10 of the first, so it is included; without it, at 1e14."""
    k, mu = 3.0, 2.5
    d = k - mu
    theta = 1e10
    series = (k - d * d) / (2 * theta**2) + (k / 6 - k * k / 2 + mu * d * d + d**3 / 3) / theta**3
    assert abs(logpmf_grad(k, mu, theta)[1] / series - 1.0) <= 1e-12
    theta = 1e14
    assert abs(logpmf_grad(k, mu, theta)[1] / ((k - d * d) / (2 * theta**2)) - 1.0) <= 1e-12


@pytest.mark.parametrize("k", [1.0, 2.0, 9.0, 10.0, 11.0, 64.0, 65.0, 1000.0, 1e9, 2.0**60])
def test_lgamma_ratios(k):
    """dlgamma_ratio and d2lgamma_ratio are sums of terms of one sign: a
    few ulp everywhere, across the steps up to 10 and the series."""
    for theta in [1e-300, 1e-8, 0.3, 1.0, 5.5, 9.4999, 9.5, 9.99999, 10.0, 10.0001, 15.0,
                  1e3, 1e10, 1e15, 1e100, 1e300]:
        dps = 40 + int(2 * abs(math.log10(theta)) + math.log10(k + 1))
        with mp.workdps(dps):
            K, T = mp.mpf(k), mp.mpf(theta)
            D = mp.psi(0, K + T) - mp.psi(0, T) - mp.log1p(K / T)
            G = mp.psi(1, K + T) - mp.psi(1, T) + K / (T * (K + T))
        for got, want in ((dlgamma_ratio(k, theta), _float(D)), (d2lgamma_ratio(k, theta), _float(G))):
            assert got == want or abs(got - want) <= 2e-15 * abs(want), (theta, got, want)


# ------------------------------------------------------------------ edges
@pytest.mark.parametrize("k, mu, theta", [
    (1.0, -1.0, 3.0), (1.0, 2.0, -1.0), (1.0, NAN, 3.0), (1.0, 2.0, NAN), (1.0, INF, 3.0),
    (-1.0, 2.0, 3.0), (1.5, 2.0, 3.0), (NAN, 2.0, 3.0), (INF, 2.0, 3.0),
    (1.0, 0.0, 3.0), (2.0, 0.0, INF), (1.0, 2.0, 0.0), (0.0, 0.0, 0.0)])
def test_undefined_is_nan(k, mu, theta):
    assert all(math.isnan(x) for x in logpmf_grad(k, mu, theta) + logpmf_hess(k, mu, theta))


@pytest.mark.parametrize("theta", [1e-300, 0.3, 1e300, INF])
def test_mu_zero(theta):
    """log pmf(0) = -theta log1p(mu / theta): d_mu = -1, d_mu_mu = 1/theta,
    the limits of mu -> 0."""
    assert logpmf_grad(0.0, 0.0, theta) == (-1.0, 0.0)
    assert logpmf_hess(0.0, 0.0, theta) == (1.0 / theta, 0.0, 0.0)
    d_mu, d_theta = logpmf_grad(0.0, 1e-17 * theta if theta < INF else 1e-300, theta)
    assert abs(d_mu + 1.0) <= 1e-16 and abs(d_theta) <= 1e-33


@pytest.mark.parametrize("k, mu", [(0.0, 2.5), (3.0, 2.5), (1.0, 1e-3), (1e9, 1e15)])
def test_theta_inf_is_poisson(k, mu):
    assert logpmf_grad(k, mu, INF) == ((k - mu) / mu, 0.0)
    d_mu_mu, d_mu_theta, d_theta_theta = logpmf_hess(k, mu, INF)
    assert abs(d_mu_mu + k / mu**2) <= 4e-16 * k / mu**2
    assert d_mu_theta == 0.0 and d_theta_theta == 0.0
    # and the limit of theta -> inf
    near = logpmf_grad(k, mu, 1e300) + logpmf_hess(k, mu, 1e300)
    at = logpmf_grad(k, mu, INF) + logpmf_hess(k, mu, INF)
    assert all(abs(a - n) <= 1e-15 * abs(a) + 1e-280 for a, n in zip(at, near))


@pytest.mark.parametrize("mu", [1e-5, 0.5, 1e15])
def test_theta_zero_point_mass(mu):
    """The point mass at 0: d_mu = d_mu_mu = 0, d_mu_theta = -1/mu, and the
    limits d_theta -> -inf, d_theta_theta -> inf of theta -> 0."""
    assert logpmf_grad(0.0, mu, 0.0) == (0.0, -INF)
    assert logpmf_hess(0.0, mu, 0.0) == (0.0, -1.0 / mu, INF)
    d_mu, d_theta = logpmf_grad(0.0, mu, 1e-300)
    d_mu_mu, d_mu_theta, d_theta_theta = logpmf_hess(0.0, mu, 1e-300)
    assert abs(d_mu) <= 1e-290 and d_theta < -600.0
    assert abs(d_mu_mu) <= 1e-290 and abs(d_mu_theta * mu + 1.0) <= 1e-15 and d_theta_theta > 1e290


def test_lgamma_ratio_edges():
    for f in (dlgamma_ratio, d2lgamma_ratio):
        assert f(0.0, 0.0) == 0.0 and f(0.0, 2.0) == 0.0 and f(3.0, INF) == 0.0
        for k, theta in [(-1.0, 2.0), (1.5, 2.0), (INF, 2.0), (NAN, 2.0), (1.0, -1.0), (1.0, NAN)]:
            assert math.isnan(f(k, theta))
    assert dlgamma_ratio(3.0, 0.0) == INF and d2lgamma_ratio(3.0, 0.0) == -INF


def test_overflow_to_nan():
    """theta and mu both below ~1e-154, k >= 2: d_theta_theta's two terms
    overflow with opposite signs (documented NaN); the rest is exact."""
    got = logpmf_grad(2.0, 1e-300, 1e-300) + logpmf_hess(2.0, 1e-300, 1e-300)
    assert abs(got[0] / 1e300 - 1.0) <= 1e-15
    assert got[2] == -INF and got[3] == INF and math.isnan(got[4])


def test_integer_arguments():
    assert logpmf_grad(3, 2, 5) == logpmf_grad(3.0, 2.0, 5.0)
    assert logpmf_hess(3, 2, 5) == logpmf_hess(3.0, 2.0, 5.0)
    assert dlgamma_ratio(3, 2) == dlgamma_ratio(3.0, 2.0)


def test_compiles_for_cuda(monkeypatch):
    """Every function compiles to PTX (as in test_gpu_ptx, without a GPU)."""
    pytest.importorskip("numba_cuda")
    import numba.cuda.dispatcher
    from numba import cuda, float64
    monkeypatch.setattr(numba.cuda.dispatcher, "get_current_device",
                        lambda: types.SimpleNamespace(compute_capability=(8, 0)))

    def kernel(k, mu, theta, out):
        i = cuda.grid(1)
        if i < k.shape[0]:
            g = logpmf_grad(k[i], mu[i], theta[i])
            h = logpmf_hess(k[i], mu[i], theta[i])
            out[i, 0] = g[0] + g[1] + h[0] + h[1] + h[2]
            out[i, 1] = dlgamma_ratio(k[i], theta[i]) + d2lgamma_ratio(k[i], theta[i])

    a = float64[:]
    ptx, _ = cuda.compile_ptx(kernel, (a, a, a, float64[:, :]), cc=(8, 0))
    assert ".target sm_80" in ptx and ".entry" in ptx


def _mp_d_theta_theta_k1(mu, theta):
    """d2/dtheta2 of log pmf(1) = mu (theta (mu - 2) - mu) / (theta (theta + mu))**2, exact."""
    with mp.workdps(60):
        mu, theta = mp.mpf(mu), mp.mpf(theta)
        return _float(mu * (theta * (mu - 2) - mu) / (theta * (theta + mu)) ** 2)


@pytest.mark.parametrize("mu,theta,want", [(1e300, 1e-10, -9.999999999e19),
                                           (1.7e308, 0.1, -90.0)])
def test_issue31_count_one_hessian_reproducers(mu, theta, want):
    got = nbnumba.logpmf_hess(1, mu, theta)[2]
    assert got == pytest.approx(want, rel=1e-15)
    assert got == pytest.approx(_mp_d_theta_theta_k1(mu, theta), rel=1e-15)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_hessian_where_mu_over_theta_overflows(k):
    """d_theta_theta finite (and right) wherever the value is a normal
    double, however far mu / theta overflows; the k = 1 form near theta = 1
    (where its terms cancel) too."""
    for lm in (-300, -100, -10, 0, 10, 100, 200, 300, 308):
        for lt in (-300, -100, -20, -10, -1, 0, 1e-7, 1, 10, 100, 300):
            mu, theta = 10.0 ** lm if lm < 308 else 1.7e308, 10.0 ** lt
            if lt == 1e-7:
                theta = 1.0000001
            got = logpmf_hess(float(k), mu, theta)[2]
            if k == 1:
                want = _mp_d_theta_theta_k1(mu, theta)
            else:
                with mp.workdps(80 + 2 * abs(lt)):
                    K, M, T = mp.mpf(k), mp.mpf(mu), mp.mpf(theta)
                    want = _float(mp.psi(1, K + T) - mp.psi(1, T) + 1 / T - 1 / (T + M)
                                  - (M - K) / (T + M) ** 2)
            if not (math.isfinite(want) and abs(want) > 1e-300):
                continue
            assert math.isfinite(got), (k, mu, theta, got, want)
            assert abs(got - want) <= 1e-12 * abs(want), (k, mu, theta, got, want)


@pytest.mark.parametrize("k,mu,theta", [(1.0, 1.7e308, 1e308), (5.0, 1e308, 1e308),
                                        (0.0, 1.7e308, 1.7e308), (1e300, 1.5e308, 1e308)])
def test_theta_plus_mu_overflowing(k, mu, theta):
    """theta + mu beyond the double range: p and q were 0 over inf."""
    assert not _errors([(k, mu, theta)])

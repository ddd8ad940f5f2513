"""The ufunc layer: NumPy semantics, dtypes, threads, njit, float32 accuracy."""
import math
import tracemalloc
import warnings

import mpmath as mp
import numba
import numpy as np
import pytest

from nbnumba._math import nbinom as S
from nbnumba import ufuncs as U

NAMES = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]


@pytest.fixture(scope="module")
def grid():
    rng = np.random.default_rng(3)
    k = rng.integers(0, 60, (50, 40))
    mu = 10 ** rng.uniform(-2, 2, (50, 40))
    theta = 10 ** rng.uniform(-1, 3, 40)
    return k, mu, theta


@pytest.mark.parametrize("name", NAMES)
def test_matches_scalar_with_broadcasting(grid, name):
    k, mu, theta = grid
    got = getattr(U, name)(k, mu, theta)
    f = getattr(S, name)
    want = np.array([[f(float(k[i, j]), mu[i, j], theta[j]) for j in range(40)] for i in range(50)])
    assert got.shape == (50, 40) and got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_quantiles_match_scalar(grid, name):
    _, mu, theta = grid
    q = np.linspace(0, 1, 40)
    got = getattr(U, name)(q, mu, theta)
    f = getattr(S, name)
    want = np.array([[f(q[j], mu[i, j], theta[j]) for j in range(40)] for i in range(50)])
    np.testing.assert_array_equal(got, want)


def reference(name, k, mu, theta):
    """The scalar function element by element, rounded once to the result dtype."""
    f = getattr(S, name)
    dtype = np.result_type(*(np.asarray(a).dtype for a in (k, mu, theta)))
    dtype = np.float32 if dtype == np.float32 else np.float64
    vals = np.vectorize(lambda a, b, c: f(float(a), float(b), float(c)), otypes=[np.float64])(
        k, mu, theta)
    return vals.astype(dtype)


def test_parallel_and_serial_agree(grid):
    k, mu, theta = grid
    big = np.tile(k, (20, 1)), np.tile(mu, (20, 1))
    for name in ("logpmf", "cdf", "ppf"):
        x = big[0] if name != "ppf" else np.linspace(0, 1, big[0].size).reshape(big[0].shape)
        np.testing.assert_array_equal(getattr(U, name)(x, big[1], theta),
                                      reference(name, x, big[1], theta))


def test_dtypes_and_scalars():
    assert U.logpmf(np.float32(3), np.float32(2), np.float32(1)).dtype == np.float32
    assert U.logpmf(np.arange(3, dtype=np.float32), 2.0, 1.0).dtype == np.float32
    assert U.logpmf(np.arange(3), np.float32(2), np.float32(1)).dtype == np.float64
    assert U.logpmf(np.arange(3, dtype=np.int32), 2.0, 1.0).dtype == np.float64
    assert isinstance(U.logpmf(3, 2.0, 1.0), float)
    assert U.logpmf([0, 1], [2.0], 1).shape == (2,)


def test_integer_counts_use_their_own_loop():
    from nbnumba._cpu import tiles
    U.logpmf(np.arange(3), 2.0, 1.0)
    assert any(k[0].startswith("nbinom.logpmf@") and k[2][0][0][0] == np.int64
               for k in tiles._ENTRIES)


def test_out_argument(grid):
    k, mu, theta = grid
    out = np.empty(k.shape)
    res = U.cdf(k, mu, theta, out=out)
    assert res is out
    np.testing.assert_array_equal(out, U.cdf(k, mu, theta))
    big_out = np.empty((1000, 40))
    U.logpmf(np.tile(k, (20, 1)), np.tile(mu, (20, 1)), theta, out=big_out)
    np.testing.assert_array_equal(big_out, U.logpmf(np.tile(k, (20, 1)), np.tile(mu, (20, 1)), theta))


def test_no_broadcast_copies():
    X = np.zeros((2000, 500), dtype=np.int64)
    theta = np.ones(500)
    mu = np.ones((1, 500))
    U.logpmf(X, mu, theta)                           # compile outside the trace
    tracemalloc.start()
    out = U.logpmf(X, mu, theta)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.nbytes <= peak < 1.2 * out.nbytes


def test_callable_from_njit():
    @numba.njit
    def total(k, mu, theta):
        return U.logpmf(k, mu, theta).sum() + U.cdf(2.0, 1.0, 3.0)

    k = np.arange(5.0)
    want = U.logpmf(k, 1.5, 2.0).sum() + U.cdf(2.0, 1.0, 3.0)
    assert total(k, 1.5, 2.0) == pytest.approx(want, rel=1e-15)


def _ulps(got, exact):
    """Distance in float32 ulps between got and the exact value."""
    exact = float(exact)
    ref = np.float32(exact)
    spacing = np.spacing(np.abs(ref), dtype=np.float32)
    return abs(float(got) - exact) / float(spacing)


def test_float32_logpmf_within_2_ulp():
    mp.mp.dps = 40
    rng = np.random.default_rng(7)
    n = 300
    mu = (10 ** rng.uniform(-3, 3, n)).astype(np.float32)
    theta = (10 ** rng.uniform(-2, 6, n)).astype(np.float32)
    k = rng.integers(0, 300, n).astype(np.float32)
    got = U.logpmf(k, mu, theta)
    assert got.dtype == np.float32
    worst = 0.0
    for i in range(n):
        K, M, T = (mp.mpf(float(v)) for v in (k[i], mu[i], theta[i]))
        exact = (mp.loggamma(K + T) - mp.loggamma(T) - mp.loggamma(K + 1)
                 + T * mp.log(T / (T + M)) + K * mp.log(M / (T + M)))
        worst = max(worst, _ulps(got[i], exact))
    assert worst <= 2.0


EDGE_K = [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.0, 8.0, 9.0, 31.0, 33.0, 200.0, 1e20, math.inf, math.nan]
EDGE_MU = [0.0, 1e-12, 1e-9, 0.3, 2.5, 40.0, 1e9, 1e12, math.nan, -1.0]
EDGE_THETA = [0.0, 1e-10, 0.05, 1.0, 30.0, 1e15, math.inf, math.nan]


def _layouts(dtype):
    """(k, mu, theta) of >= PARALLEL_THRESHOLD elements over every edge
    combination, in the layouts the tile kernel handles differently."""
    rng = np.random.default_rng(11)
    n1 = len(EDGE_MU) * len(EDGE_THETA)
    k = rng.choice(EDGE_K, (400, n1)).astype(dtype)
    mu_row = np.repeat(EDGE_MU, len(EDGE_THETA)).astype(dtype)
    theta_row = np.tile(EDGE_THETA, len(EDGE_MU)).astype(dtype)
    mu = np.broadcast_to(mu_row, k.shape).copy()
    return {
        "per-gene theta": (k, mu, theta_row),
        "scalar theta, per-cell mu": (rng.choice(EDGE_K, (3000, 9)).astype(dtype),
                                      rng.choice(EDGE_MU, (3000, 1)).astype(dtype), dtype(2.0)),
        "1-D": (k.ravel(), mu.ravel(), np.broadcast_to(theta_row, k.shape).ravel().copy()),
        "non-contiguous": (k.T, mu.T, theta_row[:, None]),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES + ["ppf", "isf"])
def test_tiles_match_scalar_on_edge_values(name, dtype):
    """The large-call kernel (branch-free pass, then the general functions
    where it gave NaN) is bit for bit the scalar function, edge cases and
    every broadcast layout included."""
    for label, (k, mu, theta) in _layouts(dtype).items():
        if name in ("ppf", "isf"):      # quantiles; means whose search is quick
            k = np.where(np.isnan(k), k, np.clip(np.abs(k) / 40.0, 0, 1)).astype(dtype)
            mu = np.where(mu > 1e6, dtype(1e6), mu)
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # no spurious FP warnings
            got = getattr(U, name)(k, mu, theta)
            small = getattr(U, name)(k.ravel()[:100], np.ravel(mu)[:1], np.ravel(theta)[:1])
        with np.errstate(all="ignore"):
            want = reference(name, k, mu, theta)
            want_small = reference(name, k.ravel()[:100], np.ravel(mu)[0], np.ravel(theta)[0])
        np.testing.assert_array_equal(small, want_small)
        assert got.dtype == want.dtype == dtype, label
        np.testing.assert_array_equal(got, want, err_msg=label)


def test_operands_share_one_compiled_tile_kernel():
    """Writable and read-only operands reach the tile kernels read-only, so
    they share one compiled version per dtype."""
    x = np.zeros((200, 200))
    ro = np.ones(200)
    ro.flags.writeable = False
    for args in [(x, ro, 1.0), (x, 1.0, ro), (x, x + 1.0, x + 1.0)]:
        U.logpmf(*args)
    from nbnumba._cpu import tiles
    sigs = [s for s in tiles._kernel.signatures
            if s[0].literal_value == tiles.kernel_name("nbinom", "logpmf")]
    assert sigs and all(not a.mutable for s in sigs for a in s[1])

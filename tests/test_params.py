"""Parameterizations: the README's table, round trips, stability at the edges."""
import numpy as np
import pytest

from nbnumba import _params as P


def test_table_values():
    mu, theta = P.from_probs(4.0, 0.2)
    assert mu == pytest.approx(1.0) and theta == 4.0
    mu, theta = P.from_logits(4.0, np.log(0.25))
    assert mu == pytest.approx(1.0, rel=1e-15) and theta == 4.0
    mu, theta = P.from_scipy(4.0, 0.8)
    assert mu == pytest.approx(1.0, rel=1e-15) and theta == 4.0
    # torch's probs and scipy's p are complements
    assert P.to_probs(1.0, 4.0) == pytest.approx(1 - P.to_scipy(1.0, 4.0)[1], rel=1e-15)


def test_round_trips():
    rng = np.random.default_rng(1)
    mu = 10 ** rng.uniform(-6, 6, 1000)
    theta = 10 ** rng.uniform(-6, 6, 1000)
    # probs (or p) near 1 hold 1 - probs only to eps absolutely: the best
    # possible relative error of mu is then ~eps (1 + mu / theta)
    cond = 4 * np.finfo(float).eps * (1 + mu / theta + theta / mu)
    m, t = P.from_probs(theta, P.to_probs(mu, theta))
    assert np.all(np.abs(m - mu) <= cond * mu)
    m, t = P.from_logits(theta, P.to_logits(mu, theta))
    np.testing.assert_allclose(m, mu, rtol=1e-13)
    m, t = P.from_scipy(*P.to_scipy(mu, theta))
    assert np.all(np.abs(m - mu) <= cond * mu)
    np.testing.assert_array_equal(t, theta)


def test_logits_do_not_overflow_where_mu_is_finite():
    mu, _ = P.from_logits(1e-300, 750.0)
    assert np.isfinite(mu) and mu == pytest.approx(np.exp(750.0 - 300 * np.log(10)), rel=1e-12)
    mu, _ = P.from_logits(1e300, -750.0)
    assert mu > 0 and mu == pytest.approx(np.exp(-750.0 + 300 * np.log(10)), rel=1e-12)


def test_out_of_range_gives_nan_not_error():
    assert np.isnan(P.from_probs(2.0, 1.0)[0]) and np.isnan(P.from_probs(2.0, -0.1)[0])
    assert np.isnan(P.from_scipy(2.0, 0.0)[0]) and np.isnan(P.from_scipy(2.0, 1.5)[0])
    assert P.from_scipy(2.0, 1.0)[0] == 0.0 and P.from_probs(2.0, 0.0)[0] == 0.0


def test_float32_stays_float32():
    mu, theta = P.from_probs(np.float32(3), np.array([0.1, 0.5], np.float32))
    assert mu.dtype == np.float32 and theta.dtype == np.float32
    mu, theta = P.from_logits(3.0, 0.5)
    assert mu.dtype == np.float64


def test_convert_requires_exactly_one_parameterization():
    assert P.convert(mu=1.0, theta=2.0)[0] == 1.0
    with pytest.raises(ValueError, match="total_count, probs"):
        P.convert(mu=1.0, probs=0.5)
    with pytest.raises(ValueError, match="exactly one"):
        P.convert(total_count=1.0, probs=0.5, logits=0.1)


# ---------------------------------------------------------------------------
# Means beyond the floating range: the logit rows, on every family, against mpmath

import math  # noqa: E402

import mpmath as mp  # noqa: E402

import nbnumba  # noqa: E402
from nbnumba import NegativeBinomial, nbinom, zinbinom  # noqa: E402
from nbnumba.ufuncs import dispatch  # noqa: E402

LOGITS = [-3000.0, -1500.0, -800.0, -745.0, -709.0, -100.0, -40.0, 0.0, 40.0, 100.0, 709.0,
          710.0, 745.0, 800.0, 1500.0, 3000.0]
THETAS = [0.3, 2.0, 50.0]
COUNTS = [0.0, 1.0, 3.0, 17.0, 1000.0]


def _mp_nb(k, theta, L):
    """(log pmf, log cdf, log sf) of NB(theta, logit L) at the count k, 50 digits."""
    with mp.workdps(50):
        k, theta, L = mp.mpf(k), mp.mpf(theta), mp.mpf(L)
        s = 1 / (1 + mp.exp(-L))            # torch's success probability
        s_c = 1 / (1 + mp.exp(L))           # scipy's p = 1 - s, without cancellation
        lp = (mp.loggamma(k + theta) - mp.loggamma(theta) - mp.loggamma(k + 1)
              + k * mp.log(s) - theta * mp.log1p(mp.exp(L)))
        cdf = mp.betainc(theta, k + 1, 0, s_c, regularized=True)
        sf = mp.betainc(k + 1, theta, 0, s, regularized=True)
        # each tail exact where small; the larger one as the other's complement
        lc = mp.log(cdf) if cdf < 0.5 else mp.log1p(-sf)
        ls = mp.log(sf) if sf < 0.5 else mp.log1p(-cdf)
        return float(lp), float(lc), float(ls)


@pytest.fixture(scope="module")
def far_grid():
    rows = [(k, th, L) for L in LOGITS for th in THETAS for k in COUNTS]
    k, th, L = (np.array(c) for c in zip(*rows))
    want = np.array([_mp_nb(*r) for r in rows])
    return k, th, L, want


def _close(got, want, rtol):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    both_inf = (got == want)
    err = np.abs(got - want) <= rtol * np.abs(want) + 1e-300
    bad = ~(both_inf | err)
    assert not bad.any(), list(zip(got[bad][:5], want[bad][:5]))


def test_logit_rows_against_mpmath(far_grid):
    k, th, L, want = far_grid
    with np.errstate(over="ignore", under="ignore"):
        mu = th * np.exp(L)
    _close(dispatch("logits", "logpmf", (k, mu, th, L)), want[:, 0], 2e-14)
    _close(dispatch("logits", "logcdf", (k, mu, th, L)), want[:, 1], 1e-11)
    _close(dispatch("logits", "logsf", (k, mu, th, L)), want[:, 2], 1e-11)
    # cdf and sf: each from the log of the smaller (and float32 means too)
    _close(dispatch("logits", "cdf", (k, mu, th, L)), np.exp(want[:, 1]), 1e-11)
    _close(dispatch("logits", "sf", (k, mu, th, L)), np.exp(want[:, 2]), 1e-11)
    with np.errstate(over="ignore"):
        mu32 = mu.astype(np.float32)
    got32 = dispatch("logits", "logpmf", (k.astype(np.float32), mu32, th.astype(np.float32), L.astype(np.float32)))
    assert got32.dtype == np.float32
    _close(got32, want[:, 0].astype(np.float32), 2e-6)


def test_faces_beyond_the_range_on_numpy_torch_and_dask(far_grid):
    k, th, L, want = far_grid
    _close(nbinom(total_count=th, logits=L).logpmf(k), want[:, 0], 2e-14)
    _close(nbinom(total_count=th, logits=L).logsf(k), want[:, 2], 1e-11)
    # scipy's (n, p) and torch's probs reach the same rows where p is a double
    inner = (L > -30) & (L <= 700)        # where p and 1 - p are doubles
    p = 1 / (1 + np.exp(L[inner]))
    _close(nbinom(th[inner], p).logpmf(k[inner]), want[inner, 0], 1e-11)
    torch = pytest.importorskip("torch")
    t = {n: torch.tensor(a) for n, a in (("k", k), ("th", th), ("L", L))}
    d = NegativeBinomial(total_count=t["th"], logits=t["L"])
    _close(d.log_prob(t["k"]).numpy(), want[:, 0], 2e-14)
    _close(d.cdf(t["k"]).numpy(), np.exp(want[:, 1]), 1e-11)
    # float32: logits = 100 (a mean of 1e43, beyond float32) is finite, not NaN
    d32 = NegativeBinomial(total_count=t["th"].float(), logits=t["L"].float())
    lp32 = d32.log_prob(t["k"].float())
    assert lp32.dtype == torch.float32
    _close(lp32.numpy(), want[:, 0].astype(np.float32), 2e-6)
    da = pytest.importorskip("dask.array")
    lazy = nbinom(total_count=da.from_array(th, 7), logits=da.from_array(L, 7)).logpmf(k)
    assert isinstance(lazy, da.Array)
    _close(lazy.compute(), want[:, 0], 2e-14)
    lazy = NegativeBinomial(total_count=da.from_array(th, 7), logits=da.from_array(L, 7))
    _close(lazy.cdf(k).compute(), np.exp(want[:, 1]), 1e-11)


def test_issue_reproducers_beyond_the_range():
    torch = pytest.importorskip("torch")
    d = NegativeBinomial(total_count=torch.tensor(2.0), logits=torch.tensor(-800.0))
    lp = d.log_prob(torch.tensor(1.0))
    assert lp.dtype == torch.float32 and float(lp) == pytest.approx(-799.306852819440, rel=6e-8)
    da = pytest.importorskip("dask.array")
    for L in (-750.0, -800.0, -1500.0):
        lazy = nbinom(total_count=2.0, logits=da.from_array(np.array([L]))).logpmf(1.0)
        assert lazy.compute()[0] == pytest.approx(_mp_nb(1.0, 2.0, L)[0], rel=1e-14)


def _mp_cdf(k, theta, L):
    with mp.workdps(50):
        s_c = 1 / (1 + mp.exp(mp.mpf(L)))
        return mp.betainc(theta, k + 1, 0, s_c, regularized=True)


@pytest.mark.parametrize("L", [-3000.0, -800.0, 800.0, 3000.0])
@pytest.mark.parametrize("theta", [0.3, 2.0])
def test_quantiles_beyond_the_range_against_mpmath(L, theta):
    f = nbinom(total_count=theta, logits=L)
    for q in (1e-300, 1e-20, 0.3, 0.999):
        k = float(f.ppf(q))
        if k == math.inf:
            # beyond the doubles: the largest double's cdf is still below q
            assert _mp_cdf(mp.mpf(1.7976931348623157e308), theta, L) < q
        elif k < 1e6:
            assert _mp_cdf(k, theta, L) >= q and (k == 0 or _mp_cdf(k - 1, theta, L) < q)
        else:
            # the bisection's neighbour (the previous double) by the face's own tails
            assert f.cdf(k) >= q and f.cdf(np.nextafter(k, -1)) < q
        s = float(f.isf(q))
        if s < 1e6:
            sf = 1 - _mp_cdf(s, theta, L)
            assert sf <= q and (s == 0 or 1 - _mp_cdf(s - 1, theta, L) > q)


def test_sampling_beyond_the_range():
    for kwds, want in ((dict(total_count=2.0, logits=-800.0), 0.0),
                       (dict(total_count=2.0, logits=800.0), np.inf)):
        draws = NegativeBinomial(**kwds).sample((1000,), random_state=1)
        assert np.all(draws == want)
    torch = pytest.importorskip("torch")
    d = NegativeBinomial(total_count=torch.full((500,), 2.0),
                         logits=torch.tensor([-800.0, 800.0] * 250))
    draws = d.sample(random_state=torch.Generator().manual_seed(0))
    assert torch.all(draws[0::2] == 0) and torch.all(draws[1::2] == math.inf)
    # an ordinary mean from logits samples as the mean parameterization
    a = NegativeBinomial(total_count=2.0, logits=np.log(1.5)).sample((2000,), random_state=4)
    b = NegativeBinomial(mu=3.0, theta=2.0).sample((2000,), random_state=4)
    np.testing.assert_array_equal(a, b)


def test_zero_inflated_beyond_the_range_against_mpmath():
    for L in (-800.0, 800.0):
        for k in (0.0, 1.0, 5.0):
            lp, lc, ls = _mp_nb(k, 2.0, L)
            with mp.workdps(50):
                lpi, lq = mp.log(mp.mpf(0.25)), mp.log(mp.mpf(0.75))
                zlp = mp.log(mp.exp(lpi) + mp.exp(lq + lp)) if k == 0 else lq + lp
                zls = lq + ls
            z = zinbinom(total_count=2.0, logits=L, pi=0.25)
            assert z.logpmf(k) == pytest.approx(float(zlp), rel=1e-14, abs=1e-300)
            assert z.logsf(k) == pytest.approx(float(zls), rel=1e-11, abs=1e-300)



@pytest.mark.parametrize("name", list(__import__("nbnumba._math.table", fromlist=["table"])
                                      .table("logits")))
def test_logit_rows_kernels_equal_their_scalar(name):
    """Each logit row's array kernel (fast path, then the rest) equals its
    scalar function element by element, with ordinary and far means."""
    from nbnumba._math.table import table
    f = table("logits")[name]
    rng = np.random.default_rng(len(name))
    n = 400
    L = np.concatenate([rng.uniform(-5, 5, n - 8), [-800, 800, -3000, 3000, -40, 40, 709, -745]])
    th = np.concatenate([rng.uniform(0.1, 30, n - 4), [0.3, 2.0, 1e-5, np.inf]])
    with np.errstate(over="ignore", under="ignore"):
        mu = th * np.exp(L)
    vals = {"k": rng.integers(0, 20, n).astype(float), "q": rng.uniform(0, 1, n), "mu": mu,
            "theta": th, "logits": L, "zi_logits": rng.normal(0, 2, n)}
    if name.endswith("entropy"):
        vals = {k: v[::8] for k, v in vals.items()}
    ops = [vals[o] for o in f.operands]
    got = dispatch("logits", name, ops)
    got = np.stack(got) if isinstance(got, tuple) else got[None]
    want = np.array([f.scalar(*map(float, xs)) for xs in zip(*ops)], np.float64)
    want = want.T.reshape(len(f.outputs), -1)
    np.testing.assert_array_equal(got, want)

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

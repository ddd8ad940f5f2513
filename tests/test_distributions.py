"""The scvi-tools face: behaviours of scvi's and torch's NegativeBinomial tests."""
import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.stats

from nbnumba import NegativeBinomial
from nbnumba.distributions import constraints


def scvi_log_nb_positive(x, mu, theta, eps=1e-8):
    """scvi-tools' formula (the peer to agree with), in NumPy."""
    from scipy.special import gammaln
    log_theta_mu_eps = np.log(theta + mu + eps)
    return (theta * (np.log(theta + eps) - log_theta_mu_eps) + x * (np.log(mu + eps) - log_theta_mu_eps)
            + gammaln(x + theta) - gammaln(theta) - gammaln(x + 1))


def test_parameterizations_agree():
    mu, theta = np.array([0.5, 3.0, 40.0]), np.array([0.2, 1.0, 7.0])
    x = np.array([0, 2, 35])
    want = NegativeBinomial(mu=mu, theta=theta).log_prob(x)
    got_p = NegativeBinomial(total_count=theta, probs=mu / (mu + theta)).log_prob(x)
    got_l = NegativeBinomial(total_count=theta, logits=np.log(mu / theta)).log_prob(x)
    np.testing.assert_allclose(got_p, want, rtol=1e-13)
    np.testing.assert_allclose(got_l, want, rtol=1e-13)
    ref = scipy.stats.nbinom.logpmf(x, theta, theta / (theta + mu))
    np.testing.assert_allclose(want, ref, rtol=1e-12)


@pytest.mark.parametrize("kwds", [{}, dict(mu=1.0), dict(total_count=2.0), dict(probs=0.3),
                                  dict(mu=1.0, theta=2.0, probs=0.2),
                                  dict(total_count=1.0, probs=0.5, logits=0.0)])
def test_exactly_one_parameterization(kwds):
    with pytest.raises(ValueError, match="exactly one"):
        NegativeBinomial(**kwds)


def test_shapes_and_broadcasting():
    d = NegativeBinomial(mu=np.ones((4, 1)), theta=np.ones(3))
    assert d.batch_shape == (4, 3) and d.event_shape == ()
    assert d.log_prob(np.zeros((2, 4, 3))).shape == (2, 4, 3)
    assert d.sample().shape == (4, 3) and d.sample((5,)).shape == (5, 4, 3)
    assert d.sample_n(2).shape == (2, 4, 3) and d.sample(7).shape == (7, 4, 3)
    assert d.mean.shape == d.variance.shape == d.stddev.shape == (4, 3)


def test_expand_makes_views():
    d = NegativeBinomial(mu=np.array([1.0, 2.0]), theta=3.0)
    e = d.expand((5, 2))
    assert e.batch_shape == (5, 2) and np.shares_memory(e.mu, d.mu)
    np.testing.assert_array_equal(e.log_prob(1)[3], d.log_prob(1))


def test_mean_variance_against_scipy():
    mu, theta = np.array([0.3, 5.0, 80.0]), np.array([0.5, 2.0, np.inf])
    d = NegativeBinomial(mu=mu, theta=theta)
    finite = np.isfinite(theta)
    n, p = theta[finite], theta[finite] / (theta[finite] + mu[finite])
    m, v = scipy.stats.nbinom.stats(n, p, moments="mv")
    np.testing.assert_allclose(d.mean[finite], m, rtol=1e-14)
    np.testing.assert_allclose(d.variance[finite], v, rtol=1e-14)
    assert d.variance[2] == 80.0 and d.stddev[2] == math.sqrt(80.0)


def test_probs_and_logits_attributes():
    d = NegativeBinomial(mu=3.0, theta=1.0)
    assert d.total_count == 1.0 and d.probs == pytest.approx(0.75) and d.logits == pytest.approx(math.log(3))


def test_constraints_print_like_torch_and_check():
    assert repr(NegativeBinomial.arg_constraints["mu"]) == "GreaterThanEq(lower_bound=0)"
    assert repr(NegativeBinomial.support) == "IntegerGreaterThan(lower_bound=0)"
    np.testing.assert_array_equal(NegativeBinomial.support.check([0, 1.5, -1, 3]),
                                  [True, False, False, True])
    np.testing.assert_array_equal(constraints.greater_than_eq(0).check([-1e-9, 0.0]), [False, True])


@pytest.mark.parametrize("kwds, name", [(dict(mu=-1.0, theta=1.0), "mu"), (dict(mu=1.0, theta=-2.0), "theta"),
                                        (dict(total_count=1.0, probs=1.0), "probs"),
                                        (dict(total_count=-1.0, logits=0.0), "total_count"),
                                        (dict(mu=np.nan, theta=1.0), "mu")])
def test_validate_args_raises_naming_the_parameter(kwds, name):
    with pytest.raises(ValueError, match=f"Expected parameter {name}"):
        NegativeBinomial(validate_args=True, **kwds)
    NegativeBinomial(validate_args=False, **kwds)      # no error: NaN results instead


def test_log_prob_outside_support_warns_and_extends():
    d = NegativeBinomial(mu=2.0, theta=3.0, validate_args=True)
    with pytest.warns(UserWarning, match="within the support"):
        v = d.log_prob(np.array([1.5, 2.0]))
    np.testing.assert_allclose(v[0], scvi_log_nb_positive(1.5, 2.0, 3.0, eps=0.0), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NegativeBinomial(mu=2.0, theta=3.0).log_prob(1.5)   # no warning without validation


def test_default_validate_args_is_class_wide():
    try:
        NegativeBinomial.set_default_validate_args(True)
        with pytest.raises(ValueError):
            NegativeBinomial(mu=-1.0, theta=1.0)
    finally:
        NegativeBinomial.set_default_validate_args(False)
    NegativeBinomial(mu=-1.0, theta=1.0)


def test_agrees_with_scvi_where_eps_does_not_matter_and_is_exact_where_it_does():
    rng = np.random.default_rng(2)
    mu, theta = 10 ** rng.uniform(-2, 3, 500), 10 ** rng.uniform(-2, 2, 500)
    x = rng.integers(0, 100, 500)
    ours = NegativeBinomial(mu=mu, theta=theta).log_prob(x)
    np.testing.assert_allclose(ours, scvi_log_nb_positive(x, mu, theta), rtol=1e-6)
    # theta = 1e-6: scvi's eps shifts log p(0) by ~6e-4 relative; mpmath agrees with us
    mp.mp.dps = 40
    exact = float(mp.mpf(1e-6) * mp.log(mp.mpf(1e-6) / (mp.mpf(1e-6) + 5)))
    got = NegativeBinomial(mu=5.0, theta=1e-6).log_prob(0)
    assert got == pytest.approx(exact, rel=1e-14)
    assert abs(scvi_log_nb_positive(0, 5.0, 1e-6) - exact) > 1e-4 * abs(exact)


def test_cdf_icdf_entropy():
    d = NegativeBinomial(mu=np.array([2.0, 30.0]), theta=np.array([1.5, 4.0]))
    n, p = d.theta, d.theta / (d.theta + d.mu)
    np.testing.assert_allclose(d.cdf(np.array([3, 25])), scipy.stats.nbinom.cdf([3, 25], n, p), rtol=1e-12)
    np.testing.assert_array_equal(d.icdf(np.array([0.3, 0.9])), scipy.stats.nbinom.ppf([0.3, 0.9], n, p))
    np.testing.assert_allclose(d.entropy(), scipy.stats.nbinom.entropy(n, p), rtol=1e-10)
    np.testing.assert_allclose(d.perplexity(), np.exp(d.entropy()), rtol=1e-15)


def test_not_implemented():
    d = NegativeBinomial(mu=1.0, theta=1.0)
    assert not d.has_rsample and not d.has_enumerate_support
    with pytest.raises(NotImplementedError):
        d.rsample()
    with pytest.raises(NotImplementedError):
        d.enumerate_support()


def test_sample_is_float_and_not_clamped():
    d = NegativeBinomial(mu=np.array([3.0, 1e10]), theta=np.array([2.0, 50.0]))
    s = d.sample((20000,), random_state=0)
    assert s.dtype == np.float64 and (s >= 0).all() and (s == np.floor(s)).all()
    assert abs(s[:, 0].mean() - 3.0) < 5 * math.sqrt(3 + 9 / 2) / math.sqrt(20000)
    # scvi clamps the Gamma draws at 1e8; here the mean stays at 1e10
    assert abs(s[:, 1].mean() / 1e10 - 1) < 5 * math.sqrt(1 / 50) / math.sqrt(20000)
    np.testing.assert_array_equal(d.sample((3,), random_state=7), d.sample((3,), random_state=7))
    assert NegativeBinomial(mu=np.float32(2), theta=np.float32(1)).sample((2,)).dtype == np.float32


def test_torch_cpu_tensors_and_torch_log_prob():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    total, probs = rng.uniform(0.1, 20, 200), rng.uniform(0.01, 0.95, 200)
    x = rng.integers(0, 60, 200).astype(float)
    ref = torch.distributions.NegativeBinomial(torch.tensor(total), torch.tensor(probs)).log_prob(
        torch.tensor(x)).numpy()
    ours = NegativeBinomial(total_count=torch.tensor(total), probs=torch.tensor(probs)).log_prob(x)
    np.testing.assert_allclose(ours, ref, rtol=1e-9)

"""Both faces on GPU arrays: CuPy arrays and torch CUDA tensors stay on the
device and in their family, with the CPU's values (to the GPU's rounding)
and draws (same key). Needs a real GPU; under the CUDA simulator only the
refusals (numba device arrays, host arrays mixed in) run."""
import numpy as np
import pytest
# the same data; importing it skips this module where test_kernels is skipped
from test_kernels import MU, Q, SIM, THETA, X, cuda, host

import nbnumba
from nbnumba import NegativeBinomial, nbinom


def close(got, want):
    """GPU values against the CPU's, to the GPU's rounding."""
    np.testing.assert_allclose(host(got), want, rtol=1e-13, atol=1e-13)


@pytest.fixture(params=["cupy", "torch"])
def dev(request):
    if SIM:
        pytest.skip("CuPy and torch need a real GPU")
    mod = pytest.importorskip(request.param)
    if request.param == "torch":
        if not mod.cuda.is_available():
            pytest.skip("torch without CUDA")
        return lambda a: mod.as_tensor(a, device="cuda")
    return mod.asarray


def test_scvi_face_on_device(dev):
    family = type(dev(X))
    d, c = NegativeBinomial(mu=dev(MU), theta=dev(THETA)), NegativeBinomial(mu=MU, theta=THETA)
    assert d.batch_shape == (6, 5) and type(d.mean) is family
    for name in ("log_prob", "cdf"):
        res = getattr(d, name)(dev(X))
        assert type(res) is family
        close(res, getattr(c, name)(X))
    np.testing.assert_array_equal(host(d.icdf(dev(Q))), c.icdf(Q))
    close(d.variance, c.variance)
    close(d.stddev, c.stddev)
    close(d.probs, c.probs)
    s = d.sample(random_state=4)
    assert type(s) is family and host(s).dtype == np.float64
    assert np.mean(host(s) == c.sample(random_state=4)) >= 0.99
    e = NegativeBinomial(mu=dev(MU[0]), theta=dev(THETA)).sample((3,), random_state=2)
    assert host(e).shape == (3, 5)
    tc, pr = dev(THETA[:4]), dev(np.array([0.1, 0.5, 0.9, 0.999]))
    close(NegativeBinomial(total_count=tc, probs=pr).mean,
          NegativeBinomial(total_count=THETA[:4], probs=host(pr)).mean)
    close(NegativeBinomial(total_count=tc, logits=pr).mean,
          NegativeBinomial(total_count=THETA[:4], logits=host(pr)).mean)
    with pytest.raises(ValueError, match="parameter mu"):
        NegativeBinomial(mu=dev(-MU), theta=dev(THETA), validate_args=True)
    with pytest.raises(TypeError, match="implicitly"):
        NegativeBinomial(mu=dev(MU), theta=THETA)


def test_scipy_face_on_device(dev):
    family = type(dev(X))
    d, c = nbinom(mu=dev(MU), theta=dev(THETA)), nbinom(mu=MU, theta=THETA)
    for name in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"):
        res = getattr(d, name)(dev(X))
        assert type(res) is family
        close(res, getattr(c, name)(X))
    for name in ("ppf", "isf"):
        np.testing.assert_array_equal(host(getattr(d, name)(dev(Q))), getattr(c, name)(Q))
    for got, want in zip(d.stats("mvsk"), c.stats("mvsk")):
        close(got, want)
    close(d.std(), c.std())
    close(d.moment(3), c.moment(3))
    np.testing.assert_array_equal(host(d.interval(0.9)[1]), c.interval(0.9)[1])
    r = d.rvs(random_state=7)
    assert type(r) is family and host(r).dtype == np.int64
    assert np.mean(host(r) == c.rvs(random_state=7)) >= 0.99
    n, p = dev(np.array([0.5, 2.0, 30.0])), dev(np.array([0.2, 0.5, 0.99]))
    close(nbinom(n, p).logpmf(dev(np.array([0.0, 3.0, 7.0]))),
          nbinom(host(n), host(p)).logpmf([0.0, 3.0, 7.0]))
    with pytest.raises(TypeError, match="CPU"):
        d.entropy()
    with pytest.raises(ValueError, match="Domain error"):
        nbnumba.rvs(dev(-MU), 2.0, random_state=1)


def test_faces_refuse_numba_device_arrays():
    with pytest.raises(TypeError, match="nbnumba.gpu"):
        NegativeBinomial(mu=cuda.to_device(MU), theta=2.0)
    with pytest.raises(TypeError, match="nbnumba.gpu"):
        nbinom(mu=cuda.to_device(MU), theta=2.0)

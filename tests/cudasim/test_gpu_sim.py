"""The CUDA kernels' semantics under the CUDA simulator (NUMBA_ENABLE_CUDASIM=1).

Run in its own process (see .ci/run): the simulator replaces numba.cuda.
Small arrays, compared element by element with the CPU ufuncs.
"""
import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1", allow_module_level=True)

from numba import cuda  # noqa: E402

import nbnumba  # noqa: E402
from nbnumba import gpu, ufuncs  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.integers(0, 30, (6, 5)).astype(np.float64)
MU = RNG.uniform(0.05, 20, (6, 5))
THETA = np.array([0.3, 1.0, 4.0, 50.0, np.inf])
Q = RNG.uniform(0, 1, (6, 5))


@pytest.mark.parametrize("name", ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"])
def test_elementwise_matches_cpu_with_broadcasting(name):
    got = getattr(gpu, name)(cuda.to_device(X), cuda.to_device(MU), cuda.to_device(THETA))
    np.testing.assert_array_equal(got.copy_to_host(), getattr(ufuncs, name)(X, MU, THETA))
    col = cuda.to_device(np.ascontiguousarray(MU[:, :1]))   # (6, 1) against (5,)
    got = getattr(gpu, name)(cuda.to_device(X), col, cuda.to_device(THETA))
    np.testing.assert_array_equal(got.copy_to_host(), getattr(ufuncs, name)(X, MU[:, :1], THETA))


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_quantiles_match_cpu(name):
    got = getattr(gpu, name)(cuda.to_device(Q), cuda.to_device(MU), 2.5)
    np.testing.assert_array_equal(got.copy_to_host(), getattr(ufuncs, name)(Q, MU, 2.5))


def test_float32_in_float32_out_and_out_argument():
    x32, m32 = X.astype(np.float32), MU.astype(np.float32)
    got = gpu.logpmf(cuda.to_device(x32), cuda.to_device(m32), np.float32(2.0))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.copy_to_host(), ufuncs.logpmf(x32, m32, np.float32(2.0)))
    out = cuda.device_array((6, 5))
    res = gpu.cdf(cuda.to_device(X), cuda.to_device(MU), 3.0, out=out)
    assert res is out
    np.testing.assert_array_equal(out.copy_to_host(), ufuncs.cdf(X, MU, 3.0))


def test_ufuncs_dispatch_device_arrays():
    got = ufuncs.logpmf(cuda.to_device(X), cuda.to_device(MU), 2.0)
    assert hasattr(got, "copy_to_host")
    np.testing.assert_array_equal(got.copy_to_host(), ufuncs.logpmf(X, MU, 2.0))


def test_same_draws_as_cpu_for_the_same_key():
    got = gpu.rvs(cuda.to_device(MU), cuda.to_device(THETA), random_state=12)
    np.testing.assert_array_equal(got.copy_to_host(), nbnumba.rvs(MU, THETA, random_state=12))


def test_numpy_arrays_are_not_moved_silently():
    with pytest.raises(TypeError, match="device arrays"):
        gpu.logpmf(cuda.to_device(X), MU, 2.0)
    with pytest.raises(ValueError, match="broadcast"):
        gpu.logpmf(cuda.to_device(X), cuda.to_device(MU[:4]), 2.0)

"""The CUDA kernels against the CPU ufuncs, element by element.

Runs under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, a process of its
own, see .ci/run), where results must equal the CPU's bit for bit, and on a
real GPU, where the GPU's transcendental functions may differ in the last
bits: there values must agree to 1e-13 (float64) or one float32 rounding,
and draws may differ in a small measured fraction. Skipped elsewhere.
"""
import os

import numpy as np
import pytest

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
cuda = pytest.importorskip("numba.cuda")
if not (SIM or cuda.is_available()):
    pytest.skip("needs a GPU or NUMBA_ENABLE_CUDASIM=1", allow_module_level=True)

import nbnumba  # noqa: E402
from nbnumba import gpu, ufuncs  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.integers(0, 30, (6, 5)).astype(np.float64)
MU = RNG.uniform(0.05, 20, (6, 5))
THETA = np.array([0.3, 1.0, 4.0, 50.0, np.inf])
Q = RNG.uniform(0, 1, (6, 5))
LOGS = ("logpmf", "logcdf", "logsf")


def host(a):
    """A device result as a NumPy array (numba, CuPy or torch)."""
    if hasattr(a, "copy_to_host"):
        return a.copy_to_host()
    if type(a).__module__.startswith("torch"):
        return a.cpu().numpy()
    return a.get()


def assert_matches(got, want, name=""):
    """Bit for bit under the simulator; to the GPU's rounding on hardware."""
    got = host(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    if SIM or name in ("ppf", "isf"):
        np.testing.assert_array_equal(got, want)
    else:
        tol = 1e-13 if want.dtype == np.float64 else 2.5e-7
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol if name in LOGS else 0)


@pytest.mark.parametrize("name", ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"])
def test_elementwise_matches_cpu_with_broadcasting(name):
    got = getattr(gpu, name)(cuda.to_device(X), cuda.to_device(MU), cuda.to_device(THETA))
    assert_matches(got, getattr(ufuncs, name)(X, MU, THETA), name)
    col = cuda.to_device(np.ascontiguousarray(MU[:, :1]))   # (6, 1) against (5,)
    got = getattr(gpu, name)(cuda.to_device(X), col, cuda.to_device(THETA))
    assert_matches(got, getattr(ufuncs, name)(X, MU[:, :1], THETA), name)


@pytest.mark.parametrize("qualname", [q for q in gpu.PYKERNELS if q != "rvs"])
def test_every_table_row_matches_cpu(qualname):
    """Every row of every table, generated: the GPU kernel against the CPU
    kernel on the same broadcast operands."""
    from nbnumba._math.table import lookup
    from nbnumba.ufuncs import evaluate
    distribution, name = qualname.split(".")
    f = lookup(qualname)
    values = {"k": X, "q": Q, "mu": MU, "theta": THETA, "zi_logits": np.linspace(-40, 40, 5),
              # far means too: the mean held as 0 and inf, the logits the truth
              "logits": np.where(np.arange(5) % 2, -800.0, 800.0) + 0 * MU}
    if "logits" in f.operands:
        values["mu"] = np.where(values["logits"] < 0, 0.0, np.inf) + 0 * MU
        values["theta"] = np.array([0.3, 1.0, 4.0, 50.0, 2.0])
    ops = [values[n] for n in f.operands]
    got = gpu.elementwise(distribution, name, [cuda.to_device(a) for a in ops])
    want = evaluate(distribution, name, ops)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert_matches(g, w, name)


def test_zero_inflated_draws_as_cpu():
    mu = np.repeat(MU, 40, axis=0)
    zi = np.linspace(-3, 3, 5)
    got = host(gpu.draw((cuda.to_device(mu), cuda.to_device(THETA), cuda.to_device(zi)),
                        mu.shape, nbnumba._arrays.key(4)))
    want = nbnumba.zinb.rvs(mu, THETA, zi_logits=zi, random_state=4)
    if SIM:
        np.testing.assert_array_equal(got, want)
    else:
        assert np.mean(got != want) <= 0.01


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_quantiles_match_cpu(name):
    got = getattr(gpu, name)(cuda.to_device(Q), cuda.to_device(MU), 2.5)
    assert_matches(got, getattr(ufuncs, name)(Q, MU, 2.5), name)


def test_float32_in_float32_out_and_out_argument():
    x32, m32 = X.astype(np.float32), MU.astype(np.float32)
    got = gpu.logpmf(cuda.to_device(x32), cuda.to_device(m32), np.float32(2.0))
    assert_matches(got, ufuncs.logpmf(x32, m32, np.float32(2.0)), "logpmf")
    out = cuda.device_array((6, 5))
    res = gpu.cdf(cuda.to_device(X), cuda.to_device(MU), 3.0, out=out)
    assert res is out
    assert_matches(out, ufuncs.cdf(X, MU, 3.0), "cdf")


def test_ufuncs_dispatch_device_arrays_and_streams():
    got = ufuncs.logpmf(cuda.to_device(X), cuda.to_device(MU), 2.0)
    assert hasattr(got, "copy_to_host")
    assert_matches(got, ufuncs.logpmf(X, MU, 2.0), "logpmf")
    stream = cuda.stream()
    got = gpu.sf(cuda.to_device(X, stream=stream), cuda.to_device(MU, stream=stream), 2.0,
                 stream=stream)
    stream.synchronize()
    assert_matches(got, ufuncs.sf(X, MU, 2.0), "sf")


def test_same_draws_as_cpu_for_the_same_key():
    mu = np.repeat(MU, 40, axis=0)                    # 1200 draws, every sampler path
    got = host(gpu.rvs(cuda.to_device(mu), cuda.to_device(THETA), random_state=12))
    want = nbnumba.rvs(mu, THETA, random_state=12)
    if SIM:
        np.testing.assert_array_equal(got, want)
    else:
        assert np.mean(got != want) <= 0.01


def test_grid_stride_loops_cover_every_element_once():
    # 16 threads over 6 x 5: each strides 3 rows and 1 column, with carries
    x, mu, theta = (cuda.to_device(a) for a in (X, MU, THETA.reshape(1, 5)))
    out = cuda.to_device(np.full((6, 5), np.nan))
    gpu.kernel("nbinom.logpmf")[1, 16](x, mu, theta, out)
    assert_matches(out, ufuncs.logpmf(X, MU, THETA), "logpmf")
    k0, k1 = nbnumba._arrays.key(12)
    zi = cuda.to_device(np.full((1, 1), -np.inf))
    gpu.kernel("rvs")[1, 16](mu, theta, zi, k0, k1, np.int64(0), out)
    want = nbnumba.rvs(MU, THETA, random_state=12)
    assert np.mean(host(out) == want) >= (1 if SIM else 0.9)


def test_numpy_arrays_are_not_moved_silently():
    with pytest.raises(TypeError, match="device arrays"):
        gpu.logpmf(cuda.to_device(X), MU, 2.0)
    with pytest.raises(ValueError, match="broadcast"):
        gpu.logpmf(cuda.to_device(X), cuda.to_device(MU[:4]), 2.0)


@pytest.mark.skipif(SIM, reason="CuPy and torch need a real GPU")
@pytest.mark.parametrize("family", ["cupy", "torch"])
def test_cupy_and_torch_stay_in_their_family(family):
    mod = pytest.importorskip(family)
    if family == "torch":
        if not mod.cuda.is_available():
            pytest.skip("torch without CUDA")
        dev = lambda a: mod.as_tensor(a, device="cuda")    # noqa: E731
    else:
        dev = mod.asarray
    got = ufuncs.logpmf(dev(X), dev(MU), dev(THETA))
    assert type(got) is type(dev(X))
    assert_matches(got, ufuncs.logpmf(X, MU, THETA), "logpmf")
    out = dev(np.empty((6, 5), np.float32))
    res = ufuncs.cdf(dev(X.astype(np.float32)), dev(MU.astype(np.float32)), 2.0, out=out)
    assert res is out
    assert_matches(out, ufuncs.cdf(X.astype(np.float32), MU.astype(np.float32), 2.0), "cdf")
    draws = gpu.rvs(dev(MU), dev(THETA), random_state=3)
    assert type(draws) is type(dev(X))
    assert np.mean(host(draws) != nbnumba.rvs(MU, THETA, random_state=3)) <= 0.1

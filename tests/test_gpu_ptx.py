"""Every CUDA kernel compiles to PTX for real targets, without a GPU.

Uses numba-cuda's compile_ptx with an explicit compute capability and the
NVVM of the CUDA toolkit wheels (the ``cuda`` extra). Skipped only where
numba-cuda is not installed; CI installs it, so a kernel that does not
compile fails CI.
"""
import types

import pytest

pytest.importorskip("numba_cuda")

from numba import cuda, float32, float64, int64, uint64  # noqa: E402

import nbnumba.scalar  # noqa: E402
from nbnumba import gpu  # noqa: E402
from nbnumba._math.table import lookup  # noqa: E402

CCS = [(8, 0), (9, 0)]


@pytest.fixture
def compute_capability(monkeypatch, request):
    """Compile device functions for ``request.param`` without a driver.

    numba-cuda compiles an @njit function called from a kernel for the
    *current* device's compute capability, which needs a driver; the target
    capability is supplied instead (the kernel itself gets it from
    compile_ptx's ``cc``).
    """
    import numba.cuda.dispatcher
    cc = request.param
    monkeypatch.setattr(numba.cuda.dispatcher, "get_current_device",
                        lambda: types.SimpleNamespace(compute_capability=cc))
    return cc


def _check(ptx, cc):
    assert f".target sm_{cc[0]}{cc[1]}" in ptx and ".entry" in ptx


ROWS = [name for name in gpu.PYKERNELS if name != "rvs"]


@pytest.mark.parametrize("compute_capability", [CCS[-1]], indirect=True)
@pytest.mark.parametrize("name", ROWS)
def test_every_table_row_compiles(name, compute_capability):
    """Each row's kernel (its operands, then its outputs) in float64."""
    f = lookup(name)
    a = float64[:, :]
    ptx, _ = cuda.compile_ptx(gpu.PYKERNELS[name], (a,) * (f.arity + len(f.outputs)),
                              cc=compute_capability)
    _check(ptx, compute_capability)


# Each CUDA compilation takes seconds and none is cached: the older target
# once (integer counts), every other kernel for the newer one.

@pytest.mark.parametrize("compute_capability", [CCS[-1]], indirect=True)
@pytest.mark.parametrize("name", ["nbinom.logpmf", "nbinom.cdf", "zinb.logpmf"])
def test_float32_kernels_compile(name, compute_capability):
    a = float32[:, :]
    f = lookup(name)
    ptx, _ = cuda.compile_ptx(gpu.PYKERNELS[name], (a,) * (f.arity + 1), cc=compute_capability)
    _check(ptx, compute_capability)


@pytest.mark.parametrize("compute_capability", [CCS[0]], indirect=True)
def test_integer_counts_compile(compute_capability):
    ptx, _ = cuda.compile_ptx(gpu.PYKERNELS["nbinom.logpmf"],
                              (int64[:, :], float64[:, :], float64[:, :], float64[:, :]),
                              cc=compute_capability)
    _check(ptx, compute_capability)


@pytest.mark.parametrize("compute_capability", [CCS[-1]], indirect=True)
@pytest.mark.parametrize("dtype", [float32, float64])
def test_sampling_kernel_compiles(dtype, compute_capability):
    a = dtype[:, :]
    ptx, _ = cuda.compile_ptx(gpu.PYKERNELS["rvs"], (a, a, a, uint64, uint64, int64, a),
                              cc=compute_capability)
    _check(ptx, compute_capability)


def _user_kernel(x, mu, theta, zi, k0, k1, out):
    """A user's kernel calling nbnumba.scalar: a row of each distribution,
    a tuple-valued one, and both samplers."""
    nbinom, zinb = nbnumba.scalar.nbinom, nbnumba.scalar.zinb
    i = cuda.grid(1)
    if i < x.size:
        d_mu, d_theta = nbinom.logpmf_grad(x[i], mu[i], theta)
        out[i] = (nbinom.logpmf(x[i], mu[i], theta) + zinb.cdf(x[i], mu[i], theta, zi) + d_mu
                  + nbinom.rvs(mu[i], theta, (k0, k1), i) + zinb.rvs(mu[i], theta, zi, (k0, k1), i))


@pytest.mark.parametrize("compute_capability", [CCS[-1]], indirect=True)
def test_user_kernel_calling_the_scalar_api_compiles(compute_capability):
    a = float64[:]
    ptx, _ = cuda.compile_ptx(_user_kernel, (a, a, float64, float64, uint64, uint64, a),
                              cc=compute_capability)
    _check(ptx, compute_capability)

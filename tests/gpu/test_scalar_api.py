"""A user's own @cuda.jit kernels calling nbnumba.scalar: the array
functions' values and nbnumba.rvs's draws (bit for bit under the simulator,
to the GPU's rounding on hardware; see test_kernels). Small arrays: the
simulator runs each thread in Python."""
import numpy as np
import pytest
# importing it skips this module where test_kernels is skipped
from test_kernels import SIM, cuda, host

import nbnumba
from nbnumba._math.table import DISTRIBUTIONS, table
from nbnumba.scalar import nbinom, zinb

K = np.array([0.0, 1.0, 3.0, 7.0, 12.0, 13.0, 40.0, 2.5])
MU = np.array([0.5, 2.0, 8.0, 10.0, 25.0, 1e-3, 60.0, 3.0])
Q = np.array([0.0, 0.1, 0.5, 0.9, 0.999, 1.0, 0.3, 0.7])
ZI = np.array([-np.inf, -2.0, 0.0, 1.5, 3.0, -30.0, 0.5, np.inf])
THETA = 2.0
KEY = (11, 4000000001)


def close(got, want):
    if SIM:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


@cuda.jit
def user_kernel(x, mu, theta, zi, k0, k1, ll, d_mu, zll, draws, zdraws):
    """What a user writes: per element, the NB log-pmf and its gradient in
    mu, the ZINB log-pmf, an NB and a ZINB draw (draw number i)."""
    i = cuda.grid(1)
    if i < x.size:
        ll[i] = nbinom.logpmf(x[i], mu[i], theta)
        d_mu[i] = nbinom.logpmf_grad(x[i], mu[i], theta)[0]
        zll[i] = zinb.logpmf(x[i], mu[i], theta, zi[i])
        draws[i] = nbinom.rvs(mu[i], theta, (k0, k1), i)
        zdraws[i] = zinb.rvs(mu[i], theta, zi[i], (k0, k1), i)


def test_user_kernel_gets_the_array_functions_values_and_draws():
    outs = [cuda.device_array(K.size) for _ in range(5)]
    user_kernel[1, 32](cuda.to_device(K), cuda.to_device(MU), THETA, cuda.to_device(ZI),
                       KEY[0], KEY[1], *outs)
    ll, d_mu, zll, draws, zdraws = (host(o) for o in outs)
    close(ll, nbnumba.logpmf(K, MU, THETA))
    close(d_mu, nbnumba.logpmf_grad(K, MU, THETA)[0])
    close(zll, nbnumba.zinb.logpmf(K, MU, THETA, zi_logits=ZI))
    want = nbnumba.rvs(MU, THETA, random_state=KEY)
    zwant = nbnumba.zinb.rvs(MU, THETA, zi_logits=ZI, random_state=KEY)
    if SIM:
        np.testing.assert_array_equal(draws, want)
        np.testing.assert_array_equal(zdraws, zwant)
    else:       # the GPU's exp and log may move a draw near a boundary
        assert np.mean(draws != want) <= 0.25 and np.mean(zdraws != zwant) <= 0.25


def _row_kernel(distribution, f):
    """A user kernel over one row: out[m, i] = output m at element i."""
    args = [f"a{m}" for m in range(f.arity)]
    call = f"mod.{f.name}(" + ", ".join(a + "[i]" for a in args) + ")"
    lines = [f"def kernel({', '.join(args)}, out):", "    i = cuda.grid(1)",
             "    if i < out.shape[1]:", f"        r = {call}"]
    lines += (["        out[0, i] = r"] if len(f.outputs) == 1
              else [f"        out[{m}, i] = r[{m}]" for m in range(len(f.outputs))])
    ns = {"cuda": cuda, "mod": nbinom if distribution == "nbinom" else zinb}
    exec("\n".join(lines) + "\n", ns)
    return cuda.jit(ns["kernel"])


@pytest.mark.parametrize("distribution,name", [(d, n) for d in DISTRIBUTIONS for n in table(d)])
def test_every_row_in_a_user_kernel(distribution, name):
    f = table(distribution)[name]
    given = {"k": K, "q": Q, "mu": MU, "theta": np.full(K.size, THETA), "zi_logits": ZI}
    ops = [given.get(o, ZI) for o in f.operands]
    out = cuda.device_array((len(f.outputs), K.size))
    _row_kernel(distribution, f)[1, 32](*(cuda.to_device(a) for a in ops), out)
    if distribution == "nbinom":
        want = getattr(nbnumba, name)(*ops)
    else:
        want = getattr(nbnumba.zinb, name)(*ops[:-1], zi_logits=ops[-1])
    want = np.stack(want) if isinstance(want, tuple) else np.asarray(want)[None]
    if name in ("ppf", "isf"):
        np.testing.assert_array_equal(host(out), want)
    else:
        close(host(out), want)

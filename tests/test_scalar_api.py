"""nbnumba.scalar: every table row, called from a user's @njit function,
equals the public array function bit for bit; the samplers give the draws of
nbnumba.rvs for the same key. (PTX: tests/test_gpu_ptx.py; a user's CUDA
kernel under the simulator: tests/gpu/test_scalar_api.py.)
"""
import math

import numba
import numpy as np
import pytest

import nbnumba
import nbnumba.scalar
from nbnumba._math.table import DISTRIBUTIONS, table

ROWS = [(d, name) for d in DISTRIBUTIONS for name in table(d)]
N = 400


def operands(names, rng, n=N):
    """Random operands by name, edge values (NaN, negative, 0, inf) included."""
    make = {
        "k": lambda: np.concatenate([rng.integers(0, 40, n - 9), [0, 1, 12, 13, 500, 1e7, -1, 2.5,
                                                                  np.nan]]),
        "q": lambda: np.concatenate([rng.uniform(0, 1, n - 5), [0.0, 1.0, 1e-300, 0.5, -0.1]]),
        "mu": lambda: np.concatenate([rng.lognormal(0.5, 2.0, n - 5), [0.0, 1e-12, 3e4, 1e9, -1.0]]),
        "theta": lambda: np.concatenate([10 ** rng.uniform(-2, 6, n - 4), [np.inf, 0.0, 1e12,
                                                                          np.nan]]),
    }
    return [rng.permutation(make[name]() if name in make
                            else np.concatenate([rng.normal(0, 3, n - 2), [40.0, -np.inf]]))
            for name in names]


def user_loop(distribution, f):
    """A user's @njit loop over arrays, calling nbnumba.scalar.<distribution>.<name>
    through the package's attributes, as a user writes it."""
    args = [f"a{m}" for m in range(f.arity)]
    call = f"nbnumba.scalar.{distribution}.{f.name}(" + ", ".join(a + "[i]" for a in args) + ")"
    lines = [f"def loop({', '.join(args)}, out):", "    for i in range(out.shape[1]):"]
    if len(f.outputs) == 1:
        lines.append(f"        out[0, i] = {call}")
    else:
        lines.append(f"        r = {call}")
        lines += [f"        out[{m}, i] = r[{m}]" for m in range(len(f.outputs))]
    ns = {"nbnumba": nbnumba}
    exec("\n".join(lines) + "\n", ns)
    return numba.njit(ns["loop"])


def array_function(distribution, f, ops):
    """The public array function of row f on ops (outputs stacked)."""
    if distribution == "nbinom":
        got = getattr(nbnumba, f.name)(*ops)
    else:
        *first, zi = ops
        got = getattr(nbnumba.zinb, f.name)(*first, zi_logits=zi)
    return np.stack(got) if isinstance(got, tuple) else np.asarray(got)[None]


@pytest.mark.parametrize("distribution,name", ROWS)
def test_every_row_equals_the_array_function(distribution, name):
    f = table(distribution)[name]
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    ops = operands(f.operands, rng, 120 if name == "entropy" else N)
    want = array_function(distribution, f, ops)
    got = np.empty((len(f.outputs), ops[0].size))
    user_loop(distribution, f)(*ops, got)
    np.testing.assert_array_equal(got, want)


def test_every_distribution_and_row_has_its_function():
    for d in DISTRIBUTIONS:
        module = getattr(nbnumba.scalar, d)
        assert set(module.__all__) == set(table(d)) | {"rvs"}, d
        for name in table(d):
            assert list(getattr(module, name).py_func.__code__.co_varnames[:table(d)[name].arity]) \
                == list(table(d)[name].operands)


def test_integer_and_float32_operands_are_converted():
    """An integer count or a float32 gives the float64 value (no int64 or
    float32 specialisation of the scalar math), inside @njit and from Python."""
    from nbnumba.scalar.nbinom import cdf, logpmf_grad

    @numba.njit
    def user(k, mu):
        return cdf(k, mu, 1.5), logpmf_grad(k, mu, 2.0)

    want = (float(nbnumba.cdf(7.0, 2.25, 1.5)), tuple(float(v) for v in nbnumba.logpmf_grad(7.0, 2.25, 2.0)))
    assert user(7, np.float32(2.25)) == want
    assert user(7.0, 2.25) == want
    assert nbnumba.scalar.nbinom.cdf(7, 2.25, 1.5) == want[0]
    assert isinstance(nbnumba.scalar.zinb.logpmf_grad(3, 2.0, 1.5, -1.0), tuple)


KEY = (123456789, 4000000000)
MU = np.array([0.0, 0.3, 2.0, 9.9, 10.5, 55.0, 3e3, 1e7, -1.0, np.inf, np.nan])
THETA = np.array([0.05, 0.7, 1.0, 4.0, 1e3, np.inf, 0.0])


@numba.njit
def _draws(mu, theta, zi, key, out):
    for i in range(out.size):
        if zi.size:
            out[i] = nbnumba.scalar.zinb.rvs(mu[i], theta[i], zi[i], key, i)
        else:
            out[i] = nbnumba.scalar.nbinom.rvs(mu[i], theta[i], key, i)


def _grid(n_repeat):
    mu, theta = (a.ravel() for a in np.meshgrid(MU, THETA))
    return np.repeat(mu, n_repeat), np.repeat(theta, n_repeat)


def test_nbinom_sampler_gives_the_draws_of_rvs():
    """Draw i of the scalar sampler is element i of nbnumba.rvs for the
    same key (every sampling path: inversion, Gamma-Poisson with shape below
    and above 1, PTRS, Poisson limit), NaN where rvs refuses the parameters."""
    mu, theta = _grid(40)
    got = np.empty(mu.size)
    _draws(mu, theta, np.empty(0), KEY, got)
    ok = (mu >= 0) & (mu < np.inf) & (theta >= 0)
    assert np.isnan(got[~ok]).all() and not np.isnan(got[ok]).any()
    mu, theta = mu[ok], theta[ok]
    for key in (KEY, nbnumba.scalar.key(2024)):      # a pair, and the key of a seed
        got = np.empty(mu.size)
        _draws(mu, theta, np.empty(0), key, got)
        np.testing.assert_array_equal(got, nbnumba.rvs(mu, theta, random_state=key))
    np.testing.assert_array_equal(got, nbnumba.rvs(mu, theta, random_state=2024))


def test_zinb_sampler_gives_the_draws_of_rvs():
    mu, theta = _grid(30)
    ok = (mu >= 0) & (mu < np.inf) & (theta >= 0)
    mu, theta = mu[ok], theta[ok]
    zi = np.random.default_rng(3).normal(0, 2, mu.size)
    zi[:3] = (-np.inf, np.inf, 0.0)
    got = np.empty(mu.size)
    _draws(mu, theta, zi, KEY, got)
    np.testing.assert_array_equal(got, nbnumba.zinb.rvs(mu, theta, zi_logits=zi, random_state=KEY))
    assert got[1] == 0.0 and math.isnan(nbnumba.scalar.zinb.rvs(1.0, 1.0, np.nan, KEY, 0))


def test_key_words_are_32_bits():
    """Philox keys are two 32-bit words: the scalar sampler ignores higher
    bits; scalar.key returns words in range, usable as random_state."""
    assert nbnumba.scalar.nbinom.rvs(40.0, 2.0, (5, 6), 9) == \
        nbnumba.scalar.nbinom.rvs(40.0, 2.0, (5 + 2 ** 32, 6 + 2 ** 33), 9)
    k = nbnumba.scalar.key(np.random.default_rng(1))
    assert all(isinstance(w, int) and 0 <= w < 2 ** 32 for w in k)
    with pytest.raises(ValueError, match="random_state"):
        nbnumba.scalar.key(-1)

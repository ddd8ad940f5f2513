"""Samples of many draws per parameter are drawn a parameter block at a
time: the same draws as one broadcast call, in the memory of the result
plus one block."""
import tracemalloc

import numpy as np
import pytest

import nbnumba
from nbnumba import sampling

RNG = np.random.default_rng(3)
MU = RNG.gamma(0.5, 4.0, (40, 500))           # 20000 elements >= BLOCK_MIN
THETA = RNG.uniform(0.2, 20.0, (40, 500))


def _unsplit(monkeypatch, f):
    with monkeypatch.context() as m:
        m.setattr(sampling, "BLOCK_MIN", 10**12)
        return f()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocks_give_the_broadcast_draws(monkeypatch, dtype):
    d = nbnumba.NegativeBinomial(mu=MU.astype(dtype), theta=THETA.astype(dtype))
    got = d.sample((3, 2), random_state=7)
    want = _unsplit(monkeypatch, lambda: d.sample((3, 2), random_state=7))
    assert got.dtype == want.dtype == dtype and got.shape == (3, 2, 40, 500)
    np.testing.assert_array_equal(got, want)
    # and the leading draws are those of a smaller sample
    np.testing.assert_array_equal(got[0, 0], d.sample((1,), random_state=7)[0])


def test_rvs_blocks_and_zero_inflation(monkeypatch):
    got = nbnumba.rvs(MU, THETA, size=(4, 40, 500), random_state=1)
    want = _unsplit(monkeypatch, lambda: nbnumba.rvs(MU, THETA, size=(4, 40, 500), random_state=1))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    z = nbnumba.zinb.rvs(MU, THETA, zi_logits=np.full(500, -1.0), size=(2, 40, 500), random_state=2)
    zw = _unsplit(monkeypatch, lambda: nbnumba.zinb.rvs(MU, THETA, zi_logits=np.full(500, -1.0),
                                                        size=(2, 40, 500), random_state=2))
    np.testing.assert_array_equal(z, zw)


def test_invalid_parameters_in_a_later_block_raise():
    mu = MU.copy()
    mu[-1, -1] = -1.0
    with pytest.raises(ValueError, match="Domain error"):
        nbnumba.rvs(mu, THETA, size=(3, 40, 500), random_state=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_peak_memory_is_result_plus_one_block(dtype):
    d = nbnumba.NegativeBinomial(mu=MU.astype(dtype), theta=THETA.astype(dtype))
    d.sample((1,), random_state=0)          # compiled before measuring
    tracemalloc.start()
    try:
        out = d.sample((20,), random_state=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    block = MU.size * 8                     # one float64 operand
    assert peak <= out.nbytes + 2 * block + (1 << 20), (peak, out.nbytes, block)

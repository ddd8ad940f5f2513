"""nbnumba.loglik: fused sums against mpmath and against logpmf(...).sum()."""
import math

import mpmath as mp
import numba
import numpy as np
import pytest

import nbnumba
from nbnumba._demo import counts_matrix


def test_small_matrix_against_mpmath():
    mp.mp.dps = 40
    X, mu, theta = counts_matrix(12, 7, seed=3)
    exact = mp.mpf(0)
    for i in range(12):
        for j in range(7):
            k, m, t = mp.mpf(int(X[i, j])), mp.mpf(mu[i, j]), mp.mpf(theta[j])
            exact += (mp.loggamma(k + t) - mp.loggamma(t) - mp.loggamma(k + 1)
                      + t * mp.log(t / (t + m)) + k * mp.log(m / (t + m)))
    assert nbnumba.loglik(X, mu, theta) == pytest.approx(float(exact), rel=1e-15)


def test_large_matrix_matches_elementwise_sums():
    X, mu, theta = counts_matrix(3000, 700)
    lp = nbnumba.logpmf(X, mu, theta)
    assert nbnumba.loglik(X, mu, theta) == math.fsum(lp.ravel()) or \
        nbnumba.loglik(X, mu, theta) == pytest.approx(math.fsum(lp.ravel()), rel=1e-15)
    np.testing.assert_allclose(nbnumba.loglik(X, mu, theta, axis=1), lp.sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(nbnumba.loglik(X, mu, theta, axis=0), lp.sum(axis=0), rtol=1e-13)
    assert nbnumba.loglik(X, mu, theta, axis=0, keepdims=True).shape == (1, 700)
    assert nbnumba.loglik(X, mu, theta, axis=1, keepdims=True).shape == (3000, 1)
    assert nbnumba.loglik(X, mu, theta, keepdims=True).shape == (1, 1)


def test_same_result_for_any_thread_count():
    X, mu, theta = counts_matrix(500, 300)
    n = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = [nbnumba.loglik(X, mu, theta, axis=a) for a in (None, 0, 1)]
    finally:
        numba.set_num_threads(n)
    two = [nbnumba.loglik(X, mu, theta, axis=a) for a in (None, 0, 1)]
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_compensation_beats_naive_float_summation():
    """1e6 equal terms: a naive float32-style error would show; ours is exact."""
    x = np.zeros(10 ** 6, dtype=np.int64)
    total = nbnumba.loglik(x, 0.1, 1.0)
    assert total == pytest.approx(10 ** 6 * -math.log1p(0.1), rel=1e-15)


def test_edges():
    assert nbnumba.loglik(np.array([0, 3]), 0.0, 1.0) == -np.inf
    assert np.isnan(nbnumba.loglik(np.array([0, 3]), -1.0, 1.0))
    with pytest.raises(ValueError):
        nbnumba.loglik(np.zeros((2, 2, 2)), 1.0, 1.0)


SPARSE_RNG = np.random.default_rng(21)
XS = SPARSE_RNG.poisson(0.4, (120, 70))


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_matrix", "csr_array", "csc_array"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_sparse_equals_dense(fmt, axis):
    import scipy.sparse as sp
    X = getattr(sp, fmt)(XS)
    s = SPARSE_RNG.uniform(0.5, 2, 120)
    m = SPARSE_RNG.uniform(0.1, 3, 70)
    theta = SPARSE_RNG.uniform(0.3, 5, 70)
    zl = SPARSE_RNG.normal(0, 1, 70)
    for mu in (s[:, None] * m, m, (s, m)):
        want = nbnumba.loglik(XS, mu, theta, axis=axis)
        np.testing.assert_allclose(nbnumba.loglik(X, mu, theta, axis=axis), want, rtol=1e-15)
        want = nbnumba.zinb.loglik(XS, mu, theta, zi_logits=zl, axis=axis)
        np.testing.assert_allclose(nbnumba.zinb.loglik(X, mu, theta, zi_logits=zl, axis=axis),
                                   want, rtol=1e-15)
    # the outer product equals the materialised mean
    np.testing.assert_allclose(nbnumba.loglik(X, (s, m), theta, axis=axis),
                               nbnumba.logpmf(XS, s[:, None] * m, theta).sum(axis=axis),
                               rtol=1e-13)


def test_sparse_elementwise_and_formats():
    import scipy.sparse as sp
    np.testing.assert_array_equal(nbnumba.logpmf(sp.csr_matrix(XS), 2.0, 1.5),
                                  nbnumba.logpmf(XS, 2.0, 1.5))
    with pytest.raises(TypeError, match="COO"):
        nbnumba.loglik(sp.coo_matrix(XS), 2.0, 1.5)
    with pytest.raises(ValueError, match="size_factors"):
        nbnumba.loglik(sp.csr_matrix(XS), (np.ones(3), np.ones(70)), 1.5)


# ------------------------------------------------ issue 31: duplicates, Dask

def _with_duplicates(X, fmt, rng):
    """X (dense counts) as a CSR/CSC matrix or array (fmt) whose counts are
    split into duplicate entries (some explicit zeros) in a shuffled order
    within each row (column): scipy's meaning of them is their sum."""
    import scipy.sparse as sp
    by_col = fmt.startswith("csc")
    A = X.T if by_col else X
    data, indices, indptr = [], [], [0]
    for line in A:
        entries = []
        for j in np.flatnonzero(line):
            parts = rng.multinomial(int(line[j]), np.ones(3) / 3)
            entries += [(j, float(p)) for p in parts]
        entries = [entries[e] for e in rng.permutation(len(entries))]
        indices += [j for j, _ in entries]
        data += [v for _, v in entries]
        indptr.append(len(data))
    m = getattr(sp, fmt)((np.array(data), np.array(indices, np.int32), np.array(indptr)),
                         shape=X.shape)
    assert not m.has_canonical_format
    np.testing.assert_array_equal(m.toarray(), X)
    return m


def test_issue31_duplicate_entry_reproducer():
    import scipy.sparse as sp
    X = sp.csr_matrix(([1., 2.], [0, 0], [0, 2, 2]), shape=(2, 2))   # X[0, 0] = 3
    mp.mp.dps = 40
    k, m, t = mp.mpf(3), mp.mpf(2), mp.mpf(1.5)
    lp3 = mp.loggamma(k + t) - mp.loggamma(t) - mp.loggamma(k + 1) + t * mp.log(t / (t + m)) \
        + k * mp.log(m / (t + m))
    lp0 = t * mp.log(t / (t + m))
    assert nbnumba.loglik(X, 2., 1.5) == pytest.approx(float(lp3 + 3 * lp0), rel=1e-15)
    assert not X.has_canonical_format        # the caller's matrix is left as it is
    assert X.nnz == 2


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_matrix", "csr_array", "csc_array"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("mean", ["scalar", "per gene", "dense", "outer"])
@pytest.mark.parametrize("zero_inflated", [False, True])
def test_duplicate_entries_are_summed(fmt, axis, mean, zero_inflated):
    rng = np.random.default_rng(31)
    X, mu, theta = counts_matrix(9, 5, seed=4)
    S = _with_duplicates(X, fmt, rng)
    sf, gm = rng.uniform(0.5, 2, 9), rng.uniform(0.5, 5, 5)
    mu = {"scalar": 2.5, "per gene": gm, "dense": mu, "outer": (sf, gm)}[mean]
    if zero_inflated:
        zl = np.linspace(-2, 1, 5)
        got = nbnumba.zinb.loglik(S, mu, theta, zi_logits=zl, axis=axis)
        want = nbnumba.zinb.loglik(X, mu, theta, zi_logits=zl, axis=axis)
    else:
        got = nbnumba.loglik(S, mu, theta, axis=axis)
        want = nbnumba.loglik(X, mu, theta, axis=axis)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_canonical_sparse_is_not_copied():
    import scipy.sparse as sp
    from nbnumba import reductions
    X = sp.random(30, 20, density=0.3, format="csr", random_state=1)
    assert X.has_canonical_format
    assert reductions.canonical(X) is X
    D = sp.csr_matrix(([1., 2.], [0, 0], [0, 2, 2]), shape=(2, 2))
    C = reductions.canonical(D)
    assert C is not D and C.has_canonical_format and C.nnz == 1 and C[0, 0] == 3


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_dask_outer_mean(axis):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(0)
    X = rng.poisson(2, (10, 6))
    sf, gm = np.linspace(0.5, 2, 10), np.linspace(1, 3, 6)
    got = nbnumba.loglik(da.from_array(X, chunks=(4, 3)), (sf, gm), 2., axis=axis)
    want = nbnumba.loglik(X, (sf, gm), 2., axis=axis)
    np.testing.assert_allclose(got.compute(scheduler="synchronous"), want, rtol=1e-13)

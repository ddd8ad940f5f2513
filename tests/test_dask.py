"""Dask arrays: lazy graphs, the same numbers as in memory, on a real cluster."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import nbnumba  # noqa: E402
from nbnumba import NegativeBinomial, nbinom, ufuncs  # noqa: E402
from nbnumba._demo import counts_matrix  # noqa: E402

X, MU, THETA = counts_matrix(600, 90)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _no_compute(*args, **kwargs):
    raise AssertionError("a value was computed while the graph was built")


def test_graph_building_computes_nothing():
    Xd = da.from_array(X, chunks=(100, 30))
    mud = da.from_array(MU, chunks=(100, 30))
    with dask.config.set(scheduler=_no_compute):
        graphs = [ufuncs.logpmf(Xd, mud, THETA), ufuncs.ppf(0.3, mud, THETA),
                  nbinom(mu=mud, theta=THETA).cdf(Xd), NegativeBinomial(mu=mud, theta=THETA).log_prob(Xd),
                  nbnumba.rvs(mud, THETA, random_state=1), nbnumba.loglik(Xd, mud, THETA, axis=0),
                  NegativeBinomial(mu=mud, theta=THETA).sample((), random_state=2)]
    for g in graphs:
        assert isinstance(g, da.Array)
    assert graphs[0].dtype == np.float64 and graphs[0].chunks == Xd.chunks


# Each eager (NumPy) result first: the kernel it compiles, cached on disk,
# is the one the workers' blocks load (one kernel serves both), rather than
# each worker compiling it again.

@pytest.mark.parametrize("chunks", [(100, 30), (250, 90)])
def test_cluster_results_equal_numpy_bit_for_bit(client, chunks):
    Xd, mud = da.from_array(X, chunks=chunks), da.from_array(MU, chunks=chunks)
    for name in ("logpmf", "cdf", "sf"):
        want = getattr(ufuncs, name)(X, MU, THETA)
        np.testing.assert_array_equal(getattr(ufuncs, name)(Xd, mud, THETA).compute(), want)
    q = np.linspace(0, 1, X.size).reshape(X.shape)
    want = ufuncs.ppf(q, MU, THETA)
    np.testing.assert_array_equal(ufuncs.ppf(da.from_array(q, chunks=chunks), mud, THETA).compute(),
                                  want)
    want = nbnumba.rvs(MU, THETA, random_state=7)
    np.testing.assert_array_equal(nbnumba.rvs(mud, THETA, random_state=7).compute(), want)


def test_sampling_with_explicit_chunks_and_size(client):
    from nbnumba import _dask
    from nbnumba._arrays import key
    from nbnumba.sampling import draw
    k = key(3)
    want = draw((2.0, THETA), (600, 90), k, np.float64)
    lazy = _dask.draw((2.0, THETA), (600, 90), k, np.float64, draw, chunks=(77, 13))
    np.testing.assert_array_equal(lazy.compute(), want)


def test_faces_and_loglik_on_the_cluster(client):
    Xd, mud = da.from_array(X, chunks=(150, 45)), da.from_array(MU, chunks=(150, 45))
    want = nbinom(mu=MU, theta=THETA).logsf(X)
    np.testing.assert_array_equal(nbinom(mu=mud, theta=THETA).logsf(Xd).compute(), want)
    want = NegativeBinomial(mu=MU, theta=THETA).log_prob(X)
    np.testing.assert_allclose(NegativeBinomial(mu=mud, theta=THETA).log_prob(Xd).compute(),
                               want, rtol=0, atol=0)
    want = nbnumba.loglik(X, MU, THETA)
    assert nbnumba.loglik(Xd, mud, THETA).compute() == pytest.approx(want, rel=1e-14)
    want = nbnumba.loglik(X, MU, THETA, axis=1)
    np.testing.assert_allclose(nbnumba.loglik(Xd, mud, THETA, axis=1).compute(), want,
                               rtol=1e-14)
    want = nbnumba.loglik(X, MU, THETA, axis=0)
    np.testing.assert_allclose(nbnumba.loglik(Xd, da.from_array(MU, chunks=(150, 45)),
                                              da.from_array(THETA, chunks=45), axis=0).compute(),
                               want, rtol=1e-14)


def test_invalid_parameters_raise_when_sampled():
    bad = da.from_array(np.array([1.0, -1.0]), chunks=1)
    with pytest.raises(ValueError, match="Domain error"):
        nbnumba.rvs(bad, 1.0).compute(scheduler="sync")

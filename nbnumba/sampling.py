"""NB sampling on arrays: ``nbnumba.rvs``, and the draws behind both faces.

Draw ``i`` (the C-order position in the output) of a call depends only on the
key and ``i`` (counter-based Philox streams, see ``_random``), so a seed gives
the same samples for any number of threads and any split of the output.
"""
import numpy as np
from numba import njit, prange

from . import _params, _random


@njit(parallel=True, cache=True)
def _sample2d(mu, theta, k0, k1, offset, stride, out):
    """out[i, j] = NB draw number offset + i * stride + j, in tiles of 4096."""
    n0, n1 = out.shape
    nb = (n1 + 4095) // 4096
    for t in prange(n0 * nb):
        i = t // nb
        for j in range((t % nb) * 4096, min((t % nb + 1) * 4096, n1)):
            out[i, j] = _random.nb_variate(np.float64(mu[i, j]), np.float64(theta[i, j]),
                                           k0, k1, offset + i * stride + j)


def key(random_state):
    """A 64-bit Philox key (two 32-bit words) from ``random_state``.

    None: NumPy's global RandomState (as scipy); an int or a SeedSequence:
    derived by SeedSequence (same seed, same key); a Generator or a
    RandomState: drawn from it, so that it advances.
    """
    if random_state is None:
        words = np.random.randint(0, 2 ** 32, size=2, dtype=np.uint64)
    elif isinstance(random_state, (int, np.integer)):
        words = np.random.SeedSequence(int(random_state)).generate_state(2)
    elif isinstance(random_state, np.random.SeedSequence):
        words = random_state.generate_state(2)
    elif isinstance(random_state, np.random.Generator):
        words = random_state.integers(0, 2 ** 32, size=2, dtype=np.uint64)
    elif isinstance(random_state, np.random.RandomState):
        words = random_state.randint(0, 2 ** 32, size=2, dtype=np.uint64)
    else:
        raise ValueError("random_state must be None, an int, a SeedSequence, a Generator or "
                         f"a RandomState; got {random_state!r}")
    return np.uint64(words[0]), np.uint64(words[1])


def _shape(size, default):
    if size is None:
        return tuple(default)
    return tuple(int(n) for n in np.atleast_1d(np.asarray(size, dtype=np.int64)))


def draw(mu, theta, shape, random_state, dtype, offset=0, stride=None):
    """NB(mu, theta) draws of ``shape`` (parameters broadcast to it) as ``dtype``.

    Floating dtypes give NaN for invalid parameters. A 2-D block of a larger
    2-D array gets the draws of its place with ``offset`` (the number of its
    first element) and ``stride`` (the row length of the larger array).
    ``random_state`` may also be a key (a pair of uint64) from :func:`key`.
    """
    k0, k1 = random_state if isinstance(random_state, tuple) else key(random_state)
    shape = tuple(shape)
    if _params.is_dask(mu) or _params.is_dask(theta):
        from . import _dask
        return _dask.draw(mu, theta, shape, (k0, k1), dtype)
    shape2 = ((1,) * (2 - len(shape)) + shape if len(shape) <= 2
              else (int(np.prod(shape[:-1])), shape[-1]))
    views = [np.broadcast_to(a, shape).reshape(shape2) for a in (mu, theta)]
    out = np.empty(shape2, dtype)
    if out.size:
        _sample2d(views[0], views[1], k0, k1, np.int64(offset),
                  np.int64(shape2[1] if stride is None else stride), out)
    return out.reshape(shape)


def check_domain(mu, theta):
    """Raise ValueError, as scipy's rvs does, for invalid parameters."""
    with np.errstate(invalid="ignore"):
        ok = (mu >= 0) & (theta >= 0) & (mu < np.inf)
    if not np.all(ok):
        raise ValueError("Domain error in arguments: mu must be finite and >= 0, theta >= 0")


def rvs(mu, theta, size=None, random_state=None):
    """Random NB(mu, theta) counts, int64, like ``scipy.stats.nbinom.rvs``.

    Parameters
    ----------
    mu, theta : array_like
        Mean and inverse dispersion (``theta = inf`` is Poisson); broadcast
        against each other and against ``size``.
    size : int or tuple of ints, optional
        Output shape; default the broadcast shape of the parameters.
    random_state : None, int, SeedSequence, Generator or RandomState
        See :func:`key`. The same seed gives the same draws for any number
        of threads, and ``rvs(..., size=n)[:m]`` equals ``size=m``.

    Raises
    ------
    ValueError
        For invalid parameters (as scipy: "Domain error in arguments").
    """
    mu, theta = _params.as_float(mu, theta)
    shape = _shape(size, np.broadcast_shapes(mu.shape, theta.shape))
    if _params.is_dask(mu) or _params.is_dask(theta):
        return draw(mu, theta, shape, random_state, np.int64)   # blocks check and cast
    check_domain(mu, theta)
    out = to_int64(draw(mu, theta, shape, random_state, np.float64))
    return out[()] if out.ndim == 0 else out


def to_int64(draws):
    """Float draws as int64, refusing those beyond its range (a cast would wrap)."""
    if draws.size and not np.max(draws) < 2.0 ** 63:
        raise ValueError("NB draws beyond the int64 range (mean near 1e18 or above): "
                         "use NegativeBinomial.sample, which returns floats")
    return draws.astype(np.int64)

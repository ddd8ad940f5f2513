"""NumPy ufuncs of NB(mu, theta) compiled by Numba.

``logpmf, pmf, cdf, logcdf, sf, logsf`` take ``(k, mu, theta)``; ``ppf`` and
``isf`` take ``(q, mu, theta)``. They broadcast, accept ``out=``, return
float32 for float32 inputs and float64 otherwise, take integer ``k`` arrays
without converting them, and run on all cores above
``PARALLEL_THRESHOLD`` elements. Each is also callable from a user's
``@numba.njit`` function (on scalars or arrays).

The ufuncs are compiled on first use and cached on disk, so that
``import nbnumba`` stays cheap.
"""
import functools

import numpy as np
from numba import vectorize
from numba.extending import overload

from . import _scalar

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

#: Elements from which a call runs on Numba's thread pool.
PARALLEL_THRESHOLD = 20000

# float32 first so that NumPy's loop search keeps float32 as float32; integer
# counts have their own loop (no conversion pass), Python floats are float64.
SIGNATURES = ["float32(float32, float32, float32)",
              "float64(int64, float64, float64)",
              "float64(float64, float64, float64)"]


f8 = np.float64     # float32 inputs are computed in float64 and rounded once


# One kernel per function: Numba caches by function, so they are not
# generated in a loop.
def _k_logpmf(k, mu, theta):
    return _scalar.logpmf(f8(k), f8(mu), f8(theta))


def _k_pmf(k, mu, theta):
    return _scalar.pmf(f8(k), f8(mu), f8(theta))


def _k_cdf(k, mu, theta):
    return _scalar.cdf(f8(k), f8(mu), f8(theta))


def _k_logcdf(k, mu, theta):
    return _scalar.logcdf(f8(k), f8(mu), f8(theta))


def _k_sf(k, mu, theta):
    return _scalar.sf(f8(k), f8(mu), f8(theta))


def _k_logsf(k, mu, theta):
    return _scalar.logsf(f8(k), f8(mu), f8(theta))


def _k_ppf(q, mu, theta):
    return _scalar.ppf(f8(q), f8(mu), f8(theta))


def _k_isf(q, mu, theta):
    return _scalar.isf(f8(q), f8(mu), f8(theta))


_KERNELS = {name: globals()["_k_" + name] for name in __all__}


@functools.cache
def compiled(name, parallel=False):
    """The Numba ufunc behind ``name`` (serial or parallel), built once."""
    target = "parallel" if parallel else "cpu"
    return vectorize(SIGNATURES, target=target, cache=True)(_KERNELS[name])


def _shape(args):
    return np.broadcast_shapes(*(np.shape(a) for a in args))


def _make(name, argname, doc):
    def ufunc(x, mu, theta, out=None):
        shape = _shape((x, mu, theta))
        n = int(np.prod(shape)) if shape else 1
        f = compiled(name, n >= PARALLEL_THRESHOLD)
        if out is None:
            return f(x, mu, theta)
        return f(x, mu, theta, out=out)

    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"""{doc} of NB(mu, theta) at ``{argname}``, elementwise.

    Parameters
    ----------
    {argname} : array_like
    mu : array_like
        Mean, ``>= 0``.
    theta : array_like
        Inverse dispersion, ``>= 0``; ``inf`` is the Poisson distribution.
    out : ndarray, optional
        Where to put the result (any broadcast-compatible array).

    Returns
    -------
    ndarray or scalar
        float32 if all inputs are float32, else float64. Invalid parameters
        give NaN, as in ``scipy.stats.nbinom``.
    """

    @overload(ufunc, jit_options={"cache": True})
    def _ol(x, mu, theta):
        f = compiled(name)
        return lambda x, mu, theta: f(x, mu, theta)

    return ufunc


logpmf = _make("logpmf", "k", "Log-probability mass function")
pmf = _make("pmf", "k", "Probability mass function")
cdf = _make("cdf", "k", "Cumulative distribution function P(X <= k)")
logcdf = _make("logcdf", "k", "Log of the cdf")
sf = _make("sf", "k", "Survival function P(X > k)")
logsf = _make("logsf", "k", "Log of the survival function")
ppf = _make("ppf", "q", "Quantile (smallest k with cdf(k) >= q)")
isf = _make("isf", "q", "Inverse survival function (smallest k with sf(k) <= q)")

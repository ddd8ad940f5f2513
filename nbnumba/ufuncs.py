"""NumPy ufuncs of NB(mu, theta) compiled by Numba.

``logpmf, pmf, cdf, logcdf, sf, logsf`` take ``(k, mu, theta)``; ``ppf`` and
``isf`` take ``(q, mu, theta)``. They broadcast, accept ``out=``, return
float32 for float32 inputs and float64 otherwise, take integer ``k`` arrays
without converting them, and run on all cores above
``PARALLEL_THRESHOLD`` elements (a ``prange`` kernel over broadcast views up
to 2-D, Numba's parallel ufunc beyond). Each is also callable from a user's
``@numba.njit`` function (on scalars or arrays), where it is the serial
ufunc ``compiled(name)``. Inputs exposing ``__cuda_array_interface__``
(numba device arrays, CuPy, torch CUDA tensors) run on the GPU through
:mod:`nbnumba.gpu`, without copies; Dask arrays give lazy Dask arrays.

The ufuncs are compiled on first use and cached on disk, so that
``import nbnumba`` stays cheap.
"""
import functools

import numba
import numpy as np
from numba import njit, prange, vectorize
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


_CODES = {name: i for i, name in enumerate(__all__)}
_FAST_K = (np.int64, np.int32, np.float64, np.float32)
_FAST_PARAM = (np.float64, np.float32)


@njit(parallel=True, cache=True)
def _apply2d(code, x, mu, theta, out):
    """out = f(x, mu, theta) over 2-D (broadcast) views, f chosen by code.

    A literal code compiles one specialization per function (cached), with
    the scalar function inlined: faster than Numba's parallel ufunc loop.
    Tiles of a row and up to 4096 columns spread 1-row inputs over threads.
    """
    numba.literally(code)
    n0, n1 = out.shape
    nb = (n1 + 4095) // 4096
    for t in prange(n0 * nb):
        i = t // nb
        for j in range((t % nb) * 4096, min((t % nb + 1) * 4096, n1)):
            k, m, th = np.float64(x[i, j]), np.float64(mu[i, j]), np.float64(theta[i, j])
            if code == 0:
                r = _scalar.logpmf(k, m, th)
            elif code == 1:
                r = _scalar.pmf(k, m, th)
            elif code == 2:
                r = _scalar.cdf(k, m, th)
            elif code == 3:
                r = _scalar.logcdf(k, m, th)
            elif code == 4:
                r = _scalar.sf(k, m, th)
            elif code == 5:
                r = _scalar.logsf(k, m, th)
            elif code == 6:
                r = _scalar.ppf(k, m, th)
            else:
                r = _scalar.isf(k, m, th)
            out[i, j] = r


def _parallel(name, args, shape, out):
    """Run a large call through _apply2d; None where it does not apply
    (more than 2 dimensions, other dtypes, an `out` it cannot fill)."""
    if len(shape) > 2:
        return None
    arrays = [np.asarray(a) for a in args]
    if arrays[0].dtype not in _FAST_K or any(a.dtype not in _FAST_PARAM for a in arrays[1:]):
        return None
    dtype = out_dtype(args)
    shape2 = (1,) * (2 - len(shape)) + tuple(shape)
    if out is None:
        res = np.empty(shape2, dtype)
    elif out.shape == tuple(shape) and out.dtype == dtype and out.flags.c_contiguous:
        res = out.reshape(shape2)
    else:
        return None
    views = [np.broadcast_to(a, shape).reshape(shape2) for a in arrays]
    _apply2d(_CODES[name], *views, res)
    return out if out is not None else res.reshape(shape)


def out_dtype(args):
    """NumPy's choice among this module's loops: float32 only if every input
    that is not a Python scalar is float32 (Python floats are weak); integer
    counts go to float64."""
    strong = [np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype
              for a in args if not isinstance(a, (int, float))]
    return np.float32 if strong and all(d == np.float32 for d in strong) else np.float64


def on_device(a):
    """Whether a is a GPU array (CUDA array interface, or the CUDA simulator's)."""
    return hasattr(a, "__cuda_array_interface__") or hasattr(a, "__cuda_ndarray__")


def _make(name, argname, doc):
    def ufunc(x, mu, theta, out=None):
        if any(on_device(a) for a in (x, mu, theta, out)):
            from . import gpu
            return getattr(gpu, name)(x, mu, theta, out=out)
        if any(type(a).__module__.startswith("dask.") for a in (x, mu, theta)):
            if out is not None:
                raise TypeError("out= is not supported for Dask arrays")
            from . import _dask
            return _dask.elementwise(name, x, mu, theta)
        shape = np.broadcast_shapes(np.shape(x), np.shape(mu), np.shape(theta))
        if int(np.prod(shape)) >= PARALLEL_THRESHOLD:
            res = _parallel(name, (x, mu, theta), shape, out)
            if res is not None:
                return res
            f = compiled(name, True)
        else:
            f = compiled(name)
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

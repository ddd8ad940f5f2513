"""NumPy ufuncs of NB(mu, theta) compiled by Numba.

``logpmf, pmf, cdf, logcdf, sf, logsf`` take ``(k, mu, theta)``; ``ppf`` and
``isf`` take ``(q, mu, theta)``. They broadcast, accept ``out=``, return
float32 for float32 inputs and float64 otherwise, take integer ``k`` arrays
without converting them, and run on all cores above
``PARALLEL_THRESHOLD`` elements (a ``prange`` kernel over contiguous tiles of
rows, broadcasting without copies, up to 2-D; Numba's parallel ufunc beyond
or for non-contiguous inputs). Each is also callable from a user's
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
from numba import njit, prange, types, vectorize
from numba.extending import overload

from ._math import nbinom as _scalar
from ._params import on_device
from ._math.special import wide_vectors

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
_K_DTYPES = (np.int64, np.int32, np.float64, np.float32)
_PARAM_DTYPES = (np.float64, np.float32)


TILE = 4096


@njit(inline="always")
def _row(a, i, j0, j1):
    """Columns j0:j1 of row i of a, a C-contiguous 2-D operand whose
    dimensions are 1 (broadcast) or the output's, as a contiguous 1-D array:
    a view, or a tile-sized fill for a column that broadcasts."""
    r = a[i] if a.shape[0] > 1 else a[0]
    if a.shape[1] == 1:
        return np.full(j1 - j0, r[0])
    return r[j0:j1]


@njit(parallel=True, cache=True)
def _tiles_parallel(code, x, mu, theta, out):
    """out = f(x, mu, theta) over 2-D operands (see _row), f chosen by code,
    by tiles of a row and up to TILE columns (so that 1-row inputs spread
    over threads too), on all threads. A literal code compiles one
    specialization per function (cached)."""
    numba.literally(code)
    for t in prange(_ntiles(out)):
        _tile_at(code, x, mu, theta, out, t)


@njit(cache=True)
def _tiles_serial(code, x, mu, theta, out):
    """_tiles_parallel on the calling thread (Dask blocks)."""
    numba.literally(code)
    for t in range(_ntiles(out)):
        _tile_at(code, x, mu, theta, out, t)


@njit(inline="always")
def _ntiles(out):
    return out.shape[0] * ((out.shape[1] + TILE - 1) // TILE)


@njit(inline="always")
def tile_span(out, t):
    """(row, first column, end column) of tile t of out (see _ntiles)."""
    nb = (out.shape[1] + TILE - 1) // TILE
    j0 = (t % nb) * TILE
    return t // nb, j0, min(j0 + TILE, out.shape[1])


@njit(inline="always")
def _tile_at(code, x, mu, theta, out, t):
    i, j0, j1 = tile_span(out, t)
    _tile(code, _row(x, i, j0, j1), _row(mu, i, j0, j1), _row(theta, i, j0, j1),
          out[i, j0:j1])


# Per code: the branch-free common path (or None) and the general function
# that takes over where it gives NaN.
_FAST = {0: _scalar._logpmf_fast, 1: _scalar._pmf_fast, 2: _scalar._cdf_fast,
         4: _scalar._sf_fast}
_GENERAL = {0: _scalar._logpmf_slow, 1: _scalar._pmf_slow, 2: _scalar._cdf_slow, 3: _scalar.logcdf,
            4: _scalar._sf_slow, 5: _scalar.logsf, 6: _scalar.ppf, 7: _scalar.isf}
# The codes whose fast loop runs faster with 512-bit vectors (logpmf ~10%,
# pmf ~5%; cdf and sf ~10% slower; Sapphire Rapids).
_WIDE = (0, 1)


def _tile(code, xs, ms, ts, o):
    """o = f(xs, ms, ts) over contiguous 1-D arrays, f chosen by code, a
    literal (compiled code only: see the overload below)."""


@overload(_tile, prefer_literal=True)
def _tile_impl(code, xs, ms, ts, o):
    """One implementation per literal code, so that only its functions are
    compiled. With a branch-free path, it runs first over the whole tile (a
    loop that vectorizes), then the general function where it gave NaN."""
    if not isinstance(code, types.IntegerLiteral):
        return None
    fast = _FAST.get(code.literal_value)
    general = _GENERAL[code.literal_value]
    wide = code.literal_value in _WIDE

    def impl(code, xs, ms, ts, o):
        if wide:
            wide_vectors()
        if fast is not None:
            for j in range(o.size):
                o[j] = fast(np.float64(xs[j]), np.float64(ms[j]), np.float64(ts[j]))
        for j in range(o.size):
            if fast is None or o[j] != o[j]:
                o[j] = general(np.float64(xs[j]), np.float64(ms[j]), np.float64(ts[j]))
    return impl


def _operand(a, shape2, copy=False):
    """a as a C-contiguous, read-only 2-D operand for the tile kernels: a view
    (broadcast dimensions, stride 0, taken as dimensions of 1), small vectors
    copied; None where that would copy a large array (unless copy)."""
    a = np.asarray(a)
    a = a[(None,) * (2 - a.ndim)]
    a = a[tuple(slice(0, 1) if st == 0 else slice(None) for st in a.strides)]
    if any(d not in (1, n) for d, n in zip(a.shape, shape2)):
        return None
    if not a.flags.c_contiguous:
        if a.size > max(shape2) and not copy:
            return None
        a = np.ascontiguousarray(a)
    return readonly(a)


def readonly(a):
    """A read-only view of a: the kernels take their operands read-only, so
    that writable and read-only inputs (broadcasts) share one compiled
    version (each combination compiled for seconds)."""
    v = a.view()
    v.flags.writeable = False
    return v


def _tiled(name, args, shape, out, parallel):
    """Run a call through the tile kernels; None where it does not apply (more than
    2 dimensions, other dtypes, non-contiguous large operands, an `out` it
    cannot fill)."""
    if len(shape) > 2 or any(np.ndim(a) > 2 for a in args):
        return None
    shape2 = (1,) * (2 - len(shape)) + tuple(shape)
    ops = [_operand(a, shape2) for a in args]
    if any(a is None for a in ops):
        return None
    if ops[0].dtype not in _K_DTYPES or any(a.dtype not in _PARAM_DTYPES for a in ops[1:]):
        return None
    dtype = out_dtype(args)
    if out is None:
        res = np.empty(shape2, dtype)
    elif out.shape == tuple(shape) and out.dtype == dtype and out.flags.c_contiguous:
        res = out.reshape(shape2)
    else:
        return None
    _run(_CODES[name], parallel, ops + [res])
    return out if out is not None else res.reshape(shape)


_ENTRIES = {}


def _run(code, parallel, arrays):
    """The tile kernel on arrays. Numba's dispatcher retypes a function with
    literal arguments on every call (milliseconds) before it finds the
    compiled version: after the first call, the compiled entry point is
    called directly, found by what determines its Numba types."""
    key = (code, parallel) + tuple((a.dtype, a.flags.writeable, a.flags.aligned) for a in arrays)
    f = _ENTRIES.get(key)
    if f is None:
        kernel = _tiles_parallel if parallel else _tiles_serial
        kernel(code, *arrays)                       # compiles, or loads from the cache
        sig = (types.literal(code),) + tuple(map(numba.typeof, arrays))
        _ENTRIES[key] = kernel.overloads[sig].entry_point
    else:
        f(code, *arrays)


def evaluate(name, x, mu, theta, out=None, parallel=None):
    """``name`` over NumPy operands: the tile kernel where it applies, else
    the Numba ufunc. parallel None: small calls (cheapest to start) go to
    the serial ufunc, large ones to the tiles on all threads; False (Dask
    blocks, already run in parallel): serial tiles."""
    shape = np.broadcast_shapes(np.shape(x), np.shape(mu), np.shape(theta))
    tiles = parallel is not None or int(np.prod(shape)) >= PARALLEL_THRESHOLD
    parallel = tiles if parallel is None else parallel
    if tiles:
        res = _tiled(name, (x, mu, theta), shape, out, parallel)
        if res is not None:
            return res
    f = compiled(name, parallel)
    # The branch-free paths compute and discard inf/NaN for inputs they do
    # not handle: NumPy must not report those as warnings.
    with np.errstate(all="ignore"):
        return f(x, mu, theta) if out is None else f(x, mu, theta, out=out)


def out_dtype(args):
    """NumPy's choice among this module's loops: float32 only if every input
    that is not a Python scalar is float32 (Python floats are weak); integer
    counts go to float64."""
    strong = [np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype
              for a in args if not isinstance(a, (int, float))]
    return np.float32 if strong and all(d == np.float32 for d in strong) else np.float64


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
        return evaluate(name, x, mu, theta, out)

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

"""CUDA target: the scalar functions of ``_scalar`` and ``_random`` on NVIDIA GPUs.

Named ``gpu``, not ``cuda``: numba-cuda's import hook claims every module
whose name contains "numba.cuda", which ``nbnumba.cuda`` would. Imported
lazily (``pip install nbnumba[cuda]`` brings numba-cuda and the CUDA
toolkit wheels). Kernels are ``@cuda.jit`` grid-stride loops over the very
``@njit`` scalar functions the CPU ufuncs use; nothing numerical is written
twice.

Inputs exposing ``__cuda_array_interface__`` (numba device arrays, CuPy,
torch CUDA tensors) are used in place, without copies; broadcasting (up to
2-D, e.g. mu of shape (cells, genes) with theta of shape (genes,)) reads
each operand at clamped indices, so no broadcast copy is made. Results come
back in the family of the first device input: CuPy in, CuPy out; torch in,
torch out; otherwise a numba device array. NumPy arrays are never moved to
the GPU implicitly: pass device arrays (or scalars).
"""
import functools
import math

import numpy as np
from numba import cuda

from ._math import nbinom as _scalar, random as _random
from ._params import on_device
from .ufuncs import out_dtype

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "rvs", "kernel"]

THREADS = 256


@cuda.jit(device=True)
def _at(a, i, j):
    """a[i, j] as float64, where a dimension of 1 broadcasts (clamped index)."""
    return np.float64(a[min(i, a.shape[0] - 1), min(j, a.shape[1] - 1)])


def _elementwise(f):
    """A grid-stride kernel out[i, j] = f(x, mu, theta) over 2-D operands whose
    dimensions are 1 (broadcast) or the output's."""
    def kernel(x, mu, theta, out):
        n0, n1 = out.shape
        start = cuda.grid(1)
        stride = cuda.gridsize(1)
        for t in range(start, n0 * n1, stride):
            i = t // n1
            j = t - i * n1
            out[i, j] = f(_at(x, i, j), _at(mu, i, j), _at(theta, i, j))
    return kernel


def _sample_kernel(mu, theta, k0, k1, offset, out):
    """out[i, j] = NB draw number offset + i * n1 + j (the CPU's streams)."""
    n0, n1 = out.shape
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for t in range(start, n0 * n1, stride):
        i = t // n1
        j = t - i * n1
        out[i, j] = _random.nb_variate(_at(mu, i, j), _at(theta, i, j), k0, k1, offset + t)


#: Python kernel functions by name (compile them with cuda.jit or compile_ptx).
PYKERNELS = {name: _elementwise(getattr(_scalar, name))
             for name in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")}
PYKERNELS["rvs"] = _sample_kernel


@functools.cache
def kernel(name):
    """The compiled (lazily, per signature) CUDA kernel ``name``."""
    return cuda.jit(PYKERNELS[name])


# ---------------------------------------------------------------- host side

def _as_device(a):
    """a itself as a numba device array, without a copy."""
    return cuda.as_cuda_array(a) if hasattr(a, "__cuda_array_interface__") else a


def _family(args):
    """'cupy', 'torch' or 'numba': the array family of the first device input."""
    for a in args:
        if on_device(a):
            mod = type(a).__module__.split(".")[0]
            return mod if mod in ("cupy", "torch") else "numba"
    return "numba"


def _to_device_2d(a, shape):
    """A 2-D device view of operand a, with dimensions 1 or the output's."""
    if on_device(a):
        d = _as_device(a)
    elif np.ndim(a) == 0:
        d = cuda.to_device(np.array(a, dtype=np.float64 if isinstance(a, float) else None))
    else:
        raise TypeError("nbnumba.gpu takes device arrays (numba, CuPy, torch CUDA) or "
                        "scalars; move NumPy arrays explicitly (numba.cuda.to_device)")
    if d.ndim > 2:
        raise ValueError("nbnumba.gpu broadcasts up to 2 dimensions")
    dims = (1,) * (2 - d.ndim) + tuple(d.shape)
    full = (1,) * (2 - len(shape)) + tuple(shape)
    if any(s not in (1, f) for s, f in zip(dims, full)):
        raise ValueError(f"operand of shape {d.shape} does not broadcast to {tuple(shape)}")
    return d.reshape(dims) if d.ndim != 2 else d


def _dtype(args):
    """The CPU ufuncs' result dtype (float32 only if every array and NumPy
    scalar is float32)."""
    return out_dtype([_as_device(a) if on_device(a) else a for a in args])


def _shape_of(a):
    return tuple(_as_device(a).shape) if on_device(a) else np.shape(a)


def _empty(family, shape, dtype, like):
    if family == "cupy":
        import cupy
        return cupy.empty(shape, dtype)
    if family == "torch":
        import torch
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        return torch.empty(shape, dtype=tdtype, device=like.device)
    return cuda.device_array(shape, dtype)


def _blocks(n):
    try:
        sms = cuda.get_current_device().MULTIPROCESSOR_COUNT
    except Exception:           # the simulator has no such attribute
        sms = 2
    return max(1, min(math.ceil(n / THREADS), 32 * sms))


def _launch(name, operands, shape, out, dtype, extra=(), stream=0):
    args = list(operands)
    family = _family(args + ([out] if out is not None else []))
    like = next((a for a in args if on_device(a)), None)
    if out is None:
        out = _empty(family, tuple(shape), dtype, like)
    elif tuple(_as_device(out).shape) != tuple(shape):
        raise ValueError(f"out has shape {tuple(_as_device(out).shape)}, expected {tuple(shape)}")
    full = (1,) * (2 - len(shape)) + tuple(shape)
    dev = [_to_device_2d(a, shape) for a in args]
    res = _as_device(out).reshape(full)
    n = int(np.prod(full))
    if n:
        kernel(name)[_blocks(n), THREADS, stream](*dev, *extra, res)
    return out


def _elementwise_call(name):
    def f(x, mu, theta, out=None, stream=0):
        args = (x, mu, theta)
        shape = np.broadcast_shapes(*(_shape_of(a) for a in args))
        return _launch(name, args, shape, out, _dtype(args), stream=stream)

    f.__name__ = name
    f.__doc__ = (f"``{name}`` of NB(mu, theta) on the GPU; see :mod:`nbnumba.ufuncs`. "
                 "``out`` (a device array) and ``stream`` are optional.")
    return f


logpmf = _elementwise_call("logpmf")
pmf = _elementwise_call("pmf")
cdf = _elementwise_call("cdf")
logcdf = _elementwise_call("logcdf")
sf = _elementwise_call("sf")
logsf = _elementwise_call("logsf")
ppf = _elementwise_call("ppf")
isf = _elementwise_call("isf")


def rvs(mu, theta, size=None, random_state=None, out=None, stream=0):
    """NB draws on the GPU as float64 (or float32 for float32 parameters):
    the same key gives the same draws as :func:`nbnumba.rvs` on the CPU, up
    to the last bits of the GPU's transcendental functions. ``size``
    defaults to ``out``'s shape where ``out`` is given."""
    from .sampling import _shape, key
    k0, k1 = key(random_state)
    if size is None and out is not None:
        size = tuple(_as_device(out).shape)
    shape = _shape(size, np.broadcast_shapes(_shape_of(mu), _shape_of(theta)))
    return _launch("rvs", (mu, theta), shape, out, _dtype((mu, theta)),
                   extra=(k0, k1, np.int64(0)), stream=stream)

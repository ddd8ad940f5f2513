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

from ._arrays import key, on_device, result_dtype, shape2, size_shape
from ._math import random as _random
from ._math.table import DISTRIBUTIONS, table


THREADS = 256


@cuda.jit(device=True)
def _at(a, i, j):
    """a[i, j] as float64, where a dimension of 1 broadcasts (clamped index)."""
    return np.float64(a[min(i, a.shape[0] - 1), min(j, a.shape[1] - 1)])


def _source(f):
    """The source of the grid-stride kernel of table row f: out[i, j] =
    f(operands at (i, j)) over 2-D operands whose dimensions are 1
    (broadcast) or the output's; one output array per output."""
    ins = [f"a{m}" for m in range(f.arity)]
    outs = [f"o{m}" for m in range(len(f.outputs))]
    call = "scalar(" + ", ".join(f"_at({a}, i, j)" for a in ins) + ")"
    lines = [f"def kernel({', '.join(ins + outs)}):",
             "    n0, n1 = o0.shape",
             "    for t in range(cuda.grid(1), n0 * n1, cuda.gridsize(1)):",
             "        i = t // n1",
             "        j = t - i * n1"]
    if len(outs) == 1:
        lines.append(f"        o0[i, j] = {call}")
    else:
        lines.append(f"        r = {call}")
        lines += [f"        o{m}[i, j] = r[{m}]" for m in range(len(outs))]
    return "\n".join(lines) + "\n"


def _elementwise(f):
    ns = {"cuda": cuda, "_at": _at, "scalar": f.scalar}
    exec(compile(_source(f), f"<nbnumba gpu {f.name}>", "exec"), ns)
    return ns["kernel"]


def _sample_kernel(mu, theta, zi, k0, k1, offset, out):
    """out[i, j] = draw number offset + i * n1 + j (the CPU's streams),
    zero-inflated by the logit zi (-inf: the NB)."""
    n0, n1 = out.shape
    for t in range(cuda.grid(1), n0 * n1, cuda.gridsize(1)):
        i = t // n1
        j = t - i * n1
        x = _random.nb_variate(_at(mu, i, j), _at(theta, i, j), k0, k1, offset + t)
        z = _at(zi, i, j)
        out[i, j] = x if z == -math.inf else _random.zero_inflated(x, z, k0, k1, offset + t)


#: Python kernel functions by qualified name, "<distribution>.<function>",
#: and "rvs" (compile them with cuda.jit or compile_ptx).
# (and the logit rows, by which the faces evaluate means beyond the doubles)
PYKERNELS = {f"{d}.{name}": _elementwise(f) for d in DISTRIBUTIONS + ("logits",)
             for name, f in table(d).items()}
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
    """The CPU's result dtype (float32 only if every array and NumPy scalar
    is float32)."""
    return result_dtype([_as_device(a) if on_device(a) else a for a in args])


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


def _launch(name, operands, shape, outs, dtype, extra=(), stream=0, nout=1):
    """Launch kernel ``name`` over operands (device arrays or scalars) into
    ``outs`` (a tuple, or None: new arrays in the first device input's
    family)."""
    args = list(operands)
    family = _family(args + list(outs or ()))
    like = next((a for a in args if on_device(a)), None)
    if outs is None:
        outs = tuple(_empty(family, tuple(shape), dtype, like) for _ in range(nout))
    for o in outs:
        if tuple(_as_device(o).shape) != tuple(shape):
            raise ValueError(f"out has shape {tuple(_as_device(o).shape)}, expected {tuple(shape)}")
    full = shape2(tuple(shape)) if len(shape) <= 2 else None
    if full is None:
        raise ValueError("nbnumba.gpu broadcasts up to 2 dimensions")
    dev = [_to_device_2d(a, shape) for a in args]
    res = [_as_device(o).reshape(full) for o in outs]
    n = int(np.prod(full))
    if n:
        kernel(name)[_blocks(n), THREADS, stream](*dev, *extra, *res)
    return outs


def elementwise(distribution, name, args, out=None, stream=0):
    """Function ``name`` of ``distribution`` on the GPU: device arrays (or
    scalars) in, device arrays of the first input's family out (a tuple for
    several outputs)."""
    f = table(distribution)[name]
    shape = np.broadcast_shapes(*(_shape_of(a) for a in args))
    outs = None if out is None else (out if isinstance(out, tuple) else (out,))
    res = _launch(f"{distribution}.{name}", args, shape, outs, _dtype(args), stream=stream,
                  nout=len(f.outputs))
    return res[0] if len(res) == 1 else res


def _public(name):
    def f(*args, out=None, stream=0):
        return elementwise("nbinom", name, args, out=out, stream=stream)

    f.__name__ = name
    f.__doc__ = (f"``{name}`` of NB on the GPU; see :mod:`nbnumba.ufuncs`. "
                 "``out`` (a device array) and ``stream`` are optional.")
    return f


for _name in table("nbinom"):
    globals()[_name] = _public(_name)


def draw(params, shape, key_, out=None, stream=0):
    """Draws of ``shape`` for params (mu, theta[, zi_logits]) on the GPU, as
    float64 (float32 for float32 parameters)."""
    zi = params[2] if len(params) == 3 else -math.inf
    return _launch("rvs", (params[0], params[1], zi), shape,
                   None if out is None else (out,), _dtype(params[:2]),
                   extra=(key_[0], key_[1], np.int64(0)), stream=stream)[0]


def rvs(mu, theta, size=None, random_state=None, out=None, stream=0):
    """NB draws on the GPU as float64 (or float32 for float32 parameters):
    the same key gives the same draws as :func:`nbnumba.rvs` on the CPU, up
    to the last bits of the GPU's transcendental functions. ``size``
    defaults to ``out``'s shape where ``out`` is given."""
    if size is None and out is not None:
        size = tuple(_as_device(out).shape)
    shape = size_shape(size, np.broadcast_shapes(_shape_of(mu), _shape_of(theta)))
    return draw((mu, theta), shape, key(random_state), out=out, stream=stream)

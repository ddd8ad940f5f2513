"""Elementwise functions of NB(mu, theta), generated from its table.

``logpmf, pmf, cdf, logcdf, sf, logsf`` take ``(k, mu, theta)``; ``ppf`` and
``isf`` take ``(q, mu, theta)``; ``entropy`` takes ``(mu, theta)``;
``logpmf_grad`` and ``logpmf_hess`` give the derivatives of the log-pmf in
(mu, theta). They broadcast like NumPy ufuncs, accept ``out=``, follow one
dtype and family policy at every size (see :mod:`nbnumba._arrays`: float32
in, float32 out; integer counts read as int64; torch CPU tensors in, torch
tensors out; masked arrays keep their masks), run on all cores, and can be
called from a user's ``@numba.njit`` function (on scalars, or on arrays for
the one-output functions). Inputs exposing ``__cuda_array_interface__``
(numba device arrays, CuPy, torch CUDA tensors) run on the GPU through
:mod:`nbnumba.gpu`, without copies; Dask arrays give lazy Dask arrays.

This module is also the generator of the public functions of every
distribution's table (:func:`generate`): the zero-inflated NB's are in
:mod:`nbnumba.zinb`. Each public function is the one place where its call
is dispatched (:func:`nbnumba._arrays.target`).
"""
import functools
import textwrap

import numpy as np
from numba import types, vectorize
from numba.extending import overload

from . import _arrays
from ._math.table import table


def evaluate(distribution, name, args, out=None, parallel=True):
    """Function ``name`` of ``distribution`` over host operands: a NumPy
    result (a tuple for several outputs) in the caller's family."""
    from ._cpu import tiles
    f = table(distribution)[name]
    ops, full, dtype, mask, family = _arrays.operands(args, f.operands)
    res = [np.empty(_arrays.shape2(full), dtype) for _ in f.outputs]
    if res[0].size:
        if family == "torch":
            from ._cpu.threads import following_torch
            with following_torch():
                tiles.elementwise(tiles.kernel_name(distribution, name), ops, res, parallel)
        else:
            tiles.elementwise(tiles.kernel_name(distribution, name), ops, res, parallel)
    res = [_arrays.wrap(r, full, mask, family) for r in res]
    if out is not None:
        res = _into(out, res, f)
    return res[0] if len(res) == 1 else tuple(res)


def _into(out, res, f):
    """Copy results into ``out`` (an array, or a tuple for several outputs),
    as NumPy's ufuncs do (same_kind casting). Computing into fresh arrays
    first makes an ``out`` that is or overlaps an input safe."""
    outs = out if isinstance(out, tuple) else (out,)
    if len(outs) != len(f.outputs):
        raise ValueError(f"{f.name} has {len(f.outputs)} output(s); out has {len(outs)}")
    for o, r in zip(outs, res):
        if not isinstance(o, np.ndarray):
            raise TypeError(f"out must be a NumPy array; got {type(o).__name__}")
        if not o.flags.writeable:
            raise ValueError("out is read-only")
        try:
            np.copyto(o, r, casting="same_kind")
        except (TypeError, ValueError) as e:
            raise type(e)(f"out: {e}") from None
    return list(outs)


#: Scalar types a call on plain numbers may hold: their result is float64,
#: and an int below 2**53 is exact as a float64.
_SCALARS = frozenset((float, int, np.float64, np.int64))


def _plain_scalars(args):
    return all(type(a) in _SCALARS and (type(a) is not int or -2**53 < a < 2**53) for a in args)


def dispatch(distribution, name, args, out=None):
    """Run ``name`` where its operands live: CPU, GPU or Dask.

    A call on plain float64 numbers goes straight to the row's compiled
    scalar function (the kernels' own code, so the same bits), which costs
    ~0.3 us against ~30 us for the array machinery. torch tensors that
    require grad (in grad mode) go through autograd (:mod:`nbnumba._torch`);
    the kernels get detached tensors.
    """
    if any(_arrays.is_torch(a) for a in args):
        if _arrays.needs_grad(*args):
            from . import _torch
            return _torch.differentiable(dispatch, distribution, name, args, out)
        args = tuple(a.detach() if _arrays.is_torch(a) else a for a in args)
    if out is None and _plain_scalars(args):
        res = table(distribution)[name].scalar(*args)
        return tuple(map(np.float64, res)) if isinstance(res, tuple) else np.float64(res)
    where = _arrays.target(*args, *(out if isinstance(out, tuple) else (out,)))
    if where == "cuda":
        from . import gpu
        return gpu.elementwise(distribution, name, args, out=out)
    if where == "dask":
        if out is not None:
            raise TypeError("out= is not supported for Dask arrays")
        from . import _dask
        return _dask.elementwise(distribution, name, args)
    return evaluate(distribution, name, args, out)


@functools.cache
def _vectorized(distribution, name):
    """A Numba DUFunc of a one-output row, for arrays inside a user's
    @njit code (compiled there, per input types)."""
    f = table(distribution)[name]
    names = ", ".join(f.operands)
    body = ", ".join(f"f8({n})" for n in f.operands)
    ns = {"f8": np.float64, "scalar": f.scalar}
    exec(f"def kernel({names}):\n    return scalar({body})\n", ns)
    return vectorize(ns["kernel"])


#: What each operand of the tables' rows is, for the generated docstrings.
_OPERANDS = {
    "k": "Counts. The pmf is 0 at negative or non-integer k, and the cdf "
         "at k is the cdf at floor(k), as in ``scipy.stats``.",
    "q": "Probabilities, in [0, 1].",
    "mu": "Mean, >= 0 (0: the point mass at 0).",
    "theta": "Inverse dispersion, >= 0: variance mu + mu**2 / theta (inf: "
             "Poisson(mu); 0: the point mass at 0).",
}
_NAMES = {"nbinom": "Negative Binomial NB(mu, theta)",
          "zinb": "zero-inflated Negative Binomial"}


def _docstring(distribution, f, convert):
    params = "".join(f"    {n} : array_like\n"
                     + (textwrap.fill(_OPERANDS[n], 76, initial_indent=" " * 8,
                                      subsequent_indent=" " * 8) + "\n"
                        if n in _OPERANDS else "")
                     for n in f.operands)
    if convert is not None:
        params = params.replace("    zi_logits : array_like\n", convert.__doc__)
    outputs = ("ndarray or scalar (a tuple of them: "
               + ", ".join(f.outputs) + ")") if len(f.outputs) > 1 else "ndarray or scalar"
    return f"""{f.doc} of the {_NAMES.get(distribution, distribution)}, elementwise.

    Parameters
    ----------
{params}    out : ndarray (or tuple of ndarrays), optional
        Where to put the result (any broadcast-compatible array).

    Returns
    -------
    {outputs}
        float32 if all inputs are float32, else float64; in the inputs'
        family. Invalid parameters give NaN, as in ``scipy.stats``.
    """


def generate(distribution, namespace, convert=None):
    """Define the public functions of a distribution's table in namespace.

    Each takes the row's operands by name (``convert``, if given, maps the
    last ones the user gives to the row's: the zero-inflated NB takes
    ``pi`` or ``zi_logits``), plus ``out=``; within a user's ``@njit``
    code, it is the row's scalar function (or a DUFunc on arrays).
    """
    names = []
    for f in table(distribution).values():
        if convert is None:
            sig, call = ", ".join(f.operands), ", ".join(f.operands)
        else:
            sig, call = convert.signature(f.operands)
        ns = {"_dispatch": dispatch, "_convert": convert}
        exec(f"def {f.name}({sig}, out=None):\n"
             f"    return _dispatch({distribution!r}, {f.name!r}, ({call},), out)\n", ns)
        func = ns[f.name]
        func.__doc__ = _docstring(distribution, f, convert)
        func.__module__ = namespace["__name__"]
        if convert is None:
            _register_jit(distribution, f, func)
        namespace[f.name] = func
        names.append(f.name)
    return names


def _register_jit(distribution, f, func):
    """Make ``func`` callable from @njit code: the scalar function on
    scalars, a DUFunc on arrays (one-output rows)."""
    names = ", ".join(f.operands)
    body = ", ".join(f"f8({n})" for n in f.operands)

    def typer(*args):
        ns = {"f8": np.float64, "scalar": f.scalar}
        if any(isinstance(a, types.Array) for a in args):
            if len(f.outputs) > 1:
                return None
            ns["scalar"] = _vectorized(distribution, f.name)
            body_ = names
        else:
            body_ = body
        exec(f"def impl({names}):\n    return scalar({body_})\n", ns)
        return ns["impl"]

    ns = {"typer": typer}
    exec(f"def ol({names}):\n    return typer({names})\n", ns)
    overload(func, jit_options={"cache": False})(ns["ol"])


__all__ = generate("nbinom", globals())

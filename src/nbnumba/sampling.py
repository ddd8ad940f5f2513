"""Sampling: ``nbnumba.rvs``, and the draws behind both faces.

Draw ``i`` (the C-order position in the output) of a call depends only on
the key and ``i`` (counter-based Philox streams, see
:mod:`nbnumba._math.random`), so a seed gives the same samples for any
number of threads, any Dask chunking, and (up to the last bits of
transcendental functions) on the GPU. Keys come from ``random_state``
(:func:`nbnumba._arrays.key`).
"""
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _arrays, _params
from ._typing import Seed, Size

__all__ = ["rvs"]


def draw(params, shape, random_state, dtype, offset=0, stride=None):
    """Draws of ``shape`` for ``params`` = (mu, theta) or (mu, theta,
    zi_logits), broadcast to it, as ``dtype``.

    Floating dtypes give NaN for invalid parameters; int64 raises ValueError
    for them (as scipy's rvs) and for draws beyond its range. A 2-D block
    of a larger 2-D array gets the draws of its place with ``offset`` (the
    number of its first element) and ``stride`` (the row length of the
    larger array).
    """
    k0, k1 = _arrays.key(random_state)
    shape = tuple(shape)
    where = _arrays.target(*params)
    if where == "dask":
        from . import _dask
        return _dask.draw(params, shape, (k0, k1), dtype, draw)
    if where == "cuda":
        from . import gpu
        out = gpu.draw(params, shape, (k0, k1))
        if np.dtype(dtype) == np.int64:
            xp = _params.namespace(out)
            if not xp.all(out < 2.0 ** 63):             # NaN too
                _int64_error(params, xp)
        return _params.astype(out, dtype)
    host = [np.asarray(_arrays.host(p, n), np.float64) for p, n in
            zip(params, ("mu", "theta", "zi_logits"))]
    if np.broadcast_shapes(shape, *(p.shape for p in host)) != shape:
        raise ValueError(f"parameters of shapes {[p.shape for p in host]} do not broadcast "
                         f"to size {shape}")
    out = _draw_host(host, shape, (k0, k1), np.dtype(dtype), offset, stride)
    if any(_arrays.is_torch(p) for p in params):
        import torch
        return torch.from_numpy(out)
    return out


#: Parameter blocks of at least this many elements are drawn a block at a
#: time (see _draw_host); smaller ones are broadcast, a small copy.
BLOCK_MIN = 1 << 14


def _draw_host(host, shape, key, dtype, offset, stride):
    """Draws of ``shape`` on the CPU for NumPy float64 parameters.

    The kernel reads 2-D operands. Parameters that vary along more than the
    last dimension would be broadcast to the whole output (sample((10,)) of
    a cells x genes distribution: a copy per parameter the size of the
    result). Instead the output is drawn one parameter-shaped block at a
    time, each block offset by its position (draws depend only on the key
    and the position: the same draws), into the result directly where it is
    float64, else through one block-sized buffer."""
    from ._cpu import forks
    from ._cpu.sampling import sample_tiles
    batch = np.broadcast_shapes(*(p.shape for p in host))
    lead = shape[:len(shape) - len(batch)]
    blocks = math.prod(lead)
    if len(batch) < 2 or blocks == 1 or math.prod(batch) < BLOCK_MIN or stride is not None:
        lead, batch, blocks = (), shape, 1
    s2 = _arrays.shape2(batch)
    ops = [_arrays.two_d(p, s2, batch) for p in host]
    zi = ops[2] if len(ops) == 3 else _arrays.two_d(np.full((1, 1), -np.inf), (1, 1), (1, 1))
    out = np.empty((blocks,) + s2, dtype)
    buf = None if dtype == np.float64 else np.empty(s2)
    row = np.int64(s2[1] if stride is None else stride)
    for b in range(blocks if out.size else 0):
        dst = out[b] if buf is None else buf
        bad = sample_tiles(ops[0], ops[1], zi, key[0], key[1],
                           np.int64(offset + b * math.prod(s2)), row, dst,
                           not forks.parallel_ok())
        if bad and dtype == np.int64:
            _int64_error(host, np)
        if buf is not None:
            np.copyto(out[b], buf, casting="unsafe")
    return out.reshape(shape)


def _int64_error(params, xp):
    """Raise the ValueError for int64 draws that are NaN or too large."""
    mu, theta = params[:2]
    with np.errstate(invalid="ignore"):
        ok = xp.all((mu >= 0) & (theta >= 0) & (mu < math.inf))
        if len(params) == 3:
            ok = ok and not xp.any(xp.isnan(params[2]))
    if not ok:
        raise ValueError("Domain error in arguments: mu must be finite and >= 0, theta >= 0"
                         + (", zi_logits not NaN" if len(params) == 3 else ""))
    raise ValueError("NB draws beyond the int64 range (mean near 1e18 or above): "
                     "use the distribution's sample(), which returns floats")


def sample(params, size, random_state):
    """int64 draws for the public rvs functions: ``size`` as scipy's (None:
    the parameters' broadcast shape); a Python int for a scalar draw."""
    shape = _arrays.size_shape(size, np.broadcast_shapes(*(_arrays.shape(p) for p in params)))
    out = draw(params, shape, random_state, np.int64)
    return int(out) if out.ndim == 0 else out


def rvs(mu: ArrayLike, theta: ArrayLike, size: Size = None, random_state: Seed = None) -> Any:
    """Random NB(mu, theta) counts, int64, like ``scipy.stats.nbinom.rvs``.

    Parameters
    ----------
    mu, theta : array_like
        Mean and inverse dispersion (``theta = inf`` is Poisson); broadcast
        against each other and against ``size``. CuPy arrays and torch CUDA
        tensors draw on their GPU (the same draws) and give int64 arrays of
        their family; Dask arrays give lazy Dask arrays.
    size : int or tuple of ints, optional
        Output shape; default the broadcast shape of the parameters.
    random_state : None, int, SeedSequence, Generator, RandomState or torch.Generator
        See :func:`nbnumba._arrays.key`. The same seed gives the same draws
        for any number of threads, and ``rvs(..., size=n)[:m]`` equals
        ``size=m``.

    Returns
    -------
    ndarray of int64, or int for a single draw

    Raises
    ------
    ValueError
        For invalid parameters (as scipy: "Domain error in arguments"), and
        for draws beyond the int64 range.
    """
    return sample((mu, theta), size, random_state)

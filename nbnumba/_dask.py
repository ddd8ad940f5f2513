"""Dask arrays: lazy, blockwise versions of the elementwise functions,
sampling and log-likelihood sums (``pip install nbnumba[dask]``).

Each block runs the serial CPU kernels (Dask parallelises across blocks, on
whatever scheduler the user runs); no value is computed while the graph is
built. Functions given to Dask are module-level, so they pickle by reference
to the workers of a ``dask.distributed`` cluster.
"""
import dask.array as da
import numpy as np

from . import ufuncs


def _aligned(*args, chunks=None):
    """Array operands broadcast to their common shape as Dask arrays with the
    same chunks (zero-stride blocks, no copies); scalars as they are. The
    chunks are those of the largest Dask operand, or ``chunks``."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    if chunks is None:
        full = [a for a in args if isinstance(a, da.Array) and a.shape == shape]
        chunks = full[0].chunks if full else "auto"
    chunks = da.core.normalize_chunks(chunks, shape, dtype=np.float64)
    return [_broadcast(a, shape, chunks) if np.ndim(a) else a for a in args]


def _broadcast(a, shape, chunks):
    """a broadcast to shape, with chunks: rechunked along its own full-size
    dimensions first (its size-1 dimensions stay whole)."""
    a = da.asarray(a)
    lead = len(shape) - a.ndim
    a = a.rechunk(tuple(chunks[lead + d] if n == shape[lead + d] else (n,)
                        for d, n in enumerate(a.shape)))
    return da.broadcast_to(a, shape, chunks=chunks)


def _block_elementwise(x, mu, theta, which):
    return ufuncs.evaluate(which, x, mu, theta, parallel=False)


def elementwise(name, x, mu, theta):
    """Lazy ``ufuncs.<name>(x, mu, theta)`` over Dask (and NumPy) operands."""
    args = _aligned(x, mu, theta)
    dtype = ufuncs.out_dtype((x, mu, theta))
    ndim = max(np.ndim(a) for a in args)
    if all(np.ndim(a) == 0 for a in args):
        return ufuncs.evaluate(name, x, mu, theta)
    return da.map_blocks(_block_elementwise, *args, which=name, dtype=dtype,
                         meta=np.empty((0,) * ndim, dtype))


def _block_draw(mu, theta, k0, k1, full_cols, dtype, block_info=None):
    from .sampling import draw
    loc = block_info[None]["array-location"]
    shape = block_info[None]["chunk-shape"]
    rows = loc[0][0] if len(loc) == 2 else 0
    cols = loc[-1][0] if loc else 0
    place = dict(offset=rows * full_cols + cols, stride=full_cols)
    return draw(mu, theta, shape, (k0, k1), dtype, **place)


def draw(mu, theta, shape, key, dtype, chunks=None):
    """Lazy NB draws of ``shape`` (at most 2-D): identical, value for value, to
    the in-memory draws with the same key, whatever the chunking (each block
    uses the draw numbers of its place)."""
    if len(shape) > 2:
        raise ValueError("Dask sampling supports outputs of up to 2 dimensions")
    if np.broadcast_shapes(np.shape(mu), np.shape(theta), shape) != tuple(shape):
        raise ValueError(f"parameters do not broadcast to size {tuple(shape)}")
    if chunks is None:
        full = [a for a in (mu, theta) if isinstance(a, da.Array) and a.shape == tuple(shape)]
        chunks = full[0].chunks if full else "auto"
    chunks = da.core.normalize_chunks(chunks, tuple(shape), dtype=np.float64)
    mu, theta = (_broadcast(a, tuple(shape), chunks) for a in (mu, theta))
    full_cols = shape[-1] if shape else 1
    return da.map_blocks(_block_draw, mu, theta, key[0], key[1], full_cols, np.dtype(dtype),
                         dtype=dtype, meta=np.empty((0,) * len(shape), dtype))


def _block_loglik(x, mu, theta, axis):
    from .reductions import loglik
    return np.asarray(loglik(x, mu, theta, axis=axis, keepdims=True))


def loglik(x, mu, theta, axis=None, keepdims=False):
    """Blockwise log-likelihood sums of a Dask counts matrix (2-D)."""
    if np.ndim(x) != 2:
        raise ValueError("Dask loglik takes a 2-D counts matrix")
    x, mu, theta = (da.asarray(a) for a in _aligned(x, mu, theta))
    chunks = tuple(c if axis not in (d, None) else (1,) * len(c) for d, c in enumerate(x.chunks))
    parts = da.map_blocks(_block_loglik, x, mu, theta, axis=axis, dtype=np.float64,
                          chunks=chunks, meta=np.empty((0, 0)))
    return parts.sum(axis=axis, keepdims=keepdims)

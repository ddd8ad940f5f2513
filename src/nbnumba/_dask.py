"""Dask arrays: lazy, blockwise versions of the elementwise functions,
sampling and log-likelihood sums (``pip install nbnumba[dask]``).

Each block runs the serial CPU kernels (Dask parallelises across blocks, on
whatever scheduler the user runs); no value is computed while the graph is
built. Functions given to Dask are module-level, so they pickle by reference
to the workers of a ``dask.distributed`` cluster.
"""
import math

import dask.array as da
import numpy as np

from . import _arrays
from ._cpu import tiles
from ._math.table import table


def _aligned(*args, chunks=None):
    """Array operands broadcast to their common shape as Dask arrays with the
    same chunks (zero-stride blocks, no copies); scalars as they are. The
    chunks are those of the largest Dask operand, or ``chunks``."""
    _known(*args)
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    if chunks is None:
        full = [a for a in args if isinstance(a, da.Array) and a.shape == shape]
        chunks = full[0].chunks if full else "auto"
    chunks = da.core.normalize_chunks(chunks, shape, dtype=np.float64)
    return [_broadcast(a, shape, chunks) if np.ndim(a) else a for a in args]


def _known(*args):
    """Raise a clear error for Dask arrays of unknown chunk sizes."""
    for a in args:
        if isinstance(a, da.Array) and any(math.isnan(n) for n in a.shape):
            raise ValueError("Dask arrays with unknown chunk sizes: call "
                             "compute_chunk_sizes() first")


def _broadcast(a, shape, chunks):
    """a broadcast to shape, with chunks: rechunked along its own full-size
    dimensions first (its size-1 dimensions stay whole)."""
    a = da.asarray(a)
    lead = len(shape) - a.ndim
    a = a.rechunk(tuple(chunks[lead + d] if n == shape[lead + d] else (n,)
                        for d, n in enumerate(a.shape)))
    return da.broadcast_to(a, shape, chunks=chunks)


def _block_elementwise(*args, fname, names, nout, out_dtype):
    """One block: the serial tile kernel (Dask runs blocks in parallel)."""
    ops, full, _, _, _ = _arrays.operands(args, names)
    res = [np.empty(_arrays.shape2(full), out_dtype) for _ in range(nout)]
    if res[0].size:
        tiles.elementwise(fname, ops, res, parallel=False)
    res = [r.reshape(full) for r in res]
    return res[0] if nout == 1 else np.stack(res)


def elementwise(distribution, name, args):
    """Lazy ``name`` of ``distribution`` over Dask (and NumPy) operands; a
    tuple of Dask arrays for several outputs."""
    f = table(distribution)[name]
    dtype = _arrays.result_dtype(args)
    aligned = _aligned(*args)
    kw = dict(fname=tiles.kernel_name(distribution, name), names=f.operands,
              nout=len(f.outputs), out_dtype=dtype)
    if all(np.ndim(a) == 0 for a in aligned):
        res = _block_elementwise(*aligned, **kw)
        return res[()] if len(f.outputs) == 1 else tuple(r[()] for r in res)
    ndim = max(np.ndim(a) for a in aligned)
    if len(f.outputs) == 1:
        return da.map_blocks(_block_elementwise, *aligned, **kw, dtype=dtype,
                             meta=np.empty((0,) * ndim, dtype))
    stacked = da.map_blocks(_block_elementwise, *aligned, **kw, dtype=dtype, new_axis=0,
                            chunks=((len(f.outputs),),) + _chunks(aligned),
                            meta=np.empty((0,) * (ndim + 1), dtype))
    return tuple(stacked[m] for m in range(len(f.outputs)))


def _chunks(aligned):
    return next(a for a in aligned if isinstance(a, da.Array)).chunks


def _block_draw(*params, draw, k0, k1, full_cols, draws_dtype, block_info=None):
    loc = block_info[None]["array-location"]
    shape = block_info[None]["chunk-shape"]
    rows = loc[0][0] if len(loc) == 2 else 0
    cols = loc[-1][0] if loc else 0
    return draw(params, shape, (k0, k1), draws_dtype, offset=rows * full_cols + cols,
                stride=full_cols)


def draw(params, shape, key, dtype, block, chunks=None):
    """Lazy draws of ``shape`` (at most 2-D): identical, value for value, to
    the in-memory draws with the same key, whatever the chunking (each block
    calls the front's in-memory ``block(params, shape, key, dtype, offset,
    stride)`` with the draw numbers of its place)."""
    if len(shape) > 2:
        raise ValueError("Dask sampling supports outputs of up to 2 dimensions")
    if np.broadcast_shapes(*(np.shape(a) for a in params), shape) != tuple(shape):
        raise ValueError(f"parameters do not broadcast to size {tuple(shape)}")
    _known(*params)
    if chunks is None:
        full = [a for a in params if isinstance(a, da.Array) and a.shape == tuple(shape)]
        chunks = full[0].chunks if full else "auto"
    chunks = da.core.normalize_chunks(chunks, tuple(shape), dtype=np.float64)
    params = [_broadcast(a, tuple(shape), chunks) for a in params]
    full_cols = shape[-1] if shape else 1
    return da.map_blocks(_block_draw, *params, draw=block, k0=key[0], k1=key[1],
                         full_cols=full_cols,
                         draws_dtype=np.dtype(dtype), dtype=np.dtype(dtype), meta=np.empty((0,) * len(shape), dtype))


def _block_loglik(x, *params, reduce, distribution, outer, axis):
    # the block's size factors and gene means: a column and a row of their
    # blocks, which _aligned broadcast to the block's shape
    mu = (params[0][:, 0], params[1][0, :]) if outer else params[0]
    rest = params[2:] if outer else params[1:]
    return np.asarray(reduce(distribution, x, mu, rest, axis=axis, keepdims=True,
                             parallel=False))


def loglik(distribution, x, mu, rest, block, axis=None, keepdims=False):
    """Blockwise log-likelihood sums of a Dask counts matrix (2-D): each block
    summed by the front's in-memory ``block`` (reductions.reduce), serially."""
    if np.ndim(x) != 2:
        raise ValueError("Dask loglik takes a 2-D counts matrix")
    outer = isinstance(mu, tuple)
    params = (mu[0][:, None], mu[1][None, :]) if outer else (mu,)
    x, *params = (da.asarray(a) for a in _aligned(x, *params, *rest))
    chunks = tuple(c if axis not in (d, None) else (1,) * len(c) for d, c in enumerate(x.chunks))
    parts = da.map_blocks(_block_loglik, x, *params, reduce=block, distribution=distribution,
                          outer=outer,
                          axis=axis, dtype=np.float64, chunks=chunks, meta=np.empty((0, 0)))
    return parts.sum(axis=axis, keepdims=keepdims)

"""Log-likelihood sums, generic over the table rows: dense and compressed
sparse counts, without materialising the log-pmf.

Each line (row) sum is compensated (Neumaier) and made by one thread in a
fixed order, so results do not depend on the number of threads. The mean
operand (``xs[1]``) is multiplied by ``scale`` tile by tile, so that a mean
given as the outer product of per-cell size factors and per-gene means is
never materialised. Column sums are row sums of the transposed operands
(the caller transposes: views of vectors, or CSC as the transpose of CSR).
"""
import numba
import numpy as np
from numba import prange
from numba.core.cpu import ParallelOptions
from numba.extending import overload

from .._math.compile import compiled
from .._math.special import add_compensated
from .tiles import TILE, _generate, row, tile


def scaled_rows(xs, scale, i, j0, j1):
    """The operands' tiles (see tiles.row), the mean's times scale's
    (compiled code only)."""


@overload(scaled_rows)
def _scaled_rows_impl(xs, scale, i, j0, j1):
    items = "".join(f"row(xs[{m}], i, j0, j1), " if m != 1 else
                    "_times(row(xs[1], i, j0, j1), scale, i, j0, j1), " for m in range(len(xs)))
    return _generate(f"def impl(xs, scale, i, j0, j1):\n    return ({items})\n", "scaled_rows",
                     {"row": row, "_times": _times})


@numba.njit(inline="always")
def _times(m, scale, i, j0, j1):
    """m times scale's tile: one pass, no fill where scale is one number
    (a plain mean: scale is 1 x 1)."""
    if scale.shape[0] == 1 and scale.shape[1] == 1:
        return m if scale[0, 0] == 1.0 else m * scale[0, 0]
    return m * row(scale, i, j0, j1)


def gathered(xs, scale, i, idx):
    """The operands at row i and the columns idx, the mean's times scale's,
    skipping the counts (compiled code only)."""


def _at(a, i, idx):
    """a[i, idx] of a 2-D operand whose dimensions may be 1 (compiled code only)."""


@overload(_at)
def _at_impl(a, i, idx):
    def impl(a, i, idx):
        r = a[i] if a.shape[0] > 1 else a[0]
        if a.shape[1] == 1:
            return np.full(idx.size, r[0])
        return r[idx]
    return impl


@overload(gathered)
def _gathered_impl(xs, scale, i, idx):
    items = "".join(f"_at(xs[{m}], i, idx), " if m != 1 else
                    "_at(xs[1], i, idx) * _at(scale, i, idx), " for m in range(1, len(xs)))
    return _generate(f"def impl(xs, scale, i, idx):\n    return ({items})\n", "gathered",
                     {"_at": _at})


@numba.njit(inline="always")
def _line(fname, xs, scale, i, n1, buf, general):
    """Compensated sum of fname's first output over row i, tile by tile
    (general: see tiles.general)."""
    s = 0.0
    c = 0.0
    for j0 in range(0, n1, TILE):
        j1 = min(j0 + TILE, n1)
        o = buf[:j1 - j0]
        tile(fname, scaled_rows(xs, scale, i, j0, j1), (o,), None, general)
        for j in range(j1 - j0):
            s, c = add_compensated(s, c, o[j])
    return s, c


@numba.njit(inline="always")
def _dense_row(fname, xs, scale, n1, out, i, general):
    s, c = _line(fname, xs, scale, i, n1, np.empty(min(TILE, n1)), general)
    out[i] = s + c


@numba.njit(inline="always")
def _sparse_row(fname, data, indices, indptr, xs, scale, n1, out, i, general):
    """The zeros' terms over the whole row (xs[0] is a 1 x 1 zero), then for
    each stored count its term minus the zero's, both over gathered
    contiguous arrays (loops that vectorize)."""
    s, c = _line(fname, xs, scale, i, n1, np.empty(min(TILE, n1)), general)
    a, b = indptr[i], indptr[i + 1]
    rest = gathered(xs, scale, i, indices[a:b])
    stored = np.empty(b - a)
    zeros = np.empty(b - a)
    tile(fname, (data[a:b],) + rest, (stored,), None, general)
    tile(fname, (np.zeros(b - a, data.dtype),) + rest, (zeros,), None, general)
    for p in range(b - a):
        s, c = add_compensated(s, c, stored[p] - zeros[p])
    out[i] = s + c


@numba.njit(inline="always")
def _dense_col_block(fname, xs, scale, n0, out, blk, general):
    """Columns of block blk (256 wide), rows in order (C-order operands: no
    transposed copies)."""
    j0 = blk * 256
    j1 = min(j0 + 256, out.size)
    s = np.zeros(j1 - j0)
    c = np.zeros(j1 - j0)
    o = np.empty(j1 - j0)
    for i in range(n0):
        tile(fname, scaled_rows(xs, scale, i, j0, j1), (o,), None, general)
        for j in range(j1 - j0):
            s[j], c[j] = add_compensated(s[j], c[j], o[j])
    for j in range(j1 - j0):
        out[j0 + j] = s[j] + c[j]


# Each kernel on all threads, or on the calling thread where serial (Dask
# blocks, which Dask runs in parallel: no nested thread pools; a child
# forked after a parallel region, see forks); one compilation serves both.
# general: the row's general path as a C function (tiles.general).
# Parallel loops are the pranges only: Numba would otherwise turn the array
# expressions of the inlined bodies (np.zeros, s + c) into parallel regions
# of their own, in the serial schedule too.
# (An options object, not a dict: Numba empties a dict as it reads it, at
# each compilation.)
PRANGE_ONLY = ParallelOptions({"prange": True, "comprehension": False, "reduction": False,
                               "inplace_binop": False, "setitem": False, "numpy": False,
                               "stencil": False, "fusion": False})

@compiled(parallel=PRANGE_ONLY)
def dense_rows(fname, xs, scale, n1, out, serial, general):
    """out[i] = sum over row i of fname(xs) (the mean times scale)."""
    numba.literally(fname)
    if serial:
        for i in range(out.size):
            _dense_row(fname, xs, scale, n1, out, i, general)
        return
    for i in prange(out.size):
        _dense_row(fname, xs, scale, n1, out, i, general)


@compiled(parallel=PRANGE_ONLY)
def sparse_rows(fname, data, indices, indptr, xs, scale, n1, out, serial, general):
    """out[i] = sum over row i of fname(x, ...) for compressed sparse rows."""
    numba.literally(fname)
    if serial:
        for i in range(out.size):
            _sparse_row(fname, data, indices, indptr, xs, scale, n1, out, i, general)
        return
    for i in prange(out.size):
        _sparse_row(fname, data, indices, indptr, xs, scale, n1, out, i, general)


@compiled(parallel=PRANGE_ONLY)
def dense_cols(fname, xs, scale, n0, out, serial, general):
    """out[j] = sum over column j of fname(xs)."""
    numba.literally(fname)
    if serial:
        for blk in range((out.size + 255) // 256):
            _dense_col_block(fname, xs, scale, n0, out, blk, general)
        return
    for blk in prange((out.size + 255) // 256):
        _dense_col_block(fname, xs, scale, n0, out, blk, general)

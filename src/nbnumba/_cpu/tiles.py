"""Elementwise kernels over tiles, generic over the table rows.

Operands reach the kernels as a tuple of C-contiguous, read-only 2-D arrays
whose dimensions are 1 (broadcast) or the output's; outputs as a tuple of
C-contiguous 2-D float arrays. A kernel runs over tiles of up to ``TILE``
columns of one row: each operand's tile is a contiguous 1-D view (or a
tile-sized fill where a column broadcasts), so broadcasting needs no copy
and the loops over a tile vectorize. For each row of a table the loop body
is generated from the row (its arity, outputs, fast and slow paths, and
per-column tables where it has them, see ``column_tables``) and compiled
when a call first needs it: one specialization per function and dtypes,
which serves calls of every size and Dask's blocks alike, cached on disk.

A function is named to the kernels by a string literal
``"<distribution>.<function>@<version>"``: the version is a hash of the
scalar math's sources, so that Numba's disk cache (keyed on this file only)
never serves code compiled from older math.
"""
import functools
import hashlib
import pathlib

import numba
import numpy as np
from numba import prange, types
from numba.extending import overload

from .._math.compile import CACHE, compiled, jit_inline, wide_vectors
from .._math.table import lookup
from . import forks

#: Columns per tile: big enough to amortise a tile's setup, small enough to
#: stay in the L1/L2 caches and to spread one-row inputs over threads.
TILE = 4096

VERSION = hashlib.sha1(b"".join(
    p.read_bytes() for p in sorted((pathlib.Path(__file__).parent.parent / "_math").glob("*.py"))
)).hexdigest()[:12]


def kernel_name(distribution, name):
    """The literal that names a table row to the kernels."""
    return f"{distribution}.{name}@{VERSION}"


@functools.lru_cache(maxsize=None)
def row_of(fname):
    """The table row named by a kernel literal."""
    return lookup(fname.split("@")[0])


@jit_inline
def ntiles(out):
    """Number of tiles of a 2-D array."""
    return out.shape[0] * ((out.shape[1] + TILE - 1) // TILE)


@jit_inline
def tile_span(out, t):
    """(row, first column, end column) of tile t of out (see ntiles)."""
    nb = (out.shape[1] + TILE - 1) // TILE
    j0 = (t % nb) * TILE
    return t // nb, j0, min(j0 + TILE, out.shape[1])


@jit_inline
def row(a, i, j0, j1):
    """Columns j0:j1 of row i of a 2-D operand as a contiguous 1-D array: a
    view, or a tile-sized fill for a column that broadcasts."""
    r = a[i] if a.shape[0] > 1 else a[0]
    if a.shape[1] == 1:
        return np.full(j1 - j0, r[0])
    return r[j0:j1]


def _generate(source, name, namespace):
    exec(compile(source, f"<nbnumba generated {name}>", "exec"), namespace)
    return namespace["impl"]


def rows(arrays, i, j0, j1):
    """The tuple of ``row(a, i, j0, j1)`` for a tuple of operands (compiled code only)."""


def views(arrays, i, j0, j1):
    """The tuple of ``a[i, j0:j1]`` for a tuple of outputs (compiled code only)."""


def _tuple_of(template):
    def typer(arrays, i, j0, j1):
        items = "".join(template.format(m) + ", " for m in range(len(arrays)))
        return _generate(f"def impl(arrays, i, j0, j1):\n    return ({items})\n", "tuple",
                         {"row": row})
    return typer


overload(rows)(_tuple_of("row(arrays[{0}], i, j0, j1)"))
overload(views)(_tuple_of("arrays[{0}][i, j0:j1]"))


def tile(fname, xs, outs, tabs, general):
    """outs = the function named by the literal fname over a tile: tuples of
    contiguous 1-D operands and outputs; tabs: None, or the per-column
    tables and the tile's first column; general: the row's general path as
    a C function (see ``general``), or None (compiled code only)."""


@overload(tile, prefer_literal=True)
def _tile_impl(fname, xs, outs, tabs, general):
    """The loop of one table row, generated from it: with a fast path, the
    fast path over the whole tile (a loop that vectorizes), then the slow
    path where it gave NaN (with the tables, the row's per-column fast and
    slow paths); else the scalar function per element. Through ``general``
    where given and there are no tables."""
    if not isinstance(fname, types.StringLiteral):
        return None
    f = row_of(fname.literal_value)
    args = ", ".join(f"f8(x{m}[j])" for m in range(f.arity))
    xnames = "".join(f"x{m}, " for m in range(f.arity))
    onames = "".join(f"o{m}, " for m in range(len(f.outputs)))
    src = ["def impl(fname, xs, outs, tabs, general):",
           f"    ({xnames}) = xs",
           f"    ({onames}) = outs"]
    if f.wide:
        src.append("    wide_vectors()")
    n = len(f.outputs)
    store = "".join(f"o{m}[j], " for m in range(n))
    # the general path: through the pointer where given
    name = "general" if general is not types.none else "slow" if f.fast is not None else "scalar"
    fast, slow = f"fast({args})", f"{name}({args})"
    if tabs is not types.none:
        # unsigned: no negative-index wraparound, so the loads are
        # consecutive and the loop vectorizes
        src += ["    (tab, j0) = tabs", "    g0 = u8(j0)"]
        fast, slow = f"columns({args}, tab, g0 + u8(j))", f"columns_slow({args}, tab, g0 + u8(j))"
    if f.fast is not None:
        src += ["    for j in range(o0.size):",
                f"        ({store}) = {fast}" if n > 1 else f"        o0[j] = {fast}",
                "    for j in range(o0.size):",
                "        if o0[j] != o0[j]:",
                f"            ({store}) = {slow}" if n > 1 else f"            o0[j] = {slow}"]
    elif len(f.outputs) == 1:
        src += ["    for j in range(o0.size):",
                f"        o0[j] = {slow}"]
    else:
        src += ["    for j in range(o0.size):",
                f"        r = scalar({args})"]
        src += [f"        o{m}[j] = r[{m}]" for m in range(len(f.outputs))]
    namespace = {"f8": np.float64, "u8": np.uint64, "fast": f.fast, "slow": f.slow, "scalar": f.scalar,
                 "columns": f.columns and f.columns.fast,
                 "columns_slow": f.columns and f.columns.slow, "wide_vectors": wide_vectors}
    return _generate("\n".join(src) + "\n", fname.literal_value, namespace)


def tabulate(fname, xs, tabs):
    """Fill the per-column tables tabs of the row named by fname from its
    operands xs, if tabs is not None (compiled code only)."""


@overload(tabulate, prefer_literal=True)
def _tabulate_impl(fname, xs, tabs):
    if tabs is types.none:
        return lambda fname, xs, tabs: None
    f = row_of(fname.literal_value)
    m = f.operands.index(f.columns.operand)
    fill = f.columns.tabulate

    def impl(fname, xs, tabs):
        x = xs[m]
        every = x.shape[1] > 1
        for g in range(tabs.shape[1]):
            fill(np.float64(x[0, g if every else 0]), tabs, g)
    return impl


def span(tabs, j0):
    """What tile needs of the per-column tables for a tile from column j0:
    None for None (compiled code only)."""


@overload(span)
def _span_impl(tabs, j0):
    if tabs is types.none:
        return lambda tabs, j0: None
    return lambda tabs, j0: (tabs, j0)


#: Calls with fewer elements run on the calling thread: waking the thread
#: pool costs more than they do (7 us against 40-500 us for 10 elements on
#: a busy 2-core machine).
SERIAL_BELOW = 16384


@compiled(parallel=True)
def _kernel(fname, xs, outs, tabs, serial, general):
    """The elementwise function fname over 2-D operands, tiles on all
    threads, or on the calling thread where serial (Dask blocks, which Dask
    runs in parallel: no nested thread pools) or the call is small (waking
    the pool costs more): one compilation serves every size and both
    schedules. tabs: None, or the per-column tables to fill and use (see
    column_tables); general: see ``general``."""
    numba.literally(fname)
    tabulate(fname, xs, tabs)
    if serial or outs[0].size < SERIAL_BELOW:
        for t in range(ntiles(outs[0])):
            i, j0, j1 = tile_span(outs[0], t)
            tile(fname, rows(xs, i, j0, j1), views(outs, i, j0, j1), span(tabs, j0), general)
        return
    for t in prange(ntiles(outs[0])):
        i, j0, j1 = tile_span(outs[0], t)
        tile(fname, rows(xs, i, j0, j1), views(outs, i, j0, j1), span(tabs, j0), general)


_ENTRIES = {}


def type_key(a):
    """What determines the Numba type of a kernel argument (aligned arrays):
    a cheap stand-in for numba.typeof, to find compiled entry points."""
    if isinstance(a, np.ndarray):
        return a.dtype, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous, a.flags.writeable
    if isinstance(a, tuple):
        return tuple(map(type_key, a))
    return type(a)


def call(kernel, fname, *args):
    """kernel(fname, *args), fname a literal. Numba's dispatcher retypes a
    call with literal arguments each time (milliseconds), and typing a
    tuple of arrays takes ~0.1 ms: the compiled entry point is called
    directly, found by what determines the types."""
    key = (fname, id(kernel), type_key(args))
    f = _ENTRIES.get(key)
    if f is None:
        # the literal signature straight away: a plain call would first type
        # the function with a non-literal fname, up to numba.literally (0.1 s
        # of a cached kernel's 0.15 s load)
        typed = (types.literal(fname),) + tuple(map(numba.typeof, args))
        kernel.compile(typed)                   # compiles, or loads from the cache
        f = _ENTRIES[key] = kernel.overloads[typed].entry_point
    f(fname, *args)


#: Rows a call needs for a row's per-column tables to pay for themselves
#: (a table costs about as much as that many elements of the column).
COLUMN_ROWS = 4


def column_tables(fname, xs, outs):
    """Empty per-column tables for the row named by fname where it has a
    per-column fast path and its operand is constant down the columns of a
    call with at least COLUMN_ROWS rows (a scalar too: one table per column
    all the same, so that the tiles' loops read them contiguously); else
    None."""
    f = row_of(fname)
    if f.columns is None or outs[0].shape[0] < COLUMN_ROWS:
        return None
    x = xs[f.operands.index(f.columns.operand)]
    if x.shape[0] != 1:
        return None
    return np.empty((f.columns.width, outs[0].shape[1]))


@functools.lru_cache(maxsize=None)
def general(fname):
    """The general path of the row named by fname (its slow path, or its
    scalar function where it has no fast path) as a C function, which the
    kernels call through a pointer; None for rows of several outputs (a C
    function returns one value: those kernels call it directly).

    A direct call links the general path's whole call tree into each kernel,
    where LLVM optimises and emits it again for every dtype signature (the
    bulk of cdf's or ppf's 4-7 s per signature); through the pointer it is
    compiled once, and cached, for all of them. It is never inlined either
    way, and runs only for the elements the fast path leaves.
    """
    f = row_of(fname)
    if len(f.outputs) > 1:
        return None
    g = f.slow if f.fast is not None else f.scalar
    return numba.cfunc(types.float64(*(types.float64,) * f.arity), cache=CACHE,
                       error_model="numpy")(g.py_func)


def elementwise(fname, xs, outs, parallel=True):
    """outs = fname(*xs) over 2-D operands (see the module docstring)."""
    xs, outs = tuple(xs), tuple(outs)
    call(_kernel, fname, xs, outs, column_tables(fname, xs, outs),
         not (parallel and forks.parallel_ok()), general(fname))

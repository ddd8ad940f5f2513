"""Every function of every table, on every CPU path, generated from the tables.

For each row: the array kernels (parallel, serial/Dask blocks) equal the
row's scalar function element by element, bit for bit, in float64 and after
one rounding in float32; the public function is callable inside a user's
@njit code; Dask gives the same values. (CUDA: tests/test_gpu_ptx.py
compiles every row's kernel to PTX, tests/gpu runs them in the simulator.)
"""
import numba
import numpy as np
import pytest

import nbnumba
from nbnumba import ufuncs, zinb
from nbnumba._math.table import DISTRIBUTIONS, table

ROWS = [(d, name) for d in DISTRIBUTIONS for name in table(d)]
N = 3000


def operands(names, rng, n=N):
    """Random operands by name, edge values included."""
    make = {
        "k": lambda: np.concatenate([rng.integers(0, 40, n - 8), [0, 1, 12, 13, 33, 500, -1, 2.5]]),
        "q": lambda: np.concatenate([rng.uniform(0, 1, n - 4), [0.0, 1.0, 1e-300, 0.5]]),
        "mu": lambda: np.concatenate([rng.lognormal(0.5, 2.0, n - 3), [0.0, 1e-12, 3e4]]),
        "theta": lambda: np.concatenate([10 ** rng.uniform(-2, 6, n - 3), [np.inf, 0.0, 1e12]]),
        "zi_logits": lambda: np.concatenate([rng.normal(0, 3, n - 4), [40.0, -40.0, np.inf, -np.inf]]),
    }
    return [rng.permutation(make[name]()) for name in names]


def scalar_reference(f, ops):
    """The row's scalar function, element by element (outputs stacked)."""
    vals = [f.scalar(*map(float, xs)) for xs in zip(*ops)]
    return np.array(vals, dtype=np.float64).T.reshape(len(f.outputs), -1)


def public(distribution, name):
    return getattr(ufuncs if distribution == "nbinom" else zinb, name)


def call(distribution, name, ops):
    f = table(distribution)[name]
    if distribution == "zinb":
        return public(distribution, name)(*ops[:-1], zi_logits=ops[-1]) if "zi_logits" in \
            f.operands else public(distribution, name)(*ops)
    return public(distribution, name)(*ops)


@pytest.mark.parametrize("distribution,name", ROWS)
def test_kernel_equals_scalar(distribution, name):
    f = table(distribution)[name]
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    ops = operands(f.operands, rng, 600 if name == "entropy" else N)
    want = scalar_reference(f, ops)
    got = call(distribution, name, ops)
    got = np.stack(got) if isinstance(got, tuple) else got[None]
    np.testing.assert_array_equal(got, want)
    # float32: computed in float64, rounded once
    ops32 = [a.astype(np.float32) for a in ops]
    got32 = call(distribution, name, ops32)
    got32 = np.stack(got32) if isinstance(got32, tuple) else got32[None]
    assert got32.dtype == np.float32
    want32 = scalar_reference(f, [a.astype(np.float64) for a in ops32]).astype(np.float32)
    np.testing.assert_array_equal(got32, want32)


@pytest.mark.parametrize("distribution,name", ROWS)
def test_serial_kernel_and_broadcasting(distribution, name):
    """The serial kernel (Dask blocks) on a 2-D broadcast equals the parallel one."""
    from nbnumba._cpu import tiles
    from nbnumba import _arrays
    f = table(distribution)[name]
    rng = np.random.default_rng(3)
    ops = operands(f.operands, rng, 60)
    ops = [ops[0].reshape(6, 10)] + [a[:10] for a in ops[1:]]      # per-column parameters
    args, full, dtype, _, _ = _arrays.operands(ops, f.operands)
    res = {}
    for parallel in (True, False):
        out = [np.empty(_arrays.shape2(full), dtype) for _ in f.outputs]
        tiles.elementwise(tiles.kernel_name(distribution, name), args, out, parallel)
        res[parallel] = np.stack(out)
    np.testing.assert_array_equal(res[True], res[False])
    want = scalar_reference(f, [np.broadcast_to(a, full).ravel() for a in ops])
    np.testing.assert_array_equal(res[True].reshape(len(f.outputs), -1), want)


@pytest.mark.parametrize("distribution,name", [r for r in ROWS if table(r[0])[r[1]].columns])
@pytest.mark.parametrize("shape", ["per column", "scalar"])
def test_column_tables(distribution, name, shape):
    """A row's per-column fast path (its operand constant down the columns)
    gives the scalar function's values bit for bit, serial and parallel."""
    from nbnumba._cpu import tiles
    from nbnumba import _arrays
    f = table(distribution)[name]
    rng = np.random.default_rng(4)
    m = f.operands.index(f.columns.operand)
    ops = [a.reshape(300, 10) for a in operands(f.operands, rng)]
    ops[m] = ops[m][:1] if shape == "per column" else ops[m][:1, :1]
    args, full, dtype, _, _ = _arrays.operands(ops, f.operands)
    fname = tiles.kernel_name(distribution, name)
    want = scalar_reference(f, [np.broadcast_to(a, full).ravel() for a in ops])
    for parallel in (True, False):
        out = [np.empty(_arrays.shape2(full), dtype) for _ in f.outputs]
        assert tiles.column_tables(fname, args, out).shape == (f.columns.width, 10)
        tiles.elementwise(fname, args, out, parallel)
        np.testing.assert_array_equal(np.stack(out).reshape(len(f.outputs), -1), want)


@pytest.mark.parametrize("name", [n for n, f in table("nbinom").items() if len(f.outputs) == 1])
def test_callable_inside_njit(name):
    f = table("nbinom")[name]
    func = getattr(nbnumba, name)
    args = ", ".join(f.operands)
    ns = {"func": func}
    exec(f"def g({args}):\n    return func({args})\n", ns)
    g = numba.njit(ns["g"])
    vals = {"k": 3.0, "q": 0.4, "mu": 2.5, "theta": 1.5}
    scalars = [vals[n] for n in f.operands]
    assert g(*scalars) == f.scalar(*scalars)
    arrays = [np.full(5, v) for v in scalars]
    np.testing.assert_array_equal(g(*arrays), np.full(5, f.scalar(*scalars)))


@pytest.mark.parametrize("distribution,name", ROWS)
def test_dask_equals_numpy(distribution, name):
    da = pytest.importorskip("dask.array")
    f = table(distribution)[name]
    rng = np.random.default_rng(5)
    ops = [a.reshape(20, 30) for a in operands(f.operands, rng, 600)]
    lazy = call(distribution, name, [da.from_array(a, chunks=(7, 11)) for a in ops])
    eager = call(distribution, name, ops)
    lazy = lazy if isinstance(lazy, tuple) else (lazy,)
    eager = eager if isinstance(eager, tuple) else (eager,)
    for a, b in zip(lazy, eager):
        np.testing.assert_array_equal(a.compute(), b)

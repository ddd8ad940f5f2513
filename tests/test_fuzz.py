"""Property tests (hypothesis) of every public function of nbnumba.ufuncs and
nbnumba.zinb and of both faces' main methods, over dtypes (int8..int64,
uint8..uint64, float16/32/64, bool, Python scalars), byte orders, memory
layouts (C, Fortran, strided, transposed, broadcast, 0-d, empty), aliasing
(``out=`` an input), masked arrays, and the extremes of the double range.

Further families: a float32 pi in a float64 result (its logit in float64),
non-canonical sparse counts (duplicate entries), and the derivatives and
the zero-inflated NB's moments anywhere in the double range (intermediate
quotients overflowing) against mpmath.

Each call either gives the scalar function of ``nbnumba._math`` applied
elementwise to the float64-converted inputs, rounded once to the result
dtype (float32 if every input that is not a Python scalar is float16 or
float32, else float64; Python numbers are first rounded to it, as NumPy
does), with the union of the masks; or raises a Python
TypeError / ValueError whose message names the argument. Never a Numba
error, never NaN where the scalar function is finite. A loose speed check
runs arrays of 2000 elements.
"""
import inspect
import math
import re
import time

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbnumba
from nbnumba import NegativeBinomial, ZeroInflatedNegativeBinomial, _params, nbinom, ufuncs, zinb
from nbnumba import zinbinom
from nbnumba._math import random as _random
from nbnumba._math import table as _table

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.float16, np.float32, np.float64, np.bool_]
FLOATS = [0.0, -0.0, 5e-324, 1e-308, 1e308, math.inf, -math.inf, math.nan, -1.0, -1e308, 0.5,
          1.0, 2.5, 3.0, 7.0, 20.0, 1e5]
PROBS = [0.0, 5e-324, 1e-308, 0.3, 0.5, 0.99, 1.0, math.nan, -0.5, 2.0, 1e308, math.inf]
INTS = [0, 1, 2, 3, 7, 20, 100, -1, -5]


# ---------------------------------------------------------------------------
# operands

@st.composite
def sub_shape(draw, full):
    """A shape that broadcasts to ``full``: dimensions kept or 1, leading ones dropped."""
    dims = [n if draw(st.booleans()) else 1 for n in full]
    return tuple(dims[draw(st.integers(0, len(dims))):])


@st.composite
def operand(draw, full, pool):
    """An operand broadcasting to ``full``: a Python scalar, or an array of any
    dtype, byte order and layout, possibly masked; values from ``pool``."""
    if draw(st.integers(0, 5)) == 0:
        v = draw(st.sampled_from(pool))
        kind = draw(st.sampled_from([float, int, bool]))
        if kind is float or not math.isfinite(v):
            return float(v)
        return bool(v) if kind is bool else int(v)
    dt = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(sub_shape(full))
    n = math.prod(shape)
    if dt.kind == "f":
        vals = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        with np.errstate(over="ignore", under="ignore"):
            arr = np.array(vals, np.float64).astype(dt).reshape(shape)
    elif dt.kind == "b":
        arr = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool).reshape(shape)
    else:
        info = np.iinfo(dt)
        ints = [v for v in INTS + [info.min, info.max] if info.min <= v <= info.max]
        arr = np.array(draw(st.lists(st.sampled_from(ints), min_size=n, max_size=n)),
                       dt).reshape(shape)
    if dt.itemsize > 1 and draw(st.booleans()):
        arr = arr.astype(dt.newbyteorder())             # byte-swapped, same values
    layout = draw(st.sampled_from(["C", "F", "strided", "T", "broadcast"]))
    if arr.ndim and arr.size:
        if layout == "F":
            arr = np.asfortranarray(arr)
        elif layout == "strided":
            big = np.empty(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
            big[..., ::2] = arr
            arr = big[..., ::2]
        elif layout == "T":
            arr = np.ascontiguousarray(arr.T).T
        elif layout == "broadcast":
            arr = np.broadcast_to(arr[(slice(0, 1),) * arr.ndim], arr.shape)
    if draw(st.integers(0, 3)) == 0:
        mask = np.array(draw(st.lists(st.booleans(), min_size=arr.size, max_size=arr.size)),
                        bool).reshape(arr.shape)
        arr = np.ma.masked_array(arr, mask=mask)
    return arr


FULL = st.sampled_from([(), (0,), (1,), (3,), (2, 3), (3, 1), (2, 2, 2), (0, 2)])


def is_python(a):
    return isinstance(a, (bool, int, float))


def result_dtype(args):
    strong = [np.asarray(a).dtype for a in args if not is_python(a)]
    small = strong and all(d.kind == "f" and d.itemsize <= 4 for d in strong)
    return np.dtype(np.float32 if small else np.float64)


def f64(a, dt=np.float64):
    """The float64-converted input. A Python number is first rounded to the
    result dtype ``dt``, as NumPy does with Python scalars (NEP 50)."""
    if is_python(a):
        with np.errstate(over="ignore", under="ignore"):
            return np.float64(np.float32(a)) if dt == np.float32 else np.float64(a)
    return np.asarray(np.ma.getdata(a)).astype(np.float64)


def union_mask(args, shape):
    masks = [np.ma.getmaskarray(a) for a in args if isinstance(a, np.ma.MaskedArray)]
    if not masks:
        return None
    m = np.zeros(shape, bool)
    for x in masks:
        m = m | x
    return m


def expected(scalar, args, nout=1):
    """The scalar function over the broadcast float64 inputs, rounded to the
    result dtype: a tuple of arrays (nout outputs)."""
    dt = result_dtype(args)
    xs = np.broadcast_arrays(*(f64(a, dt) for a in args))
    shape = xs[0].shape if xs else ()
    outs = [np.empty(shape) for _ in range(nout)]
    for idx in np.ndindex(shape):
        r = scalar(*(float(x[idx]) for x in xs))
        for o, v in zip(outs, r if nout > 1 else (r,)):
            o[idx] = v
    with np.errstate(over="ignore", under="ignore"):
        return tuple(o.astype(dt) for o in outs), shape


def assert_matches(res, args, scalar, nout=1):
    """res is the scalar function's result (see the module docstring)."""
    want, shape = expected(scalar, args, nout)
    got = res if nout > 1 else (res,)
    assert len(got) == nout
    mask = union_mask(args, shape)
    for g, w in zip(got, want):
        assert np.shape(g) == shape, (np.shape(g), shape)
        assert np.asarray(g).dtype == w.dtype, (np.asarray(g).dtype, w.dtype)
        data = np.asarray(np.ma.getdata(g))
        bad = ~((data == w) | (np.isnan(data) & np.isnan(w)))
        assert not bad.any(), (data[bad], w[bad])
        if mask is not None:
            assert isinstance(g, np.ma.MaskedArray)
            np.testing.assert_array_equal(np.ma.getmaskarray(g), mask)
        else:
            assert not isinstance(g, np.ma.MaskedArray)


def call_or_clear_error(f, names):
    """f() or None for a TypeError / ValueError naming one of ``names``
    (anything else, a Numba error above all, fails)."""
    try:
        return f(), None
    except (TypeError, ValueError) as e:
        assert not type(e).__module__.startswith("numba"), repr(e)
        assert any(re.search(rf"\b{n}\b", str(e)) for n in names), repr(e)
        return None, e


def pool_of(name):
    return PROBS if name in ("q", "pi") else FLOATS


# ---------------------------------------------------------------------------
# nbnumba.ufuncs and nbnumba.zinb

NB_ROWS = list(_table.table("nbinom").values())
ZI_ROWS = list(_table.table("zinb").values())


@pytest.mark.parametrize("row", NB_ROWS, ids=[r.name for r in NB_ROWS])
@SETTINGS
@given(data=st.data())
def test_ufuncs(row, data):
    full = data.draw(FULL)
    args = [data.draw(operand(full, pool_of(n))) for n in row.operands]
    res, err = call_or_clear_error(lambda: getattr(ufuncs, row.name)(*args), row.operands)
    assert err is None, err            # numbers in, numbers out
    assert_matches(res, args, row.scalar, len(row.outputs))


@pytest.mark.parametrize("row", ZI_ROWS, ids=[r.name for r in ZI_ROWS])
@SETTINGS
@given(data=st.data())
def test_zinb(row, data):
    full = data.draw(FULL)
    names = row.operands[:-1]
    args = [data.draw(operand(full, pool_of(n))) for n in names]
    f = getattr(zinb, row.name)
    if data.draw(st.booleans()):
        pi = data.draw(operand(full, PROBS))
        res, err = call_or_clear_error(lambda: f(*args, pi), names + ("pi",))
        zl = logit_of(pi, result_dtype(args + [pi]))
    else:
        zl = data.draw(operand(full, FLOATS))
        res, err = call_or_clear_error(lambda: f(*args, zi_logits=zl), row.operands)
    assert err is None, err
    assert_matches(res, args + [zl], row.scalar, len(row.outputs))


def logit_of(pi, dt):
    """The documented conversion of pi to the logit: in float64, rounded
    once to the call's result dtype dt (a float32 pi in a float64 result
    keeps its digits); a Python number stays one (weak)."""
    if is_python(pi):
        return _params.zi_logits(pi=pi)
    p = f64(pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((p >= 0) & (p <= 1), np.log(p) - np.log1p(-p), np.nan).astype(dt)
    return np.ma.masked_array(z, mask=np.ma.getmaskarray(pi)) \
        if isinstance(pi, np.ma.MaskedArray) else z


@pytest.mark.parametrize("row", ZI_ROWS, ids=[r.name for r in ZI_ROWS])
@SETTINGS
@given(data=st.data())
def test_float32_pi_in_float64_results(row, data):
    """A float32 pi gives, in a float64 result, the values of the same pi
    in float64, bit for bit (its logit is not rounded to float32)."""
    full = data.draw(st.sampled_from([(3,), (2, 3)]))
    names = row.operands[:-1]
    args = [data.draw(operand(full, pool_of(n))) for n in names]
    i = data.draw(st.integers(0, len(args) - 1))
    args[i] = np.asarray(f64(args[i]), np.float64)           # one float64 operand
    with np.errstate(over="ignore"):
        pi = np.asarray(data.draw(st.lists(st.sampled_from(PROBS + [0.25, 1e-10, 0.999999]),
                                           min_size=full[-1], max_size=full[-1])), np.float32)
    f = getattr(zinb, row.name)
    got = f(*args, pi)
    want = f(*args, pi.astype(np.float64))
    for g, w in zip(got if len(row.outputs) > 1 else (got,),
                    want if len(row.outputs) > 1 else (want,)):
        assert np.asarray(g).dtype == np.float64
        np.testing.assert_array_equal(np.ma.getdata(g), np.ma.getdata(w))


@SETTINGS
@given(data=st.data())
def test_out_may_be_an_input(data):
    row = data.draw(st.sampled_from([r for r in NB_ROWS if len(r.outputs) == 1]))
    full = data.draw(st.sampled_from([(3,), (2, 3)]))
    args = [data.draw(operand(full, pool_of(n))) for n in row.operands]
    i = data.draw(st.integers(0, len(args) - 1))
    dt = data.draw(st.sampled_from([np.float64, np.float32]))
    base = np.array(np.broadcast_to(f64(args[i]), full), dtype=dt)
    args[i] = base
    want, _ = expected(row.scalar, args)
    res = getattr(ufuncs, row.name)(*args, out=base)
    assert res is base
    got = np.asarray(base)
    w = want[0].astype(dt)
    assert np.array_equal(got, w, equal_nan=True)


# ---------------------------------------------------------------------------
# both faces' main methods

FACE_METHODS = [("nbinom", "logpmf"), ("nbinom", "cdf"), ("nbinom", "logsf"), ("nbinom", "ppf"),
                ("zinbinom", "logpmf"), ("zinbinom", "cdf"), ("zinbinom", "isf"),
                ("NegativeBinomial", "log_prob"), ("NegativeBinomial", "cdf"),
                ("NegativeBinomial", "icdf"), ("ZeroInflatedNegativeBinomial", "log_prob")]


@pytest.mark.parametrize("face,method", FACE_METHODS, ids=[f"{a}.{b}" for a, b in FACE_METHODS])
@SETTINGS
@given(data=st.data())
def test_faces(face, method, data):
    full = data.draw(FULL)
    mu, theta = (data.draw(operand(full, FLOATS)) for _ in range(2))
    quantile = method in ("ppf", "isf", "icdf")
    x = data.draw(operand(full, PROBS if quantile else FLOATS))
    zl = data.draw(operand(full, FLOATS)) if "ero" in face or face == "zinbinom" else None
    name = {"log_prob": "logpmf", "icdf": "ppf"}.get(method, method)
    if face == "nbinom":
        d = nbinom(mu=mu, theta=theta)
    elif face == "zinbinom":
        d = zinbinom(mu=mu, theta=theta, zi_logits=zl)
    elif face == "NegativeBinomial":
        d = NegativeBinomial(mu=mu, theta=theta)
    else:
        d = ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl)
    res = getattr(d, method)(x)
    # the face's parameters as it converted them (float32 where all are)
    # (one dtype for all, Python numbers weak, as the parameter layer)
    params = list(_params.as_float(mu, theta, *([] if zl is None else [zl])))
    params = [np.ma.masked_array(p, mask=np.ma.getmaskarray(g)) if isinstance(g, np.ma.MaskedArray)
              else p for p, g in zip(params, [mu, theta, zl])]
    row = _table.lookup(("zinb." if zl is not None else "nbinom.") + name)
    args = [x] + params
    if method == "log_prob":
        # off the support: scvi's continuous extension, not the pmf
        xs = np.broadcast_to(f64(x), np.shape(res))
        on = np.isfinite(xs) & (xs >= 0) & (xs == np.floor(xs))
        want, _ = expected(row.scalar, args)
        data_ = np.asarray(np.ma.getdata(res))
        assert data_.dtype == want[0].dtype
        w = np.broadcast_to(want[0], data_.shape)
        assert np.array_equal(data_[on], w[on], equal_nan=True)
        return
    assert_matches(res, args, row.scalar)


# ---------------------------------------------------------------------------
# sampling and sums

@numba.njit
def _draws(mu, theta, zl, k0, k1, out):
    for i in range(out.size):
        x = _random.nb_variate(mu[i], theta[i], k0, k1, i)
        out[i] = _random.zero_inflated(x, zl[i], k0, k1, i) if zl.size else x


@SETTINGS
@given(data=st.data())
def test_rvs(data):
    full = data.draw(FULL)
    mu, theta = (data.draw(operand(full, FLOATS)) for _ in range(2))
    zero_inflated = data.draw(st.booleans())
    key = (data.draw(st.integers(0, 2 ** 32 - 1)), data.draw(st.integers(0, 2 ** 32 - 1)))
    if zero_inflated:
        zl = data.draw(operand(full, FLOATS))
        res, err = call_or_clear_error(lambda: zinb.rvs(mu, theta, zi_logits=zl, random_state=key),
                                       ("mu", "theta", "zi_logits", "mean"))
    else:
        zl = None
        res, err = call_or_clear_error(lambda: nbnumba.rvs(mu, theta, random_state=key),
                                       ("mu", "theta", "mean"))
    ops = np.broadcast_arrays(*(f64(a) for a in (mu, theta) + (() if zl is None else (zl,))))
    shape = ops[0].shape
    want = np.empty(math.prod(shape))
    z = np.ascontiguousarray(ops[2]).ravel() if zl is not None else np.empty(0)
    _draws(np.ascontiguousarray(ops[0]).ravel(), np.ascontiguousarray(ops[1]).ravel(), z,
           np.uint64(key[0]), np.uint64(key[1]), want)
    representable = np.all(want < 2.0 ** 63)        # NaN too
    if err is not None:
        assert not representable
        return
    assert representable
    got = np.asarray(np.ma.getdata(res)) if shape else np.asarray(res)
    assert got.shape == shape and got.dtype == np.int64
    np.testing.assert_array_equal(got.ravel(), want)


@SETTINGS
@given(data=st.data())
def test_loglik(data):
    full = data.draw(st.sampled_from([(), (3,), (2, 3), (0, 2)]))
    x = data.draw(operand(full, FLOATS))
    if np.ma.is_masked(x):
        x = np.ma.getdata(x)                # loglik refuses masked counts (tested elsewhere)
    x = np.asarray(x) if is_python(x) else x
    if x.dtype == np.uint64:
        # loglik reads uint64 counts as int64 (nbnumba/reductions.py): counts
        # beyond 2**63 wrap there (reported); the elementwise functions do not
        x = np.minimum(x, np.uint64(2 ** 62))
    mu, theta = (data.draw(operand(full, FLOATS)) for _ in range(2))
    axis = data.draw(st.sampled_from([None, 0, -1] + ([1] if np.ndim(x) == 2 else [])))
    zero_inflated = data.draw(st.booleans())
    zl = data.draw(operand(full, FLOATS)) if zero_inflated else None
    if zero_inflated:
        res, err = call_or_clear_error(lambda: zinb.loglik(x, mu, theta, zi_logits=zl, axis=axis),
                                       ("x", "mu", "theta", "zi_logits", "axis"))
    else:
        res, err = call_or_clear_error(lambda: nbnumba.loglik(x, mu, theta, axis=axis),
                                       ("x", "mu", "theta", "axis"))
    if err is not None:
        # parameters that do not broadcast to x's shape, or an axis x lacks
        shapes = [np.shape(a) for a in (mu, theta) + (() if zl is None else (zl,))]
        assert (np.broadcast_shapes(np.shape(x), *shapes) != np.shape(x)
                or (axis is not None and np.ndim(x) == 0)), err
        return
    args = [x, mu, theta] + ([] if zl is None else [zl])
    row = _table.lookup("zinb.logpmf" if zero_inflated else "nbinom.logpmf")
    lp = expected(row.scalar, args)[0][0].astype(np.float64)
    if axis is None or lp.ndim < 2:
        want = np.array(math.fsum(lp.ravel()) if np.all(np.isfinite(lp)) else lp.sum())
    else:
        want = np.array([math.fsum(r) if np.all(np.isfinite(r)) else r.sum()
                         for r in np.moveaxis(lp, axis, -1)])
    got = np.asarray(res, np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


@st.composite
def non_canonical(draw, X):
    """Dense counts X as CSR or CSC (matrix or array) with duplicate entries
    (each count split in up to three, some explicit zeros) in any order
    within a line: scipy's meaning of them is their sum."""
    import scipy.sparse as sp
    fmt = draw(st.sampled_from(["csr_matrix", "csc_matrix", "csr_array", "csc_array"]))
    A = X.T if fmt.startswith("csc") else X
    data, indices, indptr = [], [], [0]
    for line in A:
        entries = []
        for j in np.flatnonzero(line):
            n = draw(st.integers(1, 3))
            cuts = sorted(draw(st.lists(st.integers(0, int(line[j])), min_size=n - 1,
                                        max_size=n - 1)))
            parts = np.diff([0] + cuts + [int(line[j])])
            entries += [(j, float(v)) for v in parts]
        entries = draw(st.permutations(entries))
        indices += [j for j, _ in entries]
        data += [v for _, v in entries]
        indptr.append(len(data))
    return getattr(sp, fmt)((np.array(data, np.float64), np.array(indices, np.int32),
                             np.array(indptr)), shape=X.shape)


@SETTINGS
@given(data=st.data())
def test_loglik_non_canonical_sparse(data):
    """Sparse counts with duplicate entries: the sums of the dense counts,
    for both distributions, every axis and every form of the mean; the
    fitters likewise."""
    n, g = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))
    X = np.array(data.draw(st.lists(st.sampled_from([0, 0, 0, 1, 2, 5, 30]), min_size=n * g,
                                    max_size=n * g))).reshape(n, g)
    S = data.draw(non_canonical(X))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    sf, gm = rng.uniform(0.2, 3, n), rng.uniform(0.1, 20, g)
    mu = data.draw(st.sampled_from([2.5, gm, sf[:, None] * gm, (sf, gm)]))
    theta = data.draw(st.sampled_from([1.5, rng.uniform(0.05, 50, g), np.inf]))
    axis = data.draw(st.sampled_from([None, 0, 1]))
    zl = data.draw(st.sampled_from([None, rng.normal(0, 2, g)]))
    if zl is None:
        got, want = (nbnumba.loglik(a, mu, theta, axis=axis) for a in (S, X))
    else:
        got, want = (zinb.loglik(a, mu, theta, zi_logits=zl, axis=axis) for a in (S, X))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)
    if n >= 2 and not isinstance(mu, tuple):
        from nbnumba import fitting
        a, b = (fitting.fit_theta(m, np.broadcast_to(mu, X.shape)).theta for m in (S, X))
        np.testing.assert_array_equal(a, b)


def _extreme(draw):
    """A double from anywhere in the range, log-uniform, ends included."""
    e = draw(st.integers(-300, 308))
    m = draw(st.sampled_from([1.0, 1.7, 3.3, 9.9]))
    return min(m * 10.0 ** e, 1.7976931348623157e308)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_derivatives_where_quotients_overflow(data):
    """logpmf_grad and logpmf_hess anywhere in the double range (mu /
    theta, theta + mu and the like overflowing or underflowing on the way)
    against mpmath, with test_derivatives' tolerances: finite wherever the
    derivative is."""
    from helpers import mp_reference
    k = data.draw(st.sampled_from([0.0, 1.0, 2.0, 3.0, 17.0, 1e9, 1e300]))
    mu, theta = _extreme(data.draw), _extreme(data.draw)
    theta = min(theta, 1e200)               # mpmath's precision grows with theta's range
    if theta < 1e-154 and mu < 1e-154 and k >= 2:
        return                              # documented NaN (both terms overflow)
    got = nbnumba.logpmf_grad(k, mu, theta) + nbnumba.logpmf_hess(k, mu, theta)
    want, scales = mp_reference(k, mu, theta)
    for name, g, w, sc, rel in zip(("d_mu", "d_theta", "d_mu_mu", "d_mu_theta", "d_theta_theta"),
                                   got, want, scales, (1e-13, 1e-12, 1e-10, 1e-10, 1e-10)):
        tol = rel * abs(w) + 1e-14 * sc + (math.ulp(w) if math.isfinite(w) else 0.0)
        assert g == w or abs(g - w) <= tol, (name, k, mu, theta, g, w)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_zinb_moments_keep_their_digits(data):
    """The zero-inflated NB's mean, variance, skewness and kurtosis from
    float parameters anywhere (pi down to 1e-300, mu / theta overflowing)
    against its raw moments at 120 digits: where a moment is a finite
    double, within 1e-12 (a few ulp where no terms cancel)."""
    import mpmath as mp
    mu = _extreme(data.draw)
    theta = data.draw(st.sampled_from([math.inf, _extreme(data.draw)]))
    pi = data.draw(st.sampled_from([1e-300, 1e-10, 0.3, 0.5, 0.999, 1 - 1e-12]))
    got = zinbinom(mu=mu, theta=theta, pi=pi).stats("mvsk")
    with mp.workdps(120 + 4 * max(0, int(math.log10(mu)))):
        M, P = mp.mpf(mu), mp.mpf(pi)
        x = 0 if theta == math.inf else M / mp.mpf(theta)
        v2, v3 = M * (1 + x), M * (1 + x) * (1 + 2 * x)
        v4 = 3 * v2 ** 2 + v2 * (1 + 6 * x * (1 + x))
        r = [M, v2 + M ** 2, v3 + 3 * M * v2 + M ** 3, v4 + 4 * M * v3 + 6 * M ** 2 * v2 + M ** 4]
        R = [(1 - P) * m for m in r]
        c2 = R[1] - R[0] ** 2
        c3 = R[2] - 3 * R[0] * R[1] + 2 * R[0] ** 3
        c4 = R[3] - 4 * R[0] * R[2] + 6 * R[0] ** 2 * R[1] - 3 * R[0] ** 4
        want = [R[0], c2, c3 / c2 ** 1.5, c4 / c2 ** 2 - 3]
        # the skewness's terms: where they cancel, ulps of the parameters move it
        size = abs(v3) + 3 * P * M * v2 + P * M ** 3
        skew_scale = float((1 - P) * size / c2 ** 1.5)
    for i, (g, w) in enumerate(zip(got, want)):
        try:
            w = float(w)
        except OverflowError:
            w = math.inf
        if not math.isfinite(w) or abs(w) < 1e-290:
            continue
        tol = 1e-12 * abs(w) + (1e-13 * skew_scale if i == 2 else 0.0)
        assert abs(float(g) - w) <= tol, (("m", "v", "s", "k")[i], mu, theta, pi, float(g), w)


# ---------------------------------------------------------------------------
# clear errors for what is not a number

BAD = {"string": "a", "strings": np.array(["a", "b"]), "complex": 1j,
       "complexes": np.array([1j, 2]), "objects": np.array([1, 2], object),
       "datetimes": np.array(["2020-01-01", "2021-01-01"], "M8[D]"), "None": None,
       "ragged": [[1.0], [1.0, 2.0]], "dict": {"a": 1.0}}


def _face_calls():
    calls = []
    for name in ("k", "mu", "theta"):
        def f(bad, name=name):
            v = {"k": 1.0, "mu": 2.0, "theta": 1.5}
            v[name] = bad
            return nbinom(mu=v["mu"], theta=v["theta"]).logpmf(v["k"])
        calls.append((f"nbinom.logpmf[{name}]", name, f))

        def g(bad, name=name):
            v = {"k": 1.0, "mu": 2.0, "theta": 1.5}
            v[name] = bad
            return NegativeBinomial(mu=v["mu"], theta=v["theta"]).log_prob(v["k"])
        calls.append((f"NegativeBinomial.log_prob[{name}]", "value" if name == "k" else name, g))
    for name in ("n", "p", "loc"):
        def h(bad, name=name):
            v = {"n": 5.0, "p": 0.3, "loc": 0}
            v[name] = bad
            return nbinom(v["n"], v["p"], loc=v["loc"]).pmf(2)
        calls.append((f"nbinom(n, p, loc)[{name}]", name, h))
    calls.append(("zinbinom[pi]", "pi", lambda bad: zinbinom(mu=1.0, theta=1.0, pi=bad).pmf(0)))
    calls.append(("ZeroInflatedNegativeBinomial[zi_logits]", "zi_logits",
                  lambda bad: ZeroInflatedNegativeBinomial(mu=1.0, theta=1.0, zi_logits=bad)))
    for mod in (ufuncs, zinb):
        for fname in mod.__all__:
            f = getattr(mod, fname)
            params = [p for p in inspect.signature(f).parameters.values()
                      if p.default is inspect.Parameter.empty]
            for i, p in enumerate(params):
                def u(bad, f=f, i=i, n=len(params), mod=mod):
                    args = [0.5] * n
                    args[i] = bad
                    return f(*args, **({"pi": 0.2} if mod is zinb and "pi" in
                                       inspect.signature(f).parameters else {}))
                calls.append((f"{mod.__name__}.{fname}[{p.name}]", p.name, u))
    return calls


FACE_CALLS = _face_calls()


@SETTINGS
@given(call=st.sampled_from(FACE_CALLS), bad=st.sampled_from(sorted(BAD)))
def test_non_numbers_raise_naming_the_argument(call, bad):
    label, name, f = call
    with pytest.raises((TypeError, ValueError)) as info:
        f(BAD[bad])
    assert not type(info.value).__module__.startswith("numba"), (label, info.value)
    assert re.search(rf"\b{name}\b", str(info.value)), (label, bad, str(info.value))


# ---------------------------------------------------------------------------
# a loose speed check: ordinary parameters, any dtype and layout

ORDINARY = {"k": lambda r, n: r.integers(0, 30, n), "q": lambda r, n: r.uniform(0, 1, n),
            "mu": lambda r, n: r.uniform(0.1, 50, n), "theta": lambda r, n: r.uniform(0.5, 100, n),
            "zi_logits": lambda r, n: r.uniform(-3, 3, n)}
#: ns per element allowed (loose: the machine is shared). entropy sums the
#: pmf over the support (thousands of terms for theta ~ 0.5, mu ~ 50) and
#: isf bisects: both are documented to cost more.
BUDGET = {"entropy": 20000, "isf": 8000}


@pytest.mark.parametrize("row", NB_ROWS + ZI_ROWS,
                         ids=[f"{d}.{r.name}" for d, rows in (("nbinom", NB_ROWS),
                                                              ("zinb", ZI_ROWS)) for r in rows])
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_speed(row, data):
    n = 2000
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    dt = data.draw(st.sampled_from([np.float64, np.float32, ">f8"]))
    layout = data.draw(st.sampled_from(["C", "strided", "2-D transposed"]))
    args = []
    for name in row.operands:
        a = ORDINARY[name](rng, n).astype(dt if name != "k" else data.draw(
            st.sampled_from([np.int64, np.int32, np.uint8, dt])))
        if layout == "strided":
            a = np.repeat(a, 2)[::2]
        elif layout == "2-D transposed":
            a = a.reshape(40, 50).T
        args.append(a)
    distribution = "zinb" if row in ZI_ROWS else "nbinom"
    f = getattr(zinb if distribution == "zinb" else ufuncs, row.name)
    kw = {}
    if distribution == "zinb":
        kw["zi_logits"] = args.pop()
    f(*args, **kw)                                         # compiled, warm
    best = min(_timed(f, args, kw) for _ in range(3))
    budget = BUDGET.get(row.name, 1000) * 1e-9 * n + 1e-3  # + the call's fixed cost
    assert best < budget, (row.name, best / n)


def _timed(f, args, kw):
    t0 = time.perf_counter()
    f(*args, **kw)
    return time.perf_counter() - t0


def test_every_public_function_is_fuzzed():
    fuzzed = {r.name for r in NB_ROWS}
    assert set(ufuncs.__all__) <= fuzzed
    assert set(zinb.__all__) <= {r.name for r in ZI_ROWS} | {"rvs", "loglik"}


# ---------------------------------------------------------------------------
# torch: mixed torch / NumPy parameters, and second derivatives

def _torch_or_numpy(draw, a, torch):
    """a as a torch tensor (float32 or float64) or as a NumPy array, drawn."""
    a = np.asarray(a, np.float64)
    kind = draw(st.sampled_from(["torch64", "torch32", "numpy"]))
    if kind == "numpy":
        return a
    return torch.tensor(a, dtype=torch.float64 if kind == "torch64" else torch.float32)


@pytest.mark.parametrize("face,method", FACE_METHODS, ids=[f"{a}.{b}" for a, b in FACE_METHODS])
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_faces_mixed_torch_numpy(face, method, data):
    """Any mix of torch tensors (float32, float64) and NumPy arrays among a
    face's parameters: a torch result equal, element for element, to the
    all-NumPy call at the same (converted) parameters."""
    torch = pytest.importorskip("torch")
    full = data.draw(st.sampled_from([(), (3,), (2, 3)]))
    pools = {"q": PROBS, "x": FLOATS + [0.0, 1.0, 4.0]}

    def arr(pool):
        n = math.prod(full)
        return np.array(data.draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)),
                        np.float64).reshape(full)
    quantile = method in ("ppf", "isf", "icdf")
    x = arr(pools["q"] if quantile else pools["x"])
    given = {"mu": arr(FLOATS), "theta": arr(FLOATS)}
    if "ero" in face or face == "zinbinom":
        given["zi_logits"] = arr(FLOATS)
    mixed = {k: _torch_or_numpy(data.draw, v, torch) for k, v in given.items()}
    if not any(isinstance(v, torch.Tensor) for v in mixed.values()):
        mixed["mu"] = torch.tensor(given["mu"])
    make = {"nbinom": nbinom, "zinbinom": zinbinom, "NegativeBinomial": NegativeBinomial,
            "ZeroInflatedNegativeBinomial": ZeroInflatedNegativeBinomial}[face]
    res = getattr(make(**mixed), method)(x)
    assert isinstance(res, torch.Tensor)
    # the same parameters as the face converted them, all NumPy
    conv = _params.as_float(*(v.numpy() if isinstance(v, torch.Tensor) else v
                              for v in mixed.values()))
    want = getattr(make(**dict(zip(mixed, conv))), method)(x)
    # torch's promotion: the float64 value joins the parameters' dtype
    got, want = res.numpy(), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if method == "log_prob":
        on = np.isfinite(x) & (x >= 0) & (x == np.floor(x))
        got, want = got[np.broadcast_to(on, got.shape)], want[np.broadcast_to(on, want.shape)]
    assert np.array_equal(got, want, equal_nan=True), (got, want)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(k=st.sampled_from([0.0, 1.0, 2.0, 5.0, 40.0]),
       mu=st.sampled_from([1e-3, 0.5, 2.0, 30.0, 1e4]),
       theta=st.sampled_from([1e-2, 0.5, 3.0, 100.0, 1e6]))
def test_second_derivatives_through_autograd(k, mu, theta):
    """torch's double backward of the NB log_prob gives the Hessian kernel's
    values (d2/dmu2, d2/dmu dtheta, d2/dtheta2); the ZINB's raises."""
    torch = pytest.importorskip("torch")
    m = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(k, dtype=torch.float64)
    lp = NegativeBinomial(mu=m, theta=t).log_prob(x)
    g_mu, g_theta = torch.autograd.grad(lp, (m, t), create_graph=True)
    h_mm, h_mt = torch.autograd.grad(g_mu, (m, t), retain_graph=True)
    h_tm, h_tt = torch.autograd.grad(g_theta, (m, t))
    want = nbnumba.logpmf_hess(k, mu, theta)
    np.testing.assert_array_equal([h_mm.item(), h_mt.item(), h_tt.item()], want)
    assert h_tm.item() == want[1]
    zl = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    lp = ZeroInflatedNegativeBinomial(mu=m, theta=t, zi_logits=zl).log_prob(x)
    (g,) = torch.autograd.grad(lp, m, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g, m)

"""NB sampling on arrays: ``nbnumba.rvs``, and the draws behind both faces.

Draw ``i`` (the C-order position in the output) of a call depends only on the
key and ``i`` (counter-based Philox streams, see ``_random``), so a seed gives
the same samples for any number of threads and any split of the output.
"""
import numpy as np
from numba import njit, prange

from . import _params, ufuncs
from ._math import random as _random
from ._math.special import jit, jit_inline, wide_vectors


@njit(parallel=True, cache=True, error_model="numpy")
def _sample_tiles(mu, theta, k0, k1, offset, stride, out):
    """out[i, j] = NB draw number offset + i * stride + j, over 2-D operands
    (see ufuncs._row), by tiles of a row, on all threads. Returns how many
    draws are NaN or beyond the int64 range (garbage in an int64 out)."""
    bad = 0
    for t in prange(ufuncs._ntiles(out)):
        i, j0, j1 = ufuncs.tile_span(out, t)
        x = np.empty(j1 - j0)
        _tile(ufuncs._row(mu, i, j0, j1), ufuncs._row(theta, i, j0, j1), k0, k1,
              offset + i * stride + j0, x)
        o = out[i, j0:j1]
        for j in range(x.size):
            bad += not x[j] < 9.223372036854775807e18
            o[j] = x[j]
    return bad


@jit
def _tile(ms, ts, k0, k1, first, o):
    """o[j] = nb_variate of draw first + j: the branch-free first trials
    over the whole tile (loops that vectorize), each only where some element
    needs it, then the scalar samplers where they gave NaN."""
    small, large, boost = _kinds(ms, ts)
    lam = np.empty(o.size if large else 0)
    start = np.empty(lam.size, np.int64)
    if small:
        _walk(ms, ts, k0, k1, first, o)
    if large:
        _composition(ms, ts, k0, k1, first, o, lam, start, boost)
        _retry(lam, start, k0, k1, first, o)
    for j in range(o.size):
        if o[j] != o[j]:
            if large and lam[j] == lam[j]:      # NaN but where mu > 10 and the Gamma is done
                o[j] = _random.poisson_variate(lam[j], k0, k1, first + j, start[j])
            else:
                o[j] = _random.nb_variate(ms[j], ts[j], k0, k1, first + j)


@jit
def _kinds(ms, ts):
    """Whether the tile has means <= 10, means > 10, shapes < 1."""
    small = large = boost = False
    for j in range(ms.size):
        small |= ms[j] <= 10.0
        large |= not ms[j] <= 10.0
        boost |= ts[j] < 1.0
    return small, large, boost


@jit
def _composition(ms, ts, k0, k1, first, o, lam, start, boost):
    """o[j], lam[j], start[j] where mu > 10: the first Gamma trial
    (gamma_fast), then PTRS's first quick test (ptrs_fast), in two loops
    (smaller loop bodies run faster)."""
    wide_vectors()
    if boost:       # a constant in each loop
        for j in range(o.size):
            lam[j] = _gamma_at(ms[j], ts[j], k0, k1, first + j, True)
    else:
        for j in range(o.size):
            lam[j] = _gamma_at(ms[j], ts[j], k0, k1, first + j, False)
    for j in range(o.size):
        x, st = _random.ptrs_fast(lam[j], k0, k1, first + j)
        o[j] = o[j] if ms[j] <= 10.0 else x        # NaN mu too: o may be uninitialized
        start[j] = st


@jit_inline
def _gamma_at(mu, theta, k0, k1, i, boost):
    return np.nan if mu <= 10.0 else _random.gamma_fast(mu, theta, k0, k1, i, boost)


@jit
def _retry(lam, start, k0, k1, first, o):
    """The PTRS trials that ptrs_fast left open (the exact test of
    trial 0, or trials from 1 where trial 0 rejected), in lockstep over
    those draws gathered into contiguous arrays (loops that vectorize),
    compacted after each trial, until fewer than 4 are left (start[j]: the
    next trial of those)."""
    wide_vectors()
    # compactions write every element and advance by the condition: no branch
    idx = np.empty(o.size, np.int64)
    m = 0
    for j in range(o.size):
        idx[m] = j
        m += (o[j] != o[j]) & (lam[j] >= 10.0) & (lam[j] < np.inf)
    lam1, x, nxt = np.empty(m), np.full(m, np.nan), np.empty(m, np.int64)
    kc, wc, rc = np.empty(m), np.empty(m), np.empty(m)
    for c in range(m):
        lam1[c] = lam[idx[c]]
        nxt[c] = start[idx[c]]
    t = 0
    while m >= 4 and t < _random.MAXTRIALS:
        for c in range(m):
            kc[c], wc[c], rc[c] = _random._ptrs_candidate(lam1[c], k0, k1, first + idx[c], t)
        for c in range(m):
            k = kc[c]
            r = _random._ptrs_decide(k, wc[c], rc[c], lam1[c])
            go = nxt[c] == t
            x[c] = k if go & (r > 0) else x[c]
            nxt[c] = t + 1 if go & (r == 0) else nxt[c]
        t += 1
        left = 0
        for c in range(m):
            o[idx[c]], start[idx[c]] = x[c], nxt[c]        # NaN where still pending
            idx[left], lam1[left], x[left], nxt[left] = idx[c], lam1[c], x[c], nxt[c]
            left += nxt[c] == t
        m = left


@jit
def _walk(ms, ts, k0, k1, first, o):
    """o[j] = the inversion of nb_variate where it applies and ends within
    the steps taken, else NaN. The walk runs in lockstep (step t moves every
    element still below its uniform from t to t + 1) over contiguous arrays
    (loops that vectorize; 8 steps of an element in registers), compacted
    every 8 steps to the elements still walking, until at most 1/64 of the
    tile is left to the scalar sampler."""
    wide_vectors()
    n = o.size
    idx, k = np.arange(n), np.zeros(n)
    u, pm, s, a, q = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for j in range(n):
        u[j], pm[j], a[j], q[j] = _random.inversion_start(ms[j], ts[j], k0, k1, first + j)
        s[j] = pm[j]
    m = n
    t = 0
    while 64 * m > n and t < 1000:
        for c in range(m):          # 8 steps per element, its state in registers
            pmc, sc, kc = pm[c], s[c], k[c]
            for d in range(8):
                go = (u[c] > sc) & (pmc > 1e-300)
                nxt, s1 = _random.step(np.float64(t + d), pmc, sc, a[c], q[c])
                pmc = nxt if go else pmc
                sc = s1 if go else sc
                kc = t + d + 1.0 if go else kc
            pm[c], s[c], k[c] = pmc, sc, kc
        t += 8
        left = 0
        for c in range(m):
            if (u[c] > s[c]) & (pm[c] > 1e-300):
                idx[left], k[left], u[left], pm[left], s[left], a[left], q[left] = (
                    idx[c], k[c], u[c], pm[c], s[c], a[c], q[c])
                left += 1
            else:
                o[idx[c]] = k[c] if u[c] <= s[c] else np.nan
        m = left
    for c in range(m):
        o[idx[c]] = np.nan


def key(random_state):
    """A 64-bit Philox key (two 32-bit words) from ``random_state``.

    None: NumPy's global RandomState (as scipy); an int or a SeedSequence:
    derived by SeedSequence (same seed, same key); a Generator or a
    RandomState: drawn from it, so that it advances; a key: itself.
    """
    if isinstance(random_state, tuple):
        return random_state
    if random_state is None:
        words = np.random.randint(0, 2 ** 32, size=2, dtype=np.uint64)
    elif isinstance(random_state, (int, np.integer)):
        words = np.random.SeedSequence(int(random_state)).generate_state(2)
    elif isinstance(random_state, np.random.SeedSequence):
        words = random_state.generate_state(2)
    elif isinstance(random_state, np.random.Generator):
        words = random_state.integers(0, 2 ** 32, size=2, dtype=np.uint64)
    elif isinstance(random_state, np.random.RandomState):
        words = random_state.randint(0, 2 ** 32, size=2, dtype=np.uint64)
    else:
        raise ValueError("random_state must be None, an int, a SeedSequence, a Generator or "
                         f"a RandomState; got {random_state!r}")
    return np.uint64(words[0]), np.uint64(words[1])


def _shape(size, default):
    if size is None:
        return tuple(default)
    return tuple(int(n) for n in np.atleast_1d(np.asarray(size, dtype=np.int64)))


def draw(mu, theta, shape, random_state, dtype, offset=0, stride=None):
    """NB(mu, theta) draws of ``shape`` (parameters broadcast to it) as ``dtype``.

    Floating dtypes give NaN for invalid parameters; int64 raises ValueError
    for them (as scipy's rvs) and for draws beyond its range. A 2-D block of
    a larger 2-D array gets the draws of its place with ``offset`` (the
    number of its first element) and ``stride`` (the row length of the
    larger array). ``random_state`` may also be a key (a pair of uint64)
    from :func:`key`.
    """
    k0, k1 = key(random_state)
    shape = tuple(shape)
    if _params.is_dask(mu) or _params.is_dask(theta):
        from . import _dask
        return _dask.draw(mu, theta, shape, (k0, k1), dtype)
    if _params.on_device(mu) or _params.on_device(theta):
        return _device_draw(mu, theta, shape, (k0, k1), dtype)
    shape2 = ((1,) * (2 - len(shape)) + shape if len(shape) <= 2
              else (int(np.prod(shape[:-1])), shape[-1]))
    # one compiled kernel per output kind: float64 parameters, int64 or float64 out
    ops = [_operand(np.asarray(a, np.float64), shape, shape2) for a in (mu, theta)]
    integer = np.dtype(dtype) == np.int64
    out = np.empty(shape2, np.int64 if integer else np.float64)
    if out.size and _sample_tiles(ops[0], ops[1], k0, k1, np.int64(offset),
                                  np.int64(shape2[1] if stride is None else stride), out) \
            and integer:
        _int64_error(mu, theta, np)
    return out.reshape(shape).astype(dtype, copy=False)


def _int64_error(mu, theta, xp):
    """Raise the ValueError for int64 draws that are NaN or too large."""
    with np.errstate(invalid="ignore"):
        if not xp.all((mu >= 0) & (theta >= 0) & (mu < np.inf)):
            raise ValueError("Domain error in arguments: mu must be finite and >= 0, theta >= 0")
    raise ValueError("NB draws beyond the int64 range (mean near 1e18 or above): "
                     "use NegativeBinomial.sample, which returns floats")


def _device_draw(mu, theta, shape, key_, dtype):
    """draw for CuPy / torch GPU parameters: on their device, in their family."""
    from . import gpu
    xp = _params.namespace(mu, theta)
    out = gpu.rvs(mu, theta, shape, key_)
    if np.dtype(dtype) == np.int64:
        if not xp.all(out < 2.0 ** 63):             # NaN too
            _int64_error(mu, theta, xp)
    return _params.astype(out, dtype)


def _operand(a, shape, shape2):
    """A float64 parameter as a read-only 2-D operand of _sample_tiles (see
    ufuncs._operand); copied, broadcast, beyond 2 dimensions."""
    if a.size == 1:
        a = a.reshape(1, 1)
    elif len(shape) <= 2:
        a = np.broadcast_to(a, shape)
    else:
        a = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(shape2)
    return ufuncs._operand(a, shape2, copy=True)


def rvs(mu, theta, size=None, random_state=None):
    """Random NB(mu, theta) counts, int64, like ``scipy.stats.nbinom.rvs``.

    Parameters
    ----------
    mu, theta : array_like
        Mean and inverse dispersion (``theta = inf`` is Poisson); broadcast
        against each other and against ``size``. CuPy arrays and torch CUDA
        tensors draw on their GPU (:func:`nbnumba.gpu.rvs`, the same draws)
        and give int64 arrays of their family.
    size : int or tuple of ints, optional
        Output shape; default the broadcast shape of the parameters.
    random_state : None, int, SeedSequence, Generator or RandomState
        See :func:`key`. The same seed gives the same draws for any number
        of threads, and ``rvs(..., size=n)[:m]`` equals ``size=m``.

    Raises
    ------
    ValueError
        For invalid parameters (as scipy: "Domain error in arguments"), and
        for draws beyond the int64 range.
    """
    mu, theta = _params.as_float(mu, theta)
    shape = _shape(size, np.broadcast_shapes(_params.shape(mu), _params.shape(theta)))
    out = draw(mu, theta, shape, random_state, np.int64)
    return out[()] if out.ndim == 0 else out

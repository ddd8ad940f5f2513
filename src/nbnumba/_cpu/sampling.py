"""The CPU sampling kernel: NB (and zero-inflated NB) draws over tiles.

Draw ``i`` (the C-order position in the output) depends only on the key
and ``i`` (counter-based Philox streams, see ``nbnumba._math.random``), so
a seed gives the same samples for any number of threads and any split of
the output. The common path runs without branches over each tile (loops
that vectorize); the scalar samplers take over where it leaves NaN, with
the same arithmetic, so the draws equal ``nb_variate``'s bit for bit.
"""
import numpy as np
from numba import prange

from .._math import random as _random
from .._math.random import INVERSION_MEAN, PTRS_MIN, WALK_FLOOR
from .._math.compile import compiled, jit, jit_inline, wide_vectors
from .tiles import ntiles, row, tile_span


@compiled(parallel=True)
def sample_tiles(mu, theta, zi, k0, k1, offset, stride, out, serial):
    """out[i, j] = draw number offset + i * stride + j of NB(mu, theta), zero
    with probability sigmoid(zi) (zi = -inf: the NB), over 2-D operands
    (see tiles.row), by tiles of a row, on all threads (on the calling
    thread where serial: see forks). Returns how many draws are NaN or
    beyond the int64 range. One compiled kernel serves float and int64
    draws (these are converted from its float64 out)."""
    bad = 0
    if serial:
        for t in range(ntiles(out)):
            bad += _sample_tile(mu, theta, zi, k0, k1, offset, stride, out, t)
        return bad
    for t in prange(ntiles(out)):
        bad += _sample_tile(mu, theta, zi, k0, k1, offset, stride, out, t)
    return bad


@jit
def _sample_tile(mu, theta, zi, k0, k1, offset, stride, out, t):
    """Tile t of sample_tiles; how many of its draws are bad."""
    i, j0, j1 = tile_span(out, t)
    x = out[i, j0:j1]
    first = offset + i * stride + j0
    _tile(row(mu, i, j0, j1), row(theta, i, j0, j1), k0, k1, first, x)
    if zi.shape[0] > 1 or zi.shape[1] > 1 or zi[0, 0] != -np.inf:
        zs = row(zi, i, j0, j1)
        for j in range(x.size):
            x[j] = _random.zero_inflated(x[j], zs[j], k0, k1, first + j)
    bad = 0
    for j in range(x.size):
        bad += not x[j] < 9.223372036854775807e18
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
            if large and lam[j] == lam[j]:      # NaN but where mu > INVERSION_MEAN and the Gamma is done
                o[j] = _random.poisson_variate(lam[j], k0, k1, first + j, start[j])
            else:
                o[j] = _random.nb_variate(ms[j], ts[j], k0, k1, first + j)


@jit
def _kinds(ms, ts):
    """Whether the tile has means <= 10, means > 10, shapes < 1."""
    small = large = boost = False
    for j in range(ms.size):
        small |= ms[j] <= INVERSION_MEAN
        large |= not ms[j] <= INVERSION_MEAN
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
        o[j] = o[j] if ms[j] <= INVERSION_MEAN else x        # NaN mu too: o may be uninitialized
        start[j] = st


@jit_inline
def _gamma_at(mu, theta, k0, k1, i, boost):
    return np.nan if mu <= INVERSION_MEAN else _random.gamma_fast(mu, theta, k0, k1, i, boost)


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
        m += (o[j] != o[j]) & (lam[j] >= PTRS_MIN) & (lam[j] < np.inf)
    lam1, x, nxt = np.empty(m), np.full(m, np.nan), np.empty(m, np.int64)
    kc, wc, rc = np.empty(m), np.empty(m), np.empty(m)
    for c in range(m):
        lam1[c] = lam[idx[c]]
        nxt[c] = start[idx[c]]
    t = 0
    while m >= 4 and t < _random.MAXTRIALS:
        for c in range(m):
            kc[c], wc[c], rc[c] = _random.ptrs_candidate(lam1[c], k0, k1, first + idx[c], t)
        for c in range(m):
            k = kc[c]
            r = _random.ptrs_decide(k, wc[c], rc[c], lam1[c])
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
                go = (u[c] > sc) & (pmc > WALK_FLOOR)
                nxt, s1 = _random.step(np.float64(t + d), pmc, sc, a[c], q[c])
                pmc = nxt if go else pmc
                sc = s1 if go else sc
                kc = t + d + 1.0 if go else kc
            pm[c], s[c], k[c] = pmc, sc, kc
        t += 8
        left = 0
        for c in range(m):
            if (u[c] > s[c]) & (pm[c] > WALK_FLOOR):
                idx[left], k[left], u[left], pm[left], s[left], a[left], q[left] = (
                    idx[c], k[c], u[c], pm[c], s[c], a[c], q[c])
                left += 1
            else:
                o[idx[c]] = k[c] if u[c] <= s[c] else np.nan
        m = left
    for c in range(m):
        o[idx[c]] = np.nan

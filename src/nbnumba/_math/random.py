"""Counter-based random numbers and exact NB samplers, as scalar functions.

Philox4x32-10 (Salmon et al., SC'11) maps a 128-bit counter and a 64-bit key
to 128 random bits (a block). Element ``i`` of a call draws from the blocks
``(i mod 2**32, i div 2**32, t, stream)``: stream 0 holds the inversion
uniform, 1 the Gamma trials (``t = 0, 1, ...``), 2 the Gamma boost uniform,
3 the Poisson trials, 4 the zero-inflation uniform. Every draw depends only on (key, i), so the same key
gives the same samples whatever the number of threads, the chunking or the
target; and each stage starts at a known block.

Each sampler is a loop of trials, each a branch-free function of one block
(``step``, ``_mt_try``, ``_ptrs_try``; PTRS's exact test apart from its
quick one, ``ptrs_candidate``, as most trials need only the latter).
``inversion_start``, ``step``, ``gamma_fast`` and ``ptrs_fast`` let the CPU kernel
run the common path without a branch, in loops that vectorize, and leave
NaN where the scalar samplers below must take over; the arithmetic is the
same, so the kernel's draws are those of ``nb_variate``, bit for bit.
"""
import math

import numpy as np

from . import nbinom, zinb
from .compile import jit, jit_inline
from .special import cos_2pi, exp_fast, floor, int_to_float, log_factorial, log_fast

_MASK = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
INF = math.inf
NAN = math.nan

#: Bound on the trials of the rejection loops (acceptance >= 0.7 each):
#: NaN rather than a hang, for inputs no valid parameter produces.
MAXTRIALS = 1000
#: Means up to this are drawn by inverting the cdf (the walk from 0), larger
#: ones by Gamma then Poisson. The CPU kernel and the scalar sampler must
#: agree on it (and on the two below) for their draws to be the same.
INVERSION_MEAN = 10.0
#: Poisson means from this on are drawn by PTRS, below by inversion.
PTRS_MIN = 10.0
#: The inversion walk stalls (the far tail) once pmf(k) falls below this.
WALK_FLOOR = 1e-300
#: The Philox stream of the zero-inflation uniform.
ZERO_STREAM = 4


@jit_inline
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0..c3) under key (k0, k1); 32-bit words in uint64."""
    # masked (no-ops on 32-bit words) so that LLVM knows every product is
    # 32 x 32 bits: one vpmuludq, where AVX2 has no 64-bit multiply
    c0, c1, c2, c3, k0, k1 = c0 & _MASK, c1 & _MASK, c2 & _MASK, c3 & _MASK, k0 & _MASK, k1 & _MASK
    for r in range(10):
        if r:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _SHIFT32) ^ c1 ^ k0, p1 & _MASK, (p0 >> _SHIFT32) ^ c3 ^ k1, p0 & _MASK
    return c0, c1, c2, c3


@jit_inline
def _block(k0, k1, i, t, stream):
    i = np.uint64(i)
    return philox(i & _MASK, i >> _SHIFT32, np.uint64(t), np.uint64(stream), k0, k1)


@jit_inline
def _u53(a, b):
    """A double in (0, 1) from 53 bits of two 32-bit words."""
    return ((int_to_float(np.int64(a >> np.uint64(5))) * 67108864.0
             + int_to_float(np.int64(b >> np.uint64(6)))) + 0.5) * 1.1102230246251565e-16


@jit_inline
def _u32(a):
    """A double in (0, 1) from one 32-bit word: for acceptance tests, where a
    resolution of 2**-32 moves acceptance probabilities by less than 1e-9."""
    return (int_to_float(np.int64(a)) + 0.5) * 2.3283064365386963e-10


@jit_inline
def step(k, pm, s, a, q):
    """(pmf(k + 1), cdf(k + 1)) from pm = pmf(k), s = cdf(k), by the
    recurrence pmf(k + 1) = pmf(k) (a + k q) / (k + 1): the walk of the
    inversion, while u > s and pm > 1e-300 (underflow: the walk stalled)."""
    nxt = pm * ((a + k * q) * (1.0 / (k + 1.0)))
    return nxt, s + nxt


@jit
def _invert(u, pm, a, q):
    """(k, cdf(k)) at the end of the walk from 0 (pm = pmf(0)): k is the
    inverse of u where u <= cdf(k), else the walk stalled (far tail)."""
    k, s = 0.0, pm
    while u > s and pm > WALK_FLOOR:
        pm, s = step(k, pm, s, a, q)
        k += 1.0
    return k, s


@jit_inline
def _inversion_start(mu, theta):
    """(pmf(0), a, q) of the walk for NB(mu, theta); pmf(0) NaN where the
    walk is not used: mu > 10 (too many steps), pmf(0) < 1e-260 (far from
    the mass), or outside the domain of nbinom.log_p0_fast."""
    x = mu / theta
    u = 1.0 + x
    p = 1.0 / u
    t0 = nbinom.log_p0_fast(mu, theta, x, u, p)
    ok = (mu >= 0.0) & (mu <= INVERSION_MEAN) & (theta > 0.0) & (u < 1e300) & (t0 > -600.0)
    return exp_fast(t0) if ok else NAN, mu * p, x * p


@jit_inline
def _normal(w0, w1, w2):
    """A standard normal by Box-Muller (the cosine half): a 53-bit radius
    uniform, for the tails, and a 32-bit angle."""
    return math.sqrt(-2.0 * log_fast(_u53(w0, w1))) * cos_2pi(_u32(w2))


@jit_inline
def _mt_setup(a):
    """(d, c) of Marsaglia-Tsang for Gamma(a), boosted to a + 1 for a < 1."""
    d = (a + 1.0 if a < 1.0 else a) - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


@jit_inline
def _mt_try(d, c, k0, k1, i, t):
    """Marsaglia-Tsang (2000) trial t (block t of stream 1: a normal z and a
    uniform u): d v on acceptance, else -1. Candidates with v < 1e-300 are
    rejected (acceptance probability below exp(-460 d))."""
    w0, w1, w2, w3 = _block(k0, k1, i, t, 1)
    z = _normal(w0, w1, w2)
    u = _u32(w3)
    v = 1.0 + c * z
    v = v * v * v
    ok = v > 1e-300
    zz = z * z
    squeeze = u < 1.0 - 0.0331 * zz * zz
    exact = log_fast(u) < 0.5 * zz + d * (1.0 - v + log_fast(v if ok else 1.0))
    return d * v if ok & (squeeze | exact) else -1.0


@jit
def gamma_variate(a, k0, k1, i):
    """(g, e) with G = g exp(e) ~ Gamma(a, 1), a > 0, from streams 1 and 2.

    For a < 1, G = Gamma(a + 1) U**(1/a) with e = log(U) / a kept apart so
    that tiny shapes do not underflow to 0 (e = 0 for a >= 1). NaN after
    MAXTRIALS rejections (only for a NaN shape).
    """
    d, c = _mt_setup(a)
    for t in range(MAXTRIALS):
        g = _mt_try(d, c, k0, k1, i, t)
        if g >= 0.0:
            return g, _boost(a, k0, k1, i)
    return NAN, 0.0


@jit_inline
def _boost(a, k0, k1, i):
    """log(U) / a for a < 1 (stream 2), else 0."""
    w0, w1, _, _ = _block(k0, k1, i, 0, 2)
    return log_fast(_u53(w0, w1)) / a if a < 1.0 else 0.0


@jit_inline
def _lam(g, e, mu, theta):
    """The Poisson mean G mu / theta of the composition, G = g exp(e)
    (0 below the normal range, inf beyond the float range)."""
    t = log_fast(g) + e + log_fast(mu) - log_fast(theta)
    tail = exp_fast(t) if (t > -708.0) & (t < 709.0) else (0.0 if t <= -708.0 else INF)
    return g * (mu / theta) if e == 0.0 else tail


@jit_inline
def ptrs_candidate(lam, k0, k1, i, t):
    """Trial t (block t of stream 3) of Hormann's PTRS (1993) for
    Poisson(lam), lam >= 10, without its exact test: (k, w, r), r = 1
    accepts k (the quick test), 0 rejects it, -1 leaves it to the test
    w <= pmf(k) (about 1 trial in 4 to 7). r is a float: an int64 r,
    beside the retry loop's int64 trial counters, kept LLVM's cost model
    for Haswell and Zen 3 (AVX2) from vectorizing the exact tests."""
    b = 0.931 + 2.53 * math.sqrt(lam)
    a = -0.059 + 0.02483 * b
    r = 1.0 / ((b - 2.0) * (b - 3.4))       # one division for 1/(b - 2), 1/(b - 3.4)
    vr = 0.9277 - 3.6224 * (b - 3.4) * r
    inv_alpha = 1.1239 + 1.1328 * (b - 2.0) * r
    w0, w1, w2, _ = _block(k0, k1, i, t, 3)
    u = _u53(w0, w1) - 0.5
    v = _u32(w2)
    us = 0.5 - abs(u)
    rus = 1.0 / us
    k = floor((2.0 * a * rus + b) * u + lam + 0.43)
    w = v * inv_alpha / (a * rus * rus + b)
    quick = (us >= 0.07) & (v <= vr)
    reject = (k < 0.0) | ((us < 0.013) & (v > us))
    return k, w, 1.0 if quick else (0.0 if reject else -1.0)


@jit_inline
def _ptrs_try(lam, k0, k1, i, t):
    """PTRS trial t with its exact test w <= pmf(k), for lam < 1e6 by
    pmf(k) = exp(k log(lam) - lam - log(k!)) (its rounding, ~1e-16 k
    log(lam), moves acceptance by < 1e-9): (k, w, r), r = 1 accepts k, 0
    rejects it, -1 (lam >= 1e6, where the test needs the exact log-pmf)
    accepts it if log(w) <= log pmf(k), left to the caller."""
    k, w, r = ptrs_candidate(lam, k0, k1, i, t)
    return k, w, ptrs_decide(k, w, r, lam)


@jit_inline
def ptrs_decide(k, w, r, lam):
    """r of _ptrs_try from ptrs_candidate's (k, w, r)."""
    kk = k if k >= 0.0 else 0.0
    lp = kk * log_fast(lam) - lam - log_factorial(kk)
    exact = (lp > -708.0) & (w <= exp_fast(lp if lp > -708.0 else 0.0))
    return r if r >= 0.0 else (-1.0 if lam >= 1e6 else (1.0 if exact else 0.0))


@jit
def poisson_variate(lam, k0, k1, i, start):
    """Poisson(lam) as a float, from stream 3: inversion below 10, else PTRS
    with the exact log-pmf in its acceptance test (_ptrs_try), from trial
    ``start`` (1 where trial 0 is known to reject)."""
    if not lam < INF:
        return lam
    if lam < PTRS_MIN:
        w0, w1, _, _ = _block(k0, k1, i, 0, 3)
        return _invert(_u53(w0, w1), exp_fast(-lam), lam, 0.0)[0]
    for t in range(start, MAXTRIALS):
        k, w, r = _ptrs_try(lam, k0, k1, i, t)
        if r > 0 or (r < 0 and math.log(w) <= nbinom.logpmf(k, lam, INF)):
            return k
    return NAN


@jit
def nb_variate(mu, theta, k0, k1, i):
    """NB(mu, theta) draw of element i, as a float.

    Means up to 10 (most entries of count data): inversion of the cdf with
    one uniform, the pmf recurrence walked from pmf(0) (expected mu + 1
    steps). Larger means, or the far tail where the walk stalls below the
    uniform: Poisson(Gamma(theta, scale mu / theta)) from the other streams.
    theta = inf is Poisson(mu); mu = 0 or theta = 0 give 0; invalid
    parameters NaN. The Gamma is never clamped.
    """
    if not (mu >= 0.0 and theta >= 0.0 and mu < INF):
        return NAN
    if mu == 0.0 or theta == 0.0:
        return 0.0
    pm, a, q = _inversion_start(mu, theta)
    if pm == pm:
        u = _inversion_u(k0, k1, i)
        k, s = _invert(u, pm, a, q)
        if u <= s:
            return k
    if theta == INF:
        return poisson_variate(mu, k0, k1, i, np.int64(0))
    g, e = gamma_variate(theta, k0, k1, i)
    return poisson_variate(_lam(g, e, mu, theta), k0, k1, i, np.int64(0))


@jit_inline
def inversion_start(mu, theta, k0, k1, i):
    """(u, pmf(0), a, q) of nb_variate's inversion; pmf(0) NaN where it is
    not used (see _inversion_start). Branch-free."""
    pm, a, q = _inversion_start(mu, theta)
    return _inversion_u(k0, k1, i), pm, a, q


@jit_inline
def _inversion_u(k0, k1, i):
    """The inversion's uniform: block 0 of stream 0."""
    w0, w1, _, _ = _block(k0, k1, i, 0, 0)
    return _u53(w0, w1)


@jit_inline
def gamma_fast(mu, theta, k0, k1, i, boost):
    """The Poisson mean lam of nb_variate's composition for mu > 10 where
    the first Gamma trial accepts, else NaN; branch-free. boost (a constant
    in the caller's loop): whether shapes below 1 occur, else stream 2 and
    the exp-log form of _lam are skipped."""
    d, c = _mt_setup(theta)
    g = _mt_try(d, c, k0, k1, i, 0)
    poisson = theta == INF
    ok = (mu < INF) & (theta > 0.0) & ((g >= 0.0) | poisson)
    if boost:
        lam = _lam(g if ok else 1.0, _boost(theta, k0, k1, i), mu, theta)
    else:
        lam = g * (mu / theta)
    return NAN if not ok else (mu if poisson else lam)


@jit_inline
def ptrs_fast(lam, k0, k1, i):
    """(x, start) for gamma_fast's lam, branch-free: x = the draw where
    lam >= 10 and PTRS's first trial accepts by its quick test, else NaN
    (poisson_variate(lam, start) then gives it); start 1 where that trial
    rejected, else 0."""
    k, _, r = ptrs_candidate(lam if lam >= PTRS_MIN else PTRS_MIN, k0, k1, i, 0)
    ptrs = lam >= PTRS_MIN
    return k if ptrs & (r > 0) else NAN, 1 if ptrs & (r == 0) else 0


@jit
def zero_inflated(x, z, k0, k1, i):
    """Draw i of the zero-inflated NB from x, its NB draw, and the logit z of
    the zero probability pi: 0 with probability pi (a uniform of its own
    stream below pi), else x; NaN for a NaN z."""
    if z != z:
        return NAN
    w0, w1, _, _ = _block(k0, k1, i, 0, ZERO_STREAM)
    pi = math.exp(-zinb.softplus(-z))
    return 0.0 if _u53(w0, w1) < pi else x

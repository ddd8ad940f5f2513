"""Counter-based random numbers and exact NB samplers, as scalar functions.

Philox4x32-10 (Salmon et al., SC'11) maps a 128-bit counter and a 64-bit key
to 128 random bits. Element ``i`` of a call uses the counters
``(i mod 2**32, i div 2**32, j, 0)``, ``j = 0, 1, ...``, so every draw depends
only on (key, i, j): the same key gives the same samples whatever the number
of threads, the chunking or the target.
"""
import math

import numpy as np

from . import _scalar
from ._special import floor, jit

_MASK = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_TWO_PI = 2.0 * math.pi


@jit
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0..c3) under key (k0, k1); 32-bit words in uint64."""
    for r in range(10):
        if r:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _SHIFT32) ^ c1 ^ k0, p1 & _MASK, (p0 >> _SHIFT32) ^ c3 ^ k1, p0 & _MASK
    return c0, c1, c2, c3


@jit
def _u53(a, b):
    """A double in (0, 1) from 53 bits of two 32-bit words."""
    return ((a >> np.uint64(5)) * 67108864.0 + (b >> np.uint64(6)) + 0.5) * 1.1102230246251565e-16


@jit
def _block(k0, k1, i, j):
    i = np.uint64(i)
    return philox(i & _MASK, i >> _SHIFT32, np.uint64(j), np.uint64(0), k0, k1)


@jit
def uniforms(k0, k1, i, j):
    """Block j of element i: two independent 53-bit uniforms in (0, 1)."""
    c0, c1, c2, c3 = _block(k0, k1, i, j)
    return _u53(c0, c1), _u53(c2, c3)


@jit
def _mt_try(d, c, z, u):
    """One Marsaglia-Tsang trial: d v on acceptance, else -1."""
    v = 1.0 + c * z
    if v <= 0.0:
        return -1.0
    v = v * v * v
    zz = z * z
    if u < 1.0 - 0.0331 * zz * zz or math.log(u) < 0.5 * zz + d * (1.0 - v + math.log(v)):
        return d * v
    return -1.0


@jit
def gamma_variate(a, k0, k1, i, j):
    """(g, e, next block) with G = g exp(e) ~ Gamma(a, 1), a > 0.

    Marsaglia & Tsang (2000), each Box-Muller pair of normals feeding two
    trials; for a < 1, G = Gamma(a + 1) U**(1/a) with e = log(U) / a kept
    apart so that tiny shapes do not underflow to 0 (e = 0 for a >= 1).
    """
    b = a + 1.0 if a < 1.0 else a
    d = b - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    g = -1.0
    while g < 0.0:
        # one block per pair of trials: a 53-bit radius (the normal's tails),
        # 32-bit angle and acceptance uniforms (their resolution, 2**-32,
        # moves acceptance probabilities by less than 1e-9)
        w0, w1, w2, w3 = _block(k0, k1, i, j)
        j += 1
        r = math.sqrt(-2.0 * math.log(_u53(w0, w1)))
        t = _TWO_PI * (w2 + 0.5) * 2.3283064365386963e-10
        g = _mt_try(d, c, r * math.cos(t), (w3 + 0.5) * 2.3283064365386963e-10)
        if g < 0.0:
            u = uniforms(k0, k1, i, j)[0]
            j += 1
            g = _mt_try(d, c, r * math.sin(t), u)
    if a < 1.0:
        u = uniforms(k0, k1, i, j)[0]
        return g, math.log(u) / a, j + 1
    return g, 0.0, j


@jit
def poisson_variate(lam, k0, k1, i, j):
    """Poisson(lam) as a float: inversion below 10, else Hormann's PTRS
    (1993) with its acceptance test on the exact Poisson log-pmf."""
    if lam <= 0.0:
        return 0.0
    if lam < 10.0:
        u = uniforms(k0, k1, i, j)[0]
        k = 0.0
        p = math.exp(-lam)
        s = p
        while u > s and k < 1000.0:
            k += 1.0
            p *= lam / k
            s += p
        return k
    slam = math.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    log_inv_alpha = math.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, v = uniforms(k0, k1, i, j)
        j += 1
        u -= 0.5
        us = 0.5 - abs(u)
        k = floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        # the exact log-pmf where lgamma's rounding would matter (its error,
        # ~1e-16 of k log lam, moves acceptance by < 1e-10 below 1e6)
        if lam < 1e6:
            lp = k * math.log(lam) - lam - math.lgamma(k + 1.0)
        else:
            lp = _scalar.logpmf(k, lam, math.inf)
        if math.log(v) + log_inv_alpha - math.log(a / (us * us) + b) <= lp:
            return k


@jit
def nb_variate(mu, theta, k0, k1, i):
    """NB(mu, theta) draw of element i, as a float.

    Means up to 10 (most entries of count data): inversion of the cdf with
    one uniform, the pmf recurrence summed from pmf(0) (expected mu + 1
    steps). Larger means, or the far tail where the running sum stalls below
    the uniform: Poisson(Gamma(theta, scale mu / theta)) on further blocks of
    the same stream. theta = inf is Poisson(mu); mu = 0 or theta = 0 give 0;
    invalid parameters NaN. The Gamma is never clamped.
    """
    if not (mu >= 0.0 and theta >= 0.0 and mu < math.inf):
        return math.nan
    if mu == 0.0 or theta == 0.0:
        return 0.0
    if mu <= 10.0:
        t0 = _scalar._log_p0(mu, theta)
        if t0 > -600.0:
            x = mu / theta
            p = 1.0 / (1.0 + x)
            a = mu * p
            q = x * p
            u = uniforms(k0, k1, i, 0)[0]
            pm = math.exp(t0)
            s = pm
            k = 0.0
            while u > s and pm > 1e-300:
                pm *= (a + k * q) / (k + 1.0)
                k += 1.0
                s += pm
            if u <= s:
                return k
    if theta == math.inf:
        return poisson_variate(mu, k0, k1, i, 1)
    g, e, j = gamma_variate(theta, k0, k1, i, 1)
    lam = g * (mu / theta) if e == 0.0 else math.exp(math.log(g) + e + math.log(mu) - math.log(theta))
    return poisson_variate(lam, k0, k1, i, j)

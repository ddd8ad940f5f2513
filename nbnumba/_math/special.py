"""Scalar special functions shared by every target.

Plain float64 scalar functions compiled with :func:`numba.njit`: no
allocation, no exceptions, no Python objects, so the same code also compiles
for CUDA devices.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

def _probe():
    return 0


def _cache_available():
    """Whether Numba can cache this package's functions on disk: not where
    neither the package's folder nor a user cache folder is writable (then
    everything still works, compiled afresh in each process)."""
    try:
        njit(cache=True)(_probe)
    except RuntimeError:        # "cannot cache function ...: no locator available"
        return False
    return True


#: Whether compiled code is cached on disk (see _cache_available).
CACHE = _cache_available()


def compiled(**options):
    """numba.njit with this package's options: cached on disk where possible,
    NumPy's error model (1/0 is inf, not an exception) so that no function
    can raise, and ``options``."""
    return njit(cache=CACHE, error_model="numpy", **options)


#: The decorator of every scalar function.
jit = compiled()
#: The same, always inlined by LLVM into its callers: the branch-free
#: functions called in loops that must vectorize (LLVM's cost model alone
#: does not inline them). Numba's inline="always" gives the same loops but
#: copies the callee's IR at every call site: ~28 s against ~8 s to compile
#: the sampling kernel.
jit_inline = compiled(forceinline=True)

#: 1.5 * 2**52: x + ROUNDER rounds x to an integer n, which then sits in
#: the low bits of the sum (bits 0x4338000000000000 + n), for |n| < 2**51
ROUNDER = 6755399441055744.0
LN_SQRT_2PI = 0.9189385332046728
LN2 = 0.6931471805599453
# log(2) split so that n * LN2_HI is exact for |n| < 2**11 (mpmath, 50 digits)
LN2_HI = 0.6931467056274414
LN2_LO = 4.7493250390316726e-07

# s(n) = log(n!) - (n + 1/2) log(n) + n - log(sqrt(2 pi)) for n = 0..9,
# computed with mpmath at 50 digits (s(0) is never used).
_STIRLERR_INT = np.array([
    0.0,
    0.08106146679532726, 0.0413406959554093, 0.02767792568499834,
    0.020790672103765093, 0.016644691189821193, 0.013876128823070748,
    0.01189670994589177, 0.010411265261972096, 0.009255462182712733,
])

@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a bitcast: vectorizes, and
    compiles for CUDA too)."""
    if x == types.float64:
        return types.int64(x), lambda context, builder, sig, args: builder.bitcast(
            args[0], ir.IntType(64))


@intrinsic
def _from_bits(typingctx, b):
    """The float64 whose IEEE bits are the int64 b."""
    if b == types.int64:
        return types.float64(b), lambda context, builder, sig, args: builder.bitcast(
            args[0], ir.DoubleType())


@jit_inline
def int_to_float(n):
    """float(n) for an int64 |n| < 2**51, exactly: n added to the bits of
    ROUNDER, whose unit in the last place is 1. Integer and float
    arithmetic that vectorizes on AVX2, which has no int64 -> double
    instruction (LLVM converts lane by lane there)."""
    return _from_bits(n + 0x4338000000000000) - ROUNDER


@intrinsic
def wide_vectors(typingctx):
    """Let LLVM vectorize the calling function's loops with 512-bit vectors
    where the CPU has AVX-512 (no effect elsewhere). LLVM's tuning for Intel
    CPUs caps them at 256 bits (against Skylake-X's clock drops), but the
    sampling passes run ~20% faster with 512, logpmf's ~10% (Sapphire
    Rapids). CPU only."""
    def codegen(context, builder, sig, args):
        # llvmlite's API knows no string attributes, but its attribute set
        # prints its items as they are; should that change, 256 bits it is
        if isinstance(builder.function.attributes, set):
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()
    return types.none(), codegen


@jit_inline
def log_fast(x):
    """Natural log of a positive, normal, finite float64, within 1 ulp.

    Pure arithmetic with no branch or call, so loops over it vectorize
    (libm's log is a call per element). Garbage, but no exception, outside
    its domain: callers select. With x = 2**e m, sqrt(1/2) <= m < sqrt(2),
    s = (m - 1) / (m + 1): log(m) = 2 atanh(s), whose Taylor series in
    s**2 <= 0.0295 is truncated after 11 terms (2e-18 relative).
    """
    b = _bits(x)
    m = _from_bits((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    e = (b >> 52) - 1023
    big = m > 1.4142135623730951
    m = 0.5 * m if big else m
    fe = int_to_float(e + 1 if big else e)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    # sum_{i<=10} z**i / (2 i + 3) by Estrin's scheme: independent halves,
    # so that scalar callers are not bound by a chain of 10 multiply-adds
    z2 = z * z
    z4 = z2 * z2
    r = (((1.0 / 3.0 + z * (1.0 / 5.0)) + z2 * (1.0 / 7.0 + z * (1.0 / 9.0)))
         + z4 * ((1.0 / 11.0 + z * (1.0 / 13.0)) + z2 * (1.0 / 15.0 + z * (1.0 / 17.0)))
         + z4 * z4 * ((1.0 / 19.0 + z * (1.0 / 21.0))))
    # log(m) = f - f**2/2 + s (f**2/2 + 2 z r): the large terms exact first
    h = 0.5 * f * f
    return fe * LN2_HI + (f - (h - (s * (h + 2.0 * z * r) + fe * LN2_LO)))


@jit_inline
def exp_fast(x):
    """exp(x) for -708 <= x <= 709 (normal results), within 1 ulp.

    Branch-free like log_fast: x = n log 2 + r with |r| <= log(2) / 2
    (Cody-Waite, exact), exp(r) by its Taylor series to r**13 (4e-18
    relative), 2**n put into the exponent bits.
    """
    shifted = x * 1.4426950408889634 + ROUNDER      # n in its low bits
    n = shifted - ROUNDER                   # x / log(2) rounded to an integer
    r = (x - n * LN2_HI) - n * LN2_LO
    # sum_{i<=11} r**i / (i + 2)! by Estrin's scheme (see log_fast)
    r2 = r * r
    r4 = r2 * r2
    t = (((0.5 + r * (1.0 / 6.0)) + r2 * (1.0 / 24.0 + r * (1.0 / 120.0)))
         + r4 * ((1.0 / 720.0 + r * (1.0 / 5040.0)) + r2 * (1.0 / 40320.0 + r * (1.0 / 362880.0)))
         + r4 * r4 * ((1.0 / 3628800.0 + r * (1.0 / 39916800.0))
                      + r2 * (1.0 / 479001600.0 + r * (1.0 / 6227020800.0))))
    # 2**n from the bits of shifted (see ROUNDER), not a float -> int64 conversion
    return (1.0 + (r + r * r * t)) * _from_bits((_bits(shifted) + 1023) << 52)


@jit_inline
def cos_2pi(x):
    """cos(2 pi x) for 0 <= x <= 1, branch-free (see log_fast), absolute
    error ~1e-16.

    cos(2 pi x) = -cos(2 pi y), y = |x - 1/2|, folded once more onto
    t in [0, 1/4]; then the Taylor series of cos(r), r = 2 pi t <= pi / 2,
    to r**22 (truncation 8e-20).
    """
    y = abs(x - 0.5)
    flip = y > 0.25
    r = 2.0 * math.pi * (0.5 - y if flip else y)
    z = r * r
    z2 = z * z
    z4 = z2 * z2
    c = (((1.0 - z * 0.5) + z2 * (1.0 / 24.0 - z * (1.0 / 720.0)))
         + z4 * ((1.0 / 40320.0 - z * (1.0 / 3628800.0))
                 + z2 * (1.0 / 479001600.0 - z * (1.0 / 87178291200.0)))
         + z4 * z4 * ((1.0 / 20922789888000.0 - z * (1.0 / 6402373705728000.0))
                      + z2 * (1.0 / 2432902008176640000.0 - z * (1.0 / 1124000727777607680000.0))))
    return c if flip else -c


@jit_inline
def floor(x):
    """Float floor, exact for every float. Numba's math.floor returns an
    int64 (wrapping beyond 2**63) and np.floor does not compile for CUDA;
    from 2**52 on every float is an integer already (and inf, NaN stay)."""
    if not abs(x) < 4503599627370496.0:
        return x
    # adding and removing 2**52 rounds to an integer in float arithmetic
    big = 4503599627370496.0 if x >= 0.0 else -4503599627370496.0
    t = (x + big) - big
    return t - 1.0 if t > x else t


@jit_inline
def _stirlerr_series(x):
    """stirlerr(x) for x >= 10 by its asymptotic series (Bernoulli numbers):
    ten terms leave a truncation error below 2e-18 relative."""
    r = 1.0 / x
    t = r * r
    return (0.08333333333333333 + t * (-0.002777777777777778 + t * (
        0.0007936507936507937 + t * (-0.0005952380952380953 + t * (
            0.0008417508417508417 + t * (-0.0019175269175269176 + t * (
                0.00641025641025641 + t * (-0.029550653594771242 + t * (
                    0.17964437236883057 + t * -1.3924322169059011))))))))) * r


@jit_inline
def _upto(j, k):
    """j if j <= k, else 1: a factor of k!."""
    return j if j <= k else 1.0


@jit_inline
def log_factorial(k):
    """log(k!) for an integer-valued float k >= 0, branch-free (see log_fast).

    Below 16, the log of the exact product 2 * 3 * ... * k (16! < 2**53);
    from 16 on, Stirling's formula with _stirlerr_series.
    """
    # a tree of products, not a chain of 13 (exact either way: integers < 2**53)
    prod = (((_upto(2.0, k) * _upto(3.0, k)) * (_upto(4.0, k) * _upto(5.0, k)))
            * ((_upto(6.0, k) * _upto(7.0, k)) * (_upto(8.0, k) * _upto(9.0, k)))) \
        * (((_upto(10.0, k) * _upto(11.0, k)) * (_upto(12.0, k) * _upto(13.0, k)))
           * (_upto(14.0, k) * _upto(15.0, k)))
    big = k >= 16.0
    kb = k if big else 16.0
    lg = log_fast(kb if big else prod)      # one log for either branch
    return (kb + 0.5) * lg - kb + LN_SQRT_2PI + _stirlerr_series(kb) if big else lg


@jit
def stirlerr(x):
    """Error of Stirling's formula, ``lgamma(x + 1) - (x + 1/2) log x + x - log sqrt(2 pi)``.

    The asymptotic series for ``x >= 10``; a table for the integers below;
    ``lgamma`` otherwise (absolute error a few 1e-15).
    """
    if x >= 10.0:
        return _stirlerr_series(x)
    if x == floor(x) and x >= 1.0:
        return _STIRLERR_INT[int(x)]
    return math.lgamma(x) + x - (x - 0.5) * math.log(x) - LN_SQRT_2PI


@jit
def log1pmx(v):
    """``log(1 + v) - v`` without cancellation, for ``v > -1``.

    On ``[-1/2, 1]`` the series of ``2 atanh(r)`` in ``r = v / (2 + v)``
    (``|r| <= 1/3``: at most 17 terms); elsewhere ``log1p(v) - v`` loses at
    most 2 bits.
    """
    if v < -0.5 or v > 1.0:
        return math.log1p(v) - v
    r = v / (2.0 + v)
    y = r * r
    s = 1.0 / 3.0
    term = 1.0
    j = 0
    while True:
        j += 1
        term *= y
        add = term / (2 * j + 3)
        s += add
        if add < 1e-17 * s:
            break
    return r * (2.0 * y * s - v)


@jit
def log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0``, accurate on both sides of -log 2."""
    if x > -LN2:
        return math.log(-math.expm1(x))
    return math.log1p(-math.exp(x))


@jit
def beta_frac(a, x, y, bx, lam, maxiter):
    """Continued fraction of the regularized incomplete beta function.

    Returns ``r`` with ``I_x(a, b) = x**a y**b / B(a, b) * r``, ``y = 1 - x``,
    for ``lam = (a + b) y - b >= 0`` (the tail below the mean). This is the
    even contraction of the classical fraction (DiDonato & Morris, TOMS 708,
    BFRAC) in which the quantity that cancels when ``x`` is near 1 enters
    only through ``lam``, which callers form exactly. ``b`` enters only as
    ``bx = b * x`` so that ``b = inf`` (the Poisson limit) stays finite.
    Returns NaN if ``maxiter`` terms do not converge.
    """
    c = lam + 1.0
    c0x = bx / a
    c1 = 1.0 / a + 1.0
    yp1 = y + 1.0
    n = 0.0
    p = 1.0
    s = a + 1.0
    an = 0.0
    bn = 1.0
    anp1 = 1.0
    bnp1 = c / c1
    r = c1 / c
    for _ in range(maxiter):
        n += 1.0
        t = n / a
        w = n * (bx - n * x)
        e = a / s
        alpha = p * (p * x + c0x) * e * e * w
        e = (t + 1.0) / (c1 + t + t)
        beta = n + w / s + e * (c + n * yp1)
        p = t + 1.0
        s += 2.0
        t = alpha * an + beta * anp1
        an = anp1
        anp1 = t
        t = alpha * bn + beta * bnp1
        bn = bnp1
        bnp1 = t
        r0 = r
        r = anp1 / bnp1
        if abs(r - r0) <= 1e-16 * r:
            return r
        an /= bnp1
        bn /= bnp1
        anp1 = r
        bnp1 = 1.0
    return math.nan

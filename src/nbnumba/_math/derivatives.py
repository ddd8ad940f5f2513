"""Exact first and second derivatives of the NB log-pmf in (mu, theta).

With ``v = (k - mu) / (theta + mu)``, ``p = theta / (theta + mu)``::

    d/dmu       = k/mu - (k + theta)/(mu + theta) = (k - mu)/mu * p
    d/dtheta    = dlgamma_ratio(k, theta) + log1pmx(v)
    d2/dmu2     = -k/mu**2 + (k + theta)/(mu + theta)**2
    d2/dmu dtheta = (k - mu)/(mu + theta)**2 = v / (theta + mu)
    d2/dtheta2  = d2lgamma_ratio(k, theta) + v**2 / (k + theta)

where ``dlgamma_ratio = psi(k+theta) - psi(theta) - log1p(k/theta)`` and
``d2lgamma_ratio = psi1(k+theta) - psi1(theta) + k/(theta (k+theta))``
are differences ``h(k+theta) - h(theta)``, ``g(k+theta) - g(theta)`` of
``h(x) = psi(x) - log(x)`` and ``g(x) = psi1(x) - 1/x``, computed as sums of
terms of one sign, so in the Poisson limit the O(1/theta**2) values are
exact to a few ulp. The two terms of d_theta (and of d_theta_theta) have
opposite signs: they cancel only where the value itself is ill-conditioned,
near its zeros, except for k = 1, whose derivatives vanish as mu -> 0 and
take another form (``_d_theta``).

Scalar float64 functions like those of ``nbinom``: no allocation, no
exceptions, and they compile for CUDA. NaN for invalid parameters
(``mu < 0``, ``theta < 0``, ``mu = inf``, NaN), for ``k`` not a count
(negative, non-integer, infinite, NaN) and where ``pmf(k) = 0`` (``k > 0``
with ``mu = 0`` or ``theta = 0``): the log-pmf is -inf there, with no
derivative. At ``mu = theta = 0`` the limits depend on the path: NaN too.
Otherwise the derivatives at the edges are those of the log-pmf as a
function of the edge, or its limits:

* ``theta = inf`` (Poisson): ``d_mu = k/mu - 1``, ``d_mu_mu = -k/mu**2``;
  every theta derivative is 0.
* ``mu = 0``, ``k = 0``: ``log pmf(0) = -theta log1p(mu/theta)``, so
  ``d_mu = -1``, ``d_mu_mu = 1/theta``; the others are 0.
* ``theta = 0``, ``k = 0`` (the point mass at 0 for every mu): ``d_mu = 0``,
  ``d_mu_mu = 0``, ``d_mu_theta = -1/mu`` (the derivative of
  ``d_mu = -theta/(theta + mu)`` at 0); ``d_theta = -inf``,
  ``d_theta_theta = inf`` (the limits as theta -> 0 of
  ``log(p) + 1 - p`` and ``mu**2/(theta (theta + mu)**2)``).
"""
import math

import numpy as np

from .compile import jit, jit_inline
from .special import FAST_K, atanh_series, floor, log1pmx, log1pmx_ratio
from .table import Columns

NAN = math.nan
INF = math.inf
#: psi's asymptotic series from here on; below, recurrence up to it
ASYMPTOTIC = 10.0

# h(x) = psi(x) - log(x) = -1/(2x) - sum_n B_2n / (2n) x**(-2n): the
# coefficients B_2n / (2n), n = 1..12. At x >= 10 the first term left out
# is below 3e-19 of the result, even when x - y is small.
_H_COEF = np.array([
    1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0, 1.0 / 132.0,
    -691.0 / 32760.0, 1.0 / 12.0, -3617.0 / 8160.0, 43867.0 / 14364.0,
    -174611.0 / 6600.0, 77683.0 / 276.0, -236364091.0 / 65520.0,
])
# g(x) = psi1(x) - 1/x = 1/(2 x**2) + sum_n B_2n x**(-2n-1): the Bernoulli
# numbers B_2n, n = 1..13 (first term left out below 8e-19 at x >= 10).
_G_COEF = np.array([
    1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0, 5.0 / 66.0,
    -691.0 / 2730.0, 7.0 / 6.0, -3617.0 / 510.0, 43867.0 / 798.0,
    -174611.0 / 330.0, 854513.0 / 138.0, -236364091.0 / 2730.0, 8553103.0 / 6.0,
])


# In both series below, with x = y + k and r = y / x, every difference of
# powers is y**-m - x**-m = (k / x) S_m y**-m with S_m = sum_{i<m} r**i:
# a sum of positive terms, so no two close numbers are subtracted however
# small k / y is.

@jit
def _h_diff(kx, y, r):
    """h(x) - h(y) for y >= ASYMPTOTIC, from kx = k / x and r = y / x."""
    u = 1.0 / y
    t = u * u
    r1 = 1.0 + r
    r2 = r * r
    s = r1                  # S_2
    rm = r2                 # r**(2n), the next S_2n is S_2n-2 + rm (1 + r)
    pw = t                  # y**(-2n)
    acc = 0.5 * u           # the term 1/(2x) of h, S_1 = 1
    for i in range(len(_H_COEF)):
        term = _H_COEF[i] * s * pw
        acc += term
        if abs(term) < 1e-17 * acc:
            break
        s += rm * r1
        rm *= r2
        pw *= t
    return kx * acc


@jit
def _g_diff(kx, y, r):
    """g(x) - g(y) for y >= ASYMPTOTIC, from kx = k / x and r = y / x."""
    u = 1.0 / y
    t = u * u
    r1 = 1.0 + r
    r2 = r * r
    s = r1 + r2             # S_3
    rm = r2 * r             # r**(2n+1)
    pw = t * u              # y**(-2n-1)
    acc = 0.5 * r1 * t      # the term 1/(2 x**2) of g
    for i in range(len(_G_COEF)):
        term = _G_COEF[i] * s * pw
        acc += term
        if abs(term) < 1e-17 * acc:
            break
        s += rm * r1
        rm *= r2
        pw *= t
    return -kx * acc


@jit
def _is_count(k):
    return k >= 0.0 and k < INF and k == floor(k)


#: dlgamma_sum's (the fast path's) range of theta: 1 / theta finite, and
#: for mu in [MU_FAST[0], MU_FAST[1]], p = theta / (theta + mu) and mu
#: (theta + mu) normal and finite
THETA_FAST = (1e-285, 1e290)
MU_FAST = (1e-150, 1e15)


@jit
def _from_head(k, theta):
    """Whether dlgamma_ratio(k, theta) of a count k starts from
    dlgamma_sum(FAST_K, theta) (see _dlgamma_from)."""
    return k > FAST_K and THETA_FAST[0] <= theta < ASYMPTOTIC


@jit
def _dlgamma_from(k, theta, head):
    """dlgamma_ratio(k, theta) for a count k > FAST_K and THETA_FAST[0] <=
    theta < ASYMPTOTIC, given head = dlgamma_sum(FAST_K, theta) = h(theta +
    FAST_K) - h(theta): theta + FAST_K >= ASYMPTOTIC, so the rest is the
    asymptotic series. The per-column tables hold head (GRAD_COLUMNS), so
    the kernels' general path need not compute it."""
    y = theta + FAST_K
    kk = k - FAST_K
    x = kk + y
    return head + _h_diff(kk / x, y, y / x)


@jit
def dlgamma_ratio(k, theta):
    """``psi(k + theta) - psi(theta) - log1p(k / theta)`` for a count k.

    ``= h(k + theta) - h(theta)`` with ``h(x) = psi(x) - log(x)``, which is
    increasing: positive for k > 0, ~ ``k / (2 theta (k + theta))`` for large
    theta. Below ASYMPTOTIC, theta steps up by ``h(y + 1) - h(y) =
    -log1pmx(1 / y) > 0`` (at most 10 steps, while k lasts); then the
    asymptotic series of h as differences of powers (see ``_h_diff``);
    for k > FAST_K and THETA_FAST[0] <= theta < ASYMPTOTIC, the first
    FAST_K steps as dlgamma_sum's (see ``_dlgamma_from``). Every term is
    positive: a few ulp everywhere. 0 for ``k = 0`` or ``theta = inf``, inf
    for ``k > 0`` and ``theta = 0``; NaN if k is not a count or theta is
    negative or NaN.
    """
    if not (_is_count(k) and theta >= 0.0):
        return NAN
    if k == 0.0 or theta == INF:
        return 0.0
    if theta == 0.0:
        return INF
    if _from_head(k, theta):
        return _dlgamma_from(k, theta, dlgamma_sum(float(FAST_K), theta))
    s = 0.0
    y = theta
    while y < ASYMPTOTIC and k > 0.0:
        s -= log1pmx(1.0 / y)
        y += 1.0
        k -= 1.0
    if k == 0.0:
        return s
    x = k + y
    return s + _h_diff(k / x, y, y / x)


@jit
def d2lgamma_ratio(k, theta):
    """``psi1(k + theta) - psi1(theta) + k / (theta (k + theta))`` for a count k.

    ``= g(k + theta) - g(theta)`` with ``g(x) = psi1(x) - 1/x``, which is
    decreasing: negative for k > 0, ~ ``-k / theta**3`` for large theta.
    As ``dlgamma_ratio``, with the steps ``g(y + 1) - g(y) =
    -1 / (y**2 (y + 1))`` and ``_g_diff``. 0 for ``k = 0`` or
    ``theta = inf``, -inf for ``k > 0`` and ``theta = 0``; NaN if k is not a
    count or theta is negative or NaN.
    """
    if not (_is_count(k) and theta >= 0.0):
        return NAN
    if k == 0.0 or theta == INF:
        return 0.0
    if theta == 0.0:
        return -INF
    s = 0.0
    y = theta
    while y < ASYMPTOTIC and k > 0.0:
        s -= 1.0 / (y * y * (y + 1.0))
        y += 1.0
        k -= 1.0
    if k == 0.0:
        return s
    x = k + y
    return s + _g_diff(k / x, y, y / x)


@jit
def _undefined(k, mu, theta):
    """Whether the derivatives are NaN (see the module's docstring)."""
    if not (mu >= 0.0 and theta >= 0.0 and mu < INF and _is_count(k)):
        return True
    return (mu == 0.0 or theta == 0.0) and (k > 0.0 or mu == theta)


@jit
def _p(mu, theta, tpm):
    """theta / (theta + mu), 1 for theta = inf (tpm = theta + mu)."""
    return theta / tpm if theta < INF else 1.0


@jit
def _log1pmx_ratio(w, num, den):
    """log1pmx(w) for w = num / den - 1 > -1, given num and den too.

    Off log1pmx's series (-1/2 <= w <= 1), log(num / den) - w, which loses
    at most 2 bits: below -1/2, w has lost the digits of 1 + w that
    num / den keeps (all of them when num < den * 1e-16); log(num) -
    log(den) where num / den is subnormal or infinite (then the result is
    -inf, not log1pmx's inf - inf).
    """
    if -0.5 <= w <= 1.0:
        return log1pmx(w)
    ratio = num / den
    if 1e-300 < ratio < 1e300:
        return math.log(ratio) - w
    return (math.log(num) - math.log(den)) - w


@jit
def _half(mu, theta):
    """1, or 0.5 where theta + mu overflows (both finite, above ~9e307):
    the derivatives' quotients by theta + mu are taken over s (theta + mu),
    which p = theta / (theta + mu) and q = mu / (theta + mu) need (they
    would be 0 over inf)."""
    return 0.5 if theta + mu == INF and theta < INF else 1.0


@jit
def _d_theta(k, mu, theta, s, tpm, q, v, D):
    """d log pmf / d theta, for tpm = s (theta + mu) (see _half), q = mu /
    (theta + mu), v = (k - mu) / (theta + mu), D = dlgamma_ratio(k, theta)
    (unused for k = 1)."""
    if k == 1.0:
        # dlgamma_ratio(1, theta) = -log1pmx(1 / theta) and log1pmx(v)
        # cancel as mu -> 0, where the derivative of log pmf(1) = log(theta)
        # + theta log(p) + log(q) vanishes; its terms here, mu / (theta tpm)
        # and log(p) + q = log1pmx(-q), cancel only near its zero
        return q / theta + _log1pmx_ratio(-q, s * theta, tpm)
    return D + _log1pmx_ratio(v, s * theta + s * k, tpm)


@jit_inline
def _minus_log1pmx_inv(a):
    """-log1pmx(1 / a) = 1/a - log1p(1/a) for a >= 4, branch-free: the
    series of log1pmx in r = 1 / (2a + 1) <= 1/9 (y <= 0.0124: atanh_series'
    10 terms leave 1e-20), two divisions."""
    r = 1.0 / (2.0 * a + 1.0)
    y = r * r
    return r / a - 2.0 * r * y * atanh_series(y)


@jit_inline
def dlgamma_sum(k, theta):
    """dlgamma_ratio(k, theta) = -sum_{j<k} log1pmx(1 / (theta + j)) for
    counts 2 <= k <= FAST_K, branch-free: terms of one sign, exact in the
    Poisson limit too (from j = 4 on, theta + j >= 4: the series alone).
    For k = 1, 1 / theta instead: the factor grad_given needs in the form
    of _d_theta for k = 1. NaN for k not one of 0..FAST_K or theta outside
    THETA_FAST: grad_given's range checks. Depends on theta alone for each
    k: the per-column tables of GRAD_COLUMNS hold it for k = 0..FAST_K."""
    acc = 0.0
    for j in range(4):
        t = -log1pmx_ratio(1.0 / (theta + j), (theta + (j + 1.0)) / (theta + j))
        acc += t if j < k else 0.0
    for j in range(4, FAST_K):
        t = _minus_log1pmx_inv(theta + j)
        acc += t if j < k else 0.0
    ok = ((k >= 0.0) & (k <= FAST_K) & (k == floor(k))
          & (theta >= THETA_FAST[0]) & (theta < THETA_FAST[1]))
    return (1.0 / theta if k == 1.0 else acc) if ok else NAN


@jit_inline
def grad_given(k, mu, theta, acc):
    """(d_mu, d_theta, log pmf(0)) by a branch-free path for counts up to
    FAST_K (most data), so that the CPU kernels' loops vectorize, given acc
    = dlgamma_sum(k, theta); NaN where it does not apply: where acc is
    NaN (k and theta out of its range) or mu is outside MU_FAST. k = 1 in
    the form of _d_theta. One division and one log1pmx per element. The
    third value, theta log(p) = theta (log1pmx(-q) - q) (two terms of one
    sign), holds for k = 0 only: the zero-inflated NB's weights need it."""
    # one division for 1 / (theta + mu) and 1 / mu: d = 1 / (mu (theta + mu))
    d = 1.0 / (mu * (theta + mu))
    inv = mu * d
    p = theta * inv
    q = mu * inv
    general = k != 1.0
    lv = log1pmx_ratio((k - mu) * inv if general else -q, (theta + k) * inv if general else p)
    d_theta = (acc if general else q * acc) + lv
    # acc - acc: NaN where acc is, else 0 (acc is finite in its range);
    # (k - mu) d is normal (or 0) in range, where theta d can be subnormal
    d_mu = ((k - mu) * d) * theta + (acc - acc)
    ok = (mu >= MU_FAST[0]) & (mu <= MU_FAST[1])
    return (d_mu, d_theta, theta * (lv - q)) if ok else (NAN, NAN, NAN)


@jit_inline
def _grad_fast(k, mu, theta):
    """(d_mu, d_theta) by the branch-free path (see grad_given)."""
    r = grad_given(k, mu, theta, dlgamma_sum(k, theta))
    return r[0], r[1]


@jit_inline
def grad_table(theta, tab, g):
    """tab[k, g] = dlgamma_sum(k, theta), k = 0..FAST_K."""
    for k in range(FAST_K + 1):
        tab[k, g] = dlgamma_sum(float(k), theta)


@jit_inline
def tabulated_sum(k, tab, g):
    """dlgamma_sum(k, theta) from column g of tab (grad_table's), by
    selects, not a gather: the loop vectorizes (AVX2's gathers are slow
    enough that LLVM would not); NaN for k not one of 0..FAST_K. k == c
    as e == 0 for e = k - c by repeated subtraction of 1 (exact for counts;
    never 0 for other values): the loop keeps the constant 1 in a register
    instead of loading 13 constants (6-9% off the gradient kernel's time)."""
    acc = NAN
    e = k
    for c in range(FAST_K + 1):
        t = tab[c, g]           # loaded unconditionally: a select, no branch
        acc = t if e == 0.0 else acc
        e -= 1.0
    return acc


@jit_inline
def grad_tabulated(k, mu, theta, tab, g):
    """_grad_fast with dlgamma_sum read from grad_table's column g."""
    r = grad_given(k, mu, theta, tabulated_sum(k, tab, g))
    return r[0], r[1]


@jit
def _grad_general(k, mu, theta, D):
    """logpmf_grad given D = dlgamma_ratio(k, theta) (unused for k = 1)."""
    if _undefined(k, mu, theta):
        return NAN, NAN
    s = _half(mu, theta)
    tpm = s * theta + s * mu
    p = _p(s * mu, s * theta, tpm)
    d_mu = -p if k == 0.0 else (k - mu) / mu * p
    return d_mu, _d_theta(k, mu, theta, s, tpm, s * mu / tpm, (s * k - s * mu) / tpm, D)


@jit
def _logpmf_grad_slow(k, mu, theta):
    """logpmf_grad where _grad_fast does not apply."""
    return _grad_general(k, mu, theta, dlgamma_ratio(k, theta) if k != 1.0 else 0.0)


@jit
def _grad_tabulated_slow(k, mu, theta, tab, g):
    """_logpmf_grad_slow with dlgamma_sum(FAST_K, theta) read from
    grad_table's column g (see _dlgamma_from): the same values, bit for bit,
    without its FAST_K terms."""
    if _from_head(k, theta):            # a non-count k: NaN by _grad_general
        return _grad_general(k, mu, theta, _dlgamma_from(k, theta, tab[FAST_K, g]))
    return _logpmf_grad_slow(k, mu, theta)


#: logpmf_grad's fast path where theta is constant down a column (theta
#: per gene): its digamma part tabulated once per column (see table.Columns),
#: which also serves the general path of counts above FAST_K (_dlgamma_from)
GRAD_COLUMNS = Columns("theta", FAST_K + 1, grad_table, grad_tabulated, _grad_tabulated_slow)


@jit
def logpmf_grad(k, mu, theta):
    """Gradient ``(d_mu, d_theta)`` of ``logpmf(k, mu, theta)``.

    ``d_mu = (k - mu) / mu * p`` (``-p`` at k = 0, which holds at mu = 0);
    ``d_theta = dlgamma_ratio(k, theta) + log1pmx(v)``. Edge cases and NaN:
    see the module's docstring.
    """
    r = _grad_fast(k, mu, theta)
    return r if r[0] == r[0] else _logpmf_grad_slow(k, mu, theta)


@jit
def logpmf_hess(k, mu, theta):
    """Hessian ``(d_mu_mu, d_mu_theta, d_theta_theta)`` of ``logpmf(k, mu, theta)``.

    ``d_mu_mu = -k/mu**2 + (k + theta)/(mu + theta)**2 =
    -(k p + q (2k - mu)) / mu * p / mu`` with ``q = mu / (theta + mu)``:
    the two terms of the definition cancel as theta / mu -> 0 near the
    mean, those of this form only near its zero, ``k (theta + 2 mu) =
    mu**2`` (``2k - mu`` is exact there when theta << mu). At k = 0 it is
    ``p / (theta + mu)``. Where the true d_theta_theta overflows (theta
    and mu below ~1e-154, k >= 2), its two terms may be infinite with
    opposite signs: NaN. Edge cases: see the module's docstring.
    """
    if _undefined(k, mu, theta):
        return NAN, NAN, NAN
    s = _half(mu, theta)
    tpm = s * theta + s * mu          # 1 / (theta + mu) = s / tpm
    p = _p(s * mu, s * theta, tpm)
    q = s * mu / tpm
    v = (s * k - s * mu) / tpm
    if k == 0.0:
        d_mu_mu = p / tpm * s
    else:
        d_mu_mu = -((k * p + q * (2.0 * k - mu)) / mu) * (p / mu)
    if k == 1.0:
        # the derivative of _d_theta's form for k = 1, for the same reason:
        # mu (theta (mu - 2) - mu) / (theta tpm)**2, as quotients that do
        # not overflow where the value is finite (mu / theta would at mu =
        # 1e300, theta = 1e-10); theta - 1 is exact near theta = 1, where
        # mu - mu / theta cancels
        r = (theta - 1.0) / theta if theta < INF else 1.0
        d_theta_theta = q / theta * (q * r - 2.0 * s / tpm)
    else:
        d_theta_theta = d2lgamma_ratio(k, theta) + v * (v / (k + theta))
    return d_mu_mu, v / tpm * s, d_theta_theta

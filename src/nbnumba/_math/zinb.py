"""Scalar zero-inflated NB, ZINB(mu, theta, pi): pmf(k) = pi [k = 0] + (1 - pi) NB(k; mu, theta).

Every function takes the zero-inflation as its logit ``z = log(pi / (1 - pi))``
(scvi-tools' ``zi_logits``) and works from it: ``log pi = -softplus(-z)`` and
``log(1 - pi) = -softplus(z)`` are exact for every z, so pi near 0 or 1
(``|z|`` up to ~700, where ``1 - pi`` as a float is 0 or 1) loses nothing.
``z = -inf`` is the NB, ``z = inf`` the point mass at 0; NaN z is invalid.
Semantics otherwise those of :mod:`.nbinom` (scipy's).
"""
import math

from . import derivatives, nbinom
from .compile import jit, jit_inline
from .special import FAST_K, exp_expm1_fast, exp_fast, floor, log1p_fast
from .table import Columns, Function

NAN = math.nan
INF = math.inf
#: Logits beyond this go to the general path (exp_fast's range with margin).
FAST_LOGIT = 30.0


@jit_inline
def _softplus_fast(z):
    """log(1 + exp(z)) for |z| <= FAST_LOGIT, branch-free."""
    return max(z, 0.0) + log1p_fast(exp_fast(-abs(z)))


@jit
def softplus(z):
    """log(1 + exp(z)) for every z (inf at inf, 0 at -inf)."""
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@jit
def log_pi(z):
    """(log pi, log(1 - pi)) from the logit z."""
    return -softplus(-z), -softplus(z)


@jit
def _logaddexp(a, b):
    """log(exp(a) + exp(b)), -inf when both are."""
    m = max(a, b)
    if m == -INF:
        return -INF
    return m + math.log1p(math.exp(min(a, b) - m))


@jit
def _log_mixture(lpi, lq, lc, x):
    """log(pi + (1 - pi) C) from log pi, log(1 - pi), log C and x = (1 - pi)
    (1 - C): log1p(-x) where x < 1/2, else the log-sum. Near 1 the log-sum
    cancels (log pi and log C of order 1, their sum's log of order x: a
    relative error of eps / x), while 1 - C as its own number keeps x exact."""
    if lpi == -INF:
        return lq + lc                  # the NB itself, bit for bit
    if x < 0.5:
        return math.log1p(-x)
    return _logaddexp(lpi, lq + lc)


@jit_inline
def _logpmf_fast(k, mu, theta, z):
    """logpmf by the branch-free path; NaN where it does not apply."""
    r = nbinom._logpmf_fast(k, mu, theta)
    zc = z if abs(z) <= FAST_LOGIT else 0.0
    lpi = -_softplus_fast(-zc)
    lq = lpi - zc               # softplus(z) - softplus(-z) = z: one softplus
    c = lq + r
    m = max(lpi, c)
    d = min(lpi, c) - m
    ok = (abs(z) <= FAST_LOGIT) & (d > -700.0) & (r == r)     # max/min drop a NaN r
    # log P(0) near 0: log1p(-x), x = (1 - pi)(1 - f(0)), as _log_mixture
    x = -exp_fast(lq) * exp_expm1_fast(max(r, -700.0) if ok else 0.0)[1]
    zero = log1p_fast(-x) if x < 0.5 else m + log1p_fast(exp_fast(d if ok else 0.0))
    res = zero if k == 0.0 else c
    return res if ok else NAN


@jit
def _logpmf_slow(k, mu, theta, z):
    """logpmf where _logpmf_fast does not apply."""
    r = nbinom.logpmf(k, mu, theta)
    if r != r or z != z:
        return NAN
    lpi, lq = log_pi(z)
    if k == 0.0:
        return _log_mixture(lpi, lq, r, -math.exp(lq) * math.expm1(r))
    return lq + r


@jit
def logpmf(k, mu, theta, z):
    """Log of the probability mass function at k."""
    r = _logpmf_fast(k, mu, theta, z)
    return r if r == r else _logpmf_slow(k, mu, theta, z)


@jit_inline
def _pmf_fast(k, mu, theta, z):
    r = _logpmf_fast(k, mu, theta, z)
    return exp_fast(r) if r >= -708.0 else NAN


@jit
def _pmf_slow(k, mu, theta, z):
    return math.exp(_logpmf_slow(k, mu, theta, z))


@jit
def pmf(k, mu, theta, z):
    """Probability mass function at k."""
    r = _pmf_fast(k, mu, theta, z)
    return r if r == r else _pmf_slow(k, mu, theta, z)


@jit
def _sigmoids(z):
    """(pi, 1 - pi), each to a few ulp."""
    lpi, lq = log_pi(z)
    return math.exp(lpi), math.exp(lq)


@jit
def cdf(k, mu, theta, z):
    """P(X <= k) = pi + (1 - pi) cdf_NB(k) for k >= 0."""
    c = nbinom.cdf(k, mu, theta)
    if c != c or z != z:
        return NAN
    if k < 0.0:
        return 0.0
    pi, q = _sigmoids(z)
    return min(pi + q * c, 1.0)


@jit
def logcdf(k, mu, theta, z):
    """Log of the cdf."""
    c = nbinom.logcdf(k, mu, theta)
    if c != c or z != z:
        return NAN
    if k < 0.0:
        return -INF
    lpi, lq = log_pi(z)
    return min(_log_mixture(lpi, lq, c, math.exp(lq) * nbinom.sf(k, mu, theta)), 0.0)


@jit
def sf(k, mu, theta, z):
    """P(X > k) = (1 - pi) sf_NB(k) for k >= 0."""
    s = nbinom.sf(k, mu, theta)
    if s != s or z != z:
        return NAN
    if k < 0.0:
        return 1.0
    return _sigmoids(z)[1] * s


@jit
def logsf(k, mu, theta, z):
    """Log of the survival function."""
    s = nbinom.logsf(k, mu, theta)
    if s != s or z != z:
        return NAN
    if k < 0.0:
        return 0.0
    return log_pi(z)[1] + s


@jit
def _hit(k, q, mu, theta, z, upper):
    """1.0 if k is at or beyond the quantile by this module's own cdf (sf if
    upper), 0.0 if not, NaN where that is NaN."""
    v = sf(k, mu, theta, z) if upper else cdf(k, mu, theta, z)
    if v != v:
        return NAN
    return 1.0 if (v <= q if upper else v >= q) else 0.0


@jit
def _settle(k, q, mu, theta, z, upper):
    """The quantile near k (the NB quantile of the shifted level), by this
    module's own cdf (sf if upper): the two differ where the level rounds,
    by one count or, far in a tail where the cdf moves by less than an ulp
    per count, by thousands. Steps doubling from k bracket it, then
    bisection: exact, in twice the log of the distance."""
    h = _hit(k, q, mu, theta, z, upper)
    if h != h:
        return NAN
    step = 1.0
    if h:
        hi = k
        lo = -1.0
        while hi > 0.0:
            c = max(hi - step, 0.0)
            h = _hit(c, q, mu, theta, z, upper)
            if h != h:
                return NAN
            if not h:
                lo = c
                break
            hi = c
            step *= 2.0
    else:
        lo = k
        for _ in range(2000):
            c = lo + step
            h = _hit(c, q, mu, theta, z, upper)
            if h != h:
                return NAN
            if h:
                break
            lo = c
            step *= 2.0
        else:
            return NAN
        hi = c
    for _ in range(2000):
        mid = floor(0.5 * lo + 0.5 * hi)
        if hi - lo <= 1.0 or mid <= lo or mid >= hi:
            return hi
        h = _hit(mid, q, mu, theta, z, upper)
        if h != h:
            return NAN
        if h:
            hi = mid
        else:
            lo = mid
    return NAN


@jit
def _invalid_level(q, mu, theta, z):
    """Whether a quantile is NaN: q outside [0, 1] or NaN, invalid
    parameters (nbinom.ppf's conditions, without computing a quantile)."""
    return not (0.0 <= q <= 1.0) or nbinom._invalid(mu, theta) or z != z


@jit
def ppf(q, mu, theta, z):
    """The smallest k with cdf(k) >= q."""
    if _invalid_level(q, mu, theta, z):
        return NAN
    if q == 0.0:
        return -1.0
    if q == 1.0:
        return INF
    pi, rest = _sigmoids(z)
    if q <= pi:
        return 0.0
    k = nbinom.ppf(min((q - pi) / rest, 1.0), mu, theta)
    if k != k or k == INF:
        return k
    return _settle(max(k, 0.0), q, mu, theta, z, False)


@jit
def isf(q, mu, theta, z):
    """The smallest k with sf(k) <= q."""
    if _invalid_level(q, mu, theta, z):
        return NAN
    if q == 1.0:
        return -1.0
    if q == 0.0:
        return INF
    rest = _sigmoids(z)[1]
    if q >= rest:
        return 0.0
    k = nbinom.isf(q / rest, mu, theta)
    if k != k or k == INF:
        return k
    return _settle(max(k, 0.0), q, mu, theta, z, True)


@jit
def entropy(mu, theta, z):
    """Entropy in nats: the zero cell P0 = pi + (1 - pi) f0 apart, the NB
    terms scaled by 1 - pi: H = -P0 log P0 + (1 - pi) (H_NB + f0 log f0)
    - (1 - pi) log(1 - pi) (1 - f0), three terms of one sign. Near a point
    mass at 0 (P0 -> 1), log P0 = log1p(-(1 - pi) (1 - f0)): the logaddexp
    of log pi and log((1 - pi) f0) would lose every digit of it."""
    if z != z:
        return NAN
    h = nbinom.entropy(mu, theta)
    if h != h:
        return NAN
    lpi, lq = log_pi(z)
    if lq == -INF:
        return 0.0
    lf0 = nbinom.logpmf(0.0, mu, theta)
    q = math.exp(lq)
    f0 = math.exp(lf0)
    rest = -math.expm1(lf0)             # 1 - f0
    miss = q * rest                     # 1 - P0
    lp0 = math.log1p(-miss) if miss <= 0.5 else _logaddexp(lpi, lq + lf0)
    return -math.exp(lp0) * lp0 + q * (h + f0 * lf0) - q * lq * rest


@jit_inline
def _grad_given(k, mu, theta, z, acc):
    """logpmf_grad by the branch-free path, given acc as
    derivatives.grad_given; NaN where it does not apply (|z| > FAST_LOGIT,
    or a zero with f(0) < e**-600, where (1 - pi) f(0) could be subnormal).
    In linear terms, each a few ulp: pi and 1 - pi from e = exp(-|z|),
    f(0) and 1 - f(0) = -expm1 from the NB's log pmf(0), which
    derivatives.grad_given returns, and P(0) = pi + (1 - pi) f(0)."""
    dm, dt, lf0 = derivatives.grad_given(k, mu, theta, acc)
    ok = (abs(z) <= FAST_LOGIT) & (dm == dm) & ((k != 0.0) | (lf0 >= -600.0))
    e = exp_fast(-abs(z) if ok else 0.0)
    s = 1.0 / (1.0 + e)
    pi = s if z >= 0.0 else e * s
    rest = e * s if z >= 0.0 else s         # 1 - pi
    f0, em1 = exp_expm1_fast(lf0 if ok else 0.0)
    inv = 1.0 / (pi + rest * f0)
    w = rest * f0 * inv
    zero = k == 0.0
    return ((w * dm if zero else dm) if ok else NAN, (w * dt if zero else dt) if ok else NAN,
            ((pi * rest * -em1 * inv) if zero else -pi) if ok else NAN)


@jit_inline
def _grad_fast(k, mu, theta, z):
    """logpmf_grad by the branch-free path; NaN where it does not apply."""
    return _grad_given(k, mu, theta, z, derivatives.dlgamma_sum(k, theta))


@jit_inline
def grad_tabulated(k, mu, theta, z, tab, g):
    """_grad_fast with the digamma sums read from column g of
    derivatives.grad_table's table."""
    return _grad_given(k, mu, theta, z, derivatives.tabulated_sum(k, tab, g))


@jit
def _grad_weighted(k, mu, theta, z, dm, dt):
    """logpmf_grad given the NB's (dm, dt) = derivatives.logpmf_grad(k, mu,
    theta), by the general path."""
    if z != z:
        return NAN, NAN, NAN
    lpi, lq = log_pi(z)
    if k != 0.0:
        return dm, dt, -math.exp(lpi)
    lf0 = nbinom.logpmf(0.0, mu, theta)
    l0 = _logaddexp(lpi, lq + lf0)
    w = math.exp(lq + lf0 - l0)
    if w == 0.0:
        # the NB's share of the zero vanishes (pi = 1): so do its
        # derivatives, even where the NB's are infinite (theta = 0)
        return 0.0, 0.0, math.exp(lpi + lq - l0) * -math.expm1(lf0) + 0.0     # not -0
    return w * dm, w * dt, math.exp(lpi + lq - l0) * -math.expm1(lf0)


@jit
def _logpmf_grad_slow(k, mu, theta, z):
    """logpmf_grad where _grad_fast does not apply."""
    return _grad_weighted(k, mu, theta, z, *derivatives.logpmf_grad(k, mu, theta))


@jit
def _grad_tabulated_slow(k, mu, theta, z, tab, g):
    """_logpmf_grad_slow with the NB's derivatives from column g of
    derivatives.grad_table's table."""
    r = derivatives.grad_tabulated(k, mu, theta, tab, g)
    if r[0] != r[0]:
        r = derivatives._grad_tabulated_slow(k, mu, theta, tab, g)
    return _grad_weighted(k, mu, theta, z, r[0], r[1])


@jit
def logpmf_grad(k, mu, theta, z):
    """(d_mu, d_theta, d_zi_logits) of the log-pmf. A zero's NB derivatives
    are weighted by the NB's share of it, w = (1 - pi) f(0) / P(0), and
    d/dz log P(0) = pi (1 - pi) (1 - f(0)) / P(0); a count k > 0 has the
    NB's, and d/dz log(1 - pi) = -pi."""
    r = _grad_fast(k, mu, theta, z)
    return r if r[0] == r[0] else _logpmf_grad_slow(k, mu, theta, z)


TABLE = (
    Function("logpmf", logpmf, ("k", "mu", "theta", "zi_logits"),
             "Log of the probability mass function", fast=_logpmf_fast, slow=_logpmf_slow,
             wide=True),
    Function("pmf", pmf, ("k", "mu", "theta", "zi_logits"), "Probability mass function",
             fast=_pmf_fast, slow=_pmf_slow, wide=True),
    Function("cdf", cdf, ("k", "mu", "theta", "zi_logits"),
             "Cumulative distribution function P(X <= k)"),
    Function("logcdf", logcdf, ("k", "mu", "theta", "zi_logits"), "Log of the cdf"),
    Function("sf", sf, ("k", "mu", "theta", "zi_logits"), "Survival function P(X > k)"),
    Function("logsf", logsf, ("k", "mu", "theta", "zi_logits"), "Log of the survival function"),
    Function("ppf", ppf, ("q", "mu", "theta", "zi_logits"),
             "Quantile: the smallest k with cdf(k) >= q"),
    Function("isf", isf, ("q", "mu", "theta", "zi_logits"),
             "Inverse survival function: the smallest k with sf(k) <= q"),
    Function("entropy", entropy, ("mu", "theta", "zi_logits"),
             "Entropy in nats, by exact summation"),
    Function("logpmf_grad", logpmf_grad, ("k", "mu", "theta", "zi_logits"),
             "Derivatives of the log-pmf in mu, theta and zi_logits",
             outputs=("d_mu", "d_theta", "d_zi_logits"), fast=_grad_fast, slow=_logpmf_grad_slow,
             columns=Columns("theta", FAST_K + 1, derivatives.grad_table, grad_tabulated,
                             _grad_tabulated_slow)),
)

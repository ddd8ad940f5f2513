"""The NB and the zero-inflated NB in the logit parameterization: means
beyond the floating range as scalar math.

With ``theta`` and the logit ``L = log(mu / theta)`` (torch's ``logits``),
the mean ``theta exp(L)`` may lie outside the doubles while the
distribution is perfectly regular (``theta = 2, L = -800`` has ``log p(1) =
-799.31``). Every row here takes ``(x, mu, theta, logits)`` (and
``zi_logits`` for the zero-inflated rows, named ``zinb_<function>``):
``mu`` is the mean as the parameters' dtype holds it, the logits are the
truth. Where mu is a normal float32 (every ordinary mean) the row is the NB
(or ZINB) row at mu, bit for bit; else the mean is recomputed in float64
from the logits, and where even that leaves the doubles the function is
evaluated from the logits (TensorFlow Probability keeps logits as its
internal parameter for the same reason):

- log-pmf, exact for any L by exponential tilting: with ``s = sigmoid(L)``,
  ``log p(k; L) = log p(k; L') + k (log s - log s') - theta (softplus(L) -
  softplus(L'))`` for an L' whose mean is an ordinary number;
- mean below the doubles (L <= -40): the upper tail is its first term to
  double precision (the next ratio is at most ``exp(L) (1 + theta) <
  1e-17``), ``log sf(k) = log p(floor(k) + 1)``; the entropy ``p(1) (1 -
  log p(1))``;
- mean above the doubles: ``log cdf(k) = log p(k) + log1p(k / theta) + log s +
  log 2F1(theta + k + 1, 1; theta + 1; 1 - s)`` (the incomplete beta's
  hypergeometric series, convergent because k < mean); entropy NaN, as for
  every mean beyond ~1e10 (the NB row's documented limit);
- ppf and isf: bisection over the bit patterns of the doubles in [0, inf].

Below the doubles with L > -40 (theta below ~1e-290) only the log-pmf and
its gradient come from the logits; the tails are the NB's at the float64
mean (0 or subnormal). ``logpmf_grad`` gives the derivatives at fixed
logits: ``(d_theta, d_logits)`` (and ``d_zi_logits``), the gradient a
torch face on ``(total_count, logits)`` needs.
"""
import math

from . import derivatives, nbinom, zinb
from .compile import as_bits, from_bits, jit, jit_inline
from .special import floor, log1mexp
from .table import Function

NAN = math.nan
INF = math.inf
#: A mean at or above this (float32's smallest normal) is taken as given:
#: a float32 mean below it has lost digits, a float64 one is recomputed.
NORMAL = 1.1754943508222875e-38
HUGE = 1.7976931348623157e308
TINY = 2.2250738585072014e-308
#: Below this logit a far mean's upper tail is its first term.
LOW_LOGIT = -40.0
MAXTERMS = 10000


@jit
def _log_sigmoid(x):
    return -zinb.softplus(-x)


@jit
def _far(mu, theta, lg):
    """(mean, where): where 0, the rows at that mean; 1 (2), the mean (or
    mu / theta) is below (above) the doubles and theta, lg are used."""
    if (NORMAL <= mu <= HUGE and mu / theta < INF) or mu != mu \
            or not (0.0 < theta < INF) or not (-INF < lg < INF):
        return mu, 0
    m = theta * math.exp(lg)
    if not (TINY <= m <= HUGE):
        m = math.exp(lg + math.log(theta))
    # the NB rows also need mu / theta (= exp(L)) as a number
    if TINY <= m <= HUGE and m / theta < INF:
        return m, 0
    return m, 1 if lg + math.log(theta) < 0.0 else 2


@jit
def _far_logpmf(k, theta, lg, high):
    """log p(k) of a far mean, by tilting from a representable one."""
    if k == 0.0:
        if lg < -37.0:
            return -math.exp(math.log(theta) + lg)
        return -theta * zinb.softplus(lg)
    lt = math.log(theta)
    if high:
        # above the doubles the kernel's k log s' and the tilt's cancel to
        # ~ k theta / mean': the mean' is taken near k (up to 1e300)
        kk = k if 1e280 < k < INF else 1e280
        target = min(kk, 1e300)
    else:
        target = 1e-280
    lp = min(max(math.log(target) - lt, -709.0), 709.0)
    base = nbinom.logpmf(k, theta * math.exp(lp), theta)
    if base == -INF or base != base:
        return base
    if 1e303 < k < INF and theta <= 1e100:
        # Stirling: lgamma(k + theta) - lgamma(k + 1) = (theta - 1) log k + ...
        return ((theta - 1.0) * math.log(k) + theta * (theta - 1.0) / (2.0 * k)
                - math.lgamma(theta) + k * _log_sigmoid(lg) - theta * zinb.softplus(lg))
    return base + (k * (_log_sigmoid(lg) - _log_sigmoid(lp))
                   - theta * (zinb.softplus(lg) - zinb.softplus(lp)))


@jit
def _high_logcdf(k, theta, lg):
    """log cdf(k) of a mean above the doubles (k a finite count)."""
    x = math.exp(_log_sigmoid(-lg))
    t = 1.0
    total = 1.0
    done = False
    for n in range(MAXTERMS):
        t = t * ((theta + k + 1.0 + n) / (theta + 1.0 + n)) * x
        total += t
        if t <= 1e-17 * total:
            done = True
            break
    if not done:
        return NAN
    if theta < 0.1 and k >= 1e15:
        # log p(k) and log1p(k / theta) nearly cancel: the same sum with
        # lgamma(k + 1 + theta) - lgamma(k + 1) by Stirling
        kb = k + 1.0
        return (theta * (math.log(kb) - zinb.softplus(lg)) + kb * _log_sigmoid(lg)
                + theta * (theta - 1.0) / (2.0 * kb) - math.lgamma(theta + 1.0)
                + math.log(total))
    ratio = k / theta
    if ratio < INF:
        l1p = math.log1p(ratio)
    else:
        l1p = zinb._logaddexp(math.log(k), math.log(theta)) - math.log(theta)
    return _far_logpmf(k, theta, lg, True) + l1p + _log_sigmoid(lg) + math.log(total)


@jit
def _handled(theta, lg, where):
    """Whether the tails of a far mean come from the logits."""
    return where == 2 or lg <= LOW_LOGIT


@jit
def _far_tails(k, theta, lg, where, z):
    """(log cdf, log sf) of a far mean at k, zero-inflated by the logit z
    (-inf: the NB)."""
    if k != k or z != z:
        return NAN, NAN
    kf = floor(k)
    if kf < 0.0:
        return -INF, 0.0
    if kf == INF:
        return 0.0, -INF
    if where == 2:
        lc = _high_logcdf(kf, theta, lg)
        ls = log1mexp(lc)
    else:
        ls = _far_logpmf(kf + 1.0, theta, lg, False)
        lc = log1mexp(ls)
    if z == -INF:
        return lc, ls
    lpi, lq = zinb.log_pi(z)
    return min(zinb._log_mixture(lpi, lq, lc, math.exp(lq + ls)), 0.0), lq + ls


@jit
def _from_logs(la, lb):
    """a from log a and log b = log(1 - a): the smaller of the two from its
    log, the larger as the complement of the other."""
    return math.exp(la) if la <= -0.6931 else -math.expm1(lb)


@jit
def _far_log(k, theta, lg, where, z):
    """log pmf of a far mean, zero-inflated by z."""
    if k != k or z != z:
        return NAN
    r = _far_logpmf(k, theta, lg, where == 2)
    if z == -INF:
        return r
    lpi, lq = zinb.log_pi(z)
    if k == 0.0:
        return zinb._log_mixture(lpi, lq, r, -math.exp(lq) * math.expm1(r))
    return lq + r


@jit
def _far_quantile(q, theta, lg, where, z, upper):
    """ppf (isf if upper) of a far mean by bisection over the doubles."""
    if q != q or z != z or q < 0.0 or q > 1.0:
        return NAN
    if q == 0.0:
        return INF if upper else -1.0
    if q == 1.0:
        return -1.0 if upper else INF
    lq = math.log(q)
    lo = as_bits(0.0)
    hi = as_bits(INF)
    while lo < hi:
        mid = lo + (hi - lo) // 2
        lc, ls = _far_tails(from_bits(mid), theta, lg, where, z)
        # the levels the public cdf and sf give (so that ppf inverts them
        # exactly), in logs below their range
        if q >= 1e-290:
            c, s = _from_logs(lc, ls), _from_logs(ls, lc)
            hit = (s <= q) if upper else (c >= q)
        else:
            hit = (ls <= lq) if upper else (lc >= lq)
        if hit:
            hi = mid
        else:
            lo = mid + 1
    return from_bits(lo)


@jit
def _far_entropy(theta, lg, z):
    """Entropy of a mean below the doubles: p(1) (1 - log p(1))."""
    lp1 = _far_logpmf(1.0, theta, lg, False)
    if z != -INF:
        lp1 += zinb.log_pi(z)[1]
    if lp1 == -INF:
        return 0.0
    return math.exp(lp1) * (1.0 - lp1)


# ------------------------------------------------------------ the NB rows

@jit_inline
def _given(mu, theta):
    """Whether the rows take mu as given (see _far), branch-free."""
    return (mu >= NORMAL) & (mu <= HUGE) & (mu / theta < INF)


@jit_inline
def _logpmf_fast(k, mu, theta, lg):
    """The NB's fast path where mu is taken as given, else NaN (branch-free)."""
    r = nbinom._logpmf_fast(k, mu, theta)
    return r if _given(mu, theta) else NAN


@jit
def logpmf(k, mu, theta, lg):
    """Log of the probability mass function at k."""
    m, where = _far(mu, theta, lg)
    return nbinom.logpmf(k, m, theta) if where == 0 else _far_log(k, theta, lg, where, -INF)


@jit_inline
def _pmf_fast(k, mu, theta, lg):
    r = nbinom._pmf_fast(k, mu, theta)
    return r if _given(mu, theta) else NAN


@jit_inline
def _cdf_fast(k, mu, theta, lg):
    r = nbinom._cdf_fast(k, mu, theta)
    return r if _given(mu, theta) else NAN


@jit_inline
def _sf_fast(k, mu, theta, lg):
    r = nbinom._sf_fast(k, mu, theta)
    return r if _given(mu, theta) else NAN


@jit
def pmf(k, mu, theta, lg):
    """Probability mass function at k."""
    m, where = _far(mu, theta, lg)
    return nbinom.pmf(k, m, theta) if where == 0 else math.exp(
        _far_log(k, theta, lg, where, -INF))


@jit
def _tail(k, mu, theta, lg, z, which):
    """which: 0 cdf, 1 logcdf, 2 sf, 3 logsf of the NB (z = -inf) or ZINB."""
    m, where = _far(mu, theta, lg)
    if where != 0 and _handled(theta, lg, where):
        lc, ls = _far_tails(k, theta, lg, where, z)
        if which == 1:
            return lc
        if which == 3:
            return ls
        return _from_logs(lc, ls) if which == 0 else _from_logs(ls, lc)
    if z == -INF:
        if which == 0:
            return nbinom.cdf(k, m, theta)
        if which == 1:
            return nbinom.logcdf(k, m, theta)
        if which == 2:
            return nbinom.sf(k, m, theta)
        return nbinom.logsf(k, m, theta)
    if which == 0:
        return zinb.cdf(k, m, theta, z)
    if which == 1:
        return zinb.logcdf(k, m, theta, z)
    if which == 2:
        return zinb.sf(k, m, theta, z)
    return zinb.logsf(k, m, theta, z)


@jit
def cdf(k, mu, theta, lg):
    """P(X <= k)."""
    return _tail(k, mu, theta, lg, -INF, 0)


@jit
def logcdf(k, mu, theta, lg):
    """Log of the cdf."""
    return _tail(k, mu, theta, lg, -INF, 1)


@jit
def sf(k, mu, theta, lg):
    """P(X > k)."""
    return _tail(k, mu, theta, lg, -INF, 2)


@jit
def logsf(k, mu, theta, lg):
    """Log of the survival function."""
    return _tail(k, mu, theta, lg, -INF, 3)


@jit
def _quantile(q, mu, theta, lg, z, upper):
    m, where = _far(mu, theta, lg)
    if where != 0 and _handled(theta, lg, where):
        return _far_quantile(q, theta, lg, where, z, upper)
    if z == -INF:
        return nbinom.isf(q, m, theta) if upper else nbinom.ppf(q, m, theta)
    return zinb.isf(q, m, theta, z) if upper else zinb.ppf(q, m, theta, z)


@jit
def ppf(q, mu, theta, lg):
    """The smallest k with cdf(k) >= q."""
    return _quantile(q, mu, theta, lg, -INF, False)


@jit
def isf(q, mu, theta, lg):
    """The smallest k with sf(k) <= q."""
    return _quantile(q, mu, theta, lg, -INF, True)


@jit
def _entropy(mu, theta, lg, z):
    m, where = _far(mu, theta, lg)
    if where == 0 or not _handled(theta, lg, where):
        return nbinom.entropy(m, theta) if z == -INF else zinb.entropy(m, theta, z)
    if where == 2 or z != z:
        return NAN
    return _far_entropy(theta, lg, z)


@jit
def entropy(mu, theta, lg):
    """Entropy in nats."""
    return _entropy(mu, theta, lg, -INF)


@jit
def _far_grad(k, theta, lg):
    """(d_theta, d_logits, log p(k)) of a far mean's NB log-pmf."""
    if k != k or k < 0.0 or k == INF or k != floor(k):
        return NAN, NAN, NAN
    s = math.exp(_log_sigmoid(lg))
    d_lg = k * math.exp(_log_sigmoid(-lg)) - theta * s
    d_theta = -zinb.softplus(lg)
    if k > 0.0:
        d_theta += derivatives.dlgamma_ratio(k, theta) + math.log1p(k / theta)
    return d_theta, d_lg, 0.0


@jit
def logpmf_grad(k, mu, theta, lg):
    """``(d_theta, d_logits)`` of the log-pmf at fixed logits (at fixed
    total_count: the chain rule through ``mu = theta exp(L)``)."""
    m, where = _far(mu, theta, lg)
    if where == 0:
        d_mu, d_theta = derivatives.logpmf_grad(k, m, theta)
        return d_theta + (m / theta) * d_mu, m * d_mu
    d_theta, d_lg, _ = _far_grad(k, theta, lg)
    return d_theta, d_lg


# ----------------------------------------------------------- the ZINB rows

@jit_inline
def _zinb_logpmf_fast(k, mu, theta, lg, z):
    r = zinb._logpmf_fast(k, mu, theta, z)
    return r if _given(mu, theta) else NAN


@jit
def zinb_logpmf(k, mu, theta, lg, z):
    """Log of the zero-inflated probability mass function at k."""
    m, where = _far(mu, theta, lg)
    return zinb.logpmf(k, m, theta, z) if where == 0 else _far_log(k, theta, lg, where, z)


@jit
def zinb_pmf(k, mu, theta, lg, z):
    """Zero-inflated probability mass function at k."""
    m, where = _far(mu, theta, lg)
    return zinb.pmf(k, m, theta, z) if where == 0 else math.exp(_far_log(k, theta, lg, where, z))


@jit
def zinb_cdf(k, mu, theta, lg, z):
    """P(X <= k), zero-inflated."""
    return _tail(k, mu, theta, lg, z, 0)


@jit
def zinb_logcdf(k, mu, theta, lg, z):
    """Log of the zero-inflated cdf."""
    return _tail(k, mu, theta, lg, z, 1)


@jit
def zinb_sf(k, mu, theta, lg, z):
    """P(X > k), zero-inflated."""
    return _tail(k, mu, theta, lg, z, 2)


@jit
def zinb_logsf(k, mu, theta, lg, z):
    """Log of the zero-inflated survival function."""
    return _tail(k, mu, theta, lg, z, 3)


@jit
def zinb_ppf(q, mu, theta, lg, z):
    """The smallest k with cdf(k) >= q, zero-inflated."""
    return _quantile(q, mu, theta, lg, z, False)


@jit
def zinb_isf(q, mu, theta, lg, z):
    """The smallest k with sf(k) <= q, zero-inflated."""
    return _quantile(q, mu, theta, lg, z, True)


@jit
def zinb_entropy(mu, theta, lg, z):
    """Entropy in nats, zero-inflated."""
    return _entropy(mu, theta, lg, z)


@jit
def zinb_logpmf_grad(k, mu, theta, lg, z):
    """``(d_theta, d_logits, d_zi_logits)`` of the zero-inflated log-pmf at
    fixed logits. A zero's NB derivatives are weighted by the NB's share of
    it, as in the mean parameterization."""
    m, where = _far(mu, theta, lg)
    if where == 0:
        d_mu, d_theta, d_z = zinb.logpmf_grad(k, m, theta, z)
        return d_theta + (m / theta) * d_mu, m * d_mu, d_z
    d_theta, d_lg, _ = _far_grad(k, theta, lg)
    if d_theta != d_theta or z != z:
        return NAN, NAN, NAN
    lpi, lq = zinb.log_pi(z)
    if k > 0.0:
        return d_theta, d_lg, -math.exp(lpi)
    r = _far_logpmf(0.0, theta, lg, where == 2)
    lp = zinb._log_mixture(lpi, lq, r, -math.exp(lq) * math.expm1(r))
    w = math.exp(lq + r - lp)
    return w * d_theta, w * d_lg, math.exp(lpi + lq - lp) * -math.expm1(r)


_K = ("k", "mu", "theta", "logits")
_Q = ("q", "mu", "theta", "logits")
_ZK = _K + ("zi_logits",)
_ZQ = _Q + ("zi_logits",)

TABLE = (
    Function("logpmf", logpmf, _K, "Log of the probability mass function",
             fast=_logpmf_fast, slow=logpmf, wide=True),
    Function("pmf", pmf, _K, "Probability mass function", fast=_pmf_fast, slow=pmf, wide=True),
    Function("cdf", cdf, _K, "Cumulative distribution function P(X <= k)",
             fast=_cdf_fast, slow=cdf),
    Function("logcdf", logcdf, _K, "Log of the cdf"),
    Function("sf", sf, _K, "Survival function P(X > k)", fast=_sf_fast, slow=sf),
    Function("logsf", logsf, _K, "Log of the survival function"),
    Function("ppf", ppf, _Q, "Quantile: the smallest k with cdf(k) >= q"),
    Function("isf", isf, _Q, "Inverse survival function: the smallest k with sf(k) <= q"),
    Function("entropy", entropy, _K[1:], "Entropy in nats"),
    Function("logpmf_grad", logpmf_grad, _K, "Derivatives of the log-pmf in theta and the "
             "logits", outputs=("d_theta", "d_logits")),
    Function("zinb_logpmf", zinb_logpmf, _ZK, "Log of the probability mass function",
             fast=_zinb_logpmf_fast, slow=zinb_logpmf, wide=True),
    Function("zinb_pmf", zinb_pmf, _ZK, "Probability mass function"),
    Function("zinb_cdf", zinb_cdf, _ZK, "Cumulative distribution function P(X <= k)"),
    Function("zinb_logcdf", zinb_logcdf, _ZK, "Log of the cdf"),
    Function("zinb_sf", zinb_sf, _ZK, "Survival function P(X > k)"),
    Function("zinb_logsf", zinb_logsf, _ZK, "Log of the survival function"),
    Function("zinb_ppf", zinb_ppf, _ZQ, "Quantile: the smallest k with cdf(k) >= q"),
    Function("zinb_isf", zinb_isf, _ZQ, "Inverse survival function: the smallest k with "
             "sf(k) <= q"),
    Function("zinb_entropy", zinb_entropy, _ZK[1:], "Entropy in nats"),
    Function("zinb_logpmf_grad", zinb_logpmf_grad, _ZK, "Derivatives of the log-pmf in "
             "theta, the logits and zi_logits", outputs=("d_theta", "d_logits", "d_zi_logits")),
)

"""Scalar Negative Binomial NB(mu, theta): log-pmf, tails and quantiles.

Mean ``mu >= 0``, inverse dispersion ``theta >= 0`` (``inf`` is Poisson),
variance ``mu + mu**2 / theta``. Every function takes and returns float64
scalars, allocates nothing and never raises; the semantics follow
``scipy.stats.nbinom``: NaN for invalid parameters (``mu < 0``, ``theta < 0``,
``mu = inf``, NaN), ``pmf(k) = 0`` for negative or non-integer ``k``,
``cdf(k) = cdf(floor(k))``, ``ppf(0) = -1``, ``ppf(1) = inf``.
``mu = 0`` and ``theta = 0`` are point masses at 0.

``_special.floor``, not ``math.floor``, throughout: Numba's ``math.floor``
returns an int64, which wraps for values beyond 2**63.

Notation below: ``x = mu / theta``, ``p = theta / (theta + mu) = 1 / (1 + x)``
(scipy's p), ``q = 1 - p = x p``, ``a = theta q = mu p`` (finite when
``theta = inf``).
"""
import math

from . import derivatives
from .table import Function
from .compile import jit, jit_inline
from .special import (BETA_UNIFORM_DEV, BETA_UNIFORM_MIN, FAST_K, LN_SQRT_2PI, beta_frac, beta_small_b,
                       beta_uniform, exp_fast, floor, log1mexp, log1pmx, log_fast,
                       log_logseries_tail, stirlerr)

NAN = math.nan
INF = math.inf
SMALL_K = 32        # log-pmf by a short product up to this count
SUM_K = 64          # cdf by direct summation up to this count
MAXITER = 1000000   # bound on every loop: NaN rather than a hang
LOG_09 = -0.10536051565782628   # log(0.9)


@jit
def _invalid(mu, theta):
    return not (mu >= 0.0 and theta >= 0.0 and mu < INF)


# The common case (small counts, ordinary parameters) is computed by
# branch-free functions that return NaN where they do not apply, so that the
# CPU kernels' loops over them vectorize; every function below tries them
# first and falls back to the general methods on NaN.

@jit_inline
def log_p0_fast(mu, theta, x, u, p):
    """log pmf(0) = -theta log1p(x), for x = mu / theta, u = 1 + x < 1e300,
    p = 1 / u. The rounding error c of u enters as log1p(x) = log(u) + c p:
    a few ulp, even as theta -> inf (where -mu is exact)."""
    c = x - (u - 1.0)
    return -mu if theta == INF else -theta * (log_fast(u) + c * p)


@jit
def _log_p0(mu, theta):
    """log pmf(0), for mu > 0, theta > 0."""
    x = mu / theta
    if x < 2.2250738585072014e-308:     # subnormal: theta log1p(x) = mu (1 - x/2 ...)
        return -mu
    u = 1.0 + x
    if u < 1e300:
        return log_p0_fast(mu, theta, x, u, 1.0 / u)
    return theta * (math.log(theta) - math.log(mu))


@jit_inline
def _logpmf_short(k, mu, theta, n):
    """log pmf(k) by a short product for integer 0 <= k <= n; NaN where that
    does not apply (other k, limits, invalid parameters, extreme products).

    pmf(k) = p**theta prod_{j<k} (mu + j x) p / k!: no factor depends on
    theta alone, so nothing cancels in the Poisson limit. Each factor is a
    mean of mu and j (weights p and 1 - p); the bounds on mu, mu p and the
    product keep everything normal. For constant n the loop unrolls into
    selects: no branch.
    """
    x = mu / theta
    u = 1.0 + x
    p = 1.0 / u
    a = mu * p
    prod = a
    fact = 1.0
    for j in range(1, n):
        more = j < k
        prod *= (mu + j * x) * p if more else 1.0
        fact *= j + 1.0 if more else 1.0
    arg = prod / fact if k > 0.0 else 1.0
    ok = ((k >= 0.0) & (k <= n) & (k == floor(k)) & (mu <= 1e9) & (a >= 1e-9)
          & (u < 1e300) & (x >= 2.2250738585072014e-308) & (theta > 0.0) & (arg >= 1e-300))
    r = log_p0_fast(mu, theta, x, u if ok else 2.0, p) + log_fast(arg if ok else 1.0)
    return r if ok else NAN


@jit
def _logpmf_pos(k, mu, theta):
    """log pmf(k) for integer k >= 0, mu > 0, theta > 0."""
    if k <= SMALL_K:
        r = _logpmf_short(k, mu, theta, int(k))      # a loop of k - 1 steps
        if r == r:
            return r
    if k == 0.0:
        return _log_p0(mu, theta)
    if theta < TINY_THETA:
        return _logpmf_tiny_theta(k, mu, theta)
    x = mu / theta
    p = 1.0 / (1.0 + x)
    # Loader's saddle point: with n = k + theta,
    # log pmf = -bd0(theta, n p) - bd0(k, n q) - log(2 pi k n / theta) / 2
    #           + s(n) - s(theta) - s(k)
    # where bd0(y, m) = y g(1 - m / y), g(u) = -log(1 - u) - u, and
    # 1 - m / y is formed from k - mu, never from n (exact near the mode).
    d = k - mu
    tpm = 0.5 * theta + 0.5 * mu        # (theta + mu) / 2: the sum may overflow
    u1 = -(0.5 * d) / tpm
    # log(1 - u1) = log((theta + k) / (theta + mu)), also where that overflows
    l1u = math.log1p(-u1) if u1 > -1e300 else math.log(0.5 * theta + 0.5 * k) - math.log(tpm)
    if u1 == 0.0:
        t1 = 0.0
    elif u1 > 0.5:
        t1 = theta * (-math.log((0.5 * theta + 0.5 * k) / tpm) - u1)
    elif u1 < -1e300:                   # theta (v - log1p(v)), v = -u1: theta v = d p
        t1 = d * p - theta * l1u
    else:
        t1 = -theta * log1pmx(-u1)
    u2 = d / k * p
    if u2 > 0.5:
        r = mu / k
        lr = math.log(r) if r > 1e-300 else math.log(mu) - math.log(k)
        t2 = k * (-(lr + l1u) - u2)
    else:
        t2 = -k * log1pmx(-u2)
    corr = -stirlerr(k)
    if theta != INF:
        r = k / theta
        lnt = math.log1p(r) if r < 1e300 else math.log(k) - math.log(theta)
        corr += stirlerr(k + theta) - stirlerr(theta) - 0.5 * lnt
    return corr - t1 - t2 - 0.5 * math.log(k) - LN_SQRT_2PI


@jit_inline
def _logpmf_fast(k, mu, theta):
    """logpmf by the branch-free path; NaN where it does not apply."""
    return _logpmf_short(k, mu, theta, FAST_K)


@jit
def logpmf(k, mu, theta):
    """Log of the probability mass function at k."""
    r = _logpmf_fast(k, mu, theta)
    return r if r == r else _logpmf_slow(k, mu, theta)


@jit
def _logpmf_slow(k, mu, theta):
    """logpmf where _logpmf_fast does not apply."""
    if math.isnan(k) or _invalid(mu, theta):
        return NAN
    if k < 0.0 or k != floor(k) or k == INF:
        return -INF
    if mu == 0.0 or theta == 0.0:
        return 0.0 if k == 0.0 else -INF
    return _logpmf_pos(k, mu, theta)


@jit_inline
def _pmf_fast(k, mu, theta):
    """pmf by the branch-free path; NaN where it does not apply."""
    r = _logpmf_fast(k, mu, theta)
    return exp_fast(r) if r >= -708.0 else NAN


@jit
def pmf(k, mu, theta):
    """Probability mass function at k."""
    r = _pmf_fast(k, mu, theta)
    return r if r == r else _pmf_slow(k, mu, theta)


@jit
def _pmf_slow(k, mu, theta):
    """pmf where _pmf_fast does not apply (_logpmf_slow gives the very value
    of _logpmf_fast where that applies: the same product, without the
    factors of 1)."""
    return math.exp(_logpmf_slow(k, mu, theta))


@jit
def _log_tails_uniform(k, mu, theta):
    """(log cdf(k), log sf(k)) by the uniform expansion of the incomplete
    beta function (special.beta_uniform) where it applies: theta and k both
    >= 1e5 and k within 5% of the mean, the bulk of large distributions
    where the fraction and the sums would need millions of terms; else
    (NaN, NaN). cdf(k) = I_p(theta, k + 1), with p / x0 - 1 = d / (theta + mu)
    and q / (1 - x0) - 1 = -p d / (k + 1), d = k + 1 - mu (one rounding),
    x0 = theta / (theta + k + 1)."""
    b = k + 1.0
    if not min(theta, b) >= BETA_UNIFORM_MIN:
        return NAN, NAN
    d = (k - mu) + 1.0              # not b - mu: beyond 2**53, k + 1 == k
    if theta == INF:
        u1 = 0.0
        u2 = -d / b
    else:
        u1 = (0.5 * d) / (0.5 * theta + 0.5 * mu)      # halves: theta + mu may overflow
        u2 = -(d / b) / (1.0 + mu / theta)
    if not (abs(u1) <= BETA_UNIFORM_DEV and abs(u2) <= BETA_UNIFORM_DEV):
        return NAN, NAN
    return beta_uniform(theta, b, u1, u2)


#: Below this theta, NB(mu, theta) equals its theta -> 0 limit to 1e-17
#: relative (see _logpmf_tiny_theta, _log_sf_tiny_theta).
TINY_THETA = 1e-20


@jit
def _xi_lp(mu, theta):
    """(xi, log xi, lp) with xi = -log q = log1p(theta / mu) and
    lp = log p = -log1p(mu / theta), for any positive finite mu and theta
    (mu / theta and theta / mu may overflow or underflow)."""
    r = theta / mu
    x = mu / theta
    lr = math.log(theta) - math.log(mu)
    xi = math.log1p(r) if r < 1e300 else lr + math.log1p(1.0 / r)
    lp = -math.log1p(x) if x < 1e300 else lr - math.log1p(r)
    # log xi, also where xi is subnormal or 0: log1p(r) = r (1 - r/2 ...)
    lxi = math.log(xi) if xi > 1e-300 else lr
    return xi, lxi, lp


@jit
def _logpmf_tiny_theta(k, mu, theta):
    """log pmf(k) for integer k >= 1 and theta < TINY_THETA:
    pmf(k) = theta q**k / k p**theta prod_{j<k} (1 + theta / j), whose last
    factor, at most exp(theta (1 + log k)), is 1 to 1e-17 against
    |log pmf| > 46. All terms are <= 0: no cancellation, nothing overflows
    (theta + mu and mu / theta may)."""
    xi, lxi, lp = _xi_lp(mu, theta)
    return ((math.log(theta) - math.log(k)) - k * xi) + theta * lp


@jit
def _log_sf_tiny_theta(k, mu, theta):
    """log sf(k) for integer k >= 0 and theta < TINY_THETA: summing the
    pmf of _logpmf_tiny_theta, sf(k) = theta p**theta T(k) (1 + O(theta
    log(k + mu / theta))), T(k) = sum_{j>k} q**j / j, the tail of the
    logarithmic series (special.log_logseries_tail: O(1) for any k)."""
    xi, lxi, lp = _xi_lp(mu, theta)
    return (math.log(theta) + theta * lp) + log_logseries_tail(k, xi, lxi, lp)


# ---------------------------------------------------------------- tails
# For integer k >= 0 and mu, theta > 0, with B the beta function:
#   cdf(k) = I_p(theta, k + 1) = pmf(k) (a + k q) * R(theta, k + 1, p)
#   sf(k)  = I_q(k + 1, theta) = pmf(k + 1) (k + 1) * R(k + 1, theta, q)
# where I_x(a, b) = x**a (1 - x)**b / B(a, b) * R(a, b, x) and R is the
# continued fraction of beta_frac. Each fraction runs on its own side of the
# mean (lam = p (mu - k - 1) for the lower tail, -lam for the upper one, both
# exact), so the smaller tail is always computed directly, and the larger
# one as its complement when that costs less than a factor 10 in accuracy.

@jit
def _log_lower(k, mu, theta):
    """log cdf(k) computed directly."""
    if k == 0.0:
        return _log_p0(mu, theta)
    x = mu / theta
    if x < 1e300:
        p = 1.0 / (1.0 + x)
        a = mu * p
        q = x * p
    else:                               # theta << mu: x overflows, p < 1e-300
        p = theta / mu
        q = 1.0
        a = theta
    lam = p * (mu - (k + 1.0))
    # the fraction on its own side (lam >= 0), or just past it (lam > -1/2)
    # where the backward sum would be long: theta < 1 (its terms do not fall
    # off) or a count far above the mean
    if k > SUM_K and theta <= k and (lam >= 0.0 or (lam > -0.5 and (theta < 1.0 or k - mu > MAXITER))):
        r = beta_frac(theta, p, q, (k + 1.0) * p, lam, MAXITER)
        if not math.isnan(r):
            return _logpmf_pos(k, mu, theta) + math.log((a + k * q) * r)
    # Sum pmf(j) / pmf(k) backwards (Poisson-like or short sums); below the
    # mode the terms fall at least geometrically, so stop once they no
    # longer count. Rescale instead of overflowing when pmf(k) << pmf(0).
    s = 1.0
    t = 1.0
    off = 0.0
    j = k
    for _ in range(MAXITER):        # a counter: beyond 2**53, j - 1 == j
        if j < 1.0:
            break
        r = j / (a + (j - 1.0) * q)
        t *= r
        s += t
        if r < 1.0 and t < 1e-17 * s:
            break
        if s > 1e280:
            s *= 1e-280
            t *= 1e-280
            off += 644.7238260383328    # 280 log(10)
        j -= 1.0
    else:
        return NAN
    return _logpmf_pos(k, mu, theta) + math.log(s) + off


@jit
def _log_upper_series(k, mu, theta):
    """log sf(k) for small theta, where the fraction crawls (q near 1).

    sf(k) = 1 - p**theta (1 + theta U) with the positive series
    U = sum_{1<=j<=k} (theta+1)_{j-1} q**j / j!; NaN where that is ill
    conditioned (sf(k) tiny against 1 - p**theta) or k too large.
    """
    if k > MAXITER:
        return NAN
    t0 = _log_p0(mu, theta)
    x = mu / theta
    q = x / (1.0 + x) if x < 1e300 else 1.0
    term = q
    u = q
    for j in range(2, int(k) + 1):
        term *= (theta + (j - 1)) * q / j
        u += term
    e = t0 + math.log1p(theta * u)
    if e > 0.01 * t0:
        return NAN
    return math.log(-math.expm1(e))


@jit
def _log_upper(k, mu, theta):
    """log sf(k) computed directly."""
    x = mu / theta
    p = 1.0 / (1.0 + x)
    lam = p * (k + 1.0 - mu)
    # theta < 1 with q > 1/e, where the fraction crawls: the expansion of
    # special.beta_small_b for k >= 10, the (short) series below.
    if theta < 1.0:
        xi, lxi, lp = _xi_lp(mu, theta)
        if xi < 1.0:
            if k >= 10.0:
                return beta_small_b(k + 1.0, theta, xi, lxi)
            ls = _log_upper_series(k, mu, theta)
            if not math.isnan(ls):
                return ls
    r = beta_frac(k + 1.0, x * p, p, mu * p, lam, MAXITER)
    return _logpmf_pos(k + 1.0, mu, theta) + math.log((k + 1.0) * r)


@jit
def _log_tails(k, mu, theta):
    """(log cdf(k), log sf(k)), each from a direct method where it is the
    smaller tail. O(1) methods first where they apply: theta < TINY_THETA
    (the theta -> 0 limit), the uniform expansion in the bulk of large theta
    and k, special.beta_small_b for theta < 1 and k >= 10; then the
    fractions and sums. Where a direct method gives up (NaN: a loop bound
    hit in an extreme regime), the complement of the other tail stands in:
    accurate in absolute terms, never NaN."""
    if theta < TINY_THETA:
        ls = _log_sf_tiny_theta(k, mu, theta)
        return log1mexp(ls), ls
    if k == 0.0:
        lc = _log_p0(mu, theta)
        return lc, log1mexp(lc)
    lc, ls = _log_tails_uniform(k, mu, theta)
    if lc == lc:
        return lc, ls
    if theta < 1.0 and k >= 10.0:
        # sf by special.beta_small_b (O(1) for any k) where q > 1/e; the
        # cdf directly only where it is the smaller tail (never for
        # theta < 1.6e-3: cdf >= pmf(0) = p**theta > exp(-1454 theta))
        xi, lxi, lp = _xi_lp(mu, theta)
        if xi < 1.0:
            ls = beta_small_b(k + 1.0, theta, xi, lxi)
            if ls < LOG_09:
                return log1mexp(ls), ls
            lc = _log_lower(k, mu, theta)
            if math.isnan(lc):
                return log1mexp(ls), ls
            return lc, log1mexp(lc)
    if k + 1.0 < mu:
        lc = _log_lower(k, mu, theta)
        if lc < LOG_09:
            return lc, log1mexp(lc)
        ls = _log_upper(k, mu, theta)
        if math.isnan(ls):
            return lc, log1mexp(lc)
        return log1mexp(ls), ls
    ls = _log_upper(k, mu, theta)
    if ls < LOG_09:
        return log1mexp(ls), ls
    lc = _log_lower(k, mu, theta)
    if math.isnan(lc):
        return log1mexp(ls), ls
    return lc, log1mexp(lc)


@jit
def _log_cdf(k, mu, theta):
    return _log_tails(k, mu, theta)[0]


@jit
def _log_sf(k, mu, theta):
    return _log_tails(k, mu, theta)[1]


@jit
def _forward(mu, theta, t0, kmax, target):
    """Walk cdf(0), cdf(1), ... by summing the pmf recurrence from pmf(0).

    Stops at the first j with cdf(j) >= target, or at kmax. Returns
    (j, cdf(j)). cdf and ppf share it, so ppf(cdf(k)) == k holds exactly.
    """
    pm = exp_fast(t0)         # t0 > -600: see _use_forward
    if kmax == 0.0 or pm >= target:
        return 0, min(pm, 1.0)
    x = mu / theta
    p = 1.0 / (1.0 + x)
    a = mu * p
    q = x * p
    c = pm
    j = 0
    while j < kmax and c < target:
        pm *= (a + j * q) / (j + 1.0)
        c += pm
        j += 1
    return j, min(c, 1.0)


@jit
def _use_forward(k, t0):
    return k <= SUM_K and t0 > -600.0


@jit_inline
def _cdf_short(k, mu, theta, n):
    """cdf(k) for 0 <= floor(k) <= n by _forward's sum, branch-free (the same
    operations, so the same bits: ppf(cdf(k)) == k); NaN where that does not
    apply."""
    k = floor(k)
    x = mu / theta
    u = 1.0 + x
    p = 1.0 / u
    a = mu * p
    q = x * p
    ok = (k >= 0.0) & (k <= n) & (mu > 0.0) & (theta > 0.0) & (u < 1e300)
    t0 = log_p0_fast(mu, theta, x, u if ok else 2.0, p)
    ok = ok & (t0 > -600.0)
    pm = exp_fast(t0 if ok else 0.0)
    c = pm
    for j in range(n):
        pm *= (a + j * q) / (j + 1.0)
        c += pm if j < k else 0.0
    return min(c, 1.0) if ok else NAN


@jit_inline
def _cdf_fast(k, mu, theta):
    """cdf by the branch-free path; NaN where it does not apply."""
    return _cdf_short(k, mu, theta, FAST_K)


@jit_inline
def _sf_fast(k, mu, theta):
    """sf(k) = 1 - cdf(k) where that is well conditioned (cdf < 0.9) and the
    short sum applies; NaN elsewhere. Branch-free."""
    c = _cdf_fast(k, mu, theta)
    return 1.0 - c if c < 0.9 else NAN


@jit
def _small_cdf(k, mu, theta):
    """cdf(k) by the forward sum where that is cheap and accurate, else -1.

    Short sums (k <= SUM_K, pmf(0) not tiny) are exact to a few ulp; the
    callers use them where their own result stays well conditioned.
    """
    t0 = _log_p0(mu, theta)
    if _use_forward(k, t0):
        return _forward(mu, theta, t0, k, INF)[1]
    return -1.0


@jit
def _special_k(k, mu, theta):
    """0 for an ordinary (k, mu, theta), else a code for the edge cases."""
    if math.isnan(k) or _invalid(mu, theta):
        return 1        # NaN
    if k < 0.0:
        return 2        # below the support
    if k == INF or mu == 0.0 or theta == 0.0:
        return 3        # above all the mass
    return 0


@jit
def logcdf(k, mu, theta):
    """Log of the cumulative distribution function P(X <= k)."""
    s = _special_k(k, mu, theta)
    if s:
        return NAN if s == 1 else (-INF if s == 2 else 0.0)
    k = floor(k)
    c = _small_cdf(k, mu, theta)
    if 0.0 < c < 0.9:
        return math.log(c)
    return _log_cdf(k, mu, theta)


@jit
def cdf(k, mu, theta):
    """Cumulative distribution function P(X <= k)."""
    c = _cdf_fast(k, mu, theta)
    return c if c == c else _cdf_slow(k, mu, theta)


@jit
def _cdf_slow(k, mu, theta):
    """cdf where _cdf_fast does not apply."""
    s = _special_k(k, mu, theta)
    if s:
        return NAN if s == 1 else (0.0 if s == 2 else 1.0)
    k = floor(k)
    c = _small_cdf(k, mu, theta)
    if c >= 0.0:
        return c
    return math.exp(_log_cdf(k, mu, theta))


@jit
def logsf(k, mu, theta):
    """Log of the survival function P(X > k)."""
    s = _special_k(k, mu, theta)
    if s:
        return NAN if s == 1 else (0.0 if s == 2 else -INF)
    k = floor(k)
    c = _small_cdf(k, mu, theta)
    if 0.0 <= c < 0.9:
        return math.log1p(-c)
    return _log_sf(k, mu, theta)


@jit
def sf(k, mu, theta):
    """Survival function P(X > k)."""
    r = _sf_fast(k, mu, theta)
    return r if r == r else _sf_slow(k, mu, theta)


@jit
def _sf_slow(k, mu, theta):
    """sf where _sf_fast does not apply."""
    s = _special_k(k, mu, theta)
    if s:
        return NAN if s == 1 else (1.0 if s == 2 else 0.0)
    k = floor(k)
    c = _small_cdf(k, mu, theta)
    if 0.0 <= c < 0.9:
        return 1.0 - c
    return math.exp(_log_sf(k, mu, theta))


# ------------------------------------------------------------ quantiles

@jit
def _probe(k, target, mu, theta, upper, comp):
    """(hit, guide) at k. hit: 1.0 if k is at or beyond the quantile, 0.0
    if not, NaN where the cdf or sf itself is NaN: decided by the very cdf
    (sf if upper) v the user calls, whose branches this follows. guide:
    log v, or log(-log v) where comp (a level above 1/2: -log cdf ~ sf,
    -log sf ~ cdf), from the log the tails come with (free): a
    monotone function of v, so that its crossing of the target's is the
    hits' (NaN where v is 0 or 1)."""
    v = _sf_fast(k, mu, theta) if upper else _cdf_fast(k, mu, theta)
    lv = NAN
    if v != v:
        s = _special_k(k, mu, theta)
        if s:
            v = NAN if s == 1 else ((1.0 if s == 2 else 0.0) if upper else (0.0 if s == 2 else 1.0))
        else:
            kf = floor(k)
            c = _small_cdf(kf, mu, theta)
            if upper and 0.0 <= c < 0.9:
                v = 1.0 - c
            elif not upper and c >= 0.0:
                v = c
            else:
                lc, ls = _log_tails(kf, mu, theta)
                lv = ls if upper else lc
                v = math.exp(lv)
    if v != v:
        return NAN, NAN
    if lv != lv and v > 0.0:
        lv = math.log(v)
    g = math.log(-lv) if comp else lv
    return (1.0 if (v <= target if upper else v >= target) else 0.0), g


@jit
def _ahead(k, k1, g1, k0, g0, lt):
    """The next point of a bracketing walk from k1 (k: the doubling step's):
    beyond it where the secant of the guide through (k0, g0) and (k1, g1)
    meets lt farther away (by a fifth more: the tails' log is concave or
    linear, so the walk then brackets the answer in a step or two)."""
    if not (g0 == g0 and g1 == g1 and abs(g0) < INF and abs(g1) < INF and g1 != g0):
        return k
    cross = k1 + (lt - g1) * ((k1 - k0) / (g1 - g0))
    far = k1 + 1.2 * (cross - k1)
    if k > k1:
        return min(max(k, floor(far)), 1e308) if cross > k1 else k
    return max(min(k, floor(far)), 0.0) if cross < k1 else k


@jit
def _search(target, mu, theta, upper):
    """Smallest integer k >= 0 with cdf(k) >= target (sf(k) <= target if upper).

    Steps doubling from one standard deviation away from the mean (or
    longer, to where the secant of the guide below meets the target)
    bracket the answer; then the bracket shrinks to it by regula falsi
    (Illinois) on the guide of _probe (log sf or log cdf, log(-log) of
    them above 1/2: nearly linear in k in the tails), with a bisection
    wherever two steps did not halve it or the guide's signs disagree. Every step is decided by the very cdf/sf the
    user calls (the interpolation only picks where to look), so the
    quantile is exact; NaN if that cdf/sf is NaN on the way (never a wrong
    quantile).
    """
    comp = target > 0.5
    # the guide's target: where the cdf (sf), exp of its log rounded, reaches
    # the level: half a spacing of the doubles below 1 (2**-54) under (over) it
    half = -5.551115123125783e-17 if upper else 5.551115123125783e-17
    lt = math.log(-math.log1p(-(1.0 - target + half))) if comp else math.log(target)
    # one standard deviation (without overflow), at least the spacing of
    # the floats at the mean (smaller steps would not move), at most 1e300
    sd = math.sqrt(mu) * math.sqrt(1.0 + mu / theta)
    step = min(max(1.0, floor(sd), floor(mu * 2.220446049250313e-16)), 1e300)
    k = floor(mu)
    h, g = _probe(k, target, mu, theta, upper, comp)
    if h != h:
        return NAN
    glo = ghi = NAN
    kp = gp = NAN               # the point before, for the guide's secant
    if h:
        hi = k
        ghi = g
        lo = -1.0
        while hi > 0.0:
            k = max(_ahead(hi - step, hi, ghi, kp, gp, lt), 0.0)
            h, g = _probe(k, target, mu, theta, upper, comp)
            if h != h:
                return NAN
            if not h:
                lo = k
                glo = g
                break
            kp, gp = hi, ghi
            hi = k
            ghi = g
            step *= 2.0
    else:
        lo = k
        glo = g
        for _ in range(2000):
            k = _ahead(lo + step, lo, glo, kp, gp, lt)
            h, g = _probe(k, target, mu, theta, upper, comp)
            if h != h:
                return NAN
            if h:
                break
            kp, gp = lo, glo
            lo = k
            glo = g
            step *= 2.0
        else:
            return NAN
        hi = k
        ghi = g
    # regula falsi on f = guide - lt, f(lo) and f(hi) of opposite signs
    # where the guide is exact; Illinois: an end kept twice has its f halved
    flo = glo - lt
    fhi = ghi - lt
    kept = 0                    # -1: lo kept last time, 1: hi kept
    widths = (INF, INF)         # the bracket's widths two and one steps ago
    for _ in range(2000):
        width = hi - lo
        if width <= 1.0:
            return hi
        mid = NAN
        if (width <= 0.5 * widths[0] and flo * fhi <= 0.0 and flo != fhi
                and abs(flo) < INF and abs(fhi) < INF):
            mid = floor(lo + (flo / (flo - fhi)) * width)
            mid = min(max(mid, lo + 1.0), hi - 1.0)
        if mid != mid:
            if hi > 4.0 * (lo + 2.0):
                # brackets over orders of magnitude (e.g. [0, 1e308]): geometric steps
                mid = floor(math.sqrt(lo + 2.0) * math.sqrt(hi))
            else:
                mid = floor(0.5 * lo + 0.5 * hi)
        if mid <= lo or mid >= hi:      # beyond 2**53: no integer in between
            return hi
        widths = (widths[1], width)
        h, g = _probe(mid, target, mu, theta, upper, comp)
        if h != h:
            return NAN
        if h:
            hi = mid
            fhi = g - lt
            if kept == -1:
                flo *= 0.5
            kept = -1
        else:
            lo = mid
            flo = g - lt
            if kept == 1:
                fhi *= 0.5
            kept = 1
    return NAN


@jit
def ppf(q, mu, theta):
    """Percent point function: the smallest k with cdf(k) >= q."""
    if math.isnan(q) or _invalid(mu, theta) or q < 0.0 or q > 1.0:
        return NAN
    if q == 0.0:
        return -1.0
    if q == 1.0:
        return INF
    if mu == 0.0 or theta == 0.0:
        return 0.0
    t0 = _log_p0(mu, theta)
    if t0 > -600.0:
        j, c = _forward(mu, theta, t0, SUM_K, q)
        if c >= q:
            return float(j)
    return _search(q, mu, theta, False)


@jit
def isf(q, mu, theta):
    """Inverse survival function: the smallest k with sf(k) <= q."""
    if math.isnan(q) or _invalid(mu, theta) or q < 0.0 or q > 1.0:
        return NAN
    if q == 0.0:
        return INF
    if q == 1.0:
        return -1.0
    if mu == 0.0 or theta == 0.0:
        return 0.0
    return _search(q, mu, theta, True)


# ------------------------------------------------------------- summaries

@jit
def entropy(mu, theta):
    """Shannon entropy in nats, -sum_k pmf(k) log pmf(k).

    Summed outwards from the mode (anchored on the exact log-pmf there,
    then the pmf recurrence) until the terms no longer count. NaN if more
    than ``MAXITER`` terms would be needed (variance beyond ~1e10).
    """
    if _invalid(mu, theta):
        return NAN
    if mu == 0.0 or theta == 0.0:
        return 0.0
    x = mu / theta
    p = 1.0 / (1.0 + x)
    a = mu * p
    q = x * p
    mode = max(0.0, floor(mu - x)) if theta > 1.0 else 0.0
    if _walk_too_long(mode, mu, theta, x):
        return NAN
    lp_mode = _logpmf_pos(mode, mu, theta)
    h = -math.exp(lp_mode) * lp_mode
    for step in (1.0, -1.0):
        h = _entropy_walk(h, lp_mode, mode, step, a, q)
    return h


@jit
def _walk_too_long(mode, mu, theta, x):
    """Whether a walk of _entropy_walk would end in its NaN (MAXITER terms)
    without walking it (~10 ms): past the mode the terms only fall, so a
    walk runs out where its last term still counts against the largest
    entropy of the variance, a normal's (plus 1/12), with a factor 10 of
    margin for the recurrence's rounding (between the two, the walk
    decides)."""
    hmax = 0.5 * math.log(17.079468445347132 * (mu * (1.0 + x) + 1.0 / 12.0))    # 2 pi e
    for j in (mode + MAXITER, mode - MAXITER):
        if j >= 0.0:
            lp = _logpmf_pos(j, mu, theta)
            if -math.exp(lp) * lp >= 1e-16 * hmax:
                return True
    return False


@jit
def _entropy_walk(h, lp, j, step, a, q):
    """Add -pmf log pmf to h from the mode outwards (step +1 or -1) with the
    recurrence pmf(j + 1) = pmf(j) (a + j q) / (j + 1), until the terms no
    longer count (past the mode they only fall). A counter bounds the loop:
    beyond 2**53, j - 1 == j."""
    # the pmf carried as a number too, not exp(lp): exp turns lp's absolute
    # rounding into a relative error |lp| eps (1e-13 at lp = -700, a mean
    # of 1e-300)
    pm = math.exp(lp)
    for _ in range(MAXITER):
        if step < 0.0 and j <= 0.0:
            return h
        r = (a + j * q) / (j + 1.0) if step > 0.0 else j / (a + (j - 1.0) * q)
        lp += math.log(r)
        pm *= r
        j += step
        t = -pm * lp
        h += t
        if t < 1e-17 * h:
            return h
    return NAN


# ---------------------------------------------------------------- the table


TABLE = (
    Function("logpmf", logpmf, ("k", "mu", "theta"), "Log of the probability mass function",
             fast=_logpmf_fast, slow=_logpmf_slow, wide=True),
    Function("pmf", pmf, ("k", "mu", "theta"), "Probability mass function",
             fast=_pmf_fast, slow=_pmf_slow, wide=True),
    Function("cdf", cdf, ("k", "mu", "theta"), "Cumulative distribution function P(X <= k)",
             fast=_cdf_fast, slow=_cdf_slow),
    Function("logcdf", logcdf, ("k", "mu", "theta"), "Log of the cdf"),
    Function("sf", sf, ("k", "mu", "theta"), "Survival function P(X > k)",
             fast=_sf_fast, slow=_sf_slow),
    Function("logsf", logsf, ("k", "mu", "theta"), "Log of the survival function"),
    Function("ppf", ppf, ("q", "mu", "theta"), "Quantile: the smallest k with cdf(k) >= q"),
    Function("isf", isf, ("q", "mu", "theta"), "Inverse survival function: the smallest k "
             "with sf(k) <= q"),
    Function("entropy", entropy, ("mu", "theta"), "Entropy in nats, by exact summation"),
    Function("logpmf_grad", derivatives.logpmf_grad, ("k", "mu", "theta"),
             "Derivatives of the log-pmf in mu and theta", outputs=("d_mu", "d_theta"),
             fast=derivatives._grad_fast, slow=derivatives._logpmf_grad_slow, wide=True,
             columns=derivatives.GRAD_COLUMNS),
    Function("logpmf_hess", derivatives.logpmf_hess, ("k", "mu", "theta"),
             "Second derivatives of the log-pmf in (mu, theta)",
             outputs=("d_mu_mu", "d_mu_theta", "d_theta_theta")),
)

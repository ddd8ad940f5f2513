"""A gene's log-likelihood and the sums that both fits take from it: the
moments of the Poisson limit, the digamma parts over the distinct counts,
and the exact log-likelihood at the estimate."""
from ..._math import nbinom
from ..._math.derivatives import d2lgamma_ratio, dlgamma_ratio
from ..._math.special import add_compensated, log1p_fast
from .base import BIG_K, INF, TILE, helper, reducing, sum_rows


@reducing
def moments(kc, mc, nc):
    """(sum k, sum((k - mu)**2 - k), sum(mu**2), any mean invalid, any
    count > 0 where the mean is 0) over kc[:nc], mc[:nc]."""
    total = 0.0
    S = 0.0
    M2 = 0.0
    bad = False
    impossible = False
    for i in range(nc):
        k = kc[i]
        mu = mc[i]
        bad |= not ((mu >= 0.0) & (mu < INF))
        impossible |= (mu == 0.0) & (k > 0.0)
        total += k
        d = k - mu
        S += d * d - k
        M2 += mu * mu
    return total, S, M2, bad, impossible


@helper
def lgamma_parts(vals, tails, nd, theta):
    """sum_k dlgamma_ratio(k, theta) and sum_k d2lgamma_ratio(k, theta) over
    the counts k of a gene, from its sorted distinct nonzero counts and
    tails[l] = the number of counts >= vals[l] (telescoped: see the package
    docstring)."""
    a = 0.0
    b = 0.0
    prev = 0.0
    for l in range(nd):
        gap = vals[l] - prev
        base = theta + prev
        a += tails[l] * dlgamma_ratio(gap, base)
        b += tails[l] * d2lgamma_ratio(gap, base)
        prev = vals[l]
    return a, b


@helper
def loglik(gene, mc, m0, theta, mode, s, lgs, buf, sums):
    """The gene's log-likelihood at theta, from nbinom's log-pmf. ``mode``:

    0. per cell (means mc): the branch-free path over a tile, the general
       one where it gives NaN; exact to a few ulp per cell;
    1. the same mean m0 in every cell (the nonzero counts in kc, n0 zeros):
       per distinct count, exact;
    2. means s_i m0: per distinct count at the mean m0, plus per cell
       ``log pmf(k; s m0) - log pmf(k; m0) = k log s - (theta + k)
       log1p((s - 1) m0 / (theta + m0))`` (lgs = log s; one log per cell
       instead of two; absolute error a few ulp of k |log s|), for counts
       up to BIG_K; larger counts per cell as in mode 0.

    Tiles are summed by vectorized reductions, the tiles and the distinct
    counts with Neumaier's compensation (buf: (1, TILE), sums: 1)."""
    kc, nc, n0, vals, tails, nd, _ = gene
    s_ = 0.0
    c = 0.0
    out = buf[0]
    if mode >= 1:
        for l in range(nd):
            if mode == 2 and vals[l] > BIG_K:
                break
            f = tails[l] - (tails[l + 1] if l + 1 < nd else 0.0)
            s_, c = add_compensated(s_, c, f * nbinom.logpmf(vals[l], m0, theta))
        zeros = n0 + nc - (tails[0] if nd > 0 else 0.0)
        if zeros > 0:
            s_, c = add_compensated(s_, c, zeros * nbinom.logpmf(0.0, m0, theta))
        if mode == 1:
            return s_ + c
        r = m0 / (theta + m0) if theta < INF else 0.0
        for i0 in range(0, nc, TILE):
            L = min(TILE, nc - i0)
            k = kc[i0:i0 + L]
            si = s[i0:i0 + L]
            li = lgs[i0:i0 + L]
            if theta < INF:
                for i in range(L):
                    out[i] = k[i] * li[i] - (theta + k[i]) * log1p_fast((si[i] - 1.0) * r)
            else:
                for i in range(L):
                    out[i] = k[i] * li[i] - (si[i] - 1.0) * m0
            for i in range(L):
                if k[i] > BIG_K:
                    out[i] = nbinom.logpmf(k[i], si[i] * m0, theta)
            sum_rows(buf, L, sums)
            s_, c = add_compensated(s_, c, sums[0])
        return s_ + c
    for i0 in range(0, nc, TILE):
        L = min(TILE, nc - i0)
        k = kc[i0:i0 + L]
        mu = mc[i0:i0 + L]
        for i in range(L):
            out[i] = nbinom._logpmf_fast(k[i], mu[i], theta)
        for i in range(L):
            if out[i] != out[i]:
                out[i] = nbinom._logpmf_slow(k[i], mu[i], theta)
        sum_rows(buf, L, sums)
        s_, c = add_compensated(s_, c, sums[0])
    return s_ + c

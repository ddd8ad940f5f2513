"""The scipy.stats face: :data:`nbinom`, a drop-in for ``scipy.stats.nbinom``.

``nbinom(n, p, loc=0)`` follows scipy's positional convention (``n`` the
number of successes, ``p`` the success probability; invalid unless
``n > 0`` and ``0 < p <= 1``). Three keyword parameterizations are accepted
too, by the frozen constructor and by every unfrozen method:
``nbinom(mu=, theta=)``, ``nbinom(total_count=, probs=)`` and
``nbinom(total_count=, logits=)`` (torch/scvi conventions, see DESIGN.md;
``theta = inf`` is Poisson, ``theta = 0`` or ``mu = 0`` a point mass at 0).

CuPy arrays and torch CUDA tensors stay on their GPU (every method but
``entropy`` and ``expect``; 2-D shapes at most) and results come back in
their family.

Differences from scipy, all deliberate: float32 inputs give float32 results;
values are exact where scipy loses digits (Poisson limit, far tails);
``entropy`` and ``expect`` are vectorised sums, not Python loops.
"""
import functools
import math
from math import comb

import numpy as np
from numba import vectorize

from . import _params, sampling, ufuncs
from ._math import nbinom as _scalar

__all__ = ["nbinom"]

_KEYWORD_SETS = ({"mu", "theta"}, {"total_count", "probs"}, {"total_count", "logits"})


def _k_entropy(mu, theta):
    return _scalar.entropy(mu, theta)


@functools.cache
def _entropy():
    """The entropy ufunc, compiled on first use (keeps import cheap)."""
    return vectorize(["float64(float64, float64)"], cache=True)(_k_entropy)


def _parameters(args, kwds):
    """(mu, theta, loc, args, kwds) from scipy- or keyword-style parameters."""
    kwds = dict(kwds)
    loc = kwds.pop("loc", 0)
    if not args and {"n", "p"} <= set(kwds):
        args = (kwds.pop("n"), kwds.pop("p"))
    if args and kwds:
        raise TypeError("give either positional (n, p[, loc]) or keyword parameters "
                        "(mu, theta), (total_count, probs) or (total_count, logits), not both")
    if args:
        if len(args) == 3:
            args, loc = args[:2], args[2]
        if len(args) != 2:
            raise TypeError(f"nbinom takes (n, p[, loc]); got {len(args)} positional arguments")
        n, p = _params.as_float(*args)
        with np.errstate(invalid="ignore"):
            n = _params.astype(_params.namespace(n).where(n > 0, n, math.nan), _params.dtype(n))
        mu, theta = _params.from_scipy(n, p)
        return mu, theta, loc, tuple(args), {"loc": loc} if np.any(loc) else {}
    if set(kwds) not in _KEYWORD_SETS:
        raise TypeError("nbinom takes (n, p[, loc]) or exactly one of the keyword sets "
                        "(mu, theta), (total_count, probs), (total_count, logits) "
                        f"[, loc]; got {sorted(kwds) or 'nothing'}")
    mu, theta = _params.convert(**kwds)
    out = dict(kwds)
    if np.any(loc):
        out["loc"] = loc
    return mu, theta, loc, (), out


class nbinom_frozen:
    """A frozen NB distribution; see :data:`nbinom` for the parameters."""

    a = 0
    b = np.inf

    def __init__(self, *args, **kwds):
        self.mu, self.theta, self.loc, self.args, self.kwds = _parameters(args, kwds)
        self.dist = nbinom

    def __repr__(self):
        params = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwds.items()]
        return f"nbinom({', '.join(params)})"

    def _shift(self, k):
        return k if not np.any(self.loc) else _params.namespace(k).subtract(k, self.loc)

    def _unshift(self, k):
        return k if not np.any(self.loc) else _params.namespace(k).add(k, self.loc)

    def _xp(self):
        return _params.namespace(self.mu, self.theta)

    def _result(self, a):
        """Host results as scipy gives them (0-d as scalars); GPU arrays as they are."""
        return np.asarray(a)[()] if self._xp() is np else a

    # --------------------------------------------------------- elementwise
    def pmf(self, k):
        """Probability mass function."""
        return ufuncs.pmf(self._shift(k), self.mu, self.theta)

    def logpmf(self, k):
        """Log of the probability mass function."""
        return ufuncs.logpmf(self._shift(k), self.mu, self.theta)

    def cdf(self, k):
        """Cumulative distribution function P(X <= k)."""
        return ufuncs.cdf(self._shift(k), self.mu, self.theta)

    def logcdf(self, k):
        """Log of the cdf, finite wherever the cdf is positive."""
        return ufuncs.logcdf(self._shift(k), self.mu, self.theta)

    def sf(self, k):
        """Survival function P(X > k)."""
        return ufuncs.sf(self._shift(k), self.mu, self.theta)

    def logsf(self, k):
        """Log of the survival function, finite wherever sf is positive."""
        return ufuncs.logsf(self._shift(k), self.mu, self.theta)

    def ppf(self, q):
        """Percent point function: the smallest k with cdf(k) >= q."""
        return self._unshift(ufuncs.ppf(q, self.mu, self.theta))

    def isf(self, q):
        """Inverse survival function: the smallest k with sf(k) <= q."""
        return self._unshift(ufuncs.isf(q, self.mu, self.theta))

    # ------------------------------------------------------------ summaries
    def _broadcast(self):
        shape = np.broadcast_shapes(_params.shape(self.mu), _params.shape(self.theta))
        xp = self._xp()
        return xp.broadcast_to(self.mu, shape), xp.broadcast_to(self.theta, shape)

    def _moments_mu_theta(self):
        mu, theta = self._broadcast()
        with np.errstate(divide="ignore", invalid="ignore"):
            x = mu / theta
            p = 1.0 / (1.0 + x)
            var = mu * (1.0 + x)
            skew = (2.0 - p) / self._xp().sqrt(mu * p)
            kurt = (p * p + 6.0 * (1.0 - p)) / (mu * p)
        return mu, var, skew, kurt

    def stats(self, moments="mv"):
        """Mean ('m'), variance ('v'), skewness ('s') and excess kurtosis ('k')."""
        mu, var, skew, kurt = self._moments_mu_theta()
        out = {"m": mu + self.loc, "v": var, "s": skew, "k": kurt}
        res = tuple(self._result(out[m]) for m in moments)
        return res[0] if len(res) == 1 else res

    def mean(self):
        return self.stats("m")

    def var(self):
        return self.stats("v")

    def std(self):
        return self._xp().sqrt(self.stats("v"))

    def median(self):
        return self.ppf(0.5)

    def interval(self, confidence):
        """Equal-tail interval (ppf((1 - c) / 2), ppf((1 + c) / 2)), as scipy."""
        c = np.asarray(confidence)
        return self.ppf((1 - c) / 2), self.ppf((1 + c) / 2)

    def support(self):
        lo, hi = self._broadcast()[:2]
        return (np.asarray(np.zeros(np.shape(lo), np.int64) + self.loc)[()],
                np.asarray(np.full(np.shape(hi), np.inf) + self.loc)[()])

    def moment(self, order):
        """Non-central moment E[X**order] about 0, in closed form.

        E[X**n] = sum_r S(n, r) E[X (X-1) ... (X-r+1)] with Stirling numbers
        of the second kind and factorial moments prod_{i<r} (mu + i mu/theta);
        then shifted by loc.
        """
        order = int(order)
        if order < 0:
            raise ValueError("order must be a non-negative integer")
        mu, theta = self._broadcast()
        with np.errstate(divide="ignore", invalid="ignore"):
            x = mu / theta
        raw = []                # E[X**j], j = 0..order
        row = [1]               # Stirling numbers S(j, r), r = 0..j
        for j in range(order + 1):
            if j:
                row = [0] + [r * row[r] + row[r - 1] for r in range(1, j)] + [1]
            fact, total = self._xp().ones_like(mu), self._xp().zeros_like(mu)
            for r in range(j + 1):
                if r:
                    fact = fact * (mu + (r - 1) * x)
                total = total + row[r] * fact
            raw.append(total)
        loc = self.loc
        if not np.any(loc):
            return self._result(raw[order])
        # E[(X + loc)**order] by the binomial theorem
        res = sum(comb(order, j) * raw[j] * np.power(loc, order - j) for j in range(order + 1))
        return self._result(res)

    def entropy(self):
        """Entropy in nats, by exact summation (vectorised over parameters)."""
        if self._xp() is not np:
            raise TypeError("entropy is computed on the CPU: pass host parameters")
        mu, theta = self._broadcast()
        return np.asarray(_entropy()(mu.astype(np.float64), theta.astype(np.float64)))[()]

    def expect(self, func=None, lb=None, ub=None, conditional=False):
        """E[func(X)] over lb <= X <= ub (scalar parameters, like scipy).

        The sum runs over every k up to isf(1e-30), beyond which the mass
        cannot matter unless func grows faster than 1e13-fold there; func is
        called once on the whole vector of k, the sum is exactly rounded.
        """
        if _params.size(self.mu) != 1 or _params.size(self.theta) != 1:
            raise ValueError("expect needs scalar parameters, as in scipy")
        mu, theta = float(self.mu.reshape(-1)[0]), float(self.theta.reshape(-1)[0])
        lo = 0.0 if lb is None else max(0.0, np.ceil(lb - self.loc))
        top = float(ufuncs.isf(1e-30, mu, theta))
        hi = top if ub is None else min(top, np.floor(ub - self.loc))
        k = np.arange(lo, hi + 1.0)
        w = ufuncs.pmf(k, mu, theta)
        values = k + self.loc if func is None else func(k + self.loc)
        total = math.fsum(np.asarray(values, dtype=float) * w)
        if conditional:
            total /= ufuncs.cdf(hi, mu, theta) - ufuncs.cdf(lo - 1.0, mu, theta)
        return float(total)

    def rvs(self, size=None, random_state=None):
        """Random variates (int64) from nbnumba's counter-based sampler.

        ``random_state`` as in scipy (None, int, Generator, RandomState) or a
        SeedSequence; invalid parameters raise ValueError, as in scipy.
        """
        mu, theta = self._broadcast()
        draws = sampling.rvs(mu, theta, size=size, random_state=random_state)
        if not np.any(self.loc):
            return draws
        loc = np.asarray(self.loc, dtype=np.int64)
        return draws + (int(loc) if loc.ndim == 0 else loc)


class nbinom_gen:
    """``scipy.stats.nbinom`` with mu/theta and torch-style constructors.

    Call it to freeze (``nbinom(n, p)``, ``nbinom(mu=..., theta=...)``) or
    use its methods with the parameters after the first argument
    (``nbinom.pmf(k, n, p)``, ``nbinom.logpmf(k, mu=..., theta=...)``).
    """

    name = "nbinom"
    a = 0
    b = np.inf

    def __call__(self, *args, **kwds):
        return nbinom_frozen(*args, **kwds)

    freeze = __call__

    def __repr__(self):
        return "<nbnumba.stats.nbinom: Negative Binomial, scipy.stats API>"


def _unfrozen(name, takes_value=True):
    if takes_value:
        def method(self, x, *args, **kwds):
            return getattr(nbinom_frozen(*args, **kwds), name)(x)
    else:
        def method(self, *args, **kwds):
            extra = {k: kwds.pop(k) for k in ("moments", "size", "random_state", "func", "lb",
                                               "ub", "conditional", "confidence", "order")
                     if k in kwds}
            return getattr(nbinom_frozen(*args, **kwds), name)(**extra)
    method.__name__ = name
    method.__doc__ = getattr(nbinom_frozen, name).__doc__
    return method


for _name in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"):
    setattr(nbinom_gen, _name, _unfrozen(_name))
for _name in ("stats", "mean", "var", "std", "median", "entropy", "support", "rvs", "expect"):
    setattr(nbinom_gen, _name, _unfrozen(_name, takes_value=False))


def _interval(self, confidence, *args, **kwds):
    return nbinom_frozen(*args, **kwds).interval(confidence)


def _moment(self, order, *args, **kwds):
    return nbinom_frozen(*args, **kwds).moment(order)


nbinom_gen.interval = _interval
nbinom_gen.moment = _moment

#: The distribution object, like ``scipy.stats.nbinom``.
nbinom = nbinom_gen()

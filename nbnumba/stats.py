"""The scipy.stats face: :data:`nbinom`, a drop-in for ``scipy.stats.nbinom``.

``nbinom(n, p, loc=0)`` follows scipy's positional convention (``n`` the
number of successes, ``p`` the success probability; invalid unless
``n > 0`` and ``0 < p <= 1``). Three keyword parameterizations are accepted
too, by the frozen constructor and by every unfrozen method:
``nbinom(mu=, theta=)``, ``nbinom(total_count=, probs=)`` and
``nbinom(total_count=, logits=)`` (torch/scvi conventions, see the README's
parameterization table; ``theta = inf`` is Poisson, ``theta = 0`` or
``mu = 0`` a point mass at 0). :data:`zinbinom` is the zero-inflated NB in
the same form: the same keyword parameterizations plus exactly one of
``pi=`` and ``zi_logits=``.

CuPy arrays and torch CUDA tensors stay on their GPU (every method but
``entropy`` and ``expect``; 2-D shapes at most) and results come back in
their family.

Differences from scipy, all deliberate: float32 inputs give float32 results;
values are exact where scipy loses digits (Poisson limit, far tails);
``entropy`` and ``expect`` are vectorised sums, not Python loops.
"""
import math
from math import comb

import numpy as np

from . import _arrays, _params, sampling
from ._math import moments as _moments
from .ufuncs import dispatch

__all__ = ["nbinom", "zinbinom"]

_KEYWORD_SETS = ({"mu", "theta"}, {"total_count", "probs"}, {"total_count", "logits"})


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
    _distribution = "nbinom"

    def __init__(self, *args, **kwds):
        self.mu, self.theta, self.loc, self.args, self.kwds = _parameters(args, kwds)
        self.dist = nbinom

    @property
    def _ops(self):
        """The kernels' parameter operands."""
        return (self.mu, self.theta)

    def __repr__(self):
        params = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwds.items()]
        return f"{self.dist.name}({', '.join(params)})"

    def _call(self, name, x):
        return dispatch(self._distribution, name, (x,) + self._ops)

    def _shift(self, k):
        return k if not np.any(self.loc) else _params.namespace(k).subtract(k, self.loc)

    def _unshift(self, k):
        return k if not np.any(self.loc) else _params.namespace(k).add(k, self.loc)

    def _xp(self):
        return _params.namespace(*self._ops)

    def _result(self, a):
        """Host results as scipy gives them (0-d as scalars); GPU arrays as they are."""
        return np.asarray(a)[()] if self._xp() is np else a

    # --------------------------------------------------------- elementwise
    def pmf(self, k):
        """Probability mass function."""
        return self._call("pmf", self._shift(k))

    def logpmf(self, k):
        """Log of the probability mass function."""
        return self._call("logpmf", self._shift(k))

    def cdf(self, k):
        """Cumulative distribution function P(X <= k)."""
        return self._call("cdf", self._shift(k))

    def logcdf(self, k):
        """Log of the cdf, finite wherever the cdf is positive."""
        return self._call("logcdf", self._shift(k))

    def sf(self, k):
        """Survival function P(X > k)."""
        return self._call("sf", self._shift(k))

    def logsf(self, k):
        """Log of the survival function, finite wherever sf is positive."""
        return self._call("logsf", self._shift(k))

    def ppf(self, q):
        """Percent point function: the smallest k with cdf(k) >= q."""
        return self._unshift(self._call("ppf", q))

    def isf(self, q):
        """Inverse survival function: the smallest k with sf(k) <= q."""
        return self._unshift(self._call("isf", q))

    # ------------------------------------------------------------ summaries
    def _broadcast(self):
        shape = np.broadcast_shapes(*(_arrays.shape(a) for a in self._ops))
        xp = self._xp()
        return tuple(xp.broadcast_to(a, shape) for a in self._ops)

    def _keep(self, ops):
        """1 - pi for the zero-inflated NB; None for the NB."""
        return None

    def stats(self, moments="mv"):
        """Mean ('m'), variance ('v'), skewness ('s') and excess kurtosis ('k')."""
        ops = self._broadcast()
        m, v, s, k = _moments.stats(ops[0], ops[1], self._xp(), self._keep(ops))
        out = {"m": m + self.loc, "v": v, "s": s, "k": k}
        res = tuple(self._result(out[c]) for c in moments)
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
        """(0, inf) shifted by loc; (nan, nan) where the parameters are invalid, as scipy."""
        ops = self._broadcast()
        with np.errstate(invalid="ignore"):
            ok = np.asarray(np.isfinite(self.mean()))
        lo = np.where(ok, 0.0 + self.loc, np.nan)
        hi = np.where(ok, np.inf, np.nan)
        if not np.any(self.loc) and np.all(ok):
            lo = np.zeros(_arrays.shape(ops[0]), np.int64)
        return lo[()], hi[()]

    def moment(self, order):
        """Non-central moment E[X**order] about 0, in closed form (Stirling
        numbers of the second kind over the factorial moments), shifted by loc."""
        if isinstance(order, bool) or not float(order).is_integer() or order < 0:
            raise ValueError(f"order must be a non-negative integer; got {order!r}")
        order = int(order)
        ops = self._broadcast()
        xp = self._xp()
        keep = self._keep(ops)
        loc = self.loc
        if not np.any(loc):
            return self._result(_moments.raw(order, ops[0], ops[1], xp, keep))
        # E[(X + loc)**order] by the binomial theorem
        res = sum(comb(order, j) * _moments.raw(j, ops[0], ops[1], xp, keep)
                  * np.power(loc, order - j) for j in range(order + 1))
        return self._result(res)

    def entropy(self):
        """Entropy in nats, by exact summation (vectorised over parameters)."""
        if self._xp() is not np:
            raise TypeError("entropy is computed on the CPU: pass host parameters")
        return np.asarray(dispatch(self._distribution, "entropy", self._broadcast()))[()]

    def expect(self, func=None, lb=None, ub=None, conditional=False):
        """E[func(X)] over lb <= X <= ub (scalar parameters, like scipy).

        The sum runs over every k up to isf(1e-30), beyond which the mass
        cannot matter unless func grows faster than 1e13-fold there; func is
        called once on the whole vector of k, the sum is exactly rounded.
        NaN for invalid parameters.
        """
        if any(_arrays.size(a) != 1 for a in self._ops):
            raise ValueError("expect needs scalar parameters, as in scipy")
        ops = tuple(float(np.asarray(a).reshape(-1)[0]) for a in self._ops)
        lo = 0.0 if lb is None else max(0.0, np.ceil(lb - self.loc))
        top = float(dispatch(self._distribution, "isf", (1e-30,) + ops))
        if not np.isfinite(top):
            return math.nan
        hi = top if ub is None else min(top, np.floor(ub - self.loc))
        k = np.arange(lo, hi + 1.0)
        w = dispatch(self._distribution, "pmf", (k,) + ops)
        values = k + self.loc if func is None else func(k + self.loc)
        total = math.fsum(np.asarray(values, dtype=float) * w)
        if conditional:
            cdf = [dispatch(self._distribution, "cdf", (v,) + ops) for v in (hi, lo - 1.0)]
            total /= cdf[0] - cdf[1]
        return float(total)

    def rvs(self, size=None, random_state=None):
        """Random variates (int64; a Python int for one draw) from nbnumba's
        counter-based sampler.

        ``random_state`` as in scipy (None, int, Generator, RandomState), a
        SeedSequence or a torch.Generator; invalid parameters raise
        ValueError, as in scipy.
        """
        draws = sampling.sample(self._broadcast(), size, random_state)
        if not np.any(self.loc):
            return draws
        loc = np.asarray(self.loc, dtype=np.int64)
        return draws + (int(loc) if loc.ndim == 0 else loc)


class zinbinom_frozen(nbinom_frozen):
    """A frozen zero-inflated NB; see :data:`zinbinom` for the parameters."""

    _distribution = "zinb"

    def __init__(self, *args, **kwds):
        kwds = dict(kwds)
        pi, zl = kwds.pop("pi", None), kwds.pop("zi_logits", None)
        if args:
            raise TypeError("zinbinom takes keyword parameters: (mu, theta), "
                            "(total_count, probs) or (total_count, logits), and pi or zi_logits")
        self.zi_logits = _params.zi_logits(pi, zl)
        super().__init__(**kwds)
        self.kwds["pi" if pi is not None else "zi_logits"] = pi if pi is not None else zl
        self.dist = zinbinom

    @property
    def _ops(self):
        return (self.mu, self.theta, self.zi_logits)

    def _keep(self, ops):
        """1 - pi = sigmoid(-zi_logits)."""
        xp = self._xp()
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + xp.exp(ops[2]))


class nbinom_gen:
    """``scipy.stats.nbinom`` with mu/theta and torch-style constructors.

    Call it to freeze (``nbinom(n, p)``, ``nbinom(mu=..., theta=...)``) or
    use its methods with the parameters after the first argument
    (``nbinom.pmf(k, n, p)``, ``nbinom.logpmf(k, mu=..., theta=...)``).
    """

    name = "nbinom"
    a = 0
    b = np.inf
    _frozen = nbinom_frozen

    def __call__(self, *args, **kwds):
        return self._frozen(*args, **kwds)

    freeze = __call__

    def __repr__(self):
        return f"<nbnumba.stats.{self.name}: scipy.stats API>"


class zinbinom_gen(nbinom_gen):
    """The zero-inflated NB with the frozen and unfrozen forms of
    :data:`nbinom`: ``zinbinom(mu=, theta=, pi=)`` (or ``zi_logits=``; or
    ``total_count=`` with ``probs=`` / ``logits=``), ``zinbinom.pmf(k,
    mu=..., theta=..., pi=...)``."""

    name = "zinbinom"
    _frozen = zinbinom_frozen


def _unfrozen(name, takes_value=True):
    if takes_value:
        def method(self, x, *args, **kwds):
            return getattr(self._frozen(*args, **kwds), name)(x)
    else:
        def method(self, *args, **kwds):
            extra = {k: kwds.pop(k) for k in ("moments", "size", "random_state", "func", "lb",
                                               "ub", "conditional", "confidence", "order")
                     if k in kwds}
            return getattr(self._frozen(*args, **kwds), name)(**extra)
    method.__name__ = name
    method.__doc__ = getattr(nbinom_frozen, name).__doc__
    return method


for _name in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"):
    setattr(nbinom_gen, _name, _unfrozen(_name))
for _name in ("stats", "mean", "var", "std", "median", "entropy", "support", "rvs", "expect"):
    setattr(nbinom_gen, _name, _unfrozen(_name, takes_value=False))


def _interval(self, confidence, *args, **kwds):
    return self._frozen(*args, **kwds).interval(confidence)


def _moment(self, order, *args, **kwds):
    return self._frozen(*args, **kwds).moment(order)


nbinom_gen.interval = _interval
nbinom_gen.moment = _moment

#: The distribution object, like ``scipy.stats.nbinom``.
nbinom = nbinom_gen()
#: The zero-inflated NB, in the same form.
zinbinom = zinbinom_gen()

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
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import ArrayLike

from . import _arrays, _params, sampling
from ._math import moments as _moments
from ._typing import Seed, Size
from .ufuncs import dispatch

__all__ = ["nbinom", "zinbinom"]

_KEYWORD_SETS = ({"mu", "theta"}, {"total_count", "probs"}, {"total_count", "logits"})
_SCIPY_NAMES = ("n", "p", "loc")


def _parameters(args, kwds, **zero_inflation):
    """(parameters, loc) from scipy- or keyword-style parameters: a
    :class:`nbnumba._params.Parameters`. scipy's (n, p[, loc]) may be given
    positionally, by name or both (``nbinom(5, p=0.3)``), as in scipy."""
    kwds = dict(kwds)
    if len(args) > 3:
        raise TypeError(f"nbinom takes (n, p[, loc]); got {len(args)} positional arguments")
    vals = dict(zip(_SCIPY_NAMES, args))
    for name in _SCIPY_NAMES:
        if name in kwds:
            if name in vals:
                raise TypeError(f"nbinom got multiple values for argument {name!r}")
            vals[name] = kwds.pop(name)
    loc = vals.pop("loc", 0)
    _arrays.check(loc, "loc")
    if vals:
        if kwds:
            raise TypeError("give either positional (n, p[, loc]) or keyword parameters "
                            "(mu, theta), (total_count, probs) or (total_count, logits), not both")
        if set(vals) != {"n", "p"}:
            raise TypeError(f"nbinom takes (n, p[, loc]); got only {sorted(vals)}")
        return _params.Parameters.parse(n=vals["n"], p=vals["p"], **zero_inflation), loc
    if set(kwds) not in _KEYWORD_SETS:
        raise TypeError("nbinom takes (n, p[, loc]) or exactly one of the keyword sets "
                        "(mu, theta), (total_count, probs), (total_count, logits) "
                        f"[, loc]; got {sorted(kwds) or 'nothing'}")
    return _params.Parameters.parse(**kwds, **zero_inflation), loc


def _check_order(order):
    """order as a non-negative int; TypeError / ValueError naming it."""
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, float, np.integer,
                                                                      np.floating)):
        raise TypeError(f"order must be a non-negative integer; got {order!r}")
    if not (math.isfinite(order) and float(order).is_integer() and order >= 0):
        raise ValueError(f"order must be a non-negative integer; got {order!r}")
    return int(order)


class nbinom_frozen:
    """A frozen NB distribution; see :data:`nbinom` for the parameters."""

    a = 0
    b = np.inf
    _distribution = "nbinom"

    def __init__(self, *args: Any, **kwds: Any) -> None:
        self._init(args, kwds)
        self.dist = nbinom

    def _init(self, args, kwds, **zero_inflation):
        p, self.loc = _parameters(args, kwds, **zero_inflation)
        self._p = p
        self.mu, self.theta = p.mu, p.theta
        self.args = tuple(args)
        self.kwds = dict(kwds)
        self._mask = p.mask

    @property
    def random_state(self):
        """The RandomState or Generator ``rvs`` uses when given none (scipy's
        attribute; set it to None, an int, a RandomState or a Generator)."""
        return self.__dict__.get("_random_state", self.dist.random_state)

    @random_state.setter
    def random_state(self, seed):
        self._random_state = _check_random_state(seed)

    @property
    def _ops(self):
        """The kernels' parameter operands."""
        return (self.mu, self.theta)

    def __repr__(self):
        params = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwds.items()]
        return f"{self.dist.name}({', '.join(params)})"

    def _call(self, name, x, argname="k"):
        _arrays.check(x, argname)
        return _arrays.remask(self._p.call(name, x), self._mask)

    @property
    def _has_loc(self):
        """Whether loc shifts anything: nonzero, or an array (which broadcasts)."""
        return np.ndim(self.loc) > 0 or self.loc != 0

    def _shift(self, k):
        return _params.namespace(k).subtract(k, self.loc) if self._has_loc else k

    def _unshift(self, k):
        return _params.namespace(k).add(k, self.loc) if self._has_loc else k

    def _xp(self):
        return _params.namespace(*self._ops)

    def _result(self, a):
        """Host results as scipy gives them (0-d as scalars), masked where a
        parameter is; GPU arrays as they are."""
        if self._xp() is not np:
            return a
        a = np.asarray(a)[()]
        return a if self._mask is None else _arrays.remask(a, self._mask)

    # --------------------------------------------------------- elementwise
    def pmf(self, k: ArrayLike) -> Any:
        """Probability mass function at k."""
        return self._call("pmf", self._shift(k))

    def logpmf(self, k: ArrayLike) -> Any:
        """Log of the probability mass function at k."""
        return self._call("logpmf", self._shift(k))

    def cdf(self, k: ArrayLike) -> Any:
        """Cumulative distribution function P(X <= k)."""
        return self._call("cdf", self._shift(k))

    def logcdf(self, k: ArrayLike) -> Any:
        """Log of the cdf at k, finite wherever the cdf is positive."""
        return self._call("logcdf", self._shift(k))

    def sf(self, k: ArrayLike) -> Any:
        """Survival function P(X > k)."""
        return self._call("sf", self._shift(k))

    def logsf(self, k: ArrayLike) -> Any:
        """Log of the survival function at k, finite wherever sf is positive."""
        return self._call("logsf", self._shift(k))

    def ppf(self, q: ArrayLike) -> Any:
        """Percent point function: the smallest k with cdf(k) >= q."""
        return self._unshift(self._call("ppf", q, "q"))

    def isf(self, q: ArrayLike) -> Any:
        """Inverse survival function: the smallest k with sf(k) <= q."""
        return self._unshift(self._call("isf", q, "q"))

    # ------------------------------------------------------------ summaries
    def _broadcast(self):
        shape = np.broadcast_shapes(*(_arrays.shape(a) for a in self._ops))
        xp = self._xp()
        return tuple(xp.broadcast_to(a, shape) for a in self._ops)

    def _keep(self, ops):
        """1 - pi for the zero-inflated NB; None for the NB."""
        return None

    def _point(self, ops):
        """Where the distribution is a point mass at 0: mu = 0 or theta = 0
        (or pi = 1 for the zero-inflated NB)."""
        point = (ops[0] == 0) | (ops[1] == 0)
        keep = self._keep(ops)
        return point if keep is None else point | (keep == 0)

    def stats(self, moments: str = "mv") -> Any:
        """Mean ('m'), variance ('v'), skewness ('s') and excess kurtosis ('k')
        of the letters in ``moments``. A point mass (mu = 0 or theta = 0)
        has mean and variance 0 and, as scipy's nbinom at p = 1, infinite
        skewness and kurtosis."""
        if not isinstance(moments, str) or set(moments) - set("mvsk"):
            raise ValueError(f"moments must be a string of the letters 'mvsk'; got {moments!r}")
        ops = self._broadcast()
        xp = self._xp()
        m, v, s, k = _moments.stats(ops[0], ops[1], xp,
                                    zi_logits=ops[2] if len(ops) > 2 else None)
        point = self._point(ops)
        with np.errstate(invalid="ignore"):
            m = xp.where(point, 0.0, m)
            s = xp.where(point, math.inf, s)
            k = xp.where(point, math.inf, k)
        if set(moments) & set("sk"):
            s, k = self._p.far_moments(s, k)
        out = {"m": m + self.loc, "v": v, "s": s, "k": k}
        res = tuple(self._result(out[c]) for c in moments)
        return res[0] if len(res) == 1 else res

    def mean(self) -> Any:
        """The mean (0 for a point mass at 0)."""
        return self.stats("m")

    def var(self) -> Any:
        """The variance (0 for a point mass)."""
        return self.stats("v")

    def std(self) -> Any:
        """The standard deviation."""
        v = self.stats("v")
        if isinstance(v, np.ma.MaskedArray):
            return _arrays.remask(np.sqrt(np.ma.getdata(v)), np.ma.getmaskarray(v))
        return self._xp().sqrt(v)

    def median(self) -> Any:
        """The median, ppf(0.5)."""
        return self.ppf(0.5)

    def interval(self, confidence: ArrayLike) -> Any:
        """Equal-tail interval (ppf((1 - c) / 2), ppf((1 + c) / 2)) of
        probability ``confidence``, as scipy (NaN outside [0, 1])."""
        c = np.asarray(_arrays.check(confidence, "confidence"), np.float64)
        return self.ppf((1 - c) / 2), self.ppf((1 + c) / 2)

    def support(self) -> Any:
        """(0, inf) shifted by loc; (nan, nan) where the parameters are invalid, as scipy."""
        ops = self._broadcast()
        with np.errstate(invalid="ignore"):
            ok = np.asarray(np.isfinite(self.mean()))
        lo = np.where(ok, 0.0 + self.loc, np.nan)
        hi = np.where(ok, np.inf, np.nan)
        if not self._has_loc and np.all(ok):
            lo = np.zeros(_arrays.shape(ops[0]), np.int64)
        return _arrays.remask(lo[()], self._mask), _arrays.remask(hi[()], self._mask)

    def moment(self, order: int) -> Any:
        """Non-central moment E[X**order] about 0, in closed form (Stirling
        numbers of the second kind over the factorial moments), shifted by
        loc. ``order``: a non-negative integer. NaN for invalid parameters;
        a point mass at 0 has moments 1, 0, 0, ..."""
        order = _check_order(order)
        ops = self._broadcast()
        xp = self._xp()
        keep = self._keep(ops)
        point = self._point(ops)

        def raw(j):
            r = _moments.raw(j, ops[0], ops[1], xp, keep)
            with np.errstate(invalid="ignore"):
                r = xp.where(point, 1.0 if j == 0 else 0.0, r)
                bad = xp.isnan(ops[0]) | xp.isnan(ops[1])
                if keep is not None:
                    bad = bad | xp.isnan(keep)
                return xp.where(bad, math.nan, r)

        loc = self.loc
        if not self._has_loc:
            return self._result(raw(order))
        # E[(X + loc)**order] by the binomial theorem
        res = sum(comb(order, j) * raw(j) * np.power(loc, order - j) for j in range(order + 1))
        return self._result(res)

    def entropy(self) -> Any:
        """Entropy in nats, by exact summation (vectorised over parameters)."""
        if any(_arrays.on_device(a) for a in self._ops):
            raise TypeError("entropy is computed on the CPU: pass host parameters")
        return self._result(self._p.call("entropy"))

    def expect(self, func: Optional[Callable[..., Any]] = None, lb: Optional[ArrayLike] = None,
               ub: Optional[ArrayLike] = None, conditional: bool = False, **kwds: Any) -> Any:
        """E[func(X)] over lb <= X <= ub (scalar parameters, like scipy).

        The sum runs over every k up to isf(1e-30), beyond which the mass
        cannot matter unless func grows faster than 1e13-fold there; func is
        called once on the whole vector of k, the sum is exactly rounded.
        NaN for invalid parameters. scipy's ``maxcount``, ``tolerance`` and
        ``chunksize`` are accepted and not needed.
        """
        unknown = set(kwds) - {"maxcount", "tolerance", "chunksize"}
        if unknown:
            raise TypeError(f"expect() got unexpected keyword arguments {sorted(unknown)}")
        if func is not None and not callable(func):
            raise TypeError(f"func must be callable; got {type(func).__name__}")
        for name, b in (("lb", lb), ("ub", ub)):
            if b is not None and (isinstance(b, (bool, np.bool_)) or np.ndim(b)
                                  or not isinstance(np.asarray(b).item(), (int, float))):
                raise TypeError(f"{name} must be a real number; got {b!r}")
        if any(_arrays.size(a) != 1 for a in self._ops):
            raise ValueError("expect needs scalar parameters, as in scipy")
        ops = tuple(float(np.asarray(a).reshape(-1)[0]) for a in self._p.operands())
        row = self._p.row
        loc = float(np.asarray(self.loc))
        lo = 0.0 if lb is None else max(0.0, np.ceil(lb - loc))
        top = float(dispatch(*row("isf"), (1e-30,) + ops))
        if not np.isfinite(top):
            return math.nan
        hi = top if ub is None else min(top, np.floor(ub - loc))
        k = np.arange(lo, hi + 1.0)
        w = dispatch(*row("pmf"), (k,) + ops)
        values = k + loc if func is None else func(k + loc)
        total = math.fsum(np.asarray(values, dtype=float) * w)
        if conditional:
            cdf = [dispatch(*row("cdf"), (v,) + ops) for v in (hi, lo - 1.0)]
            total /= cdf[0] - cdf[1]
        return float(total)

    def rvs(self, size: Size = None, random_state: Seed = None) -> Any:
        """Random variates (int64; a Python int for one draw) from nbnumba's
        counter-based sampler, of shape ``size`` (default: the parameters').

        ``random_state``: None (this object's ``random_state``, by default
        NumPy's global state, as scipy), an int or a SeedSequence (a key
        derived from it), a Generator or a RandomState (a key drawn from
        it), a torch.Generator, or a pair of ints in [0, 2**32): the
        Philox key itself, by design. Anything else raises ValueError.
        Invalid parameters raise ValueError, as in scipy.
        """
        if random_state is None:
            random_state = self.random_state
        draws = sampling.sample(self._broadcast(), size, random_state)
        if self._has_loc:
            loc = np.asarray(self.loc, dtype=np.int64)
            draws = draws + (int(loc) if loc.ndim == 0 else loc)
        if self._mask is None or isinstance(draws, int):
            return draws
        return _arrays.remask(draws, self._mask)


class zinbinom_frozen(nbinom_frozen):
    """A frozen zero-inflated NB; see :data:`zinbinom` for the parameters."""

    _distribution = "zinb"

    def __init__(self, *args: Any, **kwds: Any) -> None:
        kwds = dict(kwds)
        pi, zl = kwds.pop("pi", None), kwds.pop("zi_logits", None)
        if args:
            raise TypeError("zinbinom takes keyword parameters: (mu, theta), "
                            "(total_count, probs) or (total_count, logits), and pi or zi_logits")
        self._init(args, kwds, zero_inflated=True, pi=pi, zi_logits=zl)
        self.zi_logits = self._p.zi_logits
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


def _check_random_state(seed):
    """scipy's rule for the ``random_state`` attribute: None gives NumPy's
    global RandomState, an int a RandomState seeded with it; Generators and
    RandomStates as they are."""
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        return np.random.RandomState(seed)
    raise ValueError(f"random_state must be None, an int, a RandomState or a Generator; "
                     f"got {seed!r}")


class nbinom_gen:
    """``scipy.stats.nbinom`` with mu/theta and torch-style constructors.

    Call it to freeze (``nbinom(n, p)``, ``nbinom(mu=..., theta=...)``) or
    use its methods with the parameters after the first argument
    (``nbinom.pmf(k, n, p)``, ``nbinom.logpmf(k, mu=..., theta=...)``).
    ``random_state`` is scipy's attribute: the default of ``rvs``.
    """

    name = "nbinom"
    shapes = "n, p"
    numargs = 2
    a = 0
    b = np.inf
    _frozen = nbinom_frozen
    # the unfrozen methods, set below from the frozen ones (declared for type checkers)
    pmf: Callable[..., Any]
    logpmf: Callable[..., Any]
    cdf: Callable[..., Any]
    logcdf: Callable[..., Any]
    sf: Callable[..., Any]
    logsf: Callable[..., Any]
    ppf: Callable[..., Any]
    isf: Callable[..., Any]
    stats: Callable[..., Any]
    mean: Callable[..., Any]
    var: Callable[..., Any]
    std: Callable[..., Any]
    median: Callable[..., Any]
    entropy: Callable[..., Any]
    support: Callable[..., Any]
    interval: Callable[..., Any]
    moment: Callable[..., Any]

    def __call__(self, *args: Any, **kwds: Any) -> nbinom_frozen:
        return self._frozen(*args, **kwds)

    freeze = __call__

    @property
    def random_state(self):
        """The RandomState or Generator ``rvs`` uses when given none (default:
        NumPy's global RandomState, as scipy)."""
        return self.__dict__.get("_random_state", np.random.mtrand._rand)

    @random_state.setter
    def random_state(self, seed):
        self._random_state = _check_random_state(seed)

    def __getstate__(self):
        state = dict(self.__dict__)
        if state.get("_random_state") is np.random.mtrand._rand:
            del state["_random_state"]
        return state

    def __repr__(self):
        return f"<nbnumba.stats.{self.name}: scipy.stats API>"

    def expect(self, func: Optional[Callable[..., Any]] = None, args: tuple[Any, ...] = (),
               loc: ArrayLike = 0, lb: Optional[ArrayLike] = None, ub: Optional[ArrayLike] = None,
               conditional: bool = False, **kwds: Any) -> Any:
        """E[func(X)] over lb <= X <= ub for the parameters ``args`` (scipy's
        signature; keyword parameterizations as further keywords)."""
        extra = {k: kwds.pop(k) for k in ("maxcount", "tolerance", "chunksize") if k in kwds}
        frozen = self._frozen(*args, loc=loc, **kwds) if np.any(loc) else self._frozen(*args,
                                                                                        **kwds)
        return frozen.expect(func, lb, ub, conditional, **extra)

    def rvs(self, *args: Any, size: Size = None, random_state: Seed = None, **kwds: Any) -> Any:
        """Random variates of shape ``size``: ``rvs(n, p[, loc[, size]],
        random_state=...)`` as scipy, or with keyword parameters; see
        ``nbinom_frozen.rvs``."""
        if len(args) == 4 and size is None:
            args, size = args[:3], args[3]
        frozen = self._frozen(*args, **kwds)
        return frozen.rvs(size=size, random_state=self.random_state if random_state is None
                          else random_state)


class zinbinom_gen(nbinom_gen):
    """The zero-inflated NB with the frozen and unfrozen forms of
    :data:`nbinom`: ``zinbinom(mu=, theta=, pi=)`` (or ``zi_logits=``; or
    ``total_count=`` with ``probs=`` / ``logits=``), ``zinbinom.pmf(k,
    mu=..., theta=..., pi=...)``."""

    name = "zinbinom"
    shapes = None
    numargs = 0
    _frozen = zinbinom_frozen


def _unfrozen(name, first=None):
    """The unfrozen form of method ``name``: its first argument ``first``
    (k, q, order, confidence; None for none), then the parameters."""
    if first is not None:
        ns = {}
        exec(f"def {name}(self, {first}, *args, **kwds):\n"
             f"    return getattr(self._frozen(*args, **kwds), {name!r})({first})\n", ns)
        method = ns[name]
    else:
        def method(self, *args, **kwds):
            extra = {k: kwds.pop(k) for k in ("moments",) if k in kwds}
            if name == "stats" and len(args) == 4 and not extra:
                args, extra = args[:3], {"moments": args[3]}     # scipy's (n, p, loc, moments)
            return getattr(self._frozen(*args, **kwds), name)(**extra)
        method.__name__ = name
    doc = getattr(nbinom_frozen, name).__doc__
    method.__doc__ = doc + (f"\n\n        Unfrozen: ``nbinom.{name}({first + ', ' if first else ''}"
                            "*args, **kwds)``, the parameters as the constructor's.")
    return method


for _name in ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"):
    setattr(nbinom_gen, _name, _unfrozen(_name, "k"))
for _name in ("ppf", "isf"):
    setattr(nbinom_gen, _name, _unfrozen(_name, "q"))
for _name in ("stats", "mean", "var", "std", "median", "entropy", "support"):
    setattr(nbinom_gen, _name, _unfrozen(_name))
nbinom_gen.interval = _unfrozen("interval", "confidence")
nbinom_gen.moment = _unfrozen("moment", "order")

#: The distribution object, like ``scipy.stats.nbinom``.
nbinom = nbinom_gen()
#: The zero-inflated NB, in the same form.
zinbinom = zinbinom_gen()

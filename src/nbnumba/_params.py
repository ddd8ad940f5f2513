"""Parameterizations of the Negative Binomial, all converted to (mu, theta).

=====================  ============  ==============================
given                  theta         mu
=====================  ============  ==============================
mu, theta              theta         mu
total_count, probs     total_count   total_count probs / (1 - probs)
total_count, logits    total_count   total_count exp(logits)
n, p (scipy)           n             n (1 - p) / p
=====================  ============  ==============================

torch's ``probs`` is the probability of a *success* (a count),
``probs = mu / (mu + theta)``; scipy's ``p = theta / (theta + mu)`` is its
complement. Conversions are elementwise, keep float32 as float32 (Python
scalars as float64) and never raise: out-of-range inputs map to values the
kernels treat as invalid (NaN results). They run in the parameters' own
array module: NumPy (Dask lazily), or CuPy / torch for their GPU arrays, on
the device and without copies. Non-numeric parameters (strings, complex,
objects) raise TypeError naming the parameter. The public conversions
keep masks (masked in, masked out, as :mod:`nbnumba._arrays`).

Where ``total_count exp(logits)`` (or ``total_count probs / (1 - probs)``)
under- or overflows the parameters' dtype, the mean cannot be held as a
number while the distribution is perfectly regular (``total_count = 2,
logits = -800`` has ``log p(1) = -799.31``): :class:`FarMean` keeps the
logits of those elements, and the faces evaluate them from the logits
(exponential tilting of a representable neighbour; see its docstring).
"""
import functools
import importlib
import math

import numpy as np

from ._arrays import (check, dtype, is_dask, is_torch, on_device, remask,
                      small_float, union_mask)

PARAMETERIZATIONS = (("mu", "theta"), ("total_count", "probs"),
                     ("total_count", "logits"))


def namespace(*arrays):
    """The array module the parameters live in: NumPy, torch (CPU or CUDA
    tensors), or CuPy. Host arrays are never moved to the GPU implicitly."""
    device = [a for a in arrays if on_device(a)]
    if not device:
        if any(is_torch(a) for a in arrays):
            import torch
            return torch
        return np
    mod = type(device[0]).__module__.split(".")[0]
    if mod not in ("cupy", "torch"):
        raise TypeError("the distribution objects take CuPy arrays or torch CUDA tensors on "
                        "the GPU; use nbnumba.gpu for numba device arrays")
    if any(not on_device(a) and np.ndim(a) for a in arrays):
        raise TypeError("host arrays are not moved to the GPU implicitly: pass device "
                        "arrays (or scalars) for every parameter")
    return importlib.import_module(mod)


def astype(a, dtype):
    """a as NumPy dtype ``dtype`` (no copy where it already is)."""
    if is_torch(a):
        import torch
        return a.to(getattr(torch, np.dtype(dtype).name))
    return a.astype(dtype, copy=False)


def as_float(*arrays, names=None):
    """Convert to floating arrays of one common dtype: float32 where all
    are float32 or float16, else float64 (Python scalars count as float64).

    NumPy arrays, scalars and anything np.asarray takes; Dask arrays stay
    lazy; CuPy arrays and torch CUDA tensors stay on their device. Masked
    arrays give their data (the callers keep the masks). ``names``: the
    parameters' names, for the TypeError that non-numbers raise.
    """
    arrays = [check(a, names[i] if names else f"parameter {i + 1}")
              for i, a in enumerate(arrays)]
    arrays = [np.ma.getdata(a) if isinstance(a, np.ma.MaskedArray) else a for a in arrays]
    xp = namespace(*arrays)
    if xp is np:
        arrays = [a if is_dask(a) else np.asarray(a) for a in arrays]
    else:
        like = next((a for a in arrays if on_device(a)), None) or next(
            a for a in arrays if is_torch(a))
        kw = {"device": like.device} if xp.__name__ == "torch" else {}
        arrays = [a if on_device(a) or is_torch(a) else xp.asarray(np.asarray(a), **kw)
                  for a in arrays]
    # float32 only where every array is float32 (or float16): integers are
    # read in float64, as by the ufuncs (int16 must not round to float32)
    small = all(small_float(dtype(a)) for a in arrays)
    common = np.dtype(np.float32 if small else np.float64)
    return [astype(a, common) for a in arrays]


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def _keep_masks(f):
    """The public conversion: masked inputs give masked outputs (the union
    of the masks), as every elementwise function."""
    @functools.wraps(f)
    def public(*args):
        mask = union_mask(*args)
        res = f(*args)
        if mask is None:
            return res
        return tuple(remask(r, mask) for r in res) if isinstance(res, tuple) else remask(res, mask)
    return public


def _from_probs(total_count, probs):
    """(total_count, probs) -> (mu, theta)."""
    total_count, probs = as_float(total_count, probs, names=("total_count", "probs"))
    xp = namespace(total_count, probs)
    with _errstate():
        # 1 - probs is exact for probs >= 1/2 (Sterbenz), so no digit is lost.
        mu = total_count * (probs / (1 - probs))
        mu = xp.where((probs >= 0) & (probs < 1), mu, math.nan)
    return astype(mu, dtype(total_count)), total_count


def _from_logits(total_count, logits):
    """(total_count, logits) -> (mu, theta), with logits = log(mu / theta).

    mu underflows to 0 (overflows to inf) where the mean is below (above)
    the dtype's range: the faces keep the logits there (:class:`FarMean`)."""
    total_count, logits = as_float(total_count, logits, names=("total_count", "logits"))
    xp = namespace(total_count, logits)
    with _errstate():
        mu = total_count * xp.exp(logits)
        # exp(logits) alone may overflow or underflow while mu does not.
        far = (~xp.isfinite(mu) | (mu == 0)) & (total_count > 0)
        if xp.any(far):
            mu = xp.where(far, xp.exp(logits + xp.log(total_count)), mu)
    return astype(mu, dtype(total_count)), total_count


def _from_scipy(n, p):
    """scipy's (n, p) -> (mu, theta); p outside (0, 1] gives NaN."""
    n, p = as_float(n, p, names=("n", "p"))
    xp = namespace(n, p)
    with _errstate():
        mu = n * ((1 - p) / p)
        mu = xp.where((p > 0) & (p <= 1), mu, math.nan)
    return astype(mu, dtype(n)), n


def _to_probs(mu, theta):
    """torch's success probability mu / (mu + theta)."""
    mu, theta = as_float(mu, theta, names=("mu", "theta"))
    xp = namespace(mu, theta)
    with _errstate():
        return astype(xp.where(xp.isinf(theta), 0.0 * mu, mu / (mu + theta)), dtype(mu))


def _to_logits(mu, theta):
    """log(mu / theta)."""
    mu, theta = as_float(mu, theta, names=("mu", "theta"))
    xp = namespace(mu, theta)
    with _errstate():
        return astype(xp.log(mu) - xp.log(theta), dtype(mu))


def _to_scipy(mu, theta):
    """scipy's (n, p) = (theta, theta / (theta + mu))."""
    mu, theta = as_float(mu, theta, names=("mu", "theta"))
    xp = namespace(mu, theta)
    with _errstate():
        p = xp.where(xp.isinf(theta), 1.0 + 0.0 * mu, 1.0 / (1.0 + mu / theta))
    return theta, astype(p, dtype(mu))


from_probs = _keep_masks(_from_probs)
from_logits = _keep_masks(_from_logits)
from_scipy = _keep_masks(_from_scipy)
to_probs = _keep_masks(_to_probs)
to_logits = _keep_masks(_to_logits)
to_scipy = _keep_masks(_to_scipy)


def convert(**params):
    """Exactly one parameterization by keyword -> (mu, theta) arrays.

    Raises ValueError naming the accepted combinations otherwise.
    """
    given = {k for k, v in params.items() if v is not None}
    if given == {"mu", "theta"}:
        return as_float(params["mu"], params["theta"], names=("mu", "theta"))
    if given == {"total_count", "probs"}:
        return _from_probs(params["total_count"], params["probs"])
    if given == {"total_count", "logits"}:
        return _from_logits(params["total_count"], params["logits"])
    accepted = " or ".join("(" + ", ".join(c) + ")" for c in PARAMETERIZATIONS)
    raise ValueError(f"give exactly one parameterization: {accepted}; "
                     f"got {sorted(given) or 'none'}")


def zi_logits(pi=None, zi_logits=None):
    """The zero-inflation logit log(pi / (1 - pi)) from exactly one of
    ``pi`` (in [0, 1]; other values give NaN) and ``zi_logits`` (as is).
    A Python number gives a Python float (weak in the dtype policy)."""
    if (pi is None) == (zi_logits is None):
        raise ValueError("give exactly one of pi and zi_logits")
    if pi is None:
        return check(zi_logits, "zi_logits")
    mask = union_mask(pi)
    python = isinstance(pi, (bool, int, float))
    (pi,) = as_float(pi, names=("pi",))
    xp = namespace(pi)
    with _errstate():
        z = xp.log(pi) - xp.log1p(-pi)
        z = xp.where((pi >= 0) & (pi <= 1), z, math.nan)
    # a Python number stays one: it does not decide the result dtype
    return float(z) if python else remask(z, mask)


class ZeroInflation:
    """How the zero-inflated NB's public functions take the zero inflation:
    ``pi`` positionally or ``zi_logits`` by keyword, converted to the
    logit the kernels take."""

    __doc__ = ("    pi : array_like, optional\n"
               "        Zero-inflation probability in [0, 1] (give this or zi_logits).\n"
               "    zi_logits : array_like, optional (keyword)\n"
               "        Its logit log(pi / (1 - pi)), as scvi-tools; exact at the extremes.\n")

    @staticmethod
    def signature(operands):
        """(parameters, call arguments) of a generated function."""
        head = ", ".join(operands[:-1])
        return f"{head}, pi=None, *, zi_logits=None", f"{head}, _convert(pi, zi_logits)"

    __call__ = staticmethod(zi_logits)


# ---------------------------------------------------------------------------
# Means beyond the floating range, kept as logits


def _softplus(x):
    """log(1 + exp(x)), exact for any x."""
    return np.logaddexp(0.0, x)


def _log_sigmoid(x):
    """log(1 / (1 + exp(-x))), exact for any x."""
    return -np.logaddexp(0.0, -x)


def _log1mexp(x):
    """log(1 - exp(x)) for x <= 0, exact at both ends."""
    with _errstate():
        return np.where(x > -0.6931471805599453, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


#: Below this logit the NB's upper tail is its first term to double
#: precision (the next ratio is at most exp(L) (1 + theta) < 1e-17 there).
_LOW_LOGIT = -40.0
#: Bisection over the bit patterns of [0, inf] (ppf and isf).
_INF_BITS = int(np.float64(np.inf).view(np.int64))


class FarMean:
    """Elements whose mean ``theta exp(L)`` (L the logit, ``log(mu / theta)``)
    lies outside the normal range of the parameters' dtype, evaluated from
    (theta, L) instead of the under- or overflowed mean.

    The log-pmf is exact for any L by exponential tilting: with ``p =
    sigmoid(L)``, ``log p(k; L) = log p(k; L') + k (log p - log p') - theta
    (softplus(L) - softplus(L'))`` for any L', which is taken so that the
    kernels' mean ``theta exp(L')`` is an ordinary number. Beyond it:

    - mean below the range (L <= -40): the upper tail is its first term,
      ``log sf(k) = log p(floor(k) + 1)``, ``log cdf = log1p(-sf)``; entropy
      ``p(1) (1 - log p(1))`` (both to double precision);
    - mean above the range: ``log cdf(k) = log p(k) + log1p(k / theta) +
      log p + log 2F1(theta + k + 1, 1; theta + 1; 1 - p)`` (the incomplete
      beta's hypergeometric series, which converges there because k < mean;
      for theta < 0.1 and k >= 1e15 with lgamma(k + 1 + theta) - lgamma(k +
      1) by Stirling, where the first two terms would cancel); ``sf`` its
      complement; skewness and kurtosis from ``theta p`` (finite: ``2 /
      sqrt(theta)``, ``6 / theta`` in the limit);
    - ppf and isf: bisection over the doubles in [0, inf] on those tails.

    Against mpmath: log-pmf and log-cdf within ~2e-15 relative, log-sf
    ~2e-13 where sf is close to 1 (the complement of a tiny cdf); above
    the range, counts in 1e300..1e303 (or any beyond 1e300 with theta >
    1e100) carry an absolute error ~1e-16 k theta / 1e300. The
    zero-inflated NB's functions follow from the NB's (``zl``, the
    zero-inflation logits; its skewness and kurtosis are not corrected).
    Entropy above the range stays NaN, as for every mean beyond ~1e10 (the
    kernel's documented limit); below the range with L > -40 (theta below
    ~1e-290) only the log-pmf is taken from the logits.
    """

    HANDLED = ("logpmf", "pmf", "logcdf", "cdf", "logsf", "sf", "ppf", "isf", "entropy")

    def __init__(self, mask, theta, logits, high, zl=None):
        self.mask, self.theta, self.logits, self.high, self.zl = mask, theta, logits, high, zl

    @classmethod
    def find(cls, mu, theta, logits, zl=None):
        """The far elements of (mu, theta) as the faces hold them, or None.
        ``logits``: a function giving the logits (called only when some
        mean is out of range); ``zl``: the zero-inflation logits."""
        arrays = (mu, theta) + (() if zl is None else (zl,))
        if any(is_dask(a) or is_torch(a) or on_device(a) for a in arrays):
            return None
        mu, theta = np.asarray(mu), np.asarray(theta)
        info = np.finfo(mu.dtype)
        with _errstate():
            cand = (theta > 0) & (theta < math.inf) & ((mu < info.tiny) | (mu > info.max))
        if not cand.any():
            return None
        with _errstate():
            L = np.asarray(logits(), np.float64)
        full = np.broadcast_shapes(cand.shape, L.shape, () if zl is None else np.shape(zl))
        cand = np.broadcast_to(cand, full) & np.isfinite(np.broadcast_to(L, full))
        if not cand.any():
            return None
        theta64 = np.broadcast_to(theta.astype(np.float64), full)
        L = np.broadcast_to(L, full)
        with _errstate():
            high = np.log(theta64) + L > 0
        zl = None if zl is None else np.broadcast_to(np.asarray(zl, np.float64), full)
        return cls(cand, theta64, L, high, zl)

    # ------------------------------------------------------------ the NB
    @staticmethod
    def _logpmf(call, k, th, L):
        """log p(k) of NB(theta, logit L), exact (tilted from a representable mean)."""
        with _errstate():
            # the kernel at mean theta exp(L'), then the tilt to L. Above the
            # range the kernel's k log p' and the tilt's -k log p' cancel to
            # ~ k theta / mean': the mean' is taken near k (up to 1e300, where
            # the kernel is exact; the residual is ~1e-16 k theta / 1e300)
            kk = np.where(np.isfinite(k) & (k > 1e280), k, 1e280)
            target = np.where(L > 0, np.minimum(kk, 1e300), 1e-280)
            Lp = np.clip(np.log(target) - np.log(th), -709.0, 709.0)
            mup = th * np.exp(Lp)
            base = np.asarray(call("logpmf", (k, mup, th)), np.float64)
            shift = k * (_log_sigmoid(L) - _log_sigmoid(Lp)) - th * (_softplus(L) - _softplus(Lp))
            res = np.where(base == -np.inf, -np.inf, base + shift)
            # log p(0) = -theta softplus(L) exactly (the sum above cancels to it)
            p0 = np.where(L < -37.0, -np.exp(np.log(th) + L), -th * _softplus(L))
            res = np.where(k == 0, p0, res)
            # counts beyond 1e303 (integers): Stirling's difference directly,
            # lgamma(k + theta) - lgamma(k + 1) = (theta - 1) log k + theta (theta - 1) / 2k
            huge = (k > 1e303) & np.isfinite(k) & (th <= 1e100)
            if huge.any():
                import scipy.special as sc
                kh, th_, L_ = k[huge], th[huge], L[huge]
                res[huge] = ((th_ - 1.0) * np.log(kh) + th_ * (th_ - 1.0) / (2.0 * kh)
                             - sc.gammaln(th_) + kh * _log_sigmoid(L_) - th_ * _softplus(L_))
            return res

    def _nb_tails(self, call, k, th, L, high):
        """(log cdf, log sf, handled) of the NB at k."""
        with _errstate():
            kf = np.floor(k)
            low = ~high & (L <= _LOW_LOGIT)
            inner = np.isfinite(kf) & (kf >= 0)
            lc = np.full(k.shape, np.nan)
            ls = np.full(k.shape, np.nan)
            # below the range: the first term of the upper tail
            if low.any():
                i = low & inner
                ls[i] = self._logpmf(call, kf[i] + 1.0, th[i], L[i])
                lc[i] = _log1mexp(ls[i])
            if high.any():
                i = high & inner
                lc[i] = self._high_logcdf(call, kf[i], th[i], L[i])
                ls[i] = _log1mexp(lc[i])
            below, top = low | high, kf == np.inf
            lc = np.where(below & (kf < 0), -np.inf, np.where(below & top, 0.0, lc))
            ls = np.where(below & (kf < 0), 0.0, np.where(below & top, -np.inf, ls))
            return lc, ls, below

    def _high_logcdf(self, call, k, th, L):
        """log cdf(k) of an NB whose mean is above the range (k finite, >= 0)."""
        x = np.exp(_log_sigmoid(-L))                # 1 - p, tiny
        t = np.ones_like(k)
        total = np.ones_like(k)
        open_ = np.ones(k.shape, bool)
        for n in range(10000):
            t = np.where(open_, t * ((th + k + 1.0 + n) / (th + 1.0 + n)) * x, 0.0)
            total = total + t
            open_ = t > 1e-17 * total
            if not open_.any():
                break
        total = np.where(open_, np.nan, total)
        with _errstate():
            ratio = k / th
            log1p_ratio = np.where(np.isfinite(ratio), np.log1p(ratio),
                                   np.logaddexp(np.log(k), np.log(th)) - np.log(th))
            res = self._logpmf(call, k, th, L) + log1p_ratio + _log_sigmoid(L) + np.log(total)
            # small theta, large counts: log p(k) and log1p(k / theta) nearly
            # cancel there; the same sum with lgamma(k + 1 + theta) - lgamma(k + 1)
            # by Stirling (theta log(k + 1) + theta (theta - 1) / 2(k + 1)) has
            # no cancellation
            big = (th < 0.1) & (k >= 1e15)
            if big.any():
                import scipy.special as sc
                kb, tb, Lb = k[big] + 1.0, th[big], L[big]
                res[big] = (tb * (np.log(kb) - _softplus(Lb)) + kb * _log_sigmoid(Lb)
                            + tb * (tb - 1.0) / (2.0 * kb) - sc.gammaln(tb + 1.0)
                            + np.log(total[big]))
        return res

    # ------------------------------------------------- all the functions
    def _logs(self, call, k, th, L, high, z):
        """(log pmf, log cdf, log sf, tails handled) at k, NB or ZINB."""
        lp = self._logpmf(call, k, th, L)
        lc, ls, ok = self._nb_tails(call, k, th, L, high)
        if z is None:
            return lp, lc, ls, ok
        lpi, l1pi = _log_sigmoid(z), _log_sigmoid(-z)
        with _errstate():
            kf = np.floor(k)
            lp = np.where(k == 0, np.logaddexp(lpi, l1pi + lp), l1pi + lp)
            lc = np.where(kf < 0, -np.inf, np.logaddexp(lpi, l1pi + lc))
            ls = np.where(kf < 0, 0.0, l1pi + ls)
        return lp, lc, ls, ok

    def _values(self, name, call, k, th, L, high, z):
        """(values, handled) of function ``name`` at the far elements."""
        if name == "entropy":
            low = ~high & (L <= _LOW_LOGIT)
            lp1 = self._logpmf(call, np.ones_like(th), th, L)
            l1pi = 0.0 if z is None else _log_sigmoid(-z)
            with _errstate():
                h = np.exp(l1pi + lp1) * (1.0 - l1pi - lp1)
            return np.where(np.isnan(h) & (l1pi == -np.inf), 0.0, h), low
        if name in ("ppf", "isf"):
            return self._quantile(name, call, k, th, L, high, z)
        lp, lc, ls, ok = self._logs(call, k, th, L, high, z)
        with _errstate():
            if name in ("logpmf", "pmf"):
                v = lp if name == "logpmf" else np.exp(lp)
                return v, np.ones(k.shape, bool)
            cdf = np.where(lc > -0.6931, -np.expm1(ls), np.exp(lc))
            sf = np.where(ls > -0.6931, -np.expm1(lc), np.exp(ls))
        return {"logcdf": lc, "logsf": ls, "cdf": cdf, "sf": sf}[name], ok

    def _quantile(self, name, call, q, th, L, high, z):
        """ppf / isf by bisection over the doubles in [0, inf]."""
        ok = high | (L <= _LOW_LOGIT)
        with _errstate():
            logq = np.log(q)
        lo = np.zeros(q.shape, np.int64)
        hi = np.full(q.shape, _INF_BITS, np.int64)
        inside = ok & (q > 0) & (q < 1)
        for _ in range(64):
            live = inside & (lo < hi)
            if not live.any():
                break
            mid = lo + (hi - lo) // 2
            k = mid[live].view(np.float64)
            _, lc, ls, _ = self._logs(call, k, th[live], L[live], high[live],
                                      None if z is None else z[live])
            hit = lc >= logq[live] if name == "ppf" else ls <= logq[live]
            m = np.zeros(q.shape, bool)
            m[live] = hit
            hi = np.where(m, mid, hi)
            m[live] = ~hit
            lo = np.where(m & live, mid + 1, lo)
        res = lo.view(np.float64)
        first, last = (-1.0, np.inf) if name == "ppf" else (np.inf, -1.0)
        res = np.where(q == 0, first, np.where(q == 1, last, res))
        res = np.where((q < 0) | (q > 1) | np.isnan(q), np.nan, res)
        return res, ok

    # --------------------------------------------------------- the faces
    def fix(self, name, x, res, call):
        """res (the kernels' result of function ``name`` at x, NumPy) with the
        far elements evaluated from their logits. ``call(name, args)``
        evaluates an NB function (the kernels)."""
        if name not in self.HANDLED or not isinstance(res, (np.ndarray, np.generic)):
            return res
        nb = functools.partial(call, "nbinom")
        if x is None:
            full = self.mask.shape
            xs = None
        else:
            xa = np.asarray(np.ma.getdata(x), np.float64)
            full = np.broadcast_shapes(xa.shape, self.mask.shape)
        m = np.broadcast_to(self.mask, full)
        if not m.any():
            return res
        if x is not None:
            xs = np.broadcast_to(xa, full)[m]

        def sel(a):
            return None if a is None else np.broadcast_to(a, full)[m]

        vals, ok = self._values(name, nb, xs, sel(self.theta), sel(self.logits), sel(self.high),
                                sel(self.zl))
        data = np.array(np.broadcast_to(np.ma.getdata(res), full))
        sub = data[m]
        sub[ok] = vals[ok]
        data[m] = sub
        if isinstance(res, np.ma.MaskedArray):
            return np.ma.masked_array(data, mask=np.ma.getmaskarray(res))
        return data[()] if data.ndim == 0 else data

    def moments(self, skew, kurt):
        """The NB's skewness and kurtosis with the far elements from their
        logits: ``(2 - p) / sqrt(theta s)``, ``(p**2 + 6 (1 - p)) / (theta
        s)``, s = sigmoid(L), p = 1 - s (scipy's p)."""
        if self.zl is not None:
            return skew, kurt
        m = self.mask
        th, L = self.theta[m], self.logits[m]
        with _errstate():
            lts = np.log(th) + _log_sigmoid(L)
            p = np.exp(_log_sigmoid(-L))
            s = (2.0 - p) * np.exp(-0.5 * lts)
            k = (p * p + 6.0 * (1.0 - p)) * np.exp(-lts)
        out = []
        for a, v in ((skew, s), (kurt, k)):
            a = np.array(np.broadcast_to(np.asarray(a), m.shape))
            a[m] = v
            out.append(a)
        return tuple(out)

    def logits_of(self, value):
        """``to_logits`` with the far elements' own logits."""
        v = np.array(np.broadcast_to(np.asarray(value), self.mask.shape))
        v[self.mask] = self.logits[self.mask]
        return v

    def probs_of(self, value):
        """``to_probs`` with the far elements' sigmoid(L)."""
        v = np.array(np.broadcast_to(np.asarray(value), self.mask.shape))
        v[self.mask] = np.exp(_log_sigmoid(self.logits[self.mask]))
        return v

    def expand(self, batch_shape):
        """The same elements broadcast to ``batch_shape`` (views)."""
        def b(a):
            return None if a is None else np.broadcast_to(a, batch_shape)
        return FarMean(b(self.mask), b(self.theta), b(self.logits), b(self.high), b(self.zl))

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
logits = -800`` has ``log p(1) = -799.31``): :class:`Parameters` keeps the
logits of every such parameterization, and the faces call the logit rows
(:mod:`nbnumba._math.logits`), which evaluate those means from the logits
on every target.
"""
import functools
import importlib
import math

import numpy as np

from ._arrays import (check, dtype, is_dask, is_torch, on_device, remask, result_dtype,
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
    mod = "torch" if is_torch(device[0]) else type(device[0]).__module__.split(".")[0]
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
    weak = [isinstance(a, (bool, int, float)) for a in arrays]
    arrays = [np.ma.getdata(a) if isinstance(a, np.ma.MaskedArray) else a for a in arrays]
    xp = namespace(*arrays)
    if xp is np:
        arrays = [a if is_dask(a) else np.asarray(a) for a in arrays]
    else:
        # never ``a or b`` of tensors: bool() of a tensor is ambiguous (and a
        # device sync)
        like = next((a for a in arrays if on_device(a)), None)
        if like is None:
            like = next(a for a in arrays if is_torch(a))
        kw = {"device": like.device} if xp.__name__ == "torch" else {}
        arrays = [a if on_device(a) or is_torch(a) else xp.asarray(np.asarray(a), **kw)
                  for a in arrays]
    # float32 only where every array is float32 (or float16, bfloat16):
    # integers are read in float64, as by the ufuncs (int16 must not round to
    # float32); Python numbers are weak, as in NumPy and torch
    strong = [a for a, w in zip(arrays, weak) if not w]
    small = bool(strong) and all(small_float(dtype(a)) for a in strong)
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
        # exp(logits) alone may overflow or underflow while mu does not
        # (no data-dependent branch: torch.compile and the GPU never sync)
        far = (~xp.isfinite(mu) | (mu == 0)) & (total_count > 0)
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


def zi_logits(pi=None, zi_logits=None, result=None):
    """The zero-inflation logit log(pi / (1 - pi)) from exactly one of
    ``pi`` (in [0, 1]; other values give NaN) and ``zi_logits`` (as is).
    A Python number gives a Python float (weak in the dtype policy). The
    logit is computed in float64 and given in the dtype ``result`` (the
    call's result dtype; None: pi's own): a float32 logit would carry
    float32's rounding into float64 results."""
    if (pi is None) == (zi_logits is None):
        raise ValueError("give exactly one of pi and zi_logits")
    if pi is None:
        return check(zi_logits, "zi_logits")
    mask = union_mask(pi)
    python = isinstance(pi, (bool, int, float))
    (pi,) = as_float(pi, names=("pi",))
    want = dtype(pi) if result is None else np.dtype(result)
    pi = astype(pi, np.float64)
    xp = namespace(pi)
    with _errstate():
        z = xp.log(pi) - xp.log1p(-pi)
        z = xp.where((pi >= 0) & (pi <= 1), z, math.nan)
    if want == np.float32:
        z = astype(z, np.float32)
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
        return (f"{head}, pi=None, *, zi_logits=None",
                f"{head}, _convert(pi, zi_logits, ({head},))")

    @staticmethod
    def __call__(pi, zl, others):
        """The logit, float32 only where the call's result is (``others``:
        its other operands)."""
        try:
            result = None if pi is None else result_dtype((*others, pi))
        except (TypeError, ValueError):
            result = None       # a bad operand: the kernels' check names it
        return zi_logits(pi, zl, result)


# ---------------------------------------------------------------------------
# One parameter layer under both faces

#: The parameterizations by their given names -> their canonical name.
_SETS = {frozenset(("mu", "theta")): "mean", frozenset(("total_count", "probs")): "probs",
         frozenset(("total_count", "logits")): "logits", frozenset(("n", "p")): "scipy"}
#: torch's support of each given parameter (validate=True): the check, its
#: printed form. Infinite means are no distribution (theta = inf is Poisson).
_CHECKS = {
    "total_count": (lambda v: (v >= 0) & (v < math.inf), "nonnegative() and finite"),
    "probs": (lambda v: (v >= 0) & (v < 1), "half_open_interval(lower_bound=0.0, upper_bound=1.0)"),
    "logits": (lambda v: (v == v) & (v < math.inf), "real() and below +inf"),
    "mu": (lambda v: (v >= 0) & (v < math.inf), "greater_than_eq(lower_bound=0) and finite"),
    "theta": (lambda v: v >= 0, "greater_than_eq(lower_bound=0)"),
    "zi_logits": (lambda v: v == v, "real()"),
}


def _plain(value):
    """value for a check: torch tensors detached (comparisons never need
    their graph, and requires_grad tensors refuse numpy()), host data as
    NumPy; Dask and device arrays as they are."""
    if is_torch(value):
        return value.detach()
    if is_dask(value) or on_device(value):
        return value
    return np.asarray(value.data if isinstance(value, np.ma.MaskedArray) else value)


def all_true(ok):
    """Whether every element of a boolean array of any family is true (a
    Dask array is computed; a CUDA tensor synchronises, as in torch's own
    validate_args)."""
    if is_torch(ok):
        return bool(ok.all())
    if is_dask(ok):
        return bool(ok.all().compute())
    return bool(namespace(ok).all(ok))


def require(name, value, ok, what):
    """ValueError in torch's words unless ``ok`` (a boolean array) is all true."""
    if not all_true(ok):
        raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                         f"{tuple(shape(value))}) of distribution to satisfy the constraint "
                         f"{what}, but found invalid values:\n{value}")


def validate(name, value):
    """torch's validate_args check of parameter ``name`` (ValueError naming it)."""
    check_, what = _CHECKS[name]
    with _errstate():
        require(name, value, check_(_plain(value)), what)


def shape(a):
    from ._arrays import shape as _shape
    return _shape(a)


class Parameters:
    """A Negative Binomial (zero-inflated where ``zi_logits`` is given) as
    every face and target takes it: ``mu``, ``theta``, and where the mean
    came from logits or probabilities, the float ``logits`` too (means
    beyond the floating range are evaluated from them). All arrays share
    one family, device, dtype and shape.

    Made by :meth:`parse` from any parameterization; :meth:`call` runs a
    table function on it (the logit rows where logits are kept).
    ``dtype``: the torch dtype of the results where the parameters are
    torch tensors (float16 and bfloat16 are computed in float32 and given
    back in their own dtype), else None.
    """

    def __init__(self, mu, theta, logits=None, zi_logits=None, mask=None, given=None,
                 dtype=None):
        self.mu, self.theta, self.logits, self.zi_logits = mu, theta, logits, zi_logits
        self.mask, self.given, self.dtype = mask, given or {}, dtype

    @classmethod
    def parse(cls, *, zero_inflated=False, validate_args=False, pi=None, zi_logits=None,
              **given):
        """Parse exactly one parameterization: ``(mu, theta)``, ``(total_count,
        probs)``, ``(total_count, logits)`` or scipy's ``(n, p)``; for the
        zero-inflated NB also exactly one of ``pi`` and ``zi_logits``.
        ``validate_args``: torch's checks (ValueError naming the parameter),
        for every family, tensors that require grad included."""
        given = {k: v for k, v in given.items() if v is not None}
        for name, value in given.items():
            check(value, name)
        kind = _SETS.get(frozenset(given))
        if kind is None:
            accepted = " or ".join("(" + ", ".join(c) + ")" for c in PARAMETERIZATIONS)
            raise ValueError(f"give exactly one parameterization: {accepted}; "
                             f"got {sorted(given) or 'none'}")
        zl = None
        if zero_inflated:
            if (pi is None) == (zi_logits is None):
                raise ValueError("give exactly one of pi and zi_logits")
            try:        # the logit in float64 unless every parameter is float32
                result = None if pi is None else result_dtype([*given.values(), pi])
            except (TypeError, ValueError):
                result = None
            zl = globals()["zi_logits"](pi, zi_logits, result)
            given["pi" if pi is not None else "zi_logits"] = pi if pi is not None else zi_logits
        if validate_args:
            for name, value in given.items():
                if name in _CHECKS:
                    validate(name, value)
        names = ("mu", "theta") if kind == "mean" else tuple(
            n for n in ("total_count", "probs", "logits", "n", "p") if n in given)
        first, second = (given[n] for n in names)
        arrays = [first, second] + ([] if zl is None else [zl])
        anames = list(names) + ([] if zl is None else ["zi_logits"])
        out = _torch_dtype(arrays)
        arrays = as_float(*arrays, names=anames)
        a, b = arrays[:2]
        xp = namespace(*arrays)
        lg = None
        with _errstate():
            if kind == "mean":
                mu, theta = a, b
            elif kind == "logits":
                mu, theta = _from_logits(a, b)
                lg = b
            elif kind == "probs":
                mu, theta = _from_probs(a, b)
                lg = astype(xp.log(b) - xp.log1p(-b), dtype(b))
            else:
                n = astype(xp.where(a > 0, a, math.nan), dtype(a))
                mu, theta = _from_scipy(n, b)
                lg = astype(xp.log1p(-b) - xp.log(b), dtype(b))
        ops = [mu, theta] + ([] if lg is None else [lg]) + ([] if zl is None else [arrays[2]])
        full = np.broadcast_shapes(*(shape(o) for o in ops))
        ops = [xp.broadcast_to(o, full) for o in ops]
        mu, theta = ops[:2]
        lg = ops[2] if lg is not None else None
        zl = ops[-1] if zl is not None else None
        if validate_args and kind != "mean":
            # scvi-tools' constraints on the derived (mu, theta); a mean
            # beyond the floating range (mu = inf from finite logits) is valid
            for name, value in (("mu", mu), ("theta", theta)):
                with _errstate():
                    require(name, value, _plain(value) >= 0, "greater_than_eq(lower_bound=0)")
        mask = union_mask(*given.values())
        if mask is not None:
            mask = np.broadcast_to(mask, np.broadcast_shapes(mask.shape, full))
        return cls(mu, theta, lg, zl, mask, given, out)

    # ----------------------------------------------------------- queries
    @property
    def xp(self):
        return namespace(self.mu)

    @property
    def shape(self):
        return shape(self.mu)

    @property
    def distribution(self):
        return "nbinom" if self.zi_logits is None else "zinb"

    def operands(self, detach=False):
        """(table name, operands) of the log-likelihood rows: (mu, theta[,
        zi_logits]) for the NB or ZINB table, or (mu, theta, logits[,
        zi_logits]) for the logit rows. ``detach``: torch tensors detached
        (the autograd Function's backward differentiates them)."""
        ops = [self.mu, self.theta] + ([] if self.logits is None else [self.logits]) + (
            [] if self.zi_logits is None else [self.zi_logits])
        if detach:
            ops = [o.detach() if is_torch(o) else o for o in ops]
        return ops

    def row(self, name):
        """(distribution, function) of table function ``name`` here."""
        if self.logits is None:
            return self.distribution, name
        return "logits", name if self.zi_logits is None else "zinb_" + name

    def call(self, name, x=None):
        """Function ``name`` (``logpmf``, ``cdf``, ``ppf``, ... ``entropy``)
        at x (None for entropy), by the table's kernels on the parameters'
        target. torch results in :attr:`dtype`."""
        from .ufuncs import dispatch
        distribution, fname = self.row(name)
        args = tuple(self.operands(detach=True))
        if x is not None:
            args = (self.value(x),) + args
        res = dispatch(distribution, fname, args)
        return self.give(res, x)

    def result_dtype(self, x=None):
        """torch's dtype of a result at value x (None: the parameters'):
        floating values take part in the promotion, integers do not."""
        if self.dtype is None or x is None or isinstance(x, (bool, int, float)):
            return self.dtype
        import torch
        if is_torch(x):
            return torch.promote_types(self.dtype, x.dtype) if x.is_floating_point() \
                else self.dtype
        kind = dtype(x) if hasattr(x, "dtype") else np.asarray(x).dtype
        if kind.kind != "f":
            return self.dtype
        return torch.promote_types(self.dtype, getattr(torch, np.dtype(kind).name))

    def value(self, x):
        """A torch value in the dtype the kernels compute the result in
        (float32 for float16/bfloat16/float32 results, else float64):
        torch's promotion, integer counts taking the parameters' dtype."""
        if self.dtype is not None and is_torch(x):
            import torch
            x = x.detach()
            out = self.result_dtype(x)
            want = torch.float32 if out.itemsize <= 4 else torch.float64
            if x.dtype != want:
                x = x.to(want)
        return x

    def give(self, res, x=None):
        """A result in torch's dtype for value x (NumPy results as they are)."""
        out = self.result_dtype(x)
        if out is not None and is_torch(res) and res.dtype != out and res.is_floating_point():
            return res.to(out)
        return res

    def expand(self, batch_shape):
        """The same parameters broadcast to ``batch_shape`` (views)."""
        xp = self.xp
        b = [None if a is None else xp.broadcast_to(a, batch_shape)
             for a in (self.mu, self.theta, self.logits, self.zi_logits)]
        mask = None if self.mask is None else np.broadcast_to(self.mask, batch_shape)
        return Parameters(*b, mask, self.given, self.dtype)

    def far_moments(self, skew, kurt):
        """The NB's skewness and kurtosis with the means beyond the floating
        range from their logits: ``(2 - p) / sqrt(theta s)``, ``(p**2 + 6 (1 -
        p)) / (theta s)``, s = sigmoid(L), p = 1 - s (scipy's p)."""
        if self.logits is None or self.zi_logits is not None:
            return skew, kurt
        xp = self.xp
        L, th = self.logits, self.theta
        with _errstate():
            far = ((self.mu < 1.1754943508222875e-38) | (self.mu > 1.7976931348623157e308)) \
                & (th > 0) & (th < math.inf) & xp.isfinite(L)
            L64 = astype(L, np.float64)
            th64 = astype(th, np.float64)
            lts = xp.log(th64) - _softplus(xp, -L64)
            p = xp.exp(-_softplus(xp, L64))
            s = (2.0 - p) * xp.exp(-0.5 * lts)
            k = (p * p + 6.0 * (1.0 - p)) * xp.exp(-lts)
            return (xp.where(far, astype(s, dtype(skew)), skew),
                    xp.where(far, astype(k, dtype(kurt)), kurt))


def _softplus(xp, x):
    """log(1 + exp(x)), exact for any x, in x's family."""
    if xp is np:
        return np.logaddexp(0.0, x)
    if xp.__name__ == "torch":
        return xp.nn.functional.softplus(x, beta=1.0, threshold=20.0)
    return xp.logaddexp(0.0, x)


def _torch_dtype(arrays):
    """The torch dtype of results for these parameters (torch's promotion:
    Python numbers weak), or None where none is a tensor."""
    tensors = [a for a in arrays if is_torch(a)]
    if not tensors:
        return None
    import torch
    out = tensors[0].dtype
    for t in tensors[1:]:
        out = torch.promote_types(out, t.dtype)
    for a in arrays:
        if not is_torch(a) and not isinstance(a, (bool, int, float)):
            out = torch.promote_types(out, getattr(torch, np.asarray(a).dtype.name))
    return out if out.is_floating_point else torch.get_default_dtype()

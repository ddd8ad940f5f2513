"""The scvi-tools / torch face: :class:`NegativeBinomial`, on the CPU or the GPU.

Mirrors ``scvi.distributions.NegativeBinomial`` (and so
``torch.distributions``' conventions): one of the parameterizations
``(total_count, probs)``, ``(total_count, logits)`` or ``(mu, theta)``;
``probs = mu / (mu + theta)`` is torch's success probability. Inputs are
NumPy arrays, Python scalars or anything ``np.asarray`` takes (torch CPU
tensors included); results are NumPy arrays in the parameters' floating
dtype. CuPy arrays and torch CUDA tensors stay on their GPU: every method
runs there through :mod:`nbnumba.gpu` and returns the same family (2-D
batch shapes at most; no ``entropy``; off the support ``log_prob`` gives
-inf there, not the continuous extension).

Where it differs from scvi-tools, on purpose: ``log_prob`` is exact, not
``log(x + 1e-8)``-biased (scvi's eps shifts it by ~1e-3 at theta = 1e-6);
``sample`` has no clamp at 1e8; ``cdf``, ``icdf`` and ``entropy`` are
implemented; ``validate_args=None`` means the class default, which
:meth:`NegativeBinomial.set_default_validate_args` sets (False initially,
as in scvi-tools). Validation checks torch's constraints on the given
parameters and scvi-tools' on (mu, theta), and rejects an infinite mean
(``mu = inf``, ``total_count = inf``, ``logits = +inf``; ``theta = inf`` is
the Poisson limit and valid). A mean beyond the floating range given by
logits (``total_count = 2, logits = -800``) is a valid distribution: its
functions are evaluated from the logits on every target (the logit rows of
:mod:`nbnumba._math.logits`). Masked parameters give masked results (NumPy;
the union of the masks).

torch: results follow torch's dtype promotion (integer counts take the
parameters' dtype; float16 and bfloat16 are computed in float32 and given
back in their own dtype, under ``torch.autocast`` too); ``log_prob`` is
differentiable in the parameters, twice (the Hessian kernels), and off the
support gives scvi-tools' continuous extension with its warning;
``validate_args`` follows torch's semantics (tensors that require grad
included). The scvi-tools contract: ``scale`` in the constructor and in
``arg_constraints``, :meth:`NegativeBinomial.get_normalized`; see
:mod:`nbnumba.scvi` to use these classes inside scvi-tools' models.
"""
import warnings
from typing import Any, Optional

import numpy as np

from . import _arrays, _params, sampling
from ._math import moments as _moments
from .ufuncs import dispatch

__all__ = ["NegativeBinomial", "ZeroInflatedNegativeBinomial", "constraints"]


class _Constraint:
    """A torch-like constraint: ``check(value)`` gives a boolean array."""

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


_array = _params._plain


class GreaterThanEq(_Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _array(value) >= self.lower_bound


class IntegerGreaterThan(_Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        value = _array(value)
        with np.errstate(invalid="ignore"):
            return (value % 1 == 0) & (value >= self.lower_bound)


class HalfOpenInterval(_Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        value = _array(value)
        return (value >= self.lower_bound) & (value < self.upper_bound)


class Real(_Constraint):
    def check(self, value):
        value = _array(value)
        return value == value


class constraints:
    """The constraint objects used here, named as in ``torch.distributions``."""

    greater_than_eq = GreaterThanEq
    nonnegative = GreaterThanEq(0)
    nonnegative_integer = IntegerGreaterThan(0)
    half_open_interval = HalfOpenInterval
    real = Real()


#: torch's constraints on the given parameters.
_GIVEN_CONSTRAINTS = {"total_count": constraints.nonnegative,
                      "probs": HalfOpenInterval(0.0, 1.0),
                      "logits": constraints.real}
def _warn_outside():
    """torch's warning for log_prob values off the support (validate_args)."""
    warnings.warn("The value argument must be within the support of the distribution",
                  UserWarning, stacklevel=3)


class NegativeBinomial:
    """Negative Binomial distribution, scvi-tools' API on NumPy, Dask, CuPy or
    torch arrays.

    Parameters
    ----------
    total_count, probs : array_like, optional
        Number of failures until the experiment stops (``theta``) and the
        success probability ``mu / (mu + theta)``.
    logits : array_like, optional
        ``log(probs / (1 - probs)) = log(mu / theta)``, with ``total_count``.
    mu, theta : array_like, optional
        Mean and inverse dispersion (scvi-tools' parameterization);
        ``theta = inf`` is Poisson.
    scale : array_like, optional
        The decoder's normalized expression, kept as scvi-tools does
        (:meth:`get_normalized`); no computation uses it. Given none with
        torch's ``(total_count, probs / logits)``, it is ``mu`` normalized
        along the last dimension, as scvi-tools sets it.
    validate_args : bool, optional
        Raise ``ValueError`` for invalid parameters and warn for values
        outside the support. None: the class default.
    """

    arg_constraints = {"mu": constraints.greater_than_eq(0),
                       "theta": constraints.greater_than_eq(0),
                       "scale": constraints.greater_than_eq(0)}
    support = constraints.nonnegative_integer
    has_enumerate_support = False
    has_rsample = False
    event_shape = ()
    _default_validate_args = False
    _zero_inflated = False

    def __init__(self, total_count: Any = None, probs: Any = None, logits: Any = None,
                 mu: Any = None, theta: Any = None, scale: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        self._init(dict(total_count=total_count, probs=probs, logits=logits, mu=mu,
                        theta=theta), {}, scale, validate_args)

    def _init(self, given, zi, scale, validate_args):
        self._validate_args = (self._default_validate_args if validate_args is None
                               else bool(validate_args))
        if scale is not None:
            _arrays.check(scale, "scale")
        self._args = (given, zi, scale, validate_args)
        p = _params.Parameters.parse(zero_inflated=self._zero_inflated,
                                     validate_args=self._validate_args, **given, **zi)
        self._p = p
        # the attributes in the parameters' own dtype (torch's float16 and
        # bfloat16 included); the kernels read p's
        self.mu, self.theta = p.give(p.mu), p.give(p.theta)
        if p.zi_logits is not None:
            self.zi_logits = p.give(p.zi_logits)
        self._attrs = (self.mu, self.theta, getattr(self, "zi_logits", None))
        if scale is None and p.logits is not None and _arrays.is_torch(self.mu) \
                and self.mu.dim():
            # scvi-tools' (total_count, probs / logits) constructor: the
            # normalized mean along the last (gene) dimension
            scale = self.mu / self.mu.sum(-1, keepdim=True)
        self.scale = scale

    def _parameters(self):
        """The parameter layer's object for the current attributes: scvi-tools
        assigns ``mu`` (importance sampling) and may assign ``theta``; the
        logits are kept only while the mean is the one they gave."""
        zl = getattr(self, "zi_logits", None)
        if all(a is b for a, b in zip((self.mu, self.theta, zl), self._attrs)):
            return self._p
        p = _params.Parameters.parse(mu=self.mu, theta=self.theta, zi_logits=zl,
                                     zero_inflated=zl is not None)
        p.mask = self._p.mask
        return p

    def __deepcopy__(self, memo):
        """A copy built from copies of the given parameters (torch: leaves
        such as ``nn.Parameter`` copy, the views derived from them are
        derived again), with the attributes assigned since copied too."""
        import copy
        given, zi, scale, validate = copy.deepcopy(self._args, memo)
        new = object.__new__(type(self))
        new._init(given, zi, scale, validate)
        for name, attr in zip(("mu", "theta", "zi_logits"), self._attrs):
            value = self.__dict__.get(name)
            if value is not attr:
                if _arrays.is_torch(value) and not value.is_leaf:
                    value = value.detach()
                setattr(new, name, copy.deepcopy(value, memo))
        return new

    def _out(self, res):
        """A result masked where a parameter is (NumPy results)."""
        return _arrays.remask(res, self._p.mask)

    def _call(self, name, x=None):
        p = self._parameters()
        return self._out(p.call(name, x))

    @property
    def _xp(self):
        """The parameters' array module (not stored: instances pickle)."""
        return _params.namespace(self.mu, self.theta)

    @property
    def _torch_dtype(self):
        return self._p.dtype

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Set the class-wide default of ``validate_args`` to ``value`` (True or False)."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args takes True or False")
        NegativeBinomial._default_validate_args = value

    def __repr__(self) -> str:
        def show(a):
            return f"{a.ravel()[0]!r}" if _arrays.size(a) == 1 else f"shape {_arrays.shape(a)}"
        return f"NegativeBinomial(mu: {show(self.mu)}, theta: {show(self.theta)})"

    def get_normalized(self, key: str) -> Any:
        """scvi-tools' normalized expression by ``key``: ``"mu"`` (the mean) or
        ``"scale"`` (the decoder's normalized expression); ValueError otherwise."""
        if key == "mu":
            return self.mu
        if key == "scale":
            return self.scale
        raise ValueError(f"normalized key {key} not recognized")

    # -------------------------------------------------------- parameters
    @property
    def batch_shape(self) -> tuple:
        return _arrays.shape(self.mu)

    @property
    def total_count(self) -> Any:
        """theta, torch's number of failures."""
        return self._out(self.theta)

    @property
    def logits(self) -> Any:
        """log(mu / theta) (the given logits, where given)."""
        p = self._parameters()
        if p.logits is not None:
            return self._out(p.logits)
        return self._out(_params._to_logits(self.mu, self.theta))

    @property
    def probs(self) -> Any:
        """torch's success probability mu / (mu + theta) = sigmoid(logits)."""
        p = self._parameters()
        if p.logits is not None:
            xp = self._xp
            with np.errstate(over="ignore"):
                return self._out(1.0 / (1.0 + xp.exp(-p.logits)))
        return self._out(_params._to_probs(self.mu, self.theta))

    @property
    def mean(self) -> Any:
        """mu; 0 for the point mass theta = 0 (its variance is 0 too)."""
        with np.errstate(invalid="ignore"):
            return self._out(self._xp.where(self.theta == 0, 0.0 * self.mu, self.mu))

    @property
    def variance(self) -> Any:
        """mu + mu**2 / theta; 0 for a point mass (mu = 0 or theta = 0)."""
        return self._out(_moments.stats(self.mu, self.theta, self._xp)[1])

    @property
    def stddev(self) -> Any:
        """sqrt(variance)."""
        return self._apply(self._xp.sqrt, self.variance)

    def _apply(self, f, res):
        """f(res), masked entries computed on the data too (NumPy's masked
        functions leave them as they were)."""
        if isinstance(res, np.ma.MaskedArray):
            return _arrays.remask(f(np.ma.getdata(res)), np.ma.getmaskarray(res))
        return f(res)

    def expand(self, batch_shape: tuple, _instance: Any = None) -> "NegativeBinomial":
        """The same distribution broadcast to ``batch_shape`` (views, no copy)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        p = new._p = self._parameters().expand(tuple(batch_shape))
        new.mu, new.theta = p.give(p.mu), p.give(p.theta)
        if p.zi_logits is not None:
            new.zi_logits = p.give(p.zi_logits)
        new._attrs = (new.mu, new.theta, getattr(new, "zi_logits", None))
        return new

    # ----------------------------------------------------------- methods
    def log_prob(self, value: Any) -> Any:
        """Log-pmf at ``value``; exact on the support.

        torch tensors in, a torch tensor out, differentiable in the
        parameters (the exact derivative kernels, not autodiff of a
        formula; twice, through the Hessian kernels). Off the support
        (negative or non-integer values) it returns the continuous
        extension through log-gamma, as scvi-tools does, on every family,
        and warns as scvi-tools does (with ``validate_args``; always for
        the zero-inflated NB).
        """
        _arrays.check(value, "value")
        p = self._parameters()
        xp = self._xp
        if xp.__name__ == "torch":
            from ._torch import eager
            return eager(self._torch_log_prob, p, value)
        if any(_params.is_dask(a) for a in (value, *p.operands())):
            # lazily, without the support warning (it would need a compute)
            res = p.call("logpmf", value)
            return np.where(self.support.check(value), res, self._continuous_log_prob(value))
        if xp is not np:
            res = p.call("logpmf", value)
            off = self._off_support(value)
            return res if off is None else xp.where(off, self._continuous_log_prob(value), res)
        masked = isinstance(value, np.ma.MaskedArray)
        res = p.call("logpmf", value)
        vmask = np.ma.getmaskarray(res) if masked else None
        # (not np.ma.getdata for unmasked values: a pandas Series' is its internals)
        value = np.asarray(value.data if masked else value)
        res = np.asarray(np.ma.getdata(res))
        # off the support the kernel gives -inf: one reduction spares the
        # full support check on the common path
        low = res.min() if res.size else 0.0
        if low == -np.inf or np.isnan(low) or self._warns():
            outside = ~self.support.check(value)
            if np.any(outside):
                if self._warns():
                    _warn_outside()
                res = np.where(outside, self._continuous_log_prob(value), res).astype(res.dtype)
        if masked:
            res = np.ma.masked_array(res, mask=vmask)
        return self._out(res)

    def _torch_log_prob(self, p, value):
        """log_prob on torch parameters (run eagerly: torch.compile breaks
        the graph here, at the kernels)."""
        from ._torch import log_prob
        xp = self._xp
        if not _arrays.is_torch(value):
            value = xp.as_tensor(value, device=p.mu.device)
        if not value.is_floating_point():
            # integer counts: off the support only below 0, where the kernel's
            # -inf is the extension's value too
            return log_prob(dispatch, p, value)
        if _arrays.on_device(value) or _arrays.on_device(p.mu):
            # no data-dependent branch on the GPU (never a sync for bool()):
            # the extension is taken where needed by torch.where; the
            # warning only with validate_args, whose check syncs as torch's
            off = ~self.support.check(value.detach())
            if self._validate_args and not _params.all_true(~off):
                _warn_outside()
        else:
            off = self._off_support(value)
            if off is None:
                return log_prob(dispatch, p, value)
        # the kernels see a count there (their NaN derivatives off the
        # support would poison the gradient through torch.where)
        v = p.value(value)
        res = log_prob(dispatch, p, xp.where(off, xp.zeros_like(v), v))
        return xp.where(off, p.give(self._continuous_log_prob(v), value), res)

    def _warns(self):
        """Whether values off the support warn (scvi-tools: the NB with
        validate_args, the zero-inflated NB always)."""
        return self._validate_args

    def _off_support(self, value):
        """Where value is off the support (a boolean array), warning as
        scvi-tools; None where nothing is. One reduction decides (on a CUDA
        tensor a synchronisation, as scvi-tools' own support check; under
        torch.compile a graph break)."""
        xp = self._xp
        v = _params._plain(value)
        if not _arrays.is_torch(v) and not xp.__name__ == "torch":
            v = xp.asarray(v)
        off = ~self.support.check(v)
        if _params.all_true(~off):
            return None
        if self._warns():
            _warn_outside()
        return off

    def _continuous_log_prob(self, x):
        """scvi-tools' log-gamma formula (without its eps), off the support,
        in the parameters' family (float32 for float16 and bfloat16)."""
        p = self._parameters()
        xp = self._xp
        # torch: the parameters with their graph (autodiff of the formula)
        ops = p.operands()
        mu, theta = ops[:2]
        if xp.__name__ == "torch":
            if p.dtype is not None and mu.dtype != p.value(x).dtype:
                ops = [o.to(p.value(x).dtype) for o in ops]
                mu, theta = ops[:2]
            if not _arrays.is_torch(x):
                x = xp.as_tensor(x, dtype=mu.dtype, device=mu.device)
            x = x.to(mu.dtype)
            lgamma = xp.lgamma
        elif xp is np:
            import scipy.special as sc
            lgamma = sc.gammaln
        else:
            import cupyx.scipy.special as csc
            lgamma = csc.gammaln
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p.logits is not None:
                # theta log(1 + mu / theta) = theta softplus(L) and
                # log(mu / (mu + theta)) = -softplus(-L): exact for far means
                L = ops[2]
                tail = theta * _params._softplus(xp, L)
                per_count = -_params._softplus(xp, -L)
            else:
                tail = theta * xp.log1p(mu / theta)
                per_count = xp.log(mu) - xp.log(mu + theta)
            res = (lgamma(x + theta) - lgamma(theta) - lgamma(x + 1.0) - tail + x * per_count)
            if p.zi_logits is not None:
                res = res - _params._softplus(xp, ops[-1])
        return res

    def cdf(self, value: Any) -> Any:
        """P(X <= value)."""
        _arrays.check(value, "value")
        return self._call("cdf", value)

    def icdf(self, value: Any) -> Any:
        """Smallest k with cdf(k) >= value."""
        _arrays.check(value, "value")
        return self._call("ppf", value)

    def entropy(self) -> Any:
        """Entropy in nats, exact (by summation)."""
        if self._xp is not np and self._xp.__name__ != "torch":
            raise TypeError("entropy is computed on the CPU: pass host parameters")
        return self._call("entropy")

    def perplexity(self) -> Any:
        """exp(entropy)."""
        return self._apply(self._xp.exp, self.entropy())

    def sample(self, sample_shape: Any = (), random_state: Any = None) -> Any:
        """Draws of shape ``sample_shape + batch_shape``, as floats (like scvi).

        Gamma(theta, rate theta / mu) then Poisson, exact, with no clamp, from
        nbnumba's counter-based sampler; NaN for invalid parameters; a mean
        beyond the floating range (given by logits) draws 0 below it and
        inf above it. ``sample_shape``: an int or a tuple of them.
        ``random_state``: None (NumPy's global state; torch's default
        generator, so torch.manual_seed, for torch parameters), an int, a
        SeedSequence, a torch.Generator, a Generator, a RandomState, or a
        pair of ints in [0, 2**32): the Philox key itself, by design
        (anything else raises ValueError).
        """
        shape = _arrays.size_shape(sample_shape, (), "sample_shape") + tuple(self.batch_shape)
        if random_state is None and self._xp.__name__ == "torch":
            import torch
            random_state = torch.default_generator
        p = self._parameters()
        ops = tuple(o for o in p.operands(detach=True))
        if p.logits is not None:
            ops = ops[:2] + ops[3:]
        out = sampling.draw(ops, shape, random_state, _params.dtype(ops[0]))
        if p.logits is not None:
            # a mean above the doubles (mu = inf from finite logits) draws inf
            xp = self._xp
            with np.errstate(invalid="ignore"):
                high = (ops[0] == np.inf) & (p.operands(detach=True)[2] < np.inf)
            out = xp.where(high, xp.full_like(out, np.inf), out)
        return self._out(p.give(out))

    def sample_n(self, n: int) -> Any:
        """``sample((n,))``."""
        return self.sample((n,))

    def rsample(self, sample_shape: Any = ()) -> Any:
        """Not available for any sample_shape: NotImplementedError (no
        reparameterized sampler, as scvi-tools)."""
        raise NotImplementedError("NegativeBinomial has no reparameterized sampler "
                                  "(has_rsample is False)")

    def enumerate_support(self, expand: bool = True) -> Any:
        """Not available (with or without expand): NotImplementedError, the
        support is infinite."""
        raise NotImplementedError("the support of NegativeBinomial is infinite")


class ZeroInflatedNegativeBinomial(NegativeBinomial):
    """Zero-inflated NB, scvi-tools' API (its default likelihood):
    pmf(k) = pi [k = 0] + (1 - pi) NB(k; mu, theta).

    Parameters
    ----------
    total_count, probs, logits, mu, theta : array_like, optional
        The NB part, as :class:`NegativeBinomial`.
    zi_logits : array_like
        Logit of the zero-inflation probability pi (exact at the extremes:
        every function works from the logit). Its family may differ from
        the NB part's (a NumPy logit with torch means): it joins theirs.
    scale : array_like, optional
        Kept as an attribute, as scvi-tools does (the decoder's normalized
        expression); not used in any computation.
    validate_args : bool, optional
        As :class:`NegativeBinomial`.
    """

    arg_constraints = {"mu": constraints.greater_than_eq(0),
                       "theta": constraints.greater_than_eq(0),
                       "zi_logits": constraints.real,
                       "scale": constraints.greater_than_eq(0)}
    _zero_inflated = True

    def __init__(self, total_count: Any = None, probs: Any = None, logits: Any = None,
                 mu: Any = None, theta: Any = None, zi_logits: Any = None, scale: Any = None,
                 validate_args: Optional[bool] = None) -> None:
        if zi_logits is None:
            raise ValueError("ZeroInflatedNegativeBinomial needs zi_logits")
        self._init(dict(total_count=total_count, probs=probs, logits=logits, mu=mu,
                        theta=theta), dict(zi_logits=zi_logits), scale, validate_args)

    def _warns(self):
        return True

    def __repr__(self) -> str:
        return "ZeroInflated" + super().__repr__()

    @property
    def zi_probs(self) -> Any:
        """pi = sigmoid(zi_logits)."""
        with np.errstate(over="ignore"):
            return self._out(1.0 / (1.0 + self._xp.exp(-self.zi_logits)))

    def _keep(self):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + self._xp.exp(self.zi_logits))

    @property
    def mean(self) -> Any:
        """(1 - pi) mu; 0 for the point mass theta = 0."""
        with np.errstate(invalid="ignore"):
            mu = self._xp.where(self.theta == 0, 0.0 * self.mu, self.mu)
        return self._out(self._keep() * mu)

    @property
    def variance(self) -> Any:
        """(1 - pi) mu (1 + mu / theta + pi mu); 0 for a point mass."""
        return self._out(_moments.stats(self.mu, self.theta, self._xp,
                                        zi_logits=self.zi_logits)[1])

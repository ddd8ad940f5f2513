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
functions are evaluated from the logits (:class:`nbnumba._params.FarMean`).
Masked parameters give masked results (NumPy; the union of the masks).
"""
import warnings

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


def _array(value):
    """value as an array; Dask and GPU arrays stay where they are."""
    return value if _params.is_dask(value) or _params.on_device(value) else np.asarray(value)


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
#: Given parameters that must also be below +inf: each makes the mean infinite.
_FINITE = {"mu": "an infinite mean is not a distribution; theta = inf is the Poisson limit",
           "total_count": "total_count = inf gives an infinite mean",
           "logits": "logits = +inf gives an infinite mean"}


def _warn_outside():
    """torch's warning for log_prob values off the support (validate_args)."""
    warnings.warn("The value argument must be within the support of the distribution",
                  UserWarning, stacklevel=3)


class NegativeBinomial:
    """Negative Binomial distribution, scvi-tools' API on NumPy, Dask, CuPy or
    torch CUDA arrays.

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
    validate_args : bool, optional
        Raise ``ValueError`` for invalid parameters and warn for values
        outside the support. None: the class default.
    """

    arg_constraints = {"mu": constraints.greater_than_eq(0),
                       "theta": constraints.greater_than_eq(0)}
    support = constraints.nonnegative_integer
    has_enumerate_support = False
    has_rsample = False
    event_shape = ()
    _default_validate_args = False
    _distribution = "nbinom"
    _param_names = ("mu", "theta")

    def __init__(self, total_count=None, probs=None, logits=None, mu=None, theta=None,
                 validate_args=None):
        given = {"total_count": total_count, "probs": probs, "logits": logits,
                 "mu": mu, "theta": theta}
        for name, value in given.items():
            if value is not None:
                _arrays.check(value, name)
        self._validate_args = (self._default_validate_args if validate_args is None
                               else bool(validate_args))
        if self._validate_args:
            for name, value in given.items():
                if value is not None and name in _GIVEN_CONSTRAINTS:
                    self._check(name, value, _GIVEN_CONSTRAINTS[name])   # computes Dask input
            for name, why in _FINITE.items():
                if given[name] is not None:
                    self._check_finite(name, given[name], why)
        mu, theta = _params.convert(**given)
        shape = np.broadcast_shapes(_arrays.shape(mu), _arrays.shape(theta))
        xp = _params.namespace(mu, theta)
        self.mu = xp.broadcast_to(mu, shape)
        self.theta = xp.broadcast_to(theta, shape)
        if self._validate_args:
            for name, c in self.arg_constraints.items():
                self._check(name, getattr(self, name), c)
        given = {k: v for k, v in given.items() if v is not None}
        self._mask = _arrays.union_mask(*given.values(), *self._extra_given())
        if self._mask is not None:
            self._mask = np.broadcast_to(self._mask, np.broadcast_shapes(self._mask.shape,
                                                                         shape))
        self._far = None
        if "logits" in given or "probs" in given:
            def far_logits():
                if "logits" in given:
                    return _params.as_float(given["logits"])[0]
                q = np.asarray(_params.as_float(given["probs"])[0], np.float64)
                return np.log(q) - np.log1p(-q)
            self._far = _params.FarMean.find(self.mu, self.theta, far_logits,
                                             getattr(self, "zi_logits", None))

    def _extra_given(self):
        """Further given parameters whose masks count (the zero inflation)."""
        return ()

    def _out(self, res):
        """A result masked where a parameter is (NumPy results)."""
        return _arrays.remask(res, self._mask)

    def _fix(self, name, x, res):
        """res with the elements of a mean beyond the floating range from their logits."""
        return res if self._far is None else self._far.fix(name, x, res, dispatch)

    @property
    def _xp(self):
        """The parameters' array module (not stored: instances pickle)."""
        return _params.namespace(self.mu, self.theta)

    @property
    def _ops(self):
        """The kernels' parameter operands."""
        return (self.mu, self.theta)

    @staticmethod
    def _check(name, value, constraint):
        ok = constraint.check(value)            # NumPy for host input (torch CPU included)
        if not _params.namespace(ok).all(ok):
            raise ValueError(f"Expected parameter {name} of shape {_arrays.shape(value)} to satisfy "
                             f"the constraint {constraint}, but found invalid values:\n{value}")

    @staticmethod
    def _check_finite(name, value, why):
        """ValueError unless value < inf (an infinite mean is no distribution)."""
        ok = ~(_array(value) == np.inf)
        if not _params.namespace(ok).all(ok):
            raise ValueError(f"Expected parameter {name} of shape {_arrays.shape(value)} to be "
                             f"finite ({why}), but found invalid values:\n{value}")

    @staticmethod
    def set_default_validate_args(value):
        """Set the class-wide default of ``validate_args`` to ``value`` (True or False)."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args takes True or False")
        NegativeBinomial._default_validate_args = value

    def __repr__(self):
        def show(a):
            return f"{a.ravel()[0]!r}" if _arrays.size(a) == 1 else f"shape {_arrays.shape(a)}"
        return f"NegativeBinomial(mu: {show(self.mu)}, theta: {show(self.theta)})"

    # -------------------------------------------------------- parameters
    @property
    def batch_shape(self):
        return _arrays.shape(self.mu)

    @property
    def total_count(self):
        """theta, torch's number of failures."""
        return self._out(self.theta)

    @property
    def probs(self):
        """torch's success probability mu / (mu + theta) = sigmoid(logits)."""
        p = _params._to_probs(self.mu, self.theta)
        return self._out(p if self._far is None else self._far.probs_of(p).astype(p.dtype))

    @property
    def logits(self):
        """log(mu / theta)."""
        lg = _params._to_logits(self.mu, self.theta)
        return self._out(lg if self._far is None else self._far.logits_of(lg).astype(lg.dtype))

    @property
    def mean(self):
        """mu; 0 for the point mass theta = 0 (its variance is 0 too)."""
        with np.errstate(invalid="ignore"):
            return self._out(self._xp.where(self.theta == 0, 0.0, self.mu))

    @property
    def variance(self):
        """mu + mu**2 / theta; 0 for a point mass (mu = 0 or theta = 0)."""
        return self._out(_moments.stats(self.mu, self.theta, self._xp)[1])

    @property
    def stddev(self):
        """sqrt(variance)."""
        return self._apply(self._xp.sqrt, self.variance)

    def _apply(self, f, res):
        """f(res), masked entries computed on the data too (NumPy's masked
        functions leave them as they were)."""
        if isinstance(res, np.ma.MaskedArray):
            return _arrays.remask(f(np.ma.getdata(res)), np.ma.getmaskarray(res))
        return f(res)

    def expand(self, batch_shape):
        """The same distribution broadcast to ``batch_shape`` (views, no copy)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for name in self._param_names:
            setattr(new, name, self._xp.broadcast_to(getattr(self, name), batch_shape))
        if self._mask is not None:
            new._mask = np.broadcast_to(self._mask, batch_shape)
        if self._far is not None:
            new._far = self._far.expand(batch_shape)
        return new

    # ----------------------------------------------------------- methods
    def log_prob(self, value):
        """Log-pmf at ``value``; exact on the support.

        torch tensors in, a torch tensor out, differentiable in the
        parameters (the exact derivative kernels, not autodiff of a
        formula). Off the support (negative or non-integer values) it
        returns the continuous extension through log-gamma, as scvi-tools
        does, and warns when ``validate_args`` is on (host arrays).
        """
        _arrays.check(value, "value")
        xp = self._xp
        if xp.__name__ == "torch":
            from ._torch import log_prob
            res = log_prob(self._distribution, value, *self._ops)
            if self._validate_args and not xp.all(self.support.check(value)):
                _warn_outside()
            return res
        if any(_params.is_dask(a) for a in (value,) + self._ops):
            # lazily, without the support warning (it would need a compute)
            res = dispatch(self._distribution, "logpmf", (value,) + self._ops)
            return np.where(self.support.check(value), res, self._continuous_log_prob(value))
        if xp is not np:
            res = dispatch(self._distribution, "logpmf", (value,) + self._ops)
            if self._validate_args and not xp.all(self.support.check(value)):
                _warn_outside()
            return res
        masked = isinstance(value, np.ma.MaskedArray)
        res = dispatch(self._distribution, "logpmf", (value,) + self._ops)
        res = self._fix("logpmf", value, res)
        vmask = np.ma.getmaskarray(res) if masked else None
        value, res = np.asarray(np.ma.getdata(value)), np.asarray(np.ma.getdata(res))
        # off the support the kernel gives -inf: one reduction spares the
        # full support check on the common path
        low = res.min() if res.size else 0.0
        if low == -np.inf or np.isnan(low) or self._validate_args:
            outside = ~self.support.check(value)
            if np.any(outside):
                if self._validate_args:
                    _warn_outside()
                res = np.where(outside, self._continuous_log_prob(value), res).astype(res.dtype)
        if masked:
            res = np.ma.masked_array(res, mask=vmask)
        return self._out(res)

    def _continuous_log_prob(self, x):
        """scvi-tools' log-gamma formula (without its eps), off the support."""
        import scipy.special as sc
        mu, theta = self.mu, self.theta
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tail, per_count = theta * np.log1p(mu / theta), np.log(mu) - np.log(mu + theta)
            if self._far is not None:
                # theta log(1 + mu / theta) = theta softplus(L),
                # log(mu / (mu + theta)) = log sigmoid(L)
                L = self._far.logits_of(np.log(mu) - np.log(theta))
                far = np.broadcast_to(self._far.mask, L.shape)
                tail = np.where(far, theta * np.logaddexp(0.0, L), tail)
                per_count = np.where(far, -np.logaddexp(0.0, -L), per_count)
            return (sc.gammaln(x + theta) - sc.gammaln(theta) - sc.gammaln(x + 1.0)
                    - tail + x * per_count)

    def cdf(self, value):
        """P(X <= value)."""
        _arrays.check(value, "value")
        res = dispatch(self._distribution, "cdf", (value,) + self._ops)
        return self._out(self._fix("cdf", value, res))

    def icdf(self, value):
        """Smallest k with cdf(k) >= value."""
        _arrays.check(value, "value")
        res = dispatch(self._distribution, "ppf", (value,) + self._ops)
        return self._out(self._fix("ppf", value, res))

    def entropy(self):
        """Entropy in nats, exact (by summation)."""
        if self._xp is not np and self._xp.__name__ != "torch":
            raise TypeError("entropy is computed on the CPU: pass host parameters")
        res = dispatch(self._distribution, "entropy", self._ops)
        return self._out(self._fix("entropy", None, res))

    def perplexity(self):
        """exp(entropy)."""
        return self._apply(self._xp.exp, self.entropy())

    def sample(self, sample_shape=(), random_state=None):
        """Draws of shape ``sample_shape + batch_shape``, as floats (like scvi).

        Gamma(theta, rate theta / mu) then Poisson, exact, with no clamp, from
        nbnumba's counter-based sampler; NaN for invalid parameters.
        ``sample_shape``: an int or a tuple of them. ``random_state``: None
        (NumPy's global state; torch's default generator, so
        torch.manual_seed, for torch parameters), an int, a SeedSequence, a
        torch.Generator, a Generator, a RandomState, or a pair of ints in
        [0, 2**32): the Philox key itself, by design (anything else raises
        ValueError).
        """
        shape = _arrays.size_shape(sample_shape, (), "sample_shape") + tuple(self.batch_shape)
        if random_state is None and self._xp.__name__ == "torch":
            import torch
            random_state = torch.default_generator
        return self._out(sampling.draw(self._ops, shape, random_state, _params.dtype(self.mu)))

    def sample_n(self, n):
        """``sample((n,))``."""
        return self.sample((n,))

    def rsample(self, sample_shape=()):
        """Not available for any sample_shape: NotImplementedError (no
        reparameterized sampler, as scvi-tools)."""
        raise NotImplementedError("NegativeBinomial has no reparameterized sampler "
                                  "(has_rsample is False)")

    def enumerate_support(self, expand=True):
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
        every function works from the logit).
    scale : array_like, optional
        Kept as an attribute, as scvi-tools does (the decoder's normalized
        expression); not used in any computation.
    validate_args : bool, optional
        As :class:`NegativeBinomial`.
    """

    arg_constraints = {"mu": constraints.greater_than_eq(0),
                       "theta": constraints.greater_than_eq(0),
                       "zi_logits": constraints.real}
    _distribution = "zinb"
    _param_names = ("mu", "theta", "zi_logits")

    def __init__(self, total_count=None, probs=None, logits=None, mu=None, theta=None,
                 zi_logits=None, scale=None, validate_args=None):
        if zi_logits is None:
            raise ValueError("ZeroInflatedNegativeBinomial needs zi_logits")
        self._given_zi = zi_logits
        (zl,) = _params.as_float(zi_logits, names=("zi_logits",))
        self.zi_logits = zl
        self.scale = scale
        super().__init__(total_count=total_count, probs=probs, logits=logits, mu=mu,
                         theta=theta, validate_args=validate_args)
        xp = self._xp
        shape = np.broadcast_shapes(_arrays.shape(self.mu), _arrays.shape(zl))
        self.mu, self.theta, self.zi_logits = (xp.broadcast_to(a, shape)
                                               for a in (self.mu, self.theta, zl))
        if self._mask is not None:
            self._mask = np.broadcast_to(self._mask, shape)

    @property
    def _ops(self):
        return (self.mu, self.theta, self.zi_logits)

    def _extra_given(self):
        return (self._given_zi,)

    def __repr__(self):
        return "ZeroInflated" + super().__repr__()

    @property
    def zi_probs(self):
        """pi = sigmoid(zi_logits)."""
        with np.errstate(over="ignore"):
            return self._out(1.0 / (1.0 + self._xp.exp(-self.zi_logits)))

    def _keep(self):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + self._xp.exp(self.zi_logits))

    @property
    def mean(self):
        """(1 - pi) mu; 0 for the point mass theta = 0."""
        with np.errstate(invalid="ignore"):
            mu = self._xp.where(self.theta == 0, 0.0, self.mu)
        return self._out(self._keep() * mu)

    @property
    def variance(self):
        """(1 - pi) mu (1 + mu / theta + pi mu); 0 for a point mass."""
        return self._out(_moments.stats(self.mu, self.theta, self._xp, self._keep())[1])

    def _continuous_log_prob(self, x):
        """The NB's continuous extension plus log(1 - pi) (x is off the
        support, so never 0)."""
        return super()._continuous_log_prob(x) - np.logaddexp(0.0, self.zi_logits)

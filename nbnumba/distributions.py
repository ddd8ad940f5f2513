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
as in scvi-tools).
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
    nonnegative = GreaterThanEq(0.0)
    nonnegative_integer = IntegerGreaterThan(0)
    half_open_interval = HalfOpenInterval
    real = Real()


_GIVEN_CONSTRAINTS = {"total_count": constraints.nonnegative,
                      "probs": HalfOpenInterval(0.0, 1.0),
                      "logits": constraints.real}


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
        self._validate_args = (self._default_validate_args if validate_args is None
                               else bool(validate_args))
        if self._validate_args:
            for name, value in given.items():
                if value is not None and name in _GIVEN_CONSTRAINTS:
                    self._check(name, value, _GIVEN_CONSTRAINTS[name])   # computes Dask input
        mu, theta = _params.convert(**given)
        shape = np.broadcast_shapes(_params.shape(mu), _params.shape(theta))
        xp = _params.namespace(mu, theta)
        self.mu = xp.broadcast_to(mu, shape)
        self.theta = xp.broadcast_to(theta, shape)
        if self._validate_args:
            for name, c in self.arg_constraints.items():
                self._check(name, getattr(self, name), c)

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
        if not _params.namespace(value).all(constraint.check(value)):
            raise ValueError(f"Expected parameter {name} of shape {_params.shape(value)} to satisfy "
                             f"the constraint {constraint}, but found invalid values:\n{value}")

    @staticmethod
    def set_default_validate_args(value):
        """Set the class-wide default of ``validate_args``."""
        if value not in (True, False):
            raise ValueError("set_default_validate_args takes True or False")
        NegativeBinomial._default_validate_args = value

    def __repr__(self):
        def show(a):
            return f"{a.ravel()[0]!r}" if _params.size(a) == 1 else f"shape {_params.shape(a)}"
        return f"NegativeBinomial(mu: {show(self.mu)}, theta: {show(self.theta)})"

    # -------------------------------------------------------- parameters
    @property
    def batch_shape(self):
        return _params.shape(self.mu)

    @property
    def total_count(self):
        return self.theta

    @property
    def probs(self):
        return _params.to_probs(self.mu, self.theta)

    @property
    def logits(self):
        return _params.to_logits(self.mu, self.theta)

    @property
    def mean(self):
        return self.mu

    @property
    def variance(self):
        return _moments.stats(self.mu, self.theta, self._xp)[1]

    @property
    def stddev(self):
        return self._xp.sqrt(self.variance)

    def expand(self, batch_shape):
        """The same distribution broadcast to ``batch_shape`` (views, no copy)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for name in self._param_names:
            setattr(new, name, self._xp.broadcast_to(getattr(self, name), batch_shape))
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
        value = np.asarray(value)
        res = np.asarray(dispatch(self._distribution, "logpmf", (value,) + self._ops))
        # off the support the kernel gives -inf: one reduction spares the
        # full support check on the common path
        low = res.min() if res.size else 0.0
        if not (low == -np.inf or np.isnan(low) or self._validate_args):
            return res
        outside = ~self.support.check(value)
        if np.any(outside):
            if self._validate_args:
                _warn_outside()
            res = np.where(outside, self._continuous_log_prob(value), res)
        return res

    def _continuous_log_prob(self, x):
        """scvi-tools' log-gamma formula (without its eps), off the support."""
        import scipy.special as sc
        mu, theta = self.mu, self.theta
        with np.errstate(divide="ignore", invalid="ignore"):
            return (sc.gammaln(x + theta) - sc.gammaln(theta) - sc.gammaln(x + 1.0)
                    - theta * np.log1p(mu / theta) + x * (np.log(mu) - np.log(mu + theta)))

    def cdf(self, value):
        """P(X <= value)."""
        return dispatch(self._distribution, "cdf", (value,) + self._ops)

    def icdf(self, value):
        """Smallest k with cdf(k) >= value."""
        return dispatch(self._distribution, "ppf", (value,) + self._ops)

    def entropy(self):
        """Entropy in nats, exact (by summation)."""
        if self._xp is not np and self._xp.__name__ != "torch":
            raise TypeError("entropy is computed on the CPU: pass host parameters")
        return dispatch(self._distribution, "entropy", self._ops)

    def perplexity(self):
        return self._xp.exp(self.entropy())

    def sample(self, sample_shape=(), random_state=None):
        """Draws of shape ``sample_shape + batch_shape``, as floats (like scvi).

        Gamma(theta, rate theta / mu) then Poisson, exact, with no clamp, from
        nbnumba's counter-based sampler; NaN for invalid parameters.
        ``random_state``: None (NumPy's global state; torch's default
        generator, so torch.manual_seed, for torch parameters), an int, a
        SeedSequence, a torch.Generator,
        a Generator or a RandomState.
        """
        shape = _arrays.size_shape(sample_shape, ()) + tuple(self.batch_shape)
        if random_state is None and self._xp.__name__ == "torch":
            import torch
            random_state = torch.default_generator
        return sampling.draw(self._ops, shape, random_state, _params.dtype(self.mu))

    def sample_n(self, n):
        return self.sample((n,))

    def rsample(self, sample_shape=()):
        raise NotImplementedError("NegativeBinomial has no reparameterized sampler "
                                  "(has_rsample is False)")

    def enumerate_support(self, expand=True):
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
        (zl,) = _params.as_float(zi_logits)
        self.zi_logits = zl
        self.scale = scale
        super().__init__(total_count=total_count, probs=probs, logits=logits, mu=mu,
                         theta=theta, validate_args=validate_args)
        xp = self._xp
        shape = np.broadcast_shapes(_params.shape(self.mu), _params.shape(zl))
        self.mu, self.theta, self.zi_logits = (xp.broadcast_to(a, shape)
                                               for a in (self.mu, self.theta, zl))

    @property
    def _ops(self):
        return (self.mu, self.theta, self.zi_logits)

    def __repr__(self):
        return "ZeroInflated" + super().__repr__()

    @property
    def zi_probs(self):
        """pi = sigmoid(zi_logits)."""
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + self._xp.exp(-self.zi_logits))

    def _keep(self):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + self._xp.exp(self.zi_logits))

    @property
    def mean(self):
        """(1 - pi) mu."""
        return self._keep() * self.mu

    @property
    def variance(self):
        """(1 - pi) mu (1 + mu / theta + pi mu)."""
        return _moments.stats(self.mu, self.theta, self._xp, self._keep())[1]

    def _continuous_log_prob(self, x):
        """The NB's continuous extension plus log(1 - pi) (x is off the
        support, so never 0)."""
        import scipy.special as sc
        return super()._continuous_log_prob(x) - sc.log1p(np.exp(self.zi_logits))

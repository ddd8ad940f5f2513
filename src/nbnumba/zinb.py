"""Elementwise functions, sampling and log-likelihood sums of the
zero-inflated NB, ZINB(mu, theta, pi): pmf(k) = pi [k = 0] + (1 - pi) NB(k; mu, theta).

Generated from its table like :mod:`nbnumba.ufuncs` (same broadcasting,
dtype and family policies, targets and ``out=``). Each function takes the
zero inflation as ``pi`` (positional) or as its logit ``zi_logits``
(keyword; scvi-tools' parameterization), which the kernels work from: pi
within a few ulp of 0 or 1 (``|zi_logits|`` up to ~700) loses nothing.
"""
from . import _params, reductions, sampling
from .ufuncs import generate

__all__ = generate("zinb", globals(), convert=_params.ZeroInflation()) + ["rvs", "loglik"]


def rvs(mu, theta, pi=None, *, zi_logits=None, size=None, random_state=None):
    """Random ZINB counts, int64: the NB draw (the same as :func:`nbnumba.rvs`
    for the same key), replaced by 0 with probability pi (a uniform of a
    stream of its own). Parameters as :func:`nbnumba.rvs`, plus ``pi`` or
    ``zi_logits``."""
    return sampling.sample((mu, theta, _params.zi_logits(pi, zi_logits, "float64")), size,
                           random_state)


def loglik(x, mu, theta, pi=None, *, zi_logits=None, axis=None, keepdims=False):
    """Sum of the ZINB log-pmf without materialising it; as :func:`nbnumba.loglik`,
    plus ``pi`` or ``zi_logits`` (broadcast against x, e.g. per gene)."""
    return reductions.reduce("zinb", x, mu, (theta, _params.zi_logits(pi, zi_logits, "float64")),
                             axis, keepdims)

"""Scalar functions of the zero-inflated NB, ZINB(mu, theta, zi_logits), for
``@njit`` functions and ``@cuda.jit`` kernels: one per row of the
distribution's table (generated), and the sampler :func:`rvs`. The zero
inflation is given as its logit ``zi_logits`` (pi = sigmoid(zi_logits))."""
import numpy as np

from .._math import random as _random
from ._generate import generate, user

__all__ = generate("zinb", globals()) + ["rvs"]


@user
def rvs(mu: float, theta: float, zi_logits: float, key: tuple[int, int], counter: int) -> float:
    """Draw number ``counter`` of ZINB(mu, theta, zi_logits) under the Philox ``key``.

    Element ``counter`` (C order) of ``nbnumba.zinb.rvs(mu, theta,
    zi_logits=zi_logits, size=size, random_state=key)``, as a float: the NB
    draw of :func:`nbnumba.scalar.nbinom.rvs` for the same key and counter,
    replaced by 0 with probability sigmoid(zi_logits).

    Parameters
    ----------
    mu, theta, zi_logits : float
    key : (int, int)
        The Philox key: two ints in [0, 2**32) (higher bits are ignored).
    counter : int
        The draw's number, >= 0.

    Returns
    -------
    float
        The count; NaN for invalid parameters.
    """
    k0, k1, i = np.uint64(key[0]), np.uint64(key[1]), np.int64(counter)
    return _random.zero_inflated(_random.nb_variate(float(mu), float(theta), k0, k1, i),
                                 float(zi_logits), k0, k1, i)

"""Scalar functions of the NB(mu, theta), for ``@njit`` functions and
``@cuda.jit`` kernels: one per row of the distribution's table (generated),
and the sampler :func:`rvs`."""
import numpy as np

from .._math import random as _random
from ._generate import generate, user

__all__ = generate("nbinom", globals()) + ["rvs"]


@user
def rvs(mu: float, theta: float, key: tuple[int, int], counter: int) -> float:
    """Draw number ``counter`` of NB(mu, theta) under the Philox ``key``.

    Element ``counter`` (C order) of ``nbnumba.rvs(mu, theta, size,
    random_state=key)``, as a float: the draw depends only on the key and
    the counter, so each (key, counter) pair is one reproducible,
    independent draw, whatever thread or GPU block asks for it.

    Parameters
    ----------
    mu, theta : float
    key : (int, int)
        The Philox key: two ints in [0, 2**32) (higher bits are ignored);
        :func:`nbnumba.scalar.key` gives the key of a seed.
    counter : int
        The draw's number, >= 0.

    Returns
    -------
    float
        The count; NaN for invalid parameters (mu < 0 or not finite,
        theta < 0, NaN).
    """
    return _random.nb_variate(float(mu), float(theta), np.uint64(key[0]), np.uint64(key[1]),
                              np.int64(counter))

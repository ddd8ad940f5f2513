"""nbnumba's scalar functions, for a user's own ``@numba.njit`` functions and
``@cuda.jit`` kernels.

``nbnumba.scalar.nbinom.<function>`` and ``nbnumba.scalar.zinb.<function>``
exist for every function of the distribution's table (``logpmf``, ``cdf``,
``ppf``, ``logpmf_grad``, ...): the operands of the top-level function, in
its order (the ZINB's zero inflation as ``zi_logits``), as float64 scalars;
a float out, or a tuple for several outputs. Each returns the value of the
array function, bit for bit (on a GPU, up to the last bits of its
transcendental functions). ``rvs(..., key, counter)`` draws with the
counter-based generator of :func:`nbnumba.rvs`; :func:`key` gives the key a
``random_state`` stands for.

The functions compile within the caller (Numba), on the CPU and for CUDA
devices alike, and are callable from Python too.
"""
from typing import Any

from .. import _arrays
from . import nbinom, zinb

__all__ = ["nbinom", "zinb", "key"]


def key(random_state: Any = None) -> tuple[int, int]:
    """The Philox key (two ints in [0, 2**32)) that ``random_state`` gives
    :func:`nbnumba.rvs`: with it, ``nbinom.rvs(mu, theta, key, i)`` is
    element ``i`` (C order) of ``nbnumba.rvs(mu, theta, size,
    random_state)`` for the same seed.

    Parameters
    ----------
    random_state : None, int, SeedSequence, Generator, RandomState, torch.Generator or (int, int)
        As :func:`nbnumba.rvs`; a Generator or RandomState advances.

    Returns
    -------
    tuple of two int
    """
    k0, k1 = _arrays.key(random_state)
    return int(k0), int(k1)

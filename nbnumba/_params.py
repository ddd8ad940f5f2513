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
the device and without copies.
"""
import importlib
import math

import numpy as np

from ._arrays import dtype, is_dask, is_torch, on_device, shape, size

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


def as_float(*arrays):
    """Convert to floating arrays of one common dtype (float32 or float64).

    NumPy arrays, scalars and anything np.asarray takes; Dask arrays stay
    lazy; CuPy arrays and torch CUDA tensors stay on their device.
    """
    xp = namespace(*arrays)
    if xp is np:
        arrays = [a if is_dask(a) else np.asarray(a) for a in arrays]
    else:
        like = next((a for a in arrays if on_device(a)), None) or next(
            a for a in arrays if is_torch(a))
        kw = {"device": like.device} if xp.__name__ == "torch" else {}
        arrays = [a if on_device(a) or is_torch(a) else xp.asarray(np.asarray(a), **kw)
                  for a in arrays]
    common = np.result_type(*[dtype(a) for a in arrays], np.float32)
    if common not in (np.float32, np.float64):
        common = np.float64
    return [astype(a, common) for a in arrays]


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def from_probs(total_count, probs):
    """(total_count, probs) -> (mu, theta)."""
    total_count, probs = as_float(total_count, probs)
    xp = namespace(total_count, probs)
    with _errstate():
        # 1 - probs is exact for probs >= 1/2 (Sterbenz), so no digit is lost.
        mu = total_count * (probs / (1 - probs))
        mu = xp.where((probs >= 0) & (probs < 1), mu, math.nan)
    return astype(mu, dtype(total_count)), total_count


def from_logits(total_count, logits):
    """(total_count, logits) -> (mu, theta), with logits = log(mu / theta)."""
    total_count, logits = as_float(total_count, logits)
    xp = namespace(total_count, logits)
    with _errstate():
        mu = total_count * xp.exp(logits)
        # exp(logits) alone may overflow or underflow while mu does not.
        far = (~xp.isfinite(mu) | (mu == 0)) & (total_count > 0)
        if xp.any(far):
            mu = xp.where(far, xp.exp(logits + xp.log(total_count)), mu)
    return astype(mu, dtype(total_count)), total_count


def from_scipy(n, p):
    """scipy's (n, p) -> (mu, theta); p outside (0, 1] gives NaN."""
    n, p = as_float(n, p)
    xp = namespace(n, p)
    with _errstate():
        mu = n * ((1 - p) / p)
        mu = xp.where((p > 0) & (p <= 1), mu, math.nan)
    return astype(mu, dtype(n)), n


def to_probs(mu, theta):
    """torch's success probability mu / (mu + theta)."""
    mu, theta = as_float(mu, theta)
    xp = namespace(mu, theta)
    with _errstate():
        return astype(xp.where(xp.isinf(theta), 0.0 * mu, mu / (mu + theta)), dtype(mu))


def to_logits(mu, theta):
    """log(mu / theta)."""
    mu, theta = as_float(mu, theta)
    xp = namespace(mu, theta)
    with _errstate():
        return astype(xp.log(mu) - xp.log(theta), dtype(mu))


def to_scipy(mu, theta):
    """scipy's (n, p) = (theta, theta / (theta + mu))."""
    mu, theta = as_float(mu, theta)
    xp = namespace(mu, theta)
    with _errstate():
        p = xp.where(xp.isinf(theta), 1.0 + 0.0 * mu, 1.0 / (1.0 + mu / theta))
    return theta, astype(p, dtype(mu))


def convert(**params):
    """Exactly one parameterization by keyword -> (mu, theta) arrays.

    Raises ValueError naming the accepted combinations otherwise.
    """
    given = {k for k, v in params.items() if v is not None}
    if given == {"mu", "theta"}:
        return as_float(params["mu"], params["theta"])
    if given == {"total_count", "probs"}:
        return from_probs(params["total_count"], params["probs"])
    if given == {"total_count", "logits"}:
        return from_logits(params["total_count"], params["logits"])
    accepted = " or ".join("(" + ", ".join(c) + ")" for c in PARAMETERIZATIONS)
    raise ValueError(f"give exactly one parameterization: {accepted}; "
                     f"got {sorted(given) or 'none'}")


def zi_logits(pi=None, zi_logits=None):
    """The zero-inflation logit log(pi / (1 - pi)) from exactly one of
    ``pi`` (in [0, 1]; other values give NaN) and ``zi_logits`` (as is)."""
    if (pi is None) == (zi_logits is None):
        raise ValueError("give exactly one of pi and zi_logits")
    if pi is None:
        return zi_logits
    (pi,) = as_float(pi)
    xp = namespace(pi)
    with _errstate():
        z = xp.log(pi) - xp.log1p(-pi)
        return xp.where((pi >= 0) & (pi <= 1), z, math.nan)


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

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
complement. Conversions are elementwise on NumPy arrays, keep float32 as
float32 (Python scalars as float64) and never raise: out-of-range inputs map
to values the kernels treat as invalid (NaN results).
"""
import numpy as np

PARAMETERIZATIONS = (("mu", "theta"), ("total_count", "probs"),
                     ("total_count", "logits"))


def is_dask(a):
    """Whether a is a Dask array (kept lazy everywhere)."""
    return type(a).__module__.startswith("dask.")


def as_float(*arrays):
    """Convert to floating arrays of one common dtype (float32 or float64).

    NumPy arrays, scalars and anything np.asarray takes; Dask arrays stay lazy.
    """
    arrays = [a if is_dask(a) else np.asarray(a) for a in arrays]
    dtype = np.result_type(*[a.dtype for a in arrays], np.float32)
    if dtype not in (np.float32, np.float64):
        dtype = np.float64
    return [a.astype(dtype, copy=False) for a in arrays]


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def from_probs(total_count, probs):
    """(total_count, probs) -> (mu, theta)."""
    total_count, probs = as_float(total_count, probs)
    with _errstate():
        # 1 - probs is exact for probs >= 1/2 (Sterbenz), so no digit is lost.
        mu = total_count * (probs / (1 - probs))
        mu = np.where((probs >= 0) & (probs < 1), mu, np.nan)
    return mu.astype(total_count.dtype, copy=False), total_count


def from_logits(total_count, logits):
    """(total_count, logits) -> (mu, theta), with logits = log(mu / theta)."""
    total_count, logits = as_float(total_count, logits)
    with _errstate():
        mu = total_count * np.exp(logits)
        # exp(logits) alone may overflow or underflow while mu does not.
        far = (~np.isfinite(mu) | (mu == 0)) & (total_count > 0)
        if np.any(far):
            mu = np.where(far, np.exp(logits + np.log(total_count)), mu)
    return mu.astype(total_count.dtype, copy=False), total_count


def from_scipy(n, p):
    """scipy's (n, p) -> (mu, theta); p outside (0, 1] gives NaN."""
    n, p = as_float(n, p)
    with _errstate():
        mu = n * ((1 - p) / p)
        mu = np.where((p > 0) & (p <= 1), mu, np.nan)
    return mu.astype(n.dtype, copy=False), n


def to_probs(mu, theta):
    """torch's success probability mu / (mu + theta)."""
    mu, theta = as_float(mu, theta)
    with _errstate():
        return np.where(np.isinf(theta), 0.0 * mu, mu / (mu + theta)).astype(mu.dtype, copy=False)


def to_logits(mu, theta):
    """log(mu / theta)."""
    mu, theta = as_float(mu, theta)
    with _errstate():
        return (np.log(mu) - np.log(theta)).astype(mu.dtype, copy=False)


def to_scipy(mu, theta):
    """scipy's (n, p) = (theta, theta / (theta + mu))."""
    mu, theta = as_float(mu, theta)
    with _errstate():
        p = np.where(np.isinf(theta), 1.0 + 0.0 * mu, 1.0 / (1.0 + mu / theta))
    return theta, p.astype(mu.dtype, copy=False)


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

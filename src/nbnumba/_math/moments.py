"""Moments of the NB and the zero-inflated NB, in closed form, elementwise
in any array module (NumPy, CuPy, torch): what the faces' ``stats``,
``moment``, ``mean`` and ``variance`` return.

Raw moments: E[X**n] = sum_r S(n, r) E[(X)_r] with Stirling numbers of the
second kind and the NB's factorial moments E[(X)_r] = prod_{i<r} (mu + i mu
/ theta); the zero-inflated NB's are (1 - pi) times the NB's.
"""
import numpy as np


def _errstate():
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def raw(order, mu, theta, xp, keep=None):
    """E[X**order] of NB(mu, theta), times ``keep`` (1 - pi) if given."""
    with _errstate():
        x = mu / theta
        row = [1]               # S(j, r), r = 0..j
        for j in range(1, order + 1):
            row = [0] + [r * row[r] + row[r - 1] for r in range(1, j)] + [1]
        fact, total = xp.ones_like(mu), xp.zeros_like(mu)
        for r in range(order + 1):
            if r:
                fact = fact * (mu + (r - 1) * x)
            total = total + row[r] * fact
        return total if keep is None else keep * total


def stats(mu, theta, xp, keep=None):
    """(mean, variance, skewness, excess kurtosis); NB in closed form, or,
    with ``keep`` = 1 - pi, the zero-inflated NB's from its raw moments.
    A point mass (mu = 0 or theta = 0) has variance 0."""
    with _errstate():
        if keep is None:
            x = mu / theta
            p = 1.0 / (1.0 + x)
            var = xp.where((mu == 0) | (theta == 0), 0.0 * mu, mu * (1.0 + x))
            skew = (2.0 - p) / xp.sqrt(mu * p)
            kurt = (p * p + 6.0 * (1.0 - p)) / (mu * p)
            return mu, var, skew, kurt
        m1, m2, m3, m4 = (raw(n, mu, theta, xp, keep) for n in (1, 2, 3, 4))
        c3 = m3 - 3 * m1 * m2 + 2 * m1 ** 3
        c4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 ** 4
        # the variance directly, without m2 - m1**2: (1 - pi) mu (1 + mu / theta + pi mu)
        var = keep * mu * (1.0 + mu / theta + (1.0 - keep) * mu)
        var = xp.where((mu == 0) | (theta == 0) | (keep == 0), 0.0 * mu, var)
        return m1, var, c3 / var ** 1.5, c4 / (var * var) - 3.0

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


def stats(mu, theta, xp, keep=None, zi_logits=None):
    """(mean, variance, skewness, excess kurtosis); NB in closed form, or,
    with ``zi_logits``, the zero-inflated NB's: the mixture's central
    moments from the NB's, with pi and 1 - pi each from the logit (the raw
    moments, and 1 - (1 - pi), would cancel: every digit of the variance's
    pi mu at mu = 1e12, pi = 1e-10), scaled so that no intermediate
    quotient overflows where the result is finite. ``keep`` = 1 - pi
    instead of the logit loses those digits. A point mass (mu = 0 or
    theta = 0) has variance 0."""
    with _errstate():
        x = mu / theta
        p = 1.0 / (1.0 + x)
        if zi_logits is None and keep is None:
            var = xp.where((mu == 0) | (theta == 0), 0.0 * mu, mu * (1.0 + x))
            skew = (2.0 - p) / xp.sqrt(mu * p)
            kurt = (p * p + 6.0 * (1.0 - p)) / (mu * p)
            return mu, var, skew, kurt
        if zi_logits is None:
            pi = 1.0 - keep
        else:
            keep = 1.0 / (1.0 + xp.exp(zi_logits))      # 1 - pi
            pi = 1.0 / (1.0 + xp.exp(-zi_logits))
        # with a = mu p (theta where mu / theta overflows) and A = 1 + x +
        # pi mu (variance = (1 - pi) mu A): b = (1 + x) / A, u = pi mu / A,
        # w = mu / A, each at most 1 or mu
        a = xp.where(x < np.inf, mu * p, theta)
        b = 1.0 / (1.0 + pi * a)
        u = pi * a * b
        w = a * b
        var = keep * mu * (1.0 + x + pi * mu)
        var = xp.where((mu == 0) | (theta == 0) | (keep == 0), 0.0 * mu, var)
        # third and fourth central moments over (1 - pi) mu A**2
        c3 = b * b * (2.0 - p) + 3.0 * u * b - u * w * (keep - pi)
        # the excess kurtosis's 3 b**2 - 3 (1 - pi) as 3 pi (1 - a (2 + pi a) b**2)
        # = 3 pi (1 - w (2 b + u)): the difference would lose digits of a
        # small kurtosis (1 / mu at pi -> 0)
        c4 = (3.0 * pi * (1.0 - w * (2.0 * b + u)) + b * b * (p * p + 6.0 * (1.0 - p)) / a
              + 4.0 * pi * (2.0 - p) * b * b + 6.0 * u * u / a + u * w * (1.0 - 3.0 * pi * keep))
        return keep * mu, var, c3 / xp.sqrt(a * b * keep), c4 / keep

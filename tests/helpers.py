"""Helpers shared by the test modules: error measures and mpmath references.

A module of its own (not conftest.py) so that the tests import it by name,
from whatever directory pytest runs them.
"""
import math
from fractions import Fraction

import mpmath as mp

INF = math.inf


def rel_err(got, ref):
    """Relative error, absolute where |ref| < 1; 0 for equal infinities."""
    if ref == got:
        return 0.0
    if not (math.isfinite(got) and math.isfinite(ref)):
        return math.inf
    return abs(got - ref) / max(abs(ref), 1.0)


def _float(x):
    """float(x), +-inf where x overflows the double range."""
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def mp_reference(k, mu, theta):
    """The five derivatives at (k, mu, theta), 0 < theta < inf, and the
    magnitudes of the terms of each.

    d_mu, d_mu_mu and d_mu_theta are rational functions of the (exact)
    float inputs: computed exactly, in Fractions, from their definitions.
    d_theta and d_theta_theta are those of the lgamma formula (checked
    against mpmath.diff below) by mpmath's psi, at a precision that covers
    the cancellation between their terms (relative 1/theta**2 in the
    Poisson limit, (mu/theta)**2 as mu/theta -> 0, theta as theta -> 0).

    The derivatives in theta, and d_mu_mu, change sign: near their zeros
    no relative bound holds (an ulp of an input moves the value by more),
    so the tests bound the error there by TERMS times the magnitude of the
    terms whose sum is the derivative: |D| + |log1pmx(v)| for d_theta
    (D = dlgamma_ratio), |G| + |v**2/(k + theta)| for d_theta_theta
    (G = d2lgamma_ratio), theta (k theta + mu |2k - mu|) / (mu tpm)**2 for
    d_mu_mu = -theta (k theta + mu (2k - mu)) / (mu tpm)**2. None for d_mu
    and d_mu_theta, whose zero k = mu the inputs hold exactly.
    """
    K, M, T = Fraction(k), Fraction(mu), Fraction(theta)
    tpm = M + T
    d_mu = K / M - (K + T) / tpm
    d_mu_mu = -K / M**2 + (K + T) / tpm**2
    d_mu_theta = (K - M) / tpm**2
    s_mu_mu = T * (K * T + M * abs(2 * K - M)) / (M * tpm)**2
    dps = 40 + int(2 * abs(math.log10(theta)) + 2 * max(math.log10(theta) - math.log10(mu), 0) + math.log10(k + 1))
    with mp.workdps(dps):
        k, mu, theta = mp.mpf(k), mp.mpf(mu), mp.mpf(theta)
        tpm = theta + mu
        dpsi = mp.psi(0, k + theta) - mp.psi(0, theta) if k else 0
        dpsi1 = mp.psi(1, k + theta) - mp.psi(1, theta) if k else 0
        d_theta = dpsi + mp.log(theta / tpm) + (mu - k) / tpm
        d_theta_theta = dpsi1 + 1 / theta - 1 / tpm - (mu - k) / tpm**2
        D = dpsi - mp.log1p(k / theta)
        G = dpsi1 + k / (theta * (k + theta))
        scale = (abs(D) + abs(d_theta - D), abs(G) + abs(d_theta_theta - G))
    values = (d_mu, d_theta, d_mu_mu, d_mu_theta, d_theta_theta)
    scales = (0, scale[0], s_mu_mu, 0, scale[1])
    return [_float(x) for x in values], [_float(x) for x in scales]

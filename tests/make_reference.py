"""Regenerate tests/data/reference.csv: NB(mu, theta) values from mpmath.

Run ``python tests/make_reference.py`` (a few minutes). Every value is
computed at 60 significant digits from the definitions
    pmf(k) = Gamma(k + theta) / (Gamma(theta) k!) p**theta q**k,
    cdf(k) = sum_{j<=k} pmf(j) (exact finite sum, k <= 20000),
    cdf(k) = I_p(theta, k + 1),  sf(k) = I_q(k + 1, theta)  (larger k:
    quadrature of the beta density, or mpmath.betainc for theta < 1),
(Poisson: regularized incomplete gamma), independent of nbnumba's
algorithms, and stored as log values rounded to 17 digits.
"""
import csv
import itertools
import math
import os

import mpmath as mp

mp.mp.dps = 60

INF = math.inf


def _tails_by_sum(lpmf0, ratio, k):
    """log cdf(k) and log sf(k) by exact summation of the pmf recurrence."""
    term = mp.exp(lpmf0)
    terms = [term]
    for j in range(int(k)):
        term *= ratio(j)
        terms.append(term)
    cdf = mp.fsum(terms)
    if cdf < 1 - mp.mpf(10) ** -30:
        return mp.log(cdf), mp.log(1 - cdf)
    # sf is tiny: sum the right tail itself (terms fall geometrically here)
    tail, j = [], int(k)
    while True:
        term *= ratio(j)
        tail.append(term)
        j += 1
        if term < mp.mpf(10) ** -70 * tail[0] and ratio(j) < 1:
            break
    return mp.log(cdf), mp.log(mp.fsum(tail))


def _log_beta_tail(a, b, x):
    """log I_x(a, b) for x below the mode of Beta(a, b), a, b >= 1, by
    tanh-sinh quadrature of the density scaled by its value at x, on
    breakpoints doubling away from x until the integrand is below 1e-70."""
    def g(t):
        return (a - 1) * mp.log(t) + (b - 1) * mp.log1p(-t)
    gx = g(x)
    slope = (a - 1) / x - (b - 1) / (1 - x)
    h = mp.sqrt(x * (1 - x) / (a + b))
    if slope > 0:
        h = min(h, 1 / slope)
    pts = [x]
    while pts[-1] > 0:
        t = max(x - h * 2 ** (len(pts) - 1), 0)
        pts.append(t)
        if t > 0 and g(t) - gx < -160:
            break
    val = mp.quad(lambda t: mp.exp(g(t) - gx), pts[::-1])
    return gx + mp.log(val) - mp.log(mp.beta(a, b))


def _tails_by_quadrature(k, th, p, q):
    a, b = th, k + 1
    if p < (a - 1) / (a + b - 2):
        lcdf = _log_beta_tail(a, b, p)
        return lcdf, mp.log(-mp.expm1(lcdf))
    lsf = _log_beta_tail(b, a, q)
    return mp.log(-mp.expm1(lsf)), lsf


def log_values(k, mu, theta):
    k, mu = mp.mpf(k), mp.mpf(mu)
    if theta == INF:
        lpmf = k * mp.log(mu) - mu - mp.loggamma(k + 1)
        lcdf = mp.log(mp.gammainc(k + 1, mu, mp.inf, regularized=True))
        lsf = mp.log(mp.gammainc(k + 1, 0, mu, regularized=True))
        return lpmf, lcdf, lsf
    th = mp.mpf(theta)
    p, q = th / (th + mu), mu / (th + mu)
    lpmf = (mp.loggamma(k + th) - mp.loggamma(th) - mp.loggamma(k + 1)
            + th * mp.log(p) + k * mp.log(q))
    if k <= 20000:
        lcdf, lsf = _tails_by_sum(th * mp.log(p), lambda j: (th + j) * q / (j + 1), k)
    elif th >= 1:
        lcdf, lsf = _tails_by_quadrature(k, th, p, q)
    else:
        lcdf = mp.log(mp.betainc(th, k + 1, 0, p, regularized=True))
        lsf = mp.log(mp.betainc(k + 1, th, 0, q, regularized=True))
    return lpmf, lcdf, lsf


def grid():
    """(k, mu, theta) covering every regime the accuracy contract names."""
    rows = []
    # typical single-cell
    for mu, th in itertools.product([1e-3, 0.05, 0.7, 3.0, 25.0, 400.0, 1e3],
                                    [0.01, 0.3, 1.0, 7.5, 100.0]):
        for k in sorted({0, 1, 2, 3, 7, 16, 17, 40, 100, 1000,
                         int(mu), int(2 * mu) + 1}):
            rows.append((k, mu, th))
    # Poisson limit
    for mu, th in itertools.product([0.01, 1.0, 10.0, 300.0],
                                    [1e6, 1e9, 1e12, 1e15, 1e20, INF]):
        for k in sorted({0, 1, 5, 17, 50, int(mu), int(3 * mu) + 2}):
            rows.append((k, mu, th))
    # tiny theta
    for mu, th in itertools.product([0.01, 1.0, 100.0], [1e-8, 1e-6, 1e-4, 1e-3]):
        for k in [0, 1, 3, 20, 100, 5000]:
            rows.append((k, mu, th))
    # huge counts
    for mu, th in itertools.product([1e5, 1e6, 1e7], [0.5, 10.0, 1e4, 1e8]):
        for f in [0.0, 0.5, 0.999, 1.0, 1.001, 1.5, 3.0]:
            rows.append((int(f * mu), mu, th))
    # far tails
    rows += [(2000, 1.0, 1.0), (2000, 1.0, 100.0), (2000, 1.0, INF), (500, 0.1, INF),
             (0, 1e6, 1.0), (0, 1e6, 1e6), (10, 1e6, 1e3), (100, 1e5, INF),
             (20000, 10.0, 5.0), (10**6, 1.0, 0.5)]
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "data"), exist_ok=True)
    with open(os.path.join(here, "data", "reference.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["k", "mu", "theta", "logpmf", "logcdf", "logsf"])
        for k, mu, th in grid():
            vals = log_values(k, mu, th)
            w.writerow([k, repr(mu), repr(th)] + [mp.nstr(v, 17) for v in vals])
            f.flush()


if __name__ == "__main__":
    main()

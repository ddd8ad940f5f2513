"""Overhead of the faces over the raw ufunc, and scalar-call latency.

    python benchmarks/bench_faces.py

Prints, for logpmf on 1e6 elements and on one scalar, the time of
nbnumba.ufuncs.logpmf, of the frozen scipy-style object and of the unfrozen
call, next to scipy.stats.nbinom's scalar call.
"""
import timeit

import numpy as np
import scipy.stats

import nbnumba
from nbnumba import ufuncs


def per_call(stmt, number):
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number


def main():
    rng = np.random.default_rng(0)
    k = rng.integers(0, 20, 10 ** 6)
    mu = rng.uniform(0.1, 10, 10 ** 6)
    theta = 2.5
    frozen = nbnumba.nbinom(mu=mu, theta=theta)
    frozen.logpmf(k)
    rows = [("nbnumba.ufuncs.logpmf", lambda: ufuncs.logpmf(k, mu, theta)),
            ("nbinom(mu=, theta=).logpmf (frozen)", lambda: frozen.logpmf(k)),
            ("nbinom(mu=, theta=) built + logpmf", lambda: nbnumba.nbinom(mu=mu, theta=theta).logpmf(k))]
    if hasattr(nbnumba, "NegativeBinomial"):
        dist = nbnumba.NegativeBinomial(mu=mu, theta=theta)
        rows.append(("NegativeBinomial(mu=, theta=).log_prob", lambda: dist.log_prob(k)))
    print("| 1e6-element logpmf | ms | overhead vs ufunc |")
    print("|---|---:|---:|")
    base = None
    for label, f in rows:
        t = per_call(f, 5)
        base = base or t
        print(f"| {label} | {t * 1e3:.2f} | {100 * (t / base - 1):+.1f}% |")
    sfrozen = nbnumba.nbinom(mu=2.0, theta=2.5)
    sscipy = scipy.stats.nbinom(2.5, 2.5 / 4.5)
    print("\n| scalar call | µs |")
    print("|---|---:|")
    for label, f in [("nbnumba.ufuncs.logpmf(3, 2.0, 2.5)", lambda: ufuncs.logpmf(3, 2.0, 2.5)),
                     ("nbnumba frozen .logpmf(3)", lambda: sfrozen.logpmf(3)),
                     ("nbnumba.nbinom.logpmf(3, mu=2.0, theta=2.5)",
                      lambda: nbnumba.nbinom.logpmf(3, mu=2.0, theta=2.5)),
                     ("scipy frozen .logpmf(3)", lambda: sscipy.logpmf(3)),
                     ("scipy.stats.nbinom.logpmf(3, 2.5, p)",
                      lambda: scipy.stats.nbinom.logpmf(3, 2.5, 2.5 / 4.5))]:
        print(f"| {label} | {per_call(f, 2000) * 1e6:.1f} |")


if __name__ == "__main__":
    main()

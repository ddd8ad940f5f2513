"""NB sampling: nbnumba.rvs vs NumPy's Generator, scipy and torch's Gamma->Poisson.

    python benchmarks/bench_sampling.py [--n 10000000]

n draws at each (mu, theta), best of 5 (after a warm-up call), million draws
per second and the ratio to NumPy's Generator.negative_binomial, all in one
run.
"""
import argparse
import os

import numpy as np
import scipy.stats

import nbnumba
from _timing import best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    n = ap.parse_args().n
    try:
        import torch
        torch.set_num_threads(os.cpu_count())
    except ImportError:
        torch = None
        print("torch not installed: its column is skipped")
    print(f"{n:.0e} draws, {os.cpu_count()} CPUs\n")
    print("| mu | theta | NumPy Generator | scipy | torch Gamma->Poisson | nbnumba | nbnumba / NumPy |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for mu, theta in [(0.5, 0.3), (3.0, 2.0), (10.0, 1.0), (50.0, 5.0), (1e4, 1e6)]:
        p = theta / (theta + mu)
        g = np.random.default_rng(0)
        mus = np.full(n, mu)
        t_np = best(lambda: g.negative_binomial(theta, p, size=n), 5)
        t_sp = best(lambda: scipy.stats.nbinom.rvs(theta, p, size=n // 10, random_state=1), 5) * 10
        t_nb = best(lambda: nbnumba.rvs(mus, theta, random_state=1), 5)
        if torch is not None:
            conc = torch.full((n,), theta, dtype=torch.float32)
            rate = torch.full((n,), theta / mu, dtype=torch.float32)
            t_t = best(lambda: torch.poisson(torch.distributions.Gamma(conc, rate).sample()), 5)
            torch_cell = f"{n / t_t / 1e6:.1f}"
        else:
            torch_cell = "—"
        print(f"| {mu:g} | {theta:g} | {n / t_np / 1e6:.1f} | {n / t_sp / 1e6:.1f} | {torch_cell} | "
              f"{n / t_nb / 1e6:.1f} | {t_np / t_nb:.2f}x |")


if __name__ == "__main__":
    main()

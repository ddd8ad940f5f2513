"""nbnumba vs scipy, NumPy+scipy.special, torch (scvi's formula) and JAX, in one run.

    python benchmarks/bench_core.py [--cells 20000] [--genes 2000] [--json PATH]

A realistic counts matrix (cells x genes, ~65% zeros, per-gene theta,
per-cell x gene mu) goes through every implementation on this machine in the
same process; the table gives throughput (million elements per second) and the
ratio to scipy.stats.nbinom. Peers that are not installed are reported as
such. Machines here are noisy: compare ratios within one run. ``--json PATH``
also writes the tables as JSON (the documentation's speed tables are made
from it).
"""
import argparse
import datetime
import json
import platform
import os
import subprocess
import sys
import tempfile

import numpy as np
import scipy.special as sc
import scipy.stats

import nbnumba
from _timing import best
from nbnumba import ufuncs
from nbnumba._demo import counts_matrix


def scvi_log_nb_positive(torch, x, mu, theta, eps=1e-8):
    """scvi-tools' log_nb_positive (its formula, for timing and comparison)."""
    log_theta_mu_eps = torch.log(theta + mu + eps)
    return (theta * (torch.log(theta + eps) - log_theta_mu_eps)
            + x * (torch.log(mu + eps) - log_theta_mu_eps)
            + torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1))


def peers_logpmf(X, mu, theta):
    """(label, callable) pairs for logpmf; each returns an array."""
    n, p = theta, theta / (theta + mu)
    X32, mu32, th32 = X.astype(np.float32), mu.astype(np.float32), theta.astype(np.float32)
    rows = [
        ("scipy.stats.nbinom.logpmf (f64)", lambda: scipy.stats.nbinom.logpmf(X, n, p)),
        ("NumPy + scipy.special formula (f64)", lambda: (
            sc.gammaln(X + theta) - sc.gammaln(theta) - sc.gammaln(X + 1.0)
            + theta * np.log(p) + X * np.log1p(-p))),
        ("nbnumba.ufuncs.logpmf (f64, int counts)", lambda: ufuncs.logpmf(X, mu, theta)),
        ("nbnumba.ufuncs.logpmf (f32)", lambda: ufuncs.logpmf(X32, mu32, th32)),
    ]
    try:
        import torch
        torch.set_num_threads(os.cpu_count())
        for dt, label in ((torch.float32, "f32"), (torch.float64, "f64")):
            tx, tm, tt = (torch.as_tensor(a, dtype=dt) for a in (X, mu, theta))
            rows.append((f"torch, scvi-tools formula ({label})",
                         lambda tx=tx, tm=tm, tt=tt: scvi_log_nb_positive(torch, tx, tm, tt)))
    except ImportError:
        print("torch not installed: its rows are skipped (pip install torch)")
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        f = jax.jit(jax.scipy.stats.nbinom.logpmf)
        for dt, label in ((jnp.float32, "f32"), (jnp.float64, "f64")):
            jx, jn, jp = (jnp.asarray(a, dtype=dt) for a in (X, n, p))
            f(jx, jn, jp).block_until_ready()
            rows.append((f"jax.scipy.stats.nbinom.logpmf, jit ({label})",
                         lambda jx=jx, jn=jn, jp=jp: f(jx, jn, jp).block_until_ready()))
    except ImportError:
        print("JAX not installed: its rows are skipped (pip install jax jaxlib)")
    return rows


TABLES = []


def table(title, rows, size, repeat):
    TABLES.append({"title": title, "elements": size,
                   "columns": ["implementation", "Melem/s", "vs scipy"], "rows": []})
    print(f"\n### {title} ({size:.3g} elements)\n")
    print("| implementation | Melem/s | vs scipy |")
    print("|---|---:|---:|")
    base = None
    for label, f in rows:
        f()                                   # compile / warm up
        t = best(f, repeat)
        rate = size / t / 1e6
        base = base or rate
        print(f"| {label} | {rate:.1f} | {rate / base:.1f}x |")
        TABLES[-1]["rows"].append([label, rate, rate / base])


def startup_times():
    """import nbnumba and the first logpmf call in fresh processes."""
    code = ("import time; t=time.perf_counter(); import nbnumba; t1=time.perf_counter();"
            "nbnumba.logpmf(3, 2.0, 1.5); t2=time.perf_counter();"
            "print(f'{t1-t:.3f} {t2-t1:.3f}')")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True).stdout.split()
        warm = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True).stdout.split()
    print("\n### Start-up (fresh process)\n")
    print("| | import nbnumba | first logpmf call |")
    print("|---|---:|---:|")
    print(f"| cold Numba cache | {cold[0]} s | {cold[1]} s |")
    print(f"| warm Numba cache | {warm[0]} s | {warm[1]} s |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=20000)
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quantile-size", type=int, default=2_000_000)
    ap.add_argument("--json", metavar="PATH", help="also write the tables as JSON")
    args = ap.parse_args()
    X, mu, theta = counts_matrix(args.cells, args.genes)
    print(f"nbnumba {nbnumba.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{os.cpu_count()} CPUs; matrix {X.shape}, {np.mean(X == 0):.0%} zeros")
    table("logpmf", peers_logpmf(X, mu, theta), X.size, args.repeat)
    n, p = theta, theta / (theta + mu)
    table("cdf", [("scipy.stats.nbinom.cdf", lambda: scipy.stats.nbinom.cdf(X, n, p)),
                  ("nbnumba.ufuncs.cdf", lambda: ufuncs.cdf(X, mu, theta))], X.size, args.repeat)
    table("log-likelihood sums", [
        ("scipy.stats.nbinom.logpmf(...).sum(axis=0)",
         lambda: scipy.stats.nbinom.logpmf(X, n, p).sum(axis=0)),
        ("nbnumba.logpmf(...).sum(axis=0)", lambda: nbnumba.logpmf(X, mu, theta).sum(axis=0)),
        ("nbnumba.loglik(..., axis=0) (per gene)", lambda: nbnumba.loglik(X, mu, theta, axis=0)),
        ("nbnumba.loglik(..., axis=1) (per cell)", lambda: nbnumba.loglik(X, mu, theta, axis=1)),
        ("nbnumba.loglik(...) (total)", lambda: nbnumba.loglik(X, mu, theta))], X.size, args.repeat)
    m = args.quantile_size // args.genes
    q = np.random.default_rng(1).uniform(size=(m, args.genes))
    table("ppf", [("scipy.stats.nbinom.ppf", lambda: scipy.stats.nbinom.ppf(q, n, p[:m])),
                  ("nbnumba.ufuncs.ppf", lambda: ufuncs.ppf(q, mu[:m], theta))], q.size, args.repeat)
    startup_times()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": "python benchmarks/bench_core.py " + " ".join(sys.argv[1:]),
                       "date": datetime.date.today().isoformat(),
                       "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                       "versions": {"nbnumba": nbnumba.__version__, "numpy": np.__version__,
                                    "scipy": scipy.__version__},
                       "matrix": list(X.shape), "tables": TABLES}, f, indent=1)


if __name__ == "__main__":
    main()

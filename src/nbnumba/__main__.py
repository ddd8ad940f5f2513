"""``python -m nbnumba``: environment report and a demonstration with self-checks.

Evaluates the log-likelihood, p-values and quantiles of a synthetic
single-cell counts matrix with nbnumba and with scipy.stats.nbinom, prints
both timings, checks that they agree (and, in the Poisson limit, that
nbnumba matches the exact Poisson value where scipy does not), draws
samples, and exits with status 1 if any check fails. ``--json`` prints the
same report as JSON.
"""
import argparse
import json
import math
import platform
import sys
import time

import numba
import numpy as np
import scipy
import scipy.stats

import nbnumba
from nbnumba import ufuncs
from nbnumba._math.compile import CACHE
from nbnumba._demo import counts_matrix


def _timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def _cuda_status():
    try:
        from numba import cuda
        return "available" if cuda.is_available() else "no CUDA device or driver"
    except Exception as e:                      # a broken CUDA install must not stop the demo
        return f"unavailable ({type(e).__name__})"


def run(cells, genes):
    report = {"versions": {"nbnumba": nbnumba.__version__, "numpy": np.__version__,
                           "scipy": scipy.__version__, "numba": numba.__version__,
                           "python": platform.python_version()},
              "threads": numba.get_num_threads(), "cuda": _cuda_status(), "checks": {}}
    X, mu, theta = counts_matrix(cells, genes)
    n, p = theta, theta / (theta + mu)
    # compile (or load from the cache) the kernels first
    for f in (ufuncs.logpmf, ufuncs.sf):
        f(X[:1], mu[:1], theta)
    nbnumba.nbinom(mu=mu[:1], theta=theta).rvs(random_state=0)
    report["matrix"] = {"shape": list(X.shape), "zeros": float(np.mean(X == 0))}
    timings = {}
    ll, timings["logpmf nbnumba"] = _timed(lambda: ufuncs.logpmf(X, mu, theta))
    ll_sp, timings["logpmf scipy"] = _timed(lambda: scipy.stats.nbinom.logpmf(X, n, p))
    pv, timings["sf nbnumba"] = _timed(lambda: ufuncs.sf(X - 1, mu, theta))
    pv_sp, timings["sf scipy"] = _timed(lambda: scipy.stats.nbinom.sf(X - 1, n, p))
    sample, timings["sample nbnumba"] = _timed(
        lambda: nbnumba.nbinom(mu=mu, theta=theta).rvs(random_state=1))
    report["timings_s"] = timings
    report["threading_layer"] = numba.threading_layer()
    report["log_likelihood"] = math.fsum(ll.ravel())
    checks = report["checks"]
    checks["logpmf agrees with scipy (rtol 1e-9)"] = bool(np.allclose(ll, ll_sp, rtol=1e-9, atol=0))
    checks["p-values agree with scipy (rtol 1e-9)"] = bool(np.allclose(pv, pv_sp, rtol=1e-9, atol=1e-300))
    k, m = 40.0, 10.0
    exact = k * math.log(m) - m - math.lgamma(k + 1)
    ours = float(nbnumba.logpmf(k, m, 1e16))
    theirs = float(scipy.stats.nbinom.logpmf(k, 1e16, 1e16 / (1e16 + m)))
    report["poisson_limit"] = {"exact": exact, "nbnumba": ours, "scipy": theirs}
    checks["Poisson limit exact (1e-13)"] = abs(ours - exact) <= 1e-13 * abs(exact)
    z = (sample.mean() - mu.mean()) / math.sqrt((mu + mu ** 2 / theta).sum() / X.size ** 2)
    checks["sample mean within 5 sigma"] = bool(abs(z) < 5)
    return report


def _compile_tasks():
    """(label, call) for every CPU kernel a user can reach: each table row in
    its dtype signatures (int64 counts, float64, float32; with per-column
    tables too where the row has them), the log-likelihood sums (dense rows
    and columns, sparse rows; int64 counts), and the sampling kernel."""
    import scipy.sparse as sp
    from ._math.table import DISTRIBUTIONS, table
    from ._cpu.tiles import COLUMN_ROWS
    from .ufuncs import evaluate
    tasks = []
    for d in DISTRIBUTIONS:
        for name, f in table(d).items():
            for dtype in (np.int64, np.float64, np.float32):
                if dtype == np.int64 and f.operands[0] != "k":
                    continue
                ops = [np.zeros(2, dtype if i == 0 or dtype != np.int64 else np.float64)
                       for i in range(f.arity)]
                label = f"{d}.{name} ({np.dtype(dtype).name})"
                tasks.append((label, lambda d=d, name=name, ops=ops: evaluate(d, name, ops)))
                if f.columns:       # a (rows, 2) call with the operand per column
                    cols = [np.zeros((COLUMN_ROWS, 2), ops[0].dtype)] + ops[1:]
                    tasks.append((label + ", per column",
                                  lambda d=d, name=name, ops=cols: evaluate(d, name, ops)))
    x = np.zeros((2, 3), np.int64)
    for axis in (None, 0):
        tasks += [(f"loglik, dense, axis={axis}", lambda a=axis: nbnumba.loglik(x, 1.0, 1.0, axis=a)),
                  (f"loglik, sparse, axis={axis}",
                   lambda a=axis: nbnumba.loglik(sp.csr_matrix(x), 1.0, 1.0, axis=a)),
                  (f"zinb.loglik, axis={axis}",
                   lambda a=axis: nbnumba.zinb.loglik(x, 1.0, 1.0, 0.1, axis=a))]
    tasks += [("rvs", lambda: nbnumba.rvs(1.0, 1.0, random_state=0)),
              ("NegativeBinomial.sample",
               lambda: nbnumba.NegativeBinomial(mu=1.0, theta=1.0).sample(random_state=0))]
    return tasks


def compile_all(out=sys.stderr):
    """Compile (or load from the cache) every CPU kernel a user can reach
    (see _compile_tasks), printing one progress line per kernel to ``out``
    (None: silent). Returns the seconds it took."""
    tasks = _compile_tasks()
    t = time.perf_counter()
    for i, (label, call) in enumerate(tasks, 1):
        call()
        if out is not None:
            print(f"[{i:3d}/{len(tasks)}] {time.perf_counter() - t:6.1f} s  {label}",
                  file=out, flush=True)
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m nbnumba", description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2000, help="cells (x 1000 genes), default 2000")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--compile", action="store_true",
                    help="compile every kernel into Numba's disk cache (once per install), then exit")
    args = ap.parse_args(argv)
    if args.compile:
        print(f"compiled every CPU kernel in {compile_all():.1f} s (cached: {CACHE})")
        return 0
    report = run(args.size, 1000)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        v = report["versions"]
        print(", ".join(f"{k} {x}" for k, x in v.items()))
        print(f"threads: {report['threads']} ({report['threading_layer']}), CUDA: {report['cuda']}")
        shape, zeros = report["matrix"]["shape"], report["matrix"]["zeros"]
        print(f"\ncounts matrix {shape[0]} cells x {shape[1]} genes, {zeros:.0%} zeros")
        t = report["timings_s"]
        for what in ("logpmf", "sf"):
            a, b = t[f"{what} nbnumba"], t[f"{what} scipy"]
            print(f"  {what:7s} nbnumba {a * 1e3:8.1f} ms   scipy {b * 1e3:8.1f} ms   ({b / a:.1f}x)")
        print(f"  sample  nbnumba {t['sample nbnumba'] * 1e3:8.1f} ms")
        print(f"  total log-likelihood: {report['log_likelihood']:.10g}")
        pl = report["poisson_limit"]
        print(f"\nPoisson limit, log pmf(40; mu=10, theta=1e16): exact {pl['exact']:.15g}, "
              f"nbnumba {pl['nbnumba']:.15g}, scipy {pl['scipy']:.15g}")
        print("\nself-checks:")
        for name, ok in report["checks"].items():
            print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

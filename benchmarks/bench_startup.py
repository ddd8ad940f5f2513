"""Start-up cost as a new user meets it: fresh processes, Numba's cache empty
(cold), then filled by that very run (warm), against the same work written
with scipy.stats.nbinom, in one run.

    python benchmarks/bench_startup.py [--repeat 1]

Each row is its own fresh Python process with its own NUMBA_CACHE_DIR; the
time is the process's wall time from start to exit (interpreter start-up
included, the same for scipy's script).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

SETUP = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.poisson(2.0, (2000, 200)); MU = np.full((2000, 200), 2.0); TH = np.full(200, 1.5)
"""

ROWS = {
    "import nbnumba": "import nbnumba",
    "first logpmf (10 elements)": "import nbnumba\nnbnumba.logpmf(np.arange(10), 2.0, 1.5)",
    "first large logpmf f64": "import nbnumba\nnbnumba.logpmf(X, MU, TH)",
    "first large logpmf f32": "import nbnumba\nnbnumba.logpmf(X.astype(np.float32), "
                              "MU.astype(np.float32), TH.astype(np.float32))",
    "first cdf large": "import nbnumba\nnbnumba.cdf(X, MU, TH)",
    "first sf large": "import nbnumba\nnbnumba.sf(X, MU, TH)",
    "first ppf large": "import nbnumba\nnbnumba.ppf(np.linspace(0, 1, X.size).reshape(X.shape), MU, TH)",
    "first loglik": "import nbnumba\nnbnumba.loglik(X, MU, TH)",
    "first rvs": "import nbnumba\nnbnumba.rvs(MU, TH, random_state=1)",
    "nbinom(mu=, theta=) methods": """
import nbnumba
f = nbnumba.nbinom(mu=MU, theta=TH)
f.logpmf(X); f.cdf(X); f.ppf(0.5); f.rvs(random_state=1)
nbnumba.nbinom(mu=MU[0], theta=TH).entropy()""",
    "NegativeBinomial methods": """
import nbnumba
d = nbnumba.NegativeBinomial(mu=MU, theta=TH)
d.log_prob(X); d.sample(random_state=1); d.cdf(X); d.icdf(0.5)""",
}
ROWS["all of the above"] = "\n".join(v for k, v in ROWS.items())
# the same work as "all of the above", with scipy
SCIPY = """
import scipy.stats
n, p = TH, TH / (TH + MU)
f = scipy.stats.nbinom(n, p)
scipy.stats.nbinom.logpmf(np.arange(10), 1.5, 1.5 / 3.5); f.logpmf(X); f.logpmf(X.astype(np.float32))
f.cdf(X); f.sf(X)
f.ppf(np.linspace(0, 1, X.size).reshape(X.shape)); f.logpmf(X).sum(); f.rvs(random_state=1)
f.logpmf(X); f.cdf(X); f.ppf(0.5); f.rvs(random_state=1); scipy.stats.nbinom(n, p[0]).entropy()
f.logpmf(X); f.rvs(random_state=1); f.cdf(X); f.ppf(0.5)
"""


def timed(code, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", SETUP + code], env=env, check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", nargs="*", default=list(ROWS))
    args = ap.parse_args()
    base = timed("pass", tempfile.mkdtemp())
    scipy_s = timed(SCIPY, tempfile.mkdtemp())
    print(f"python + numpy + the test data alone: {base:.2f} s; "
          f"the scipy script: {scipy_s:.2f} s\n")
    print("| fresh process | cold cache | cold / scipy script | warm cache | warm / scipy script |")
    print("|---|---:|---:|---:|---:|")
    for name in args.rows:
        cache = tempfile.mkdtemp()
        cold = timed(ROWS[name], cache)
        warm = timed(ROWS[name], cache)
        print(f"| {name} | {cold:.2f} s | {cold / scipy_s:.1f}x | {warm:.2f} s | {warm / scipy_s:.2f}x |",
              flush=True)
    print(f"| import scipy.stats | | | {timed('import scipy.stats', tempfile.mkdtemp()):.2f} s | |")


if __name__ == "__main__":
    main()

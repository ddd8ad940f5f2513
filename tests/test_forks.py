"""Fork safety: a ``fork`` multiprocessing pool made after parallel calls
(GNU OpenMP's threads running) works, its workers on one thread each
(nbnumba._cpu.forks). Run in a fresh interpreter: the pool must not inherit
pytest's state, and a failure must not take the test run with it."""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    import nbnumba
    from nbnumba import fitting, zinb

    rng = np.random.default_rng(0)
    X = rng.poisson(2, (400, 300))
    mu = rng.uniform(0.5, 4, 300)

    def work(i):
        return (nbnumba.loglik(X, mu, 1.5 + i, axis=0),
                zinb.logpmf(X, mu, 1.5 + i, 0.2).sum(),
                nbnumba.rvs(mu, 1.5 + i, size=(300, 300), random_state=i).sum(),
                fitting.fit_theta(X, mu).theta,
                fitting.fit(X[:, :40]).theta,
                nbnumba.residuals(X, np.broadcast_to(mu, X.shape), 1.5 + i, kind="deviance"))

    if __name__ == "__main__":
        # parallel calls first: the parent's thread pools are running
        want = [work(i) for i in range(2)]
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map_async(work, range(2)).get(timeout=240)
        for g, w in zip(got, want):
            for a, b in zip(g, w):
                np.testing.assert_array_equal(a, b)
        print("ok")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")
def test_fork_pool_after_parallel_calls(tmp_path):
    script = tmp_path / "fork_pool.py"
    script.write_text(SCRIPT)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr
    assert "Terminating" not in r.stderr

"""GPU benchmark: nbnumba.gpu logpmf and sampling vs torch (scvi's formula).

    python benchmarks/bench_gpu.py [--n 100000000]

Needs an NVIDIA GPU and the ``cuda`` extra (torch with CUDA optional).
Prints elements per second and, for logpmf, the fraction of the memory
bandwidth: the bytes that must move (counts, mu and the result, once each;
theta is one row) over the time, against a device-to-device copy measured
here and against the datasheet figure. A copy-like kernel with the same
indexing and broadcasting (out = x + mu + theta) gives the floor of that
access pattern. Last, how often the GPU's draws and values differ from the
CPU's for the same key and inputs.
"""
import argparse
import time

import numpy as np
from numba import cuda, njit

from _timing import best
import nbnumba
from nbnumba import gpu


def peak_bandwidth():
    """Datasheet DRAM bandwidth in bytes/s (memory clock x bus width)."""
    dev = cuda.get_current_device()
    return 2 * dev.MEMORY_CLOCK_RATE * 1e3 * dev.GLOBAL_MEMORY_BUS_WIDTH / 8


def copy_bandwidth(nbytes=2 << 30):
    """Measured device-to-device copy, bytes read plus written per second."""
    src = cuda.to_device(np.ones(nbytes // 8))
    dst = cuda.device_array_like(src)
    return 2 * nbytes / best(lambda: dst.copy_to_device(src), 5, cuda.synchronize)


@njit
def _add3(x, mu, theta):
    return x + mu + theta


FLOOR = cuda.jit(gpu._elementwise(_add3))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000_000)
    n = ap.parse_args().n
    rows, genes = n // 1000, 1000
    dev = cuda.get_current_device()
    peak, copy = peak_bandwidth(), copy_bandwidth()
    print(f"{dev.name.decode() if isinstance(dev.name, bytes) else dev.name}, "
          f"{rows * genes:.1e} elements; bandwidth: datasheet {peak / 1e9:.0f} GB/s, "
          f"measured copy {copy / 1e9:.0f} GB/s")
    rng = np.random.default_rng(0)
    try:
        import torch
        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None
    rows_out = []

    def row(what, dtype, t, moved=None):
        frac = f"{100 * moved / t / copy:.0f}% / {100 * moved / t / peak:.0f}%" if moved else ""
        rows_out.append(f"| {what} | {np.dtype(dtype).name} | {rows * genes / t / 1e9:.2f} | {frac} |")

    for dtype in (np.float32, np.float64):
        x = cuda.to_device(rng.poisson(2.0, (rows, genes)).astype(dtype))
        mu = cuda.to_device(rng.uniform(0.1, 10, (rows, genes)).astype(dtype))
        theta = cuda.to_device(rng.uniform(0.5, 5, genes).astype(dtype))
        out = cuda.device_array((rows, genes), dtype)
        moved = 3 * np.dtype(dtype).itemsize * rows * genes
        for name, f in (("logpmf", lambda: gpu.logpmf(x, mu, theta, out=out)),
                        ("rvs", lambda: gpu.rvs(mu, theta, random_state=1, out=out))):
            t0 = time.perf_counter()
            f()
            cuda.synchronize()
            print(f"first call (compile) {name} {np.dtype(dtype).name}: "
                  f"{time.perf_counter() - t0:.1f} s")
        blocks = gpu._blocks(rows * genes)
        t = best(lambda: FLOOR[blocks, gpu.THREADS](x, mu, theta.reshape(1, genes), out),
                 5, cuda.synchronize)
        row("copy-like kernel, same indexing", dtype, t, moved)
        row("nbnumba.gpu.logpmf", dtype, best(lambda: gpu.logpmf(x, mu, theta, out=out),
                                              5, cuda.synchronize), moved)
        row("nbnumba.gpu.rvs, mu ~ U(0.1, 10), theta ~ U(0.5, 5)", dtype,
            best(lambda: gpu.rvs(mu, theta, random_state=1, out=out), 5, cuda.synchronize))
        for m, th in ((0.5, 0.3), (50.0, 5.0), (1e4, 1e6)):
            m_, th_ = dtype(m), dtype(th)
            row(f"nbnumba.gpu.rvs, mu {m:g}, theta {th:g}", dtype,
                best(lambda: gpu.rvs(m_, th_, random_state=1, out=out), 5, cuda.synchronize))
        if torch is None:
            continue
        tx, tm, tt = (torch.as_tensor(a, device="cuda") for a in (x, mu, theta))
        eps = 1e-8

        def scvi():
            lt = torch.log(tt + tm + eps)
            return (tt * (torch.log(tt + eps) - lt) + tx * (torch.log(tm + eps) - lt)
                    + torch.lgamma(tx + tt) - torch.lgamma(tt) - torch.lgamma(tx + 1))
        row("torch, scvi-tools formula", dtype, best(scvi, 5, torch.cuda.synchronize), moved)
        ttf = tt.expand_as(tm)
        row("torch Gamma->Poisson (scvi's sample)", dtype,
            best(lambda: torch.poisson(torch.distributions.Gamma(ttf, ttf / tm).sample()),
                 5, torch.cuda.synchronize))

    print("\n| what | dtype | G elements/s | % of copy / datasheet bandwidth |")
    print("|---|---|---:|---:|")
    print("\n".join(rows_out))

    # Agreement with the CPU for the same inputs and key (float64).
    m = 10_000_000
    mu = rng.lognormal(0, 2.5, m)
    theta = np.exp(rng.uniform(np.log(1e-3), np.log(1e6), m))
    k = rng.negative_binomial(np.minimum(theta, 1e9), theta / (theta + mu)).astype(np.float64)
    gpu_lp = gpu.logpmf(cuda.to_device(k), cuda.to_device(mu), cuda.to_device(theta)).copy_to_host()
    cpu_lp = nbnumba.logpmf(k, mu, theta)
    rel = np.abs(gpu_lp - cpu_lp) / np.maximum(np.abs(cpu_lp), 1)
    print(f"\nlogpmf GPU vs CPU, {m:.0e} random (k, mu, theta): max |diff|/max(|v|,1) "
          f"{np.nanmax(rel):.1e}, bit-identical {np.mean(gpu_lp == cpu_lp):.4%}")
    gpu_d = gpu.rvs(cuda.to_device(mu), cuda.to_device(theta), random_state=5).copy_to_host()
    cpu_d = nbnumba.rvs(mu, theta, random_state=5)
    diff = gpu_d != cpu_d
    print(f"rvs GPU vs CPU, same key, {m:.0e} draws: {diff.sum()} differ "
          f"({diff.mean():.2e}); of those, |diff| = 1: {np.sum(np.abs(gpu_d - cpu_d) == 1)}")


if __name__ == "__main__":
    main()

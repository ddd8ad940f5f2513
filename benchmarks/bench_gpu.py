"""GPU benchmark: nbnumba.gpu logpmf and sampling vs torch (scvi's formula).

    python benchmarks/bench_gpu.py [--n 100000000]

Needs an NVIDIA GPU and the ``cuda`` extra (torch with CUDA optional).
Prints elements per second and, for logpmf, the fraction of the device's
theoretical memory bandwidth (bytes read and written per element / time).
"""
import argparse
import time

import numpy as np
from numba import cuda

from _timing import best
from nbnumba import gpu


def peak_bandwidth():
    """Theoretical DRAM bandwidth in bytes/s, or None where unknown."""
    try:
        dev = cuda.get_current_device()
        return 2 * dev.MEMORY_CLOCK_RATE * 1e3 * dev.GLOBAL_MEMORY_BUS_WIDTH / 8
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000_000)
    n = ap.parse_args().n
    rows, genes = n // 1000, 1000
    peak = peak_bandwidth()
    name = getattr(cuda.get_current_device(), "name", "simulator")
    print(f"{name}, {n:.0e} elements, peak {peak / 1e9 if peak else float('nan'):.0f} GB/s")
    rng = np.random.default_rng(0)
    print("\n| what | dtype | Gelem/s | % of peak bandwidth |")
    print("|---|---|---:|---:|")
    for dtype in (np.float32, np.float64):
        x = cuda.to_device(rng.poisson(2.0, (rows, genes)).astype(dtype))
        mu = cuda.to_device(rng.uniform(0.1, 10, (rows, genes)).astype(dtype))
        theta = cuda.to_device(rng.uniform(0.5, 5, genes).astype(dtype))
        out = cuda.device_array((rows, genes), dtype)
        t = best(lambda: gpu.logpmf(x, mu, theta, out=out), 3, cuda.synchronize)
        moved = 3 * np.dtype(dtype).itemsize * rows * genes
        frac = f"{100 * moved / t / peak:.0f}%" if peak else "—"
        print(f"| nbnumba.gpu.logpmf | {np.dtype(dtype).name} | {rows * genes / t / 1e9:.2f} | {frac} |")
        t = best(lambda: gpu.rvs(mu, theta, random_state=1, out=out), 3, cuda.synchronize)
        print(f"| nbnumba.gpu.rvs | {np.dtype(dtype).name} | {rows * genes / t / 1e9:.2f} | |")
        try:
            import torch
        except ImportError:
            continue
        if not torch.cuda.is_available():
            continue
        tx, tm, tt = (torch.as_tensor(a, device="cuda") for a in (x, mu, theta))
        eps = 1e-8

        def scvi():
            lt = torch.log(tt + tm + eps)
            return (tt * (torch.log(tt + eps) - lt) + tx * (torch.log(tm + eps) - lt)
                    + torch.lgamma(tx + tt) - torch.lgamma(tt) - torch.lgamma(tx + 1))
        t = best(scvi, 3, cuda.synchronize)
        frac = f"{100 * moved / t / peak:.0f}%" if peak else "—"
        print(f"| torch, scvi-tools formula | {np.dtype(dtype).name} | {rows * genes / t / 1e9:.2f} | {frac} |")
        t = best(lambda: torch.poisson(torch.distributions.Gamma(tt.expand_as(tm), tt / tm).sample()),
                 3, cuda.synchronize)
        print(f"| torch Gamma->Poisson | {np.dtype(dtype).name} | {rows * genes / t / 1e9:.2f} | |")


if __name__ == "__main__":
    main()

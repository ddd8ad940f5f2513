"""Timing helper shared by the benchmark scripts."""
import time


def best(f, repeat=2, sync=None):
    """Best wall time of ``repeat`` calls of f, after one warm-up call.

    ``sync`` (e.g. ``numba.cuda.synchronize``) is called after each call.
    """
    f()
    if sync:
        sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        if sync:
            sync()
        times.append(time.perf_counter() - t)
    return min(times)

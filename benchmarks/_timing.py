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


def measured(f, repeat=5):
    """(result, first call's seconds, best wall seconds, best CPU seconds of
    the process, all threads) over ``repeat`` calls after the first (which
    compiles, or loads the compiled code from Numba's cache)."""
    t = time.perf_counter()
    out = f()
    first = time.perf_counter() - t
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = f()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return out, first, min(wall), min(cpu)

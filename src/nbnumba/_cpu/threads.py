"""Threads: the parallel kernels never change the caller's thread settings.

Numba's OpenMP threading layer (the default here; :mod:`.forks` says why it
stays) launches its pool once per process, and that launch sets the
process's OpenMP thread count (``omp_set_num_threads``) to Numba's. torch
shares GNU OpenMP with it, so ``torch.set_num_threads(1)`` silently became
the number of cores after nbnumba's first parallel call, and a plain torch
loop on a busy machine ran many times slower. :func:`guard` wraps Numba's
launch so that torch's thread count and the calling thread's OpenMP count
are given back as they were. Numba's parallel regions name their thread
count explicitly, so the restored setting does not limit them.

Called with torch tensors, the kernels follow torch's thread count
(:func:`following_torch`): ``torch.set_num_threads(n)`` bounds nbnumba's
threads too, as it bounds torch's own operators.
"""
import contextlib
import ctypes
import os
import sys
import threading

_lock = threading.Lock()
_guarded = False


def _openmp():
    """GNU OpenMP's omp_get_max_threads / omp_set_num_threads where the
    process has it loaded (None otherwise)."""
    try:
        lib = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | ctypes.RTLD_GLOBAL)
    except (OSError, AttributeError):
        return None
    return lib


def _counts():
    """(torch's thread count or None, this thread's OpenMP count or None)."""
    torch = sys.modules.get("torch")
    gomp = _openmp()
    return (torch.get_num_threads() if torch is not None else None,
            gomp.omp_get_max_threads() if gomp is not None else None)


def _restore(before):
    torch_n, omp_n = before
    torch = sys.modules.get("torch")
    if torch is not None and torch_n is not None and torch.get_num_threads() != torch_n:
        torch.set_num_threads(torch_n)
    gomp = _openmp()
    if gomp is not None and omp_n is not None and gomp.omp_get_max_threads() != omp_n:
        gomp.omp_set_num_threads(omp_n)


def guard():
    """Wrap Numba's one-time pool launch (once per process) so that it gives
    torch and OpenMP back the thread counts they had."""
    global _guarded
    with _lock:
        if _guarded:
            return
        from numba.np.ufunc import parallel
        original = parallel._launch_threads

        def launch():
            if parallel._is_initialized:
                return original()
            before = _counts()
            try:
                return original()
            finally:
                _restore(before)

        launch.__wrapped__ = original
        parallel._launch_threads = launch
        _guarded = True


@contextlib.contextmanager
def following_torch():
    """Run the enclosed kernels on at most torch's thread count (numba's
    setting is per calling thread; restored on exit)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    import numba
    n = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    old = numba.get_num_threads()
    if n == old:
        yield
        return
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)

"""Fork safety of the parallel kernels.

Numba's default threading layer here is OpenMP, and GNU OpenMP (libgomp)
cannot run a parallel region in a child forked after its parent ran one:
Numba terminates the child ("fork() called from a process already using
GNU OpenMP"), and a ``multiprocessing`` pool that forked it hangs. The
threading layer stays as it is (workqueue, the fork-safe one available
without TBB, aborts on concurrent calls from several threads, e.g. Dask's
threaded scheduler); instead, a child forked after a GNU OpenMP parallel
region runs every kernel on its calling thread (the parallelism of a pool
of forked workers is the pool itself). Intel OpenMP, TBB and workqueue
are fork-safe: their children keep the threads.
"""
import os
import sys

_forked = False


def parallel_ok():
    """Whether this process may run a parallel region."""
    return not _forked


def _after_fork_in_child():
    global _forked
    numba = sys.modules.get("numba")
    if numba is None or _forked:
        return
    try:
        layer = numba.threading_layer()
    except ValueError:                  # no parallel region ran in the parent
        return
    if layer == "omp":
        from numba.np.ufunc import omppool
        _forked = omppool.openmp_vendor == "GNU"


os.register_at_fork(after_in_child=_after_fork_in_child)

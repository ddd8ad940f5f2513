"""Helpers shared by the benchmark scripts: timers, and the start of the R
scripts that run glmGamPoi."""
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


#: The R scripts' common start: arguments (folder, genes, cells), glmGamPoi
#: (or NO_GLMGAMPOI), the counts Y and size factors s written by Python.
R_HEAD = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; G <- as.integer(args[2]); C <- as.integer(args[3])
ok <- suppressWarnings(suppressMessages(requireNamespace("glmGamPoi", quietly = TRUE)))
if (!ok) { cat("NO_GLMGAMPOI\n"); quit(status = 0) }
suppressPackageStartupMessages(library(glmGamPoi))
Y <- matrix(readBin(file.path(dir, "Y.bin"), "integer", G * C), nrow = G, ncol = C)
s <- readBin(file.path(dir, "s.bin"), "double", C)
"""

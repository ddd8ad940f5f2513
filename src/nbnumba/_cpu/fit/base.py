"""What every part of the fits shares: the constants, the compile options of
the helpers, the cache version, and a gene's counts as the passes read them."""
import hashlib
import math
import pathlib
from typing import NamedTuple

import numba
import numpy as np

from ..._math.special import floor

_HERE = pathlib.Path(__file__).parent

#: A hash of nbnumba/_math's sources and of this package's: the kernels'
#: first argument. Numba's cache of a kernel is keyed on the kernel's own
#: file alone; with the version in its signature it never serves code
#: compiled from older math or older helpers (which live in other files).
VERSION = hashlib.sha1(b"".join(
    p.read_bytes() for p in sorted(_HERE.parent.parent.joinpath("_math").glob("*.py"))
    + sorted(_HERE.glob("*.py"))
)).hexdigest()[:12]

#: Cells per tile of the per-cell loops (their buffers stay in L1).
TILE = 512
#: Genes gathered at once from a dense X.
GATHER = 8
#: Counts below this are tabulated by direct indexing; larger ones sorted.
HIST = 1024
#: The log-likelihood of means s_i m takes counts above this per cell.
BIG_K = 64.0
#: Largest Newton step in log(theta), and in any coefficient.
MAX_STEP = 4.0
MAX_BETA_STEP = 8.0
#: log(theta) is kept within these bounds; beyond the upper one the
#: likelihood equals Poisson's to ~1e-100 relative: theta = inf.
ETA_MIN = math.log(1e-250)
ETA_MAX = math.log(1e100)
#: Where the coefficients are this close to their optimum for the current
#: theta (Newton decrement, in log-likelihood units), the sign of the
#: profile score is trusted for bracketing.
NEAR = 1e-6
INF = math.inf
NAN = math.nan

# status codes per gene
OK = 0
BAD_COUNTS = 1      # negative, non-integer or non-finite counts
BAD_MEAN = 2        # negative or non-finite mean
IMPOSSIBLE = 3      # a count > 0 where the mean is 0

#: a helper compiled on its own (once per process: not cached)
helper = numba.njit(error_model="numpy")
#: a per-element function of a loop that must vectorize: inlined by LLVM
inline = numba.njit(error_model="numpy", forceinline=True)
#: a helper that Numba copies into its callers (inline="always"): no
#: function of its own, so no level more of the call graph to optimize
#: (see the package docstring)
merged = numba.njit(error_model="numpy", inline="always")
#: float reductions vectorize only where their additions may be reassociated
reducing = numba.njit(error_model="numpy", fastmath={"reassoc"})


class Gene(NamedTuple):
    """One gene's counts, as every pass over it reads them (see gather)."""

    kc: np.ndarray      # its counts: all n cells, or (compact) the nonzero ones
    nc: int             # the number of them
    n0: int             # compact: the zero group's size (cells of count 0), else 0
    vals: np.ndarray    # its sorted distinct nonzero counts ...
    tails: np.ndarray   # ... and tails[l], the number of counts >= vals[l]
    nd: int             # the number of distinct nonzero counts
    logs: np.ndarray    # per tile: its cells that took the log in the last pass (-1: none yet)


@reducing
def sum_rows(buf, L, out):
    """out[r] = sum(buf[r, :L]) for every row r (vectorized, each row in a
    fixed order: the same result on every run). No constant arguments here
    or in any call of a helper: Numba compiles a function once for each
    literal value it is called with."""
    for r in range(buf.shape[0]):
        row = buf[r]
        s = 0.0
        for i in range(L):
            s += row[i]
        out[r] = s


@inline
def cell(k, mu, theta):
    """What every per-cell term starts from: 1 / (theta + mu), d = k - mu,
    theta + k, v = d / (theta + mu), and 1 + v = (theta + k) / (theta + mu)."""
    it = 1.0 / (theta + mu)
    d = k - mu
    tk = theta + k
    return it, d, tk, d * it, tk * it


@inline
def is_count(k):
    return (k >= 0.0) & (k < INF) & (k == floor(k))

"""The CPU engine: compiled loops (tiles, elementwise, sampling, sums, fitting)
over the scalar math of nbnumba._math, generic over its tables. Target-free:
no dispatch, no array families (NumPy operands only)."""
from .threads import guard as _guard

_guard()     # the kernels never change torch's or OpenMP's thread counts

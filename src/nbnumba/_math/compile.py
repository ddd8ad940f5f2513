"""How nbnumba compiles its scalar functions: Numba's options, the on-disk
cache, and the LLVM intrinsics they use (bitcasts, and a CPU-only hint for
the vector width). The functions themselves are in special and the modules
above it.
"""
from typing import Callable

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import notice


def _probe() -> int:
    return 0


def _cache_available() -> bool:
    """Whether Numba can cache this package's functions on disk: not where
    neither the package's folder nor a user cache folder is writable (then
    everything still works, compiled afresh in each process)."""
    try:
        njit(cache=True)(_probe)
    except RuntimeError:        # "cannot cache function ...: no locator available"
        return False
    return True


#: Whether compiled code is cached on disk (see _cache_available).
CACHE = _cache_available()
notice.install(CACHE)


def compiled(**options: object) -> Callable:
    """numba.njit with this package's options: cached on disk where possible,
    NumPy's error model (1/0 is inf, not an exception) so that no function
    can raise, no C-callable wrapper (used only by first-class function
    values, and ~10% of a cold compilation), and ``options``."""
    return njit(cache=CACHE, error_model="numpy", no_cfunc_wrapper=True, **options)


_public = compiled()
_private = compiled(no_cpython_wrapper=True)


def jit(f: Callable) -> Callable:
    """The decorator of every scalar function. Private ones (a leading
    underscore) are called from compiled code only: no Python entry point,
    which saves ~10% of a cold compilation (tests wrap them in njit)."""
    return (_private if f.__name__.startswith("_") else _public)(f)


#: The same, always inlined by LLVM into its callers: the branch-free
#: functions called in loops that must vectorize (LLVM's cost model alone
#: does not inline them). Numba's inline="always" gives the same loops but
#: copies the callee's IR at every call site: ~28 s against ~8 s to compile
#: the sampling kernel. They are called from compiled code only: no Python
#: entry point (as private functions, see jit).
jit_inline = compiled(forceinline=True, no_cpython_wrapper=True)


@intrinsic
def as_bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a bitcast: vectorizes, and
    compiles for CUDA too)."""
    if x == types.float64:
        return types.int64(x), lambda context, builder, sig, args: builder.bitcast(
            args[0], ir.IntType(64))


@intrinsic
def from_bits(typingctx, b):
    """The float64 whose IEEE bits are the int64 b."""
    if b == types.int64:
        return types.float64(b), lambda context, builder, sig, args: builder.bitcast(
            args[0], ir.DoubleType())


@intrinsic
def wide_vectors(typingctx):
    """Let LLVM vectorize the calling function's loops with 512-bit vectors
    where the CPU has AVX-512 (no effect elsewhere). LLVM's tuning for Intel
    CPUs caps them at 256 bits (against Skylake-X's clock drops), but the
    sampling passes run ~20% faster with 512, logpmf's ~10% (Sapphire
    Rapids). CPU only."""
    def codegen(context, builder, sig, args):
        # llvmlite's API knows no string attributes, but its attribute set
        # prints its items as they are; should that change, 256 bits it is
        if isinstance(builder.function.attributes, set):
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()
    return types.none(), codegen

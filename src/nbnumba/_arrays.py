"""Array families, the one dtype policy, shapes and random keys.

Every public front asks :func:`target` where a call runs (``"cpu"``,
``"cuda"`` or ``"dask"``), turns host inputs into kernel operands with
:func:`operands`, and gives results back in the caller's family with
:func:`wrap`. Nothing here imports Numba.

Policies (the same for every function, at every size):

- dtypes: the result is float32 if every input that is not a Python
  scalar is float32 (float16 counts as float32), else float64; integer
  counts are read as int64 without a conversion to float; booleans are
  integers; complex, object, string and datetime inputs raise TypeError
  naming the argument. Byte-swapped arrays are read in native order.
- families: NumPy in, NumPy out (0-d results as NumPy scalars); torch CPU
  tensors in, torch tensors out (same dtype); masked arrays in, masked
  arrays out (the union of the inputs' masks; masked entries computed on
  the underlying data and then masked); anything else ``np.asarray`` takes
  (lists, pandas Series, ...) gives NumPy arrays, as ``scipy.stats`` does.
  The faces follow the same rule: a masked parameter masks every result
  that depends on it (:func:`union_mask`, :func:`remask`).
- integer counts: uint64 (which int64 cannot hold) is read as float64
  (exact below 2**53, the nearest double above).
"""
import math
import sys

import numpy as np

_BAD_KINDS = {"c": "complex", "O": "object", "U": "string", "S": "bytes", "M": "datetime",
              "m": "timedelta", "V": "structured"}


def is_dask(a):
    """Whether a is a Dask array (kept lazy everywhere)."""
    return type(a).__module__.startswith("dask.")


def is_torch(a):
    """Whether a is a torch tensor (CPU or CUDA; subclasses such as
    ``nn.Parameter`` included). torch is never imported here: a tensor
    exists only where torch is."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(a, torch.Tensor)


def is_sparse(a):
    """Whether a is a scipy.sparse matrix or array."""
    return type(a).__module__.startswith("scipy.sparse")


def on_device(a):
    """Whether a is a GPU array (CUDA array interface, or the CUDA simulator's).

    torch tensors are asked their device: a CUDA tensor that requires grad
    raises from ``__cuda_array_interface__`` (so from ``hasattr``)."""
    if is_torch(a):
        return getattr(a, "is_cuda", False) is True
    return hasattr(a, "__cuda_array_interface__") or hasattr(a, "__cuda_ndarray__")


def needs_grad(*args):
    """Whether a torch tensor among args requires grad while grad mode is on."""
    if not any(getattr(a, "requires_grad", False) is True for a in args if is_torch(a)):
        return False
    import torch
    return torch.is_grad_enabled()


def target(*args):
    """Where a call on these operands runs: "dask", "cuda" or "cpu"."""
    if any(is_dask(a) for a in args):
        return "dask"
    if any(on_device(a) for a in args if a is not None):
        return "cuda"
    return "cpu"


def shape(a):
    """a's shape as a tuple, for NumPy, Dask, CuPy and torch arrays alike;
    () for what NumPy cannot shape (a ragged list), whose conversion
    (:func:`host`, :func:`check`) then raises the TypeError naming it."""
    if hasattr(a, "shape"):
        return tuple(a.shape)
    try:
        return np.shape(a)
    except ValueError:
        return ()


def size(a):
    """a's number of elements (torch's ``size`` is a method)."""
    return math.prod(shape(a))


def dtype(a):
    """a's dtype as a NumPy dtype (torch's too: torch.float32 -> float32;
    bfloat16, which NumPy lacks, as float32, the dtype it is computed in)."""
    if is_torch(a):
        name = str(a.dtype).removeprefix("torch.")
        return np.dtype(np.float32 if name == "bfloat16" else name)
    return np.dtype(a.dtype)


def _python_int(a):
    """A Python int beyond NumPy's integers as a float (inf beyond floats)."""
    if type(a) is int and not -2 ** 63 <= a < 2 ** 64:
        try:
            return float(a)
        except OverflowError:
            return math.copysign(math.inf, a)
    return a


def check(a, name):
    """TypeError naming ``name`` unless a holds real numbers (any family:
    nothing is converted or copied; Python scalars and sequences through
    ``np.asarray``). Returns a."""
    a = _python_int(a)
    if a is None:
        raise TypeError(f"{name} must be numeric array_like; got None")
    if isinstance(a, (bool, int, float, np.number, np.ndarray)) or is_torch(a) or is_dask(a) \
            or on_device(a) or is_sparse(a):
        kind = dtype(a).kind if hasattr(a, "dtype") else np.asarray(a).dtype.kind
    else:
        try:
            kind = np.asarray(a).dtype.kind
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be numeric array_like; got {type(a).__name__}") from e
    if kind in _BAD_KINDS:
        what = f"dtype {a.dtype}" if hasattr(a, "dtype") else type(a).__name__
        raise TypeError(f"{name} must be real numbers; got {_BAD_KINDS[kind]} input ({what})")
    return a


def host(a, name):
    """a as a NumPy array (torch CPU tensors without a copy, detached), its
    dtype checked: TypeError naming ``name`` for what is not a number."""
    a = _python_int(a)
    if is_torch(a):
        a = a.detach()
        if str(a.dtype) == "torch.bfloat16":
            a = a.float()
        a = a.numpy()
    elif isinstance(a, np.ma.MaskedArray):
        a = a.data
    elif is_sparse(a):
        # elementwise results are dense (log p(0) is not 0): so is the input
        a = a.toarray()
    try:
        a = np.asarray(a)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be numeric array_like; got {type(a).__name__}") from e
    if a.dtype.kind in _BAD_KINDS:
        raise TypeError(f"{name} must be real numbers; got {_BAD_KINDS[a.dtype.kind]} "
                        f"dtype {a.dtype}")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def small_float(d):
    """Whether dtype d is float32 or float16, in either byte order."""
    d = np.dtype(d)
    return d.kind == "f" and d.itemsize <= 4


def result_dtype(args):
    """float32 if every input that is not a Python scalar is float32 or
    float16, else float64."""
    strong = [dtype(a) if hasattr(a, "dtype") else np.asarray(a).dtype
              for a in args if not isinstance(a, (bool, int, float))]
    return np.dtype(np.float32 if strong and all(map(small_float, strong)) else np.float64)


def kernel_dtype(a, out, integer_ok):
    """The dtype operand a is read as: int64 for integer counts (where
    integer_ok; uint64, which int64 cannot hold, as the result dtype), else
    the result dtype."""
    if integer_ok and a.dtype.kind in "iub" and out == np.float64 and a.dtype != np.uint64:
        return np.dtype(np.int64)
    return out


def two_d(a, s2, full):
    """a as a C-contiguous, read-only 2-D operand of a kernel whose output
    has shape ``full`` (2-D: ``s2``): dimensions 1 (broadcast; a stride-0
    view is taken as 1) or s2's. Beyond 2 dimensions, an operand that
    varies along the leading ones is broadcast and flattened (a copy);
    non-contiguous operands are copied."""
    if len(full) > 2 and a.ndim:
        if a.ndim > 1 and any(n != 1 for n in a.shape[:-1]):
            a = np.broadcast_to(a, full).reshape(s2)
        else:
            a = a.reshape(a.shape[-1:])
    a = a[(None,) * (2 - a.ndim)]
    a = a[tuple(slice(0, 1) if st == 0 else slice(None) for st in a.strides)]
    a = np.ascontiguousarray(a)
    v = a.view()
    # read-only, always: writable and read-only operands then share one
    # compiled kernel (each combination compiles for seconds)
    v.flags.writeable = False
    return v


def shape2(full):
    """The 2-D shape the kernels see for an output of shape ``full``."""
    if len(full) <= 2:
        return (1,) * (2 - len(full)) + tuple(full)
    return (math.prod(full[:-1]), full[-1])


def operands(args, names, counts=("k",)):
    """Host inputs -> (2-D kernel operands, output shape, result dtype,
    mask or None, family). ``counts``: the operand names that may stay
    integers."""
    family = "torch" if any(is_torch(a) for a in args) else "numpy"
    masks = [np.ma.getmaskarray(a) for a in args if isinstance(a, np.ma.MaskedArray)]
    arrays = [host(a, n) for a, n in zip(args, names)]
    out = result_dtype([a if isinstance(a, (bool, int, float)) else arr
                        for a, arr in zip(args, arrays)])
    try:
        full = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise ValueError("operands could not be broadcast together with shapes "
                         + " ".join(str(a.shape) for a in arrays)) from None
    s2 = shape2(full)
    with np.errstate(over="ignore"):        # Python numbers beyond float32: inf, as NumPy
        ops = [two_d(a.astype(kernel_dtype(a, out, n in counts), copy=False), s2, full)
               for a, n in zip(arrays, names)]
    mask = None
    if masks:
        mask = np.zeros(full, bool)
        for m in masks:
            mask = mask | m
    return ops, full, out, mask, family


def union_mask(*arrays):
    """The union of the masks of the masked arrays among ``arrays``,
    broadcast to their common shape; None where none is masked."""
    masks = [np.ma.getmaskarray(a) for a in arrays if isinstance(a, np.ma.MaskedArray)]
    if not masks:
        return None
    mask = np.zeros(np.broadcast_shapes(*(shape(a) for a in arrays)), bool)
    for m in masks:
        mask = mask | m
    return mask


def remask(res, mask):
    """A host result with ``mask`` (broadcast to it) added to its own mask:
    the masked-in, masked-out policy for results computed from the data of
    masked inputs. res as it is where mask is None (or res is not NumPy)."""
    if mask is None or not isinstance(res, (np.ndarray, np.generic, float, int)):
        return res
    data = np.asarray(np.ma.getdata(res))
    full = np.broadcast_shapes(data.shape, mask.shape)
    m = np.broadcast_to(mask, full)
    if isinstance(res, np.ma.MaskedArray):
        m = m | np.broadcast_to(np.ma.getmaskarray(res), full)
    return np.ma.masked_array(np.broadcast_to(data, full).copy(), mask=m)


def wrap(res, full, mask, family):
    """A kernel result (2-D) as the caller expects it (see the module docstring)."""
    res = res.reshape(full)
    if mask is not None:
        return np.ma.masked_array(res, mask=mask)
    if family == "torch":
        import torch
        return torch.from_numpy(res)
    return res[()] if res.ndim == 0 else res


def key(random_state):
    """A 64-bit Philox key (two 32-bit words, as uint64) from ``random_state``.

    None: NumPy's global RandomState (as scipy); an int or a SeedSequence:
    derived by SeedSequence (same seed, same key); a Generator or a
    RandomState: drawn from it, so that it advances; a torch.Generator:
    two 32-bit words drawn from it with torch.randint (so torch.manual_seed
    reproduces them); a pair of ints in [0, 2**32): that key itself (by
    design: the Philox key of a draw, e.g. to reproduce it elsewhere).
    Anything else (a tuple of other things included) raises ValueError.
    """
    if isinstance(random_state, tuple):
        if len(random_state) == 2 and all(
                isinstance(w, (int, np.integer)) and not isinstance(w, (bool, np.bool_))
                and 0 <= w < 2 ** 32 for w in random_state):
            return np.uint64(random_state[0]), np.uint64(random_state[1])
        raise ValueError("random_state as a tuple must be a Philox key: a pair of ints in "
                         f"[0, 2**32); got {random_state!r}")
    if random_state is None:
        words = np.random.randint(0, 2 ** 32, size=2, dtype=np.uint64)
    elif isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative; got {random_state}")
        words = np.random.SeedSequence(int(random_state)).generate_state(2)
    elif isinstance(random_state, np.random.SeedSequence):
        words = random_state.generate_state(2)
    elif isinstance(random_state, np.random.Generator):
        words = random_state.integers(0, 2 ** 32, size=2, dtype=np.uint64)
    elif isinstance(random_state, np.random.RandomState):
        words = random_state.randint(0, 2 ** 32, size=2, dtype=np.uint64)
    elif type(random_state).__module__.startswith("torch") and hasattr(random_state, "manual_seed"):
        import torch
        w = torch.randint(0, 2 ** 32, (2,), dtype=torch.int64, generator=random_state)
        words = np.asarray(w.tolist(), np.uint64)
    else:
        raise ValueError("random_state must be None, a non-negative int, a SeedSequence, a "
                         "Generator, a RandomState, a torch.Generator or a pair of 32-bit "
                         f"words; got {random_state!r}")
    return np.uint64(words[0]), np.uint64(words[1])


def size_shape(size, default, name="size"):
    """The output shape from scipy's ``size`` (None: ``default``); ValueError
    naming ``name`` for anything but a non-negative int or a tuple of them."""
    if size is None:
        return tuple(default)
    if isinstance(size, np.ndarray) and size.ndim == 1:
        size = tuple(size)
    items = size if isinstance(size, (tuple, list)) else (size,)
    if any(isinstance(n, (bool, np.bool_)) for n in items):
        items = ()                                  # booleans are not sizes
    try:
        sizes = np.asarray(items)
    except (TypeError, ValueError):
        sizes = np.zeros(0, object)
    if (sizes.dtype.kind not in "iu" or sizes.ndim != 1 or np.any(sizes < 0)) and not (
            isinstance(size, (tuple, list)) and not size):
        raise ValueError(f"{name} must be a non-negative int or a tuple of them; got {size!r}")
    return tuple(int(n) for n in sizes)

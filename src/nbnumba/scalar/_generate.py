"""The scalar API's functions, generated from a distribution's table rows."""
from typing import Callable

import numba

from .._math.table import Function, table

#: The decorator of the public scalar functions: NumPy's error model, as the
#: scalar math they call (no exception from compiled code). Not cached on
#: disk: the generated wrappers have no source file, and all they hold is a
#: call of a cached function.
user = numba.njit(error_model="numpy")


def _docstring(distribution: str, f: Function) -> str:
    same = f"nbnumba.{f.name}" if distribution == "nbinom" else f"nbnumba.zinb.{f.name}"
    if len(f.outputs) == 1:
        returns = "float"
    else:
        returns = f"tuple of {len(f.outputs)} float\n    ({', '.join(f.outputs)})"
    return (f"{f.doc}, on float64 scalars: the value of :func:`{same}`, bit for bit.\n\n"
            f"Callable from ``@numba.njit`` functions, ``@cuda.jit`` kernels and Python.\n\n"
            f"Parameters\n----------\n{', '.join(f.operands)} : float\n\n"
            f"Returns\n-------\n{returns}\n")


def _wrapper(distribution: str, f: Function, module: str) -> Callable:
    """The public scalar function of row f: its operands by name, each
    converted to float64 (an integer count, a float32), then the row's
    scalar function."""
    args = ", ".join(f.operands)
    floats = ", ".join(f"float({a})" for a in f.operands)
    ns = {"scalar": f.scalar}
    exec(compile(f"def {f.name}({args}):\n    return scalar({floats})\n",
                 f"<{module}.{f.name}>", "exec"), ns)
    py = ns[f.name]
    py.__doc__ = _docstring(distribution, f)
    py.__module__ = module
    return user(py)


def generate(distribution: str, namespace: dict) -> list[str]:
    """Define the scalar function of every row of ``distribution``'s table in
    ``namespace`` (a module's globals); returns their names."""
    names = []
    for f in table(distribution).values():
        namespace[f.name] = _wrapper(distribution, f, namespace["__name__"])
        names.append(f.name)
    return names

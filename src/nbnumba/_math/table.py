"""The tables that drive every target: one row per public function.

A distribution's module (``nbinom``, ``zinb``) ends with ``TABLE``, a tuple
of :class:`Function` rows. The CPU tile kernels, the sums, the CUDA kernels,
the Dask wrappers, the public functions and their docstrings and the tests
that run every function on every target are generated from these rows, so
adding a function is one scalar function and one row. A row is found by its
qualified name ``"<distribution>.<function>"`` (:func:`lookup`), never by a
position.
"""
import importlib
from typing import NamedTuple

#: The modules of nbnumba._math that hold a TABLE, by distribution name.
DISTRIBUTIONS = ("nbinom", "zinb")


class Columns(NamedTuple):
    """A fast path that reads part of its work from a per-column table.

    Where the operand ``operand`` is constant down the columns of a 2-D
    call (theta per gene of a cells x genes matrix), the CPU kernels fill
    column ``g`` of a ``(width, columns)`` table with ``tabulate(value,
    tab, g)`` once per column and run ``fast(*operands, tab, g)`` instead
    of the row's ``fast``, and ``slow(*operands, tab, g)`` instead of its
    ``slow``: the same values, bit for bit, with the work that depends on
    that operand alone done once per column, not per element.
    """

    operand: str
    width: int
    tabulate: object
    fast: object
    slow: object


class Function(NamedTuple):
    """One public function of a distribution.

    ``scalar(*operands)`` is the whole function on float64 scalars (a float,
    or a tuple of floats for several outputs). Where ``fast`` is given, the
    array kernels run it first over a whole tile (branch-free: the loop
    vectorizes; NaN where it does not apply) and then ``slow`` where it gave
    NaN; ``scalar`` is the two combined.
    """

    name: str
    scalar: object
    operands: tuple
    doc: str
    outputs: tuple = ("out",)
    fast: object = None
    slow: object = None
    wide: bool = False          # its fast loop runs faster with 512-bit vectors
    columns: Columns = None     # a per-column tabulation of its fast path

    @property
    def arity(self):
        return len(self.operands)


def table(distribution):
    """The rows of ``distribution`` by function name."""
    module = importlib.import_module(f"{__package__}.{distribution}")
    return {f.name: f for f in module.TABLE}


def lookup(qualname):
    """The row of ``"<distribution>.<function>"``."""
    distribution, name = qualname.split(".")
    return table(distribution)[name]

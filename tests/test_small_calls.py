"""Calls on plain numbers take a shortcut (the row's scalar function): the
same bits and types as the array path, for every row and awkward input."""
import itertools
import math

import numpy as np
import pytest

import nbnumba
from nbnumba import zinb
from nbnumba._math.table import table

VALUES = {"k": [0, 3, 1e6, -1, 2.5, math.nan, math.inf],
          "q": [0.0, 0.3, 1 - 1e-12, 1.0, -0.1, math.nan],
          "mu": [0.0, 2.0, 1e-300, 1e300, -1.0, math.inf, math.nan],
          "theta": [0.0, 1.5, 1e-12, 1e16, math.inf, -2.0],
          "zi_logits": [-math.inf, -800.0, 0.3, 40.0, math.inf]}
MODULES = {"nbinom": nbnumba.ufuncs, "zinb": zinb}


@pytest.mark.parametrize("distribution,name",
                         [(d, n) for d in MODULES for n in table(d)])
def test_scalar_shortcut_is_the_array_path(distribution, name):
    f = table(distribution)[name]
    public = getattr(MODULES[distribution], name)
    points = list(itertools.product(*(VALUES[o] for o in f.operands)))
    for p in points[::max(1, len(points) // 150)]:
        kw = {"zi_logits": p[-1]} if distribution == "zinb" else {}
        args = p[:-1] if kw else p
        fast = public(*args, **kw)
        slow = public(*(np.array(a) for a in args), **{k: np.array(v) for k, v in kw.items()})
        fast, slow = (fast, slow) if isinstance(fast, tuple) else ((fast,), (slow,))
        for a, b in zip(fast, slow):
            assert type(a) is np.float64, (name, p)
            assert np.array_equal(a, b, equal_nan=True) and np.signbit(a) == np.signbit(b), (name, p, a, b)


def test_what_takes_the_array_path():
    # float32 keeps float32; a count beyond 2**53 is not rounded to a float first
    assert nbnumba.logpmf(np.float32(3), np.float32(2), np.float32(1.5)).dtype == np.float32
    big = 2**53 + 1
    assert nbnumba.logpmf(big, 2.0**53, 1e3) == nbnumba.logpmf(np.array(big), 2.0**53, 1e3)

import csv
import math
import os

import pytest
from hypothesis import settings

# The same examples on every run, so that CI is reproducible.
settings.register_profile("nbnumba", derandomize=True)
settings.load_profile("nbnumba")

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="session")
def reference():
    """Rows (k, mu, theta, logpmf, logcdf, logsf) from tests/make_reference.py."""
    with open(os.path.join(HERE, "data", "reference.csv")) as f:
        return [{key: float(v) for key, v in row.items()} for row in csv.DictReader(f)]


def rel_err(got, ref):
    """Relative error, absolute where |ref| < 1; 0 for equal infinities."""
    if ref == got:
        return 0.0
    if not (math.isfinite(got) and math.isfinite(ref)):
        return math.inf
    return abs(got - ref) / max(abs(ref), 1.0)

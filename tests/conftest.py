import csv
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

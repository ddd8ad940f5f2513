"""notebooks/tour.ipynb runs from top to bottom (outputs are not stored)."""
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")
pytest.importorskip("ipykernel")

HERE = os.path.dirname(os.path.abspath(__file__))


def test_tour_executes():
    path = os.path.join(HERE, "..", "notebooks", "tour.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs"
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "faces agree: True" in text

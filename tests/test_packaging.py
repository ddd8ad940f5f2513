"""What users install: the wheel's contents, and the installed package as the one under test."""
import importlib
import importlib.metadata
import os
import pathlib

import pytest

import nbnumba

INSTALLED = pathlib.Path(nbnumba.__file__).resolve().parent
OPTIONAL = {"torch", "dask", "distributed", "numba.cuda"}
SOURCE = pathlib.Path(__file__).resolve().parent.parent / "src" / "nbnumba"


def _modules(root, pattern="*.py"):
    return {p.relative_to(root).with_suffix("").as_posix() for p in root.rglob(pattern)}


@pytest.mark.skipif(not SOURCE.is_dir(), reason="no source tree beside the tests")
def test_every_source_module_and_stub_is_installed():
    for pattern in ("*.py", "*.pyi"):
        missing = _modules(SOURCE, pattern) - _modules(INSTALLED, pattern)
        assert not missing, f"missing from the installed package: {sorted(missing)} ({pattern})"


def test_every_module_imports():
    for name in sorted(_modules(INSTALLED)):
        if name.endswith("__main__"):
            continue
        dotted = "nbnumba." + name.replace("/", ".").removesuffix(".__init__").removesuffix("__init__")
        try:
            importlib.import_module(dotted.rstrip("."))
        except ImportError as e:            # an optional extra that is not installed
            if e.name not in OPTIONAL:
                raise


def test_typed_and_licensed():
    assert (INSTALLED / "py.typed").is_file()
    dist = importlib.metadata.distribution("nbnumba")
    assert dist.version == nbnumba.__version__
    assert "LICENSE" in (dist.metadata.get_all("License-File") or [])


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI tests the installed wheel, not the source")
def test_ci_tests_the_installed_package():
    """CI installs the wheel: the package under test must not be the checkout's source."""
    assert SOURCE.resolve() != INSTALLED, f"nbnumba imported from the source tree {INSTALLED}"
    assert "site-packages" in INSTALLED.parts

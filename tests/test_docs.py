"""Every Python example of the README and of the documentation runs.

Each ```python block of README.md and each ``.. code-block:: python`` block
under docs/ is executed on its own, in a fresh namespace, so that no example
depends on another's state. A block right after the marker
``.. example: skip-without-gpu`` (in the README ``<!-- example:
skip-without-gpu -->``) is skipped without a CUDA device; a block that
imports torch, Dask, CuPy or scvi-tools is skipped where that is not
installed. The files are found next to this folder (a source tree or an
sdist); the tests are skipped where they are absent.
"""
import importlib.util
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
README = os.path.join(ROOT, "README.md")
DOCS = os.path.join(ROOT, "docs")
GPU_MARK = "example: skip-without-gpu"
OPTIONAL = {"torch": r"^\s*(import|from) torch\b", "dask": r"^\s*(import|from) dask\b",
            "cupy": r"^\s*(import|from) cupy\b", "scvi": r"^\s*(import|from) scvi\b"}


def markdown_blocks(path):
    """(first line number, code, needs a GPU) of each ```python block."""
    lines = open(path, encoding="utf-8").read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            before = next((s.strip() for s in reversed(lines[:i]) if s.strip()), "")
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            blocks.append((start + 1, "\n".join(lines[start:end]),
                           before == f"<!-- {GPU_MARK} -->"))
            i = end
        i += 1
    return blocks


def rst_blocks(path):
    """(first line number, code, needs a GPU) of each ``.. code-block:: python``
    (its options skipped, its body dedented)."""
    lines = open(path, encoding="utf-8").read().splitlines()
    blocks = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)\.\. code-block:: python\s*$", line)
        if not m:
            continue
        before = next((s.strip() for s in reversed(lines[:i]) if s.strip()), "")
        j = i + 1
        while j < len(lines) and re.match(r"^\s+:\w[\w-]*:", lines[j]):
            j += 1
        body = []
        indent = None
        for k in range(j, len(lines)):
            text = lines[k]
            if not text.strip():
                body.append("")
                continue
            depth = len(text) - len(text.lstrip())
            if depth <= len(m.group(1)):
                break
            indent = depth if indent is None else min(indent, depth)
            body.append(text)
        first = next(k for k in range(j, len(lines)) if lines[k].strip())
        code = "\n".join(t[indent:] for t in body).strip("\n")
        blocks.append((first + 1, code, before == f".. {GPU_MARK}"))
    return blocks


def examples():
    found = []
    if os.path.exists(README):
        found += [("README.md", *b) for b in markdown_blocks(README)]
    for folder, _, files in sorted(os.walk(DOCS)):
        if "_build" in folder:
            continue
        for name in sorted(files):
            if name.endswith(".rst"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, ROOT)
                found += [(rel, *b) for b in rst_blocks(path)]
    return found


EXAMPLES = examples()


def _has_gpu():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False            # the simulator runs tests/gpu, not examples of full size
    try:
        from numba import cuda
        return cuda.is_available()
    except Exception:           # numba-cuda missing or no driver: no GPU
        return False


@pytest.mark.skipif(not EXAMPLES, reason="README.md and docs/ are not next to the tests")
@pytest.mark.parametrize("where, line, code, gpu", EXAMPLES,
                         ids=[f"{w}:{n}" for w, n, _, _ in EXAMPLES])
def test_example_runs(where, line, code, gpu):
    if gpu and not _has_gpu():
        pytest.skip("needs a CUDA device")
    for module, pattern in OPTIONAL.items():
        if re.search(pattern, code, re.M) and importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}")
    exec(compile(code, f"{where}:{line}", "exec"), {"__name__": "__example__"})


def test_examples_found():
    """The parsers see the examples (a parser that finds none would pass
    every run): the README has a tour, the guide has examples, and the GPU
    marker is recognised in both."""
    if not EXAMPLES:
        pytest.skip("README.md and docs/ are not next to the tests")
    readme = [e for e in EXAMPLES if e[0] == "README.md"]
    docs = [e for e in EXAMPLES if e[0] != "README.md"]
    assert len(readme) >= 3 and len(docs) >= 10
    assert any(e[3] for e in readme) and any(e[3] for e in docs)
    assert all(e[2].strip() and not e[2].startswith((" ", "\t")) for e in EXAMPLES)


def test_rst_parser(tmp_path):
    """Options are skipped, the body is dedented and ends where the
    indentation does, and the GPU marker applies to the next block only."""
    page = tmp_path / "page.rst"
    page.write_text("Title\n=====\n\n.. example: skip-without-gpu\n\n"
                    ".. code-block:: python\n   :caption: x\n\n   a = 1\n\n   if a:\n"
                    "       b = 2\nText.\n\n.. code-block:: python\n\n   c = 3\n")
    (l1, c1, g1), (l2, c2, g2) = rst_blocks(str(page))
    assert (c1, g1, l1) == ("a = 1\n\nif a:\n    b = 2", True, 9)
    assert (c2, g2) == ("c = 3", False)


def test_api_reference_sees_every_row():
    """The API reference lists a module's ``__all__`` (docs/conf.py): every
    row of every table is there, with a numpydoc docstring and a signature
    that names the row's operands, as autodoc reads them."""
    import importlib
    import inspect

    from nbnumba._math.table import DISTRIBUTIONS, table
    modules = {"nbinom": "nbnumba.ufuncs", "zinb": "nbnumba.zinb"}
    assert set(DISTRIBUTIONS) == set(modules)
    for distribution, name in modules.items():
        module = importlib.import_module(name)
        for row in table(distribution).values():
            assert row.name in module.__all__
            f = getattr(module, row.name)
            params = list(inspect.signature(f).parameters)
            assert params[:2] == list(row.operands[:2]) and "out" in params
            doc = inspect.getdoc(f)
            assert doc.splitlines()[0] and "Parameters\n----------" in doc
            assert "Returns\n-------" in doc

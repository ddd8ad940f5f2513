"""The type stubs of the generated functions describe the functions that exist."""
import ast
import importlib
import inspect
import pathlib

import pytest

import nbnumba

PACKAGE = pathlib.Path(nbnumba.__file__).resolve().parent


def _stub_signatures(module):
    """{name: [(parameter name, kind)]} of the functions in a module's .pyi."""
    tree = ast.parse((PACKAGE / f"{module}.pyi").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            out[node.name] = ([(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.args]
                              + [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs])
    return out


@pytest.mark.parametrize("module", ["ufuncs", "zinb", "scalar/nbinom", "scalar/zinb"])
def test_stubs_match_the_generated_functions(module):
    mod = importlib.import_module("nbnumba." + module.replace("/", "."))
    stubs = _stub_signatures(module)
    for name in mod.__all__:
        f = getattr(mod, name)
        f = getattr(f, "py_func", f)            # the scalar functions are Numba dispatchers
        runtime = [(p.name, p.kind.name) for p in inspect.signature(f).parameters.values()]
        assert stubs.get(name) == runtime, f"{module}.pyi: {name}"


def test_top_level_stub_names_every_public_name():
    tree = ast.parse((PACKAGE / "__init__.pyi").read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            declared |= {a.asname or a.name for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            declared.add(node.target.id)
    assert set(nbnumba.__all__) <= declared
    assert "__version__" in declared

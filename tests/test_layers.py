"""The package's imports run downward only: no circle, no upward import."""
import ast
import pathlib

import pytest

import nbnumba

# The installed package, which is what users import.
ROOT = pathlib.Path(nbnumba.__file__).resolve().parent


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports():
    """{module: set of nbnumba modules it imports (anywhere in its body)}."""
    graph = {}
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                if mod.startswith("nbnumba"):
                    for alias in node.names:
                        sub = f"{mod}.{alias.name}"
                        deps.add(sub if (ROOT.parent / (sub.replace(".", "/") + ".py")).exists()
                                 else mod)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("nbnumba")}
        graph[name] = deps - {name}
    return graph


GRAPH = imports()


def test_no_import_circle():
    state = {}

    def visit(m, path):
        if state.get(m) == 1:
            pytest.fail("import circle: " + " -> ".join(path + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in GRAPH.get(m, ()):
            visit(d, path + [m])
        state[m] = 2

    for m in GRAPH:
        visit(m, [])


@pytest.mark.parametrize("layer,allowed", [
    ("nbnumba._math", ("nbnumba._math",)),
    ("nbnumba._cpu", ("nbnumba._math", "nbnumba._cpu")),
    ("nbnumba._arrays", ()),
    ("nbnumba.gpu", ("nbnumba._math", "nbnumba._arrays")),
])
def test_lower_layers_import_only_below(layer, allowed):
    for m, deps in GRAPH.items():
        if m == layer or m.startswith(layer + "."):
            bad = [d for d in deps if not d.startswith(allowed) or not allowed]
            assert not bad, f"{m} imports {bad}"


def test_the_graph_is_read():
    assert "nbnumba._math.nbinom" in GRAPH["nbnumba._cpu.sampling"] | GRAPH["nbnumba._math.random"]
    assert "nbnumba._arrays" in GRAPH["nbnumba.ufuncs"]

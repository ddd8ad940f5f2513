"""Sphinx configuration of nbnumba's documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

It documents the installed ``nbnumba`` (``pip install ".[docs,cuda]"``: the
API reference imports ``nbnumba.gpu``, which needs numba-cuda). Two
things are generated at every build, before Sphinx reads the sources:

- ``docs/_generated/*.rst``: the accuracy and speed tables, from the
  benchmarks' JSON output in ``docs/_data/`` (``docs/_tables.py``);
- ``docs/api/<module>.rst``: one page per public module, listing what the
  module exports (its ``__all__``), so every function generated from the
  tables (``nbnumba.ufuncs``, ``nbnumba.zinb``) is in the reference without
  a hand-kept list; autosummary then writes a page per function from its
  docstring and signature.
"""
import importlib
import inspect
import os
import pkgutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _tables  # noqa: E402
import nbnumba  # noqa: E402

project = "nbnumba"
author = "the nbnumba developers"
copyright = "2026, " + author
release = nbnumba.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "_templates", "_data"]
root_doc = "index"
html_theme = "alabaster"
html_theme_options = {"description": "The Negative Binomial, exact and fast, compiled by Numba",
                      "fixed_sidebar": True}
html_static_path = []

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"            # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False   # the class template lists members once
numpydoc_xref_param_type = False
default_role = "code"                 # `x` in docstrings reads as code, as in NumPy's
nitpicky = False
smartquotes = False                   # labels and code-like text stay verbatim
suppress_warnings = ["autosummary.import_cycle"]

#: Classes documented next to the objects of a module's ``__all__`` (the frozen
#: distributions that ``nbinom(...)`` and ``zinbinom(...)`` return).
EXTRA = {"stats": ["nbinom_gen", "nbinom_frozen", "zinbinom_gen", "zinbinom_frozen"]}
#: Public modules without ``__all__``: what they export.
EXPORTS = {"reductions": ["loglik"],
           "gpu": [*nbnumba.ufuncs.__all__, "rvs"]}
#: Top-level names whose home module is private: documented as ``nbnumba.<name>``.
CONVERSIONS = sorted(n for n, m in nbnumba._WHERE.items() if m == "_params")
if any(m.startswith("_") and m != "_params" for m in nbnumba._WHERE.values()):
    raise ValueError("a top-level name comes from a private module other than _params: "
                     "document it on a page of its own in docs/conf.py")


def _exports(name):
    module = importlib.import_module(f"nbnumba.{name}")
    if name in EXPORTS:
        names = EXPORTS[name]
    elif hasattr(module, "__all__"):
        names = list(module.__all__)
    else:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(v) or inspect.isclass(v))
                 and getattr(v, "__module__", None) == module.__name__]
    names = [n for n in names if not inspect.ismodule(getattr(module, n))]
    return module, names + EXTRA.get(name, [])


def _public_modules():
    """The package's public modules: the lazy submodules in their order, then
    any other module without a leading underscore (e.g. ``nbnumba.scvi``)."""
    found = sorted(m.name for m in pkgutil.iter_modules(nbnumba.__path__)
                   if not m.name.startswith("_"))
    return list(nbnumba._SUBMODULES) + [m for m in found if m not in nbnumba._SUBMODULES]


def _api_pages():
    """Write docs/api/<module>.rst for every public submodule, and the
    conversions page; returns the page names in order."""
    pages = []
    for name in _public_modules():
        module, names = _exports(name)
        title = f"``nbnumba.{name}``"
        lines = [title, "=" * len(title), "",
                 f".. automodule:: nbnumba.{name}", "   :no-members:", "",
                 f".. currentmodule:: nbnumba.{name}", "",
                 ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {n}" for n in names]
        _write(os.path.join(HERE, "api", f"{name}.rst"), "\n".join(lines) + "\n")
        pages.append(name)
    title = "Parameter conversions"
    lines = [title, "=" * len(title), "",
             "Between nbnumba's (mu, theta) and torch's and scipy's parameters; see",
             ":doc:`../guide/faces`.", "", ".. currentmodule:: nbnumba", "",
             ".. autosummary::", "   :toctree: generated", ""]
    lines += [f"   {n}" for n in CONVERSIONS]
    _write(os.path.join(HERE, "api", "conversions.rst"), "\n".join(lines) + "\n")
    return pages + ["conversions"]


def _write(path, text):
    old = open(path).read() if os.path.exists(path) else None
    if text != old:
        with open(path, "w") as f:
            f.write(text)


def _api_index(pages):
    lines = [".. toctree::", "   :maxdepth: 1", ""] + [f"   {p}" for p in pages]
    lines += ["", "Top-level names", "---------------", "",
              "``import nbnumba`` gives these names, each loaded on first use:", ""]
    for name in sorted(nbnumba._WHERE):
        home = nbnumba._WHERE[name]
        if home.startswith("_"):
            target = f"nbnumba.{name}"
        elif name in _exports(home)[1]:
            target = f"nbnumba.{home}.{name}"
        else:       # the link would dangle: fail the build, naming the fix
            raise ValueError(f"nbnumba.{name} comes from nbnumba.{home}, whose API page does not "
                             f"list it: add it to that module's __all__ (or EXPORTS in conf.py)")
        lines.append(f"- ``nbnumba.{name}``: :py:obj:`{target}`")
    _write(os.path.join(HERE, "_generated", "api_toctree.rst"), "\n".join(lines) + "\n")


def _changelog():
    """docs/_generated/changelog.rst from CHANGELOG.md (headings and lists:
    the subset of Markdown the changelog uses; `code` reads as code through
    ``default_role``)."""
    lines = []
    with open(os.path.join(HERE, "..", "CHANGELOG.md")) as f:
        for line in f.read().splitlines():
            for mark, under in (("# ", "="), ("## ", "-"), ("### ", "~")):
                if line.startswith(mark):
                    title = line[len(mark):].strip()
                    lines += [title, under * len(title)]
                    break
            else:
                lines.append(line)
    _write(os.path.join(HERE, "_generated", "changelog.rst"), "\n".join(lines) + "\n")


_tables.main()
_api_index(_api_pages())
_changelog()

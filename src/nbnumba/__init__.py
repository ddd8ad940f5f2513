"""nbnumba: the Negative Binomial distribution, exact and fast, compiled by Numba.

Submodules and names load on first use (PEP 562), so ``import nbnumba``
imports neither Numba nor SciPy.
"""
import importlib

__version__ = "0.2.0"

_NB_FUNCTIONS = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "entropy",
                 "logpmf_grad", "logpmf_hess")
_WHERE = {
    "NegativeBinomial": "distributions", "ZeroInflatedNegativeBinomial": "distributions",
    "nbinom": "stats", "zinbinom": "stats",
    "rvs": "sampling", "loglik": "reductions",
    "fit_theta": "fitting", "fit": "fitting",
    "test_de": "analysis", "pseudobulk": "analysis", "residuals": "analysis",
    "from_probs": "_params", "from_logits": "_params", "from_scipy": "_params",
    "to_probs": "_params", "to_logits": "_params", "to_scipy": "_params",
    **{name: "ufuncs" for name in _NB_FUNCTIONS},
}
_SUBMODULES = ("ufuncs", "zinb", "gpu", "stats", "distributions", "sampling", "reductions",
               "fitting", "scalar", "analysis")

__all__ = sorted(_WHERE) + list(_SUBMODULES)


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'nbnumba' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__

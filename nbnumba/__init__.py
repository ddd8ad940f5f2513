"""nbnumba: the Negative Binomial distribution, exact and fast, compiled by Numba."""
from . import ufuncs
from .distributions import NegativeBinomial
from .reductions import loglik
from .sampling import rvs
from .stats import nbinom
from ._params import from_logits, from_probs, from_scipy, to_logits, to_probs, to_scipy
from .ufuncs import cdf, isf, logcdf, logpmf, logsf, pmf, ppf, sf

__version__ = "0.1.0"

__all__ = ["NegativeBinomial", "nbinom", "rvs", "loglik", "ufuncs", "logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf",
           "from_probs", "from_logits", "from_scipy", "to_probs", "to_logits", "to_scipy"]

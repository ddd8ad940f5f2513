# The public names of the package, which __init__.py loads on first use
# (PEP 562); tests/test_typing.py checks that this stub names all of them.
from . import analysis as analysis
from . import distributions as distributions
from . import fitting as fitting
from . import gpu as gpu
from . import reductions as reductions
from . import sampling as sampling
from . import scalar as scalar
from . import stats as stats
from . import ufuncs as ufuncs
from . import zinb as zinb
from ._params import from_logits as from_logits
from ._params import from_probs as from_probs
from ._params import from_scipy as from_scipy
from ._params import to_logits as to_logits
from ._params import to_probs as to_probs
from ._params import to_scipy as to_scipy
from .analysis import pseudobulk as pseudobulk
from .analysis import residuals as residuals
from .analysis import test_de as test_de
from .distributions import NegativeBinomial as NegativeBinomial
from .distributions import ZeroInflatedNegativeBinomial as ZeroInflatedNegativeBinomial
from .fitting import fit as fit
from .fitting import fit_theta as fit_theta
from .reductions import loglik as loglik
from .sampling import rvs as rvs
from .stats import nbinom as nbinom
from .stats import zinbinom as zinbinom
from .ufuncs import cdf as cdf
from .ufuncs import entropy as entropy
from .ufuncs import isf as isf
from .ufuncs import logcdf as logcdf
from .ufuncs import logpmf as logpmf
from .ufuncs import logpmf_grad as logpmf_grad
from .ufuncs import logpmf_hess as logpmf_hess
from .ufuncs import logsf as logsf
from .ufuncs import pmf as pmf
from .ufuncs import ppf as ppf
from .ufuncs import sf as sf

__version__: str
__all__: list[str]

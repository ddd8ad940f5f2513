"""Typical calls of the public API, checked by mypy --strict in CI (not run
by pytest): every name used here must be typed, or mypy fails."""
import numpy as np

import nbnumba
from nbnumba import zinb

k = np.arange(5)
mu = np.full(5, 2.0)
lp = nbnumba.logpmf(k, mu, 1.5)
g_mu, g_theta = nbnumba.logpmf_grad(k, mu, 1.5)
q = nbnumba.ppf(0.5, 2.0, 1.5, out=np.empty(()))
z = zinb.logpmf(k, mu, 1.5, 0.1) + zinb.cdf(k, mu, 1.5, zi_logits=-2.0)
draws = nbnumba.rvs(mu, 1.5, size=(3, 5), random_state=0)
total = nbnumba.loglik(k, mu, 1.5, axis=None, keepdims=False)
fitted = nbnumba.fit_theta(np.ones((4, 3)), np.ones((4, 3)))
theta: np.ndarray = fitted.theta
glm = nbnumba.fit(np.ones((4, 3)), design=np.ones((4, 1)))
version: str = nbnumba.__version__

# the scipy.stats face, frozen and unfrozen
frozen = nbnumba.nbinom(mu=mu, theta=1.5)
m, v = frozen.stats("mv")
tails = frozen.sf(k) + frozen.logcdf(k) + frozen.ppf(0.5)
sample = frozen.rvs(size=(2, 5), random_state=1)
unfrozen = nbnumba.nbinom.pmf(k, 2.0, 0.4) + nbnumba.zinbinom.cdf(k, mu=mu, theta=1.5, pi=0.1)
expected = frozen.expect(lambda x: x ** 2)

# the scvi-tools face
d = nbnumba.NegativeBinomial(mu=mu, theta=1.5)
lp_face = d.log_prob(k)
z_face = nbnumba.ZeroInflatedNegativeBinomial(mu=mu, theta=1.5, zi_logits=-1.0).sample((2,))

# the analysis layer
de = nbnumba.test_de(np.ones((6, 3)), np.c_[np.ones(6), np.r_[0, 0, 0, 1, 1, 1]])
pvalues: np.ndarray = de.pvalue
res = nbnumba.residuals(np.ones((6, 3)), np.ones((6, 3)), 1.5, kind="pearson")

# the scalar API (for @njit code; callable from Python too)
from nbnumba import scalar  # noqa: E402

one: float = scalar.nbinom.logpmf(3.0, 2.0, 1.5)
d_mu, d_theta, d_z = scalar.zinb.logpmf_grad(0.0, 2.0, 1.5, -1.0)
draw: float = scalar.nbinom.rvs(2.0, 1.5, scalar.key(0), 7)

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

"""Write notebooks/tour.ipynb (outputs stripped) from the cells below.

    python notebooks/make_tour.py

The notebook is the source users open; this script keeps it reviewable.
tests/test_notebook.py executes it.
"""
import os

import nbformat as nbf

CELLS = [
    ("md", """# nbnumba: a tour

A simulated single-cell counts matrix, its log-likelihood and p-values with both
faces of nbnumba next to scipy, samples against the exact pmf, randomized
quantile residuals, and the accuracy of nbnumba and scipy against mpmath in the
Poisson limit."""),
    ("code", """import math, time
import numpy as np
import scipy.stats
import matplotlib.pyplot as plt
import mpmath as mp
import nbnumba
from nbnumba import nbinom, NegativeBinomial, ufuncs
print(nbnumba.__version__)"""),
    ("md", """## A counts matrix

2000 cells x 1000 genes: lognormal gene means, cell size factors, a
mean-dispersion trend for theta, counts drawn by `nbnumba.rvs` (counter-based:
the same seed gives the same matrix on any number of threads)."""),
    ("code", """rng = np.random.default_rng(0)
genes, cells = 1000, 2000
gene_mean = np.exp(rng.normal(-1.0, 1.6, genes))
size = np.exp(rng.normal(0.0, 0.4, (cells, 1)))
mu = size * gene_mean
theta = 1.0 / (0.05 + 0.4 / np.sqrt(gene_mean))
X = nbnumba.rvs(mu, theta, random_state=42)
print(X.shape, f"{np.mean(X == 0):.0%} zeros, max count {X.max()}")"""),
    ("md", "## Log-likelihoods and p-values, both faces, next to scipy"),
    ("code", """n, p = theta, theta / (theta + mu)
t = time.perf_counter(); ll_sp = scipy.stats.nbinom.logpmf(X, n, p); t_sp = time.perf_counter() - t
ufuncs.logpmf(X, mu, theta)                       # compile / load the cache
t = time.perf_counter(); ll = nbinom(mu=mu, theta=theta).logpmf(X); t_nb = time.perf_counter() - t
ll_scvi = NegativeBinomial(mu=mu, theta=theta).log_prob(X)
print(f"scipy {t_sp*1e3:.0f} ms, nbnumba {t_nb*1e3:.0f} ms ({t_sp/t_nb:.0f}x)")
print("max |difference| to scipy:", np.max(np.abs(ll - ll_sp)), "; faces agree:", np.array_equal(ll, ll_scvi))
print("total log-likelihood:", nbnumba.loglik(X, mu, theta))
pval = nbinom(mu=mu, theta=theta).sf(X - 1)          # P(count >= observed)
print("smallest p-value:", pval.min(), " scipy:", scipy.stats.nbinom.sf(X - 1, n, p).min())"""),
    ("md", "## Samples against the exact pmf, including the Poisson limit"),
    ("code", """fig, axes = plt.subplots(1, 4, figsize=(14, 3))
for ax, (m, th) in zip(axes, [(0.5, 0.3), (4.0, 2.0), (30.0, 5.0), (10.0, np.inf)]):
    s = nbnumba.rvs(m, th, size=100_000, random_state=1)
    k = np.arange(0, int(np.percentile(s, 99.9)) + 2)
    ax.bar(k, np.bincount(s, minlength=k.size)[:k.size] / s.size, color="0.8", label="samples")
    ax.plot(k, nbnumba.pmf(k, m, th), "r.-", label="pmf")
    ax.set_title(f"mu={m}, theta={th}")
axes[0].legend()
plt.tight_layout(); plt.show()"""),
    ("md", """## Randomized quantile residuals

For a correct model, `u = cdf(x - 1) + v * pmf(x)` with `v` uniform is uniform
(Dunn & Smyth), so `Phi^-1(u)` is standard normal."""),
    ("code", """g = 5                                   # one gene
x, m = X[:, g], mu[:, g]
v = np.random.default_rng(2).uniform(size=x.size)
u = nbnumba.cdf(x - 1, m, theta[g]) + v * nbnumba.pmf(x, m, theta[g])
r = scipy.stats.norm.ppf(u)
wrong = scipy.stats.norm.ppf(scipy.stats.poisson.cdf(x - 1, m) + v * scipy.stats.poisson.pmf(x, m))
fig, ax = plt.subplots(figsize=(5, 4))
q = np.linspace(0.005, 0.995, 199)
ax.plot(scipy.stats.norm.ppf(q), np.quantile(r, q), ".", label=f"NB, theta={theta[g]:.2f}")
ax.plot(scipy.stats.norm.ppf(q), np.quantile(wrong, q), ".", label="Poisson (misspecified)")
ax.plot([-3, 3], [-3, 3], "k-", lw=0.5); ax.set_xlabel("normal quantiles"); ax.legend()
plt.show()
print("KS p-value, NB residuals:", scipy.stats.kstest(r, "norm").pvalue)"""),
    ("md", """## Accuracy in the Poisson limit

log pmf(k) at mu = 10, k = 25, as theta grows, against mpmath at 50 digits."""),
    ("code", """mp.mp.dps = 50
thetas = np.logspace(2, 17, 31)
k, m = 25, 10.0
def exact(th):
    th = mp.mpf(th)
    return (mp.loggamma(k + th) - mp.loggamma(th) - mp.loggamma(k + 1)
            + th * mp.log(th / (th + m)) + k * mp.log(m / (th + m)))
ref = np.array([float(exact(t)) for t in thetas])
err_nb = np.abs(nbnumba.logpmf(k, m, thetas) - ref) / np.abs(ref)
err_sp = np.abs(scipy.stats.nbinom.logpmf(k, thetas, thetas / (thetas + m)) - ref) / np.abs(ref)
fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(thetas, np.maximum(err_sp, 1e-17), "o-", label="scipy.stats.nbinom")
ax.loglog(thetas, np.maximum(err_nb, 1e-17), "s-", label="nbnumba")
ax.axhline(2.2e-16, color="k", lw=0.5); ax.set_xlabel("theta"); ax.set_ylabel("relative error")
ax.legend(); plt.show()
print("worst relative error: nbnumba", err_nb.max(), " scipy", err_sp.max())"""),
    ("md", """## The zero-inflated NB

scvi-tools' default likelihood, on the same kernels: here per-gene zero
inflation, its log-likelihood per gene, and its exactness where pi is within
1e-17 of 1 (zi_logits = 40), where `1 - pi` in floating point is 0."""),
    ("code", """zl = np.linspace(-4, 2, genes)
Xz = nbnumba.zinb.rvs(mu, theta, zi_logits=zl, random_state=3)
ll_genes = nbnumba.zinb.loglik(Xz, mu, theta, zi_logits=zl, axis=0)
print(f"{np.mean(Xz == 0):.0%} zeros; per-gene log-likelihood of the first genes:", ll_genes[:3])
print("log pmf(2) at zi_logits=40:", nbnumba.zinb.logpmf(2, 3.0, 2.0, zi_logits=40.0),
      " = -40 - exp(-40) + NB log pmf(2):", -40 - math.exp(-40) + nbnumba.logpmf(2, 3.0, 2.0))"""),
    ("md", """## Fitting theta per gene

The maximum-likelihood theta of each gene, with the means known, from the
sparse matrix (zeros in closed form), against the theta the counts were
drawn with."""),
    ("code", """import scipy.sparse as sp
fitted = nbnumba.fit_theta(sp.csr_matrix(X), mu)
ok = np.isfinite(fitted.theta) & (fitted.theta > 0)
fig, ax = plt.subplots(figsize=(5, 4))
ax.loglog(theta[ok], fitted.theta[ok], ".", ms=3)
ax.plot([theta.min(), theta.max()], [theta.min(), theta.max()], "k-", lw=0.5)
ax.set_xlabel("true theta"); ax.set_ylabel("fitted theta"); plt.show()
print(f"{fitted.converged.mean():.0%} converged; median |log ratio|:",
      np.median(np.abs(np.log(fitted.theta[ok] / theta[ok]))))"""),
    ("md", """## Training with nbnumba's likelihood (torch)

A small decoder maps a latent code to each gene's mean; theta is a
per-gene parameter; the loss is nbnumba's exact NB log-likelihood, whose
backward pass calls the exact derivative kernels. In an scvi-tools style
model, `NegativeBinomial(mu=..., theta=...)` from nbnumba replaces
scvi's, with the same constructor and `log_prob`."""),
    ("code", """try:
    import torch
except ImportError:
    torch = None
    print("torch is not installed: pip install torch")
if torch is not None:
    torch.manual_seed(0)
    z = torch.randn(cells, 4, dtype=torch.float64)
    xt = torch.from_numpy(X[:, :50].astype(np.float64))
    decoder = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(),
                                  torch.nn.Linear(16, 50)).double()
    log_theta = torch.zeros(50, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam(list(decoder.parameters()) + [log_theta], lr=0.05)
    losses = []
    for step in range(100):
        opt.zero_grad()
        px = NegativeBinomial(mu=torch.exp(decoder(z)), theta=torch.exp(log_theta))
        loss = -px.log_prob(xt).sum() / cells
        loss.backward()
        opt.step()
        losses.append(loss.item())
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(losses); ax.set_xlabel("step"); ax.set_ylabel("NB negative log-likelihood per cell")
    plt.show()
    print(f"loss {losses[0]:.2f} -> {losses[-1]:.2f}")"""),
]


def main():
    nb = nbf.v4.new_notebook()
    nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
                for kind, src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tour.ipynb")
    nbf.write(nb, path)


if __name__ == "__main__":
    main()

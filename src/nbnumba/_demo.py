"""A synthetic single-cell counts matrix, shared by the demo and the benchmarks."""
import numpy as np


def counts_matrix(cells, genes, seed=0):
    """(X, mu, theta): int64 counts (cells x genes), their NB means, per-gene theta.

    Lognormal gene means, lognormal cell size factors, theta from a
    mean-dispersion trend with scatter, counts drawn Gamma-Poisson: about
    60-65% zeros, as in droplet data.
    """
    rng = np.random.default_rng(seed)
    gene_mean = np.exp(rng.normal(-1.0, 1.6, genes))
    size = np.exp(rng.normal(0.0, 0.4, (cells, 1)))
    mu = size * gene_mean
    theta = 1.0 / (0.05 + 0.4 / np.sqrt(gene_mean)) * np.exp(rng.normal(0, 0.3, genes))
    X = rng.poisson(rng.gamma(theta, mu / theta))
    return X, mu, theta

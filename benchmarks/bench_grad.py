"""Zero-inflated NB and gradients against their peers, in one run.

    python benchmarks/bench_grad.py [--cells 20000] [--genes 1000] [--repeat 3]

On the demo's counts matrix (cells x genes, per-gene theta, per cell x gene
mu, float32):
- ZINB log-pmf vs NB log-pmf (nbnumba) and vs scvi-tools' ``log_zinb_positive``
  formula in torch;
- forward + backward of the NB and ZINB log-likelihoods: nbnumba's
  ``log_prob`` (torch autograd, backward = the gradient kernels) vs torch
  autodiff of scvi-tools' ``log_nb_positive`` and ``log_zinb_positive``;
- the gradient kernels alone vs ``jax.grad`` of ``jax.scipy.stats.nbinom.logpmf``
  (jit, float32), when JAX is installed;
- with ``--ceiling``, the bare float64 arithmetic of the gradient kernel's
  fast path (one division for 1/mu and 1/(theta + mu), one log1pmx; no
  range checks, no general path, outputs allocated once) in a plain
  parallel loop, without and with the per-gene table's 13 selects: upper
  bounds for any float64 kernel of this form.
"""
import argparse

import numpy as np

import nbnumba
from nbnumba._demo import counts_matrix

from _timing import best


def log_nb_positive(torch, x, mu, theta, eps=1e-8):
    """scvi-tools' NB log-likelihood formula."""
    log_theta_mu_eps = torch.log(theta + mu + eps)
    return (theta * (torch.log(theta + eps) - log_theta_mu_eps)
            + x * (torch.log(mu + eps) - log_theta_mu_eps)
            + torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1))


def log_zinb_positive(torch, x, mu, theta, pi, eps=1e-8):
    """scvi-tools' ZINB log-likelihood formula (pi: the zero-inflation logits)."""
    softplus = torch.nn.functional.softplus
    softplus_pi = softplus(-pi)
    log_theta_eps = torch.log(theta + eps)
    log_theta_mu_eps = torch.log(theta + mu + eps)
    pi_theta_log = -pi + theta * (log_theta_eps - log_theta_mu_eps)
    case_zero = softplus(pi_theta_log) - softplus_pi
    case_non_zero = (-softplus_pi + pi_theta_log + x * (torch.log(mu + eps) - log_theta_mu_eps)
                     + torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1))
    return (x < eps).float() * case_zero + (x > eps).float() * case_non_zero


def ceiling_kernels(theta):
    """The gradient's float64 arithmetic over a cells x genes matrix (see
    --ceiling), without and with the per-gene table's selects."""
    import numba
    from nbnumba._math.derivatives import grad_table, tabulated_sum
    from nbnumba._math.special import FAST_K, log1pmx_ratio

    @numba.njit
    def fill(theta, tab):
        for g in range(theta.size):
            grad_table(np.float64(theta[g]), tab, g)

    def kernel(selects):
        @numba.njit(parallel=True, error_model="numpy")
        def core(X, mu, theta, tab, d_mu, d_theta):
            for i in numba.prange(X.shape[0]):
                for g in range(X.shape[1]):
                    k, m, t = np.float64(X[i, g]), np.float64(mu[i, g]), np.float64(theta[g])
                    d = 1.0 / (m * (t + m))
                    inv = m * d
                    d_mu[i, g] = (k - m) * (t * d)
                    acc = tabulated_sum(k, tab, np.uint64(g)) if selects else 0.0
                    d_theta[i, g] = acc + log1pmx_ratio((k - m) * inv, (t + k) * inv)
        return core

    tab = np.empty((FAST_K + 1, theta.size))
    fill(theta, tab)
    return tab, kernel(False), kernel(True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cells", type=int, default=20000)
    ap.add_argument("--genes", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ceiling", action="store_true",
                    help="also time the bare float64 core of the gradient kernel")
    args = ap.parse_args()
    X, mu, theta = counts_matrix(args.cells, args.genes)
    X, mu, theta = (a.astype(np.float32) for a in (X, mu, theta))
    zl = np.random.default_rng(1).normal(-1.5, 1.0, args.genes).astype(np.float32)
    n = X.size
    rate = {}

    def row(name, f):
        rate[name] = n / best(f, args.repeat) / 1e6
        print(f"| {name} | {rate[name]:.1f} |", flush=True)

    print(f"{args.cells} x {args.genes} float32, Melem/s (best of {args.repeat}), one run\n")
    print("| log-pmf | Melem/s |\n|---|---:|")
    row("nbnumba NB logpmf", lambda: nbnumba.logpmf(X, mu, theta))
    row("nbnumba ZINB logpmf", lambda: nbnumba.zinb.logpmf(X, mu, theta, zi_logits=zl))
    try:
        import torch
        torch.set_num_threads(2)
        tX, tmu, tth, tzl = (torch.from_numpy(a) for a in (X, mu, theta, zl))
        with torch.no_grad():
            row("torch, scvi-tools log_zinb_positive", lambda: log_zinb_positive(torch, tX, tmu, tth, tzl))
    except ImportError:
        torch = None
        print("torch not installed: its rows are skipped")
    print(f"\nZINB / NB: {rate['nbnumba ZINB logpmf'] / rate['nbnumba NB logpmf']:.2f}")
    if torch:
        print(f"ZINB nbnumba / torch: "
              f"{rate['nbnumba ZINB logpmf'] / rate['torch, scvi-tools log_zinb_positive']:.1f}x")

        def fwd_bwd(loss):
            def f():
                m = tmu.clone().requires_grad_()
                t = tth.clone().requires_grad_()
                z = tzl.clone().requires_grad_()
                loss(m, t, z).sum().backward()
            return f

        print("\n| forward + backward of the log-likelihood | Melem/s |\n|---|---:|")
        row("nbnumba NegativeBinomial.log_prob", fwd_bwd(
            lambda m, t, z: nbnumba.NegativeBinomial(mu=m, theta=t).log_prob(tX)))
        row("torch autodiff of scvi-tools log_nb_positive", fwd_bwd(
            lambda m, t, z: log_nb_positive(torch, tX, m, t)))
        row("nbnumba ZeroInflatedNegativeBinomial.log_prob", fwd_bwd(
            lambda m, t, z: nbnumba.ZeroInflatedNegativeBinomial(mu=m, theta=t, zi_logits=z).log_prob(tX)))
        row("torch autodiff of scvi-tools log_zinb_positive", fwd_bwd(
            lambda m, t, z: log_zinb_positive(torch, tX, m, t, z)))
        print(f"\nNB nbnumba / torch: {rate['nbnumba NegativeBinomial.log_prob'] / rate['torch autodiff of scvi-tools log_nb_positive']:.1f}x")
        print(f"ZINB nbnumba / torch: {rate['nbnumba ZeroInflatedNegativeBinomial.log_prob'] / rate['torch autodiff of scvi-tools log_zinb_positive']:.1f}x")
    print("\n| gradient of the log-pmf in its parameters | Melem/s |\n|---|---:|")
    row("nbnumba logpmf_grad (d_mu, d_theta)", lambda: nbnumba.logpmf_grad(X, mu, theta))
    row("nbnumba zinb.logpmf_grad (d_mu, d_theta, d_zi_logits)",
        lambda: nbnumba.zinb.logpmf_grad(X, mu, theta, zi_logits=zl))
    try:
        import jax
        import jax.numpy as jnp
        n_, p_ = theta, theta / (theta + mu)
        g = jax.jit(jax.grad(lambda a, b: jax.scipy.stats.nbinom.logpmf(jnp.asarray(X), a, b).sum(),
                             argnums=(0, 1)))
        a, b = jnp.asarray(np.broadcast_to(n_, X.shape).copy()), jnp.asarray(p_)
        row("jax.grad of jax.scipy.stats.nbinom.logpmf, jit (d_n, d_p)",
            lambda: [r.block_until_ready() for r in g(a, b)])
        print(f"\nnbnumba / JAX: {rate['nbnumba logpmf_grad (d_mu, d_theta)'] / rate['jax.grad of jax.scipy.stats.nbinom.logpmf, jit (d_n, d_p)']:.1f}x")
    except ImportError:
        print("JAX not installed: its row is skipped (pip install jax jaxlib)")
    if args.ceiling:
        tab, core, core_selects = ceiling_kernels(theta)
        d_mu, d_theta = np.empty_like(mu), np.empty_like(mu)
        jax_rate = rate.get("jax.grad of jax.scipy.stats.nbinom.logpmf, jit (d_n, d_p)")
        for name, f in (("float64 arithmetic alone (upper bound)", core),
                        ("float64 arithmetic + the table's selects", core_selects)):
            row(name, lambda: f(X, mu, theta, tab, d_mu, d_theta))
            print(f"  / logpmf_grad: {rate[name] / rate['nbnumba logpmf_grad (d_mu, d_theta)']:.2f}"
                  + (f", / JAX: {rate[name] / jax_rate:.1f}x" if jax_rate else ""))


if __name__ == "__main__":
    main()

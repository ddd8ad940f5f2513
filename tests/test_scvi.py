"""The scvi-tools contract: nbnumba's NegativeBinomial and
ZeroInflatedNegativeBinomial inside scvi-tools' models (issue 32).

The contract tests need only torch; the rest runs where scvi-tools is
installed (``pip install nbnumba[scvi]``; CI installs it).
"""
import copy
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nbnumba import NegativeBinomial, ZeroInflatedNegativeBinomial  # noqa: E402

F64 = torch.float64


def _tensors(n=(7, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.rand(*n, generator=g, dtype=F64) * 5 + 0.1
    theta = torch.rand(n[-1], generator=g, dtype=F64) * 3 + 0.2
    zl = torch.randn(*n, generator=g, dtype=F64)
    x = torch.poisson(mu, generator=g)
    return x, mu, theta, zl


def test_scale_and_get_normalized():
    x, mu, theta, zl = _tensors()
    scale = mu / mu.sum(-1, keepdim=True)
    for d in (NegativeBinomial(mu=mu, theta=theta, scale=scale),
              ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl, scale=scale)):
        assert "scale" in d.arg_constraints
        assert d.get_normalized("mu") is d.mu and d.get_normalized("scale") is scale
        with pytest.raises(ValueError, match="not recognized"):
            d.get_normalized("rate")
        # scvi rebuilds distributions from arg_constraints (subset_distribution,
        # DistributionConcatenator): every key is an attribute and a keyword
        rebuilt = type(d)(**{k: getattr(d, k) for k in d.arg_constraints})
        torch.testing.assert_close(rebuilt.log_prob(x), d.log_prob(x))


def test_assigned_mean_is_used():
    """scvi's importance weights assign ``mu`` on a deep copy, then call log_prob."""
    x, mu, theta, zl = _tensors()
    for d in (NegativeBinomial(mu=mu, theta=theta, scale=mu / mu.sum(-1, keepdim=True)),
              ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl),
              NegativeBinomial(total_count=theta, logits=torch.log(mu / theta))):
        c = copy.deepcopy(d)
        c.mu = 2 * mu
        want = type(d)(mu=2 * mu, theta=theta, **(
            {"zi_logits": zl} if hasattr(d, "zi_logits") else {})).log_prob(x)
        torch.testing.assert_close(c.log_prob(x), want)


def test_off_support_is_finite_as_scvi():
    x, mu, theta, zl = _tensors()
    xf = x + 0.5
    lp = NegativeBinomial(mu=mu, theta=theta).log_prob(xf)
    assert torch.isfinite(lp).all()
    with pytest.warns(UserWarning, match="within the support"):
        assert torch.isfinite(ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl)
                              .log_prob(xf)).all()


# --------------------------------------------------------------- with scvi-tools

def _scvi():
    return pytest.importorskip("scvi")


def test_agrees_with_scvi_tools_distributions():
    """scvi-tools' own classes and nbnumba's on the same parameters: log_prob
    (to scvi's eps), mean, variance, shapes of samples, the constructors."""
    scvi = _scvi()
    from scvi import distributions as sd
    from scvi.distributions._utils import DistributionConcatenator, subset_distribution
    x, mu, theta, zl = _tensors()
    theta = theta.expand_as(mu)
    s = mu / mu.sum(-1, keepdim=True)
    pairs = [(sd.NegativeBinomial(mu=mu, theta=theta, scale=s),
              NegativeBinomial(mu=mu, theta=theta, scale=s)),
             (sd.ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl, scale=s),
              ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl, scale=s)),
             (sd.NegativeBinomial(total_count=theta.expand_as(mu), logits=torch.log(mu / theta)),
              NegativeBinomial(total_count=theta.expand_as(mu), logits=torch.log(mu / theta)))]
    for theirs, ours in pairs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=1e-6,
                                       atol=1e-6)
        torch.testing.assert_close(ours.mean, theirs.mean)
        torch.testing.assert_close(ours.variance, theirs.variance)
        assert ours.sample((3,)).shape == theirs.sample((3,)).shape == (3, *mu.shape)
        if theirs.scale is None:
            continue                # (scvi's own classes cannot either)
        sub = subset_distribution(ours, torch.tensor([0, 2]), 0)
        assert type(sub) is type(ours) and sub.mu.shape == (2, mu.shape[1])
        cat = DistributionConcatenator()
        cat.store_distribution(ours)
        cat.store_distribution(ours)
        assert cat.get_concatenated_distributions(axis=0).mu.shape == (2 * mu.shape[0],
                                                                       mu.shape[1])
    assert scvi.__version__


def test_patch_swaps_and_restores():
    _scvi()
    import scvi.distributions as sd
    import nbnumba.scvi
    from nbnumba import distributions
    stock = sd.NegativeBinomial, sd.ZeroInflatedNegativeBinomial
    with nbnumba.scvi.patched():
        assert sd.NegativeBinomial is distributions.NegativeBinomial
        assert sd.ZeroInflatedNegativeBinomial is distributions.ZeroInflatedNegativeBinomial
        with nbnumba.scvi.patched():
            pass
        assert sd.NegativeBinomial is distributions.NegativeBinomial     # nested: still
    assert (sd.NegativeBinomial, sd.ZeroInflatedNegativeBinomial) == stock
    nbnumba.scvi.patch()
    nbnumba.scvi.patch()
    nbnumba.scvi.unpatch()
    assert (sd.NegativeBinomial, sd.ZeroInflatedNegativeBinomial) == stock


def _adata(n=300, g=80, seed=0):
    import anndata
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    ct, batch = rng.integers(0, 2, n), rng.integers(0, 2, n)
    base = rng.gamma(2.0, 1.0, (2, g))
    base[1, :10] *= 4
    mu = base[ct] * rng.lognormal(0, 0.3, (n, 1))
    X = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(np.float32)
    ad = anndata.AnnData(sp.csr_matrix(X))
    ad.obs["ct"], ad.obs["batch"] = ct.astype(str), batch.astype(str)
    return ad


@pytest.mark.parametrize("likelihood", ["nb", "zinb"])
def test_scvi_trains_and_analyses_with_nbnumba(likelihood, monkeypatch):
    """SCVI trains a few epochs with nbnumba's classes in scvi.distributions
    (no shim), and the downstream methods run on them; torch's thread count
    is the caller's throughout."""
    scvi = _scvi()
    import nbnumba.scvi
    from nbnumba import distributions
    calls = []
    original = distributions.NegativeBinomial.log_prob

    def counted(self, value):
        calls.append(type(self).__name__)
        return original(self, value)

    monkeypatch.setattr(distributions.NegativeBinomial, "log_prob", counted)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ad = _adata()
        scvi.settings.seed = 0
        with nbnumba.scvi.patched():
            scvi.model.SCVI.setup_anndata(ad, batch_key="batch")
            model = scvi.model.SCVI(ad, gene_likelihood=likelihood, n_latent=4, n_hidden=32)
            model.train(max_epochs=2, accelerator="cpu", batch_size=128,
                        enable_progress_bar=False)
            loss = np.asarray(model.history["elbo_train"], dtype=float).ravel()
            assert np.isfinite(loss).all()
            expected = {"nb": "NegativeBinomial", "zinb": "ZeroInflatedNegativeBinomial"}
            assert expected[likelihood] in calls
            expr = model.get_normalized_expression(n_samples=2, weights="importance",
                                                   batch_size=128)
            assert expr.shape == ad.shape and np.isfinite(expr.values).all()
            pp = model.posterior_predictive_sample(n_samples=2)
            assert pp.shape == (*ad.shape, 2)
            params = model.get_likelihood_parameters(n_samples=1)
            assert "mean" in params and "dispersions" in params
            assert ("dropout" in params) == (likelihood == "zinb")
            de = model.differential_expression(groupby="ct", group1="0", group2="1")
            assert len(de) == ad.n_vars and np.isfinite(de["bayes_factor"]).all()
        # stock scvi-tools from the same seed: the same training, to float32
        # noise (and scvi's eps in the log-likelihood)
        scvi.settings.seed = 0
        stock = scvi.model.SCVI(ad, gene_likelihood=likelihood, n_latent=4, n_hidden=32)
        stock.train(max_epochs=2, accelerator="cpu", batch_size=128, enable_progress_bar=False)
        want = np.asarray(stock.history["elbo_train"], dtype=float).ravel()
        np.testing.assert_allclose(loss, want, rtol=1e-4)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)

"""torch tensors in, tensors out; exact gradients through autograd; a training loop."""
import copy
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nbnumba  # noqa: E402
from nbnumba import NegativeBinomial, ZeroInflatedNegativeBinomial, nbinom  # noqa: E402


def log_nb_positive(x, mu, theta, eps=1e-8):
    """scvi-tools' formula (scvi.distributions._negative_binomial)."""
    log_theta_mu_eps = torch.log(theta + mu + eps)
    return (theta * (torch.log(theta + eps) - log_theta_mu_eps)
            + x * (torch.log(mu + eps) - log_theta_mu_eps)
            + torch.lgamma(x + theta) - torch.lgamma(theta) - torch.lgamma(x + 1))


@pytest.mark.parametrize("n", [10, 25000])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensors_in_tensors_out_at_any_size(n, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.poisson(torch.full((n,), 2.0), generator=g).to(dtype)
    mu = torch.rand(n, generator=g, dtype=dtype) * 5 + 0.1
    theta = torch.rand(n, generator=g, dtype=dtype) * 3 + 0.1
    for name in ("logpmf", "cdf", "sf", "logsf"):
        res = getattr(nbnumba, name)(x, mu, theta)
        assert isinstance(res, torch.Tensor) and res.dtype == dtype and res.shape == x.shape
        want = getattr(nbnumba, name)(x.numpy(), mu.numpy(), theta.numpy())
        np.testing.assert_array_equal(res.numpy(), want)
    d = NegativeBinomial(mu=mu, theta=theta)
    for res in (d.log_prob(x), d.cdf(x), d.icdf(torch.full((n,), 0.5, dtype=dtype)), d.mean,
                d.variance, d.sample(), nbinom(mu=mu, theta=theta).sf(x)):
        assert isinstance(res, torch.Tensor) and res.dtype == dtype
    assert d.log_prob(x).sum(dim=-1).shape == ()


def test_gradients_are_the_exact_derivatives():
    x = torch.tensor([0.0, 1.0, 3.0, 7.0, 40.0], dtype=torch.float64)
    mu = torch.tensor([0.5, 2.0, 3.0, 10.0, 35.0], dtype=torch.float64, requires_grad=True)
    theta = torch.tensor([0.3, 1.0, 1e4, 2.0, 1e9], dtype=torch.float64, requires_grad=True)
    lp = NegativeBinomial(mu=mu, theta=theta).log_prob(x)
    assert lp.grad_fn is not None
    lp.sum().backward()
    d_mu, d_theta = nbnumba.logpmf_grad(x.numpy(), mu.detach().numpy(), theta.detach().numpy())
    np.testing.assert_array_equal(mu.grad.numpy(), d_mu)
    np.testing.assert_array_equal(theta.grad.numpy(), d_theta)


def test_gradients_equal_torch_autodiff_where_the_formula_is_accurate():
    g = torch.Generator().manual_seed(1)
    x = torch.poisson(torch.full((200,), 3.0), generator=g).double()
    mu = (torch.rand(200, generator=g, dtype=torch.float64) * 5 + 0.5).requires_grad_()
    theta = (torch.rand(200, generator=g, dtype=torch.float64) * 5 + 0.5).requires_grad_()
    NegativeBinomial(mu=mu, theta=theta).log_prob(x).sum().backward()
    ours = mu.grad.clone(), theta.grad.clone()
    mu.grad = theta.grad = None
    log_nb_positive(x, mu, theta, eps=0.0).sum().backward()
    torch.testing.assert_close(ours[0], mu.grad, rtol=1e-10, atol=0)
    torch.testing.assert_close(ours[1], theta.grad, rtol=1e-8, atol=1e-12)


def test_gradcheck_nb_and_zinb():
    x = torch.tensor([0.0, 1.0, 2.0, 5.0, 0.0, 9.0], dtype=torch.float64)
    mu = torch.tensor([0.7, 2.0, 3.0, 4.0, 1.5, 8.0], dtype=torch.float64, requires_grad=True)
    theta = torch.tensor([0.5, 1.0, 3.0, 20.0, 2.0, 0.8], dtype=torch.float64, requires_grad=True)
    zl = torch.tensor([-1.0, 0.3, 2.0, -3.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m, t: NegativeBinomial(mu=m, theta=t).log_prob(x),
                                    (mu, theta))
    assert torch.autograd.gradcheck(
        lambda m, t, z: ZeroInflatedNegativeBinomial(mu=m, theta=t, zi_logits=z).log_prob(x),
        (mu, theta, zl))
    # broadcast parameters: gradients summed back to their shapes
    th = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m, t: NegativeBinomial(mu=m, theta=t).log_prob(x),
                                    (mu, th))


def test_gradients_flow_through_the_parameterizations():
    total = torch.tensor([2.0, 5.0], dtype=torch.float64, requires_grad=True)
    logits = torch.tensor([-0.5, 1.0], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1.0, 4.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda t, lg: NegativeBinomial(total_count=t, logits=lg).log_prob(x), (total, logits))


def test_sample_follows_torch_seeds():
    d = NegativeBinomial(mu=torch.full((1000,), 3.0), theta=torch.full((1000,), 2.0))
    torch.manual_seed(5)
    a = d.sample()
    torch.manual_seed(5)
    b = d.sample()
    c = d.sample()
    assert torch.equal(a, b) and not torch.equal(b, c)
    assert torch.equal(d.sample(random_state=torch.Generator().manual_seed(3)),
                       d.sample(random_state=torch.Generator().manual_seed(3)))


def test_faces_pickle_and_deepcopy():
    for obj in (NegativeBinomial(mu=torch.tensor([1.0, 2.0]), theta=torch.tensor(3.0)),
                NegativeBinomial(mu=np.array([1.0, 2.0]), theta=3.0),
                ZeroInflatedNegativeBinomial(mu=1.0, theta=2.0, zi_logits=0.5),
                nbinom(mu=2.0, theta=3.0), nbnumba.zinbinom(mu=2.0, theta=3.0, pi=0.1)):
        for clone in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
            lp = clone.log_prob(np.array([1.0])) if hasattr(clone, "log_prob") else \
                clone.logpmf(1.0)
            want = obj.log_prob(np.array([1.0])) if hasattr(obj, "log_prob") else obj.logpmf(1.0)
            np.testing.assert_array_equal(np.asarray(lp), np.asarray(want))


def test_training_loop():
    """A small decoder trained with nbnumba's log_prob as the loss: the loss
    falls, and the first step's gradients equal autodiff of scvi's formula."""
    torch.manual_seed(0)
    cells, genes, latent = 256, 40, 4
    z = torch.randn(cells, latent, dtype=torch.float64)
    true_w = torch.randn(latent, genes, dtype=torch.float64) * 0.5
    x = torch.poisson(torch.exp(z @ true_w + 1.0))
    model = torch.nn.Sequential(torch.nn.Linear(latent, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, genes)).double()
    log_theta = torch.zeros(genes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam(list(model.parameters()) + [log_theta], lr=0.05)

    def loss_fn(dist):
        return -dist(x, torch.exp(model(z)), torch.exp(log_theta)).sum() / cells

    ours = lambda x_, m, t: NegativeBinomial(mu=m, theta=t).log_prob(x_)   # noqa: E731
    loss = loss_fn(ours)
    loss.backward()
    g_ours = [p.grad.clone() for p in model.parameters()] + [log_theta.grad.clone()]
    opt.zero_grad()
    log_theta.grad = None
    loss_fn(lambda x_, m, t: log_nb_positive(x_, m, t, eps=0.0)).backward()
    g_ref = [p.grad.clone() for p in model.parameters()] + [log_theta.grad.clone()]
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    first = loss.item()
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(ours)
        loss.backward()
        opt.step()
    assert loss.item() < first - 0.5, (first, loss.item())

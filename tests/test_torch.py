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


# ---------------------------------------------------------------------------
# Torch everywhere (issue 28) and the torch items of issue 31

import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

from nbnumba import zinb  # noqa: E402

F64 = torch.float64


def _params(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.poisson(torch.full((n,), 3.0), generator=g).to(F64)
    mu = (torch.rand(n, generator=g, dtype=F64) * 5 + 0.2).requires_grad_()
    theta = (torch.rand(n, generator=g, dtype=F64) * 3 + 0.3).requires_grad_()
    zl = (torch.randn(n, generator=g, dtype=F64)).requires_grad_()
    return x, mu, theta, zl


def test_validate_args_with_tensors_that_require_grad():
    total = torch.tensor([2.0, 3.0], requires_grad=True)
    logits = torch.tensor([-1.0, 800.0], requires_grad=True)
    d = NegativeBinomial(total_count=total, logits=logits, validate_args=True)
    d.log_prob(torch.tensor([1.0, 2.0])).sum().backward()
    assert torch.isfinite(total.grad).all() and torch.isfinite(logits.grad).all()
    mu, theta = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor(1.5)
    d = NegativeBinomial(mu=mu, theta=theta, validate_args=True)
    assert d.log_prob(torch.tensor([0.0, 3.0])).shape == (2,)
    with pytest.raises(ValueError, match="Expected parameter mu"):
        NegativeBinomial(mu=torch.tensor([-1.0, 2.0], requires_grad=True), theta=theta,
                         validate_args=True)
    with pytest.raises(ValueError, match="Expected parameter total_count"):
        NegativeBinomial(total_count=-total, logits=logits, validate_args=True)
    # torch's own class accepts the same
    torch.distributions.NegativeBinomial(total_count=total, logits=torch.tensor([-1.0, 8.0]),
                                         validate_args=True)


def test_scipy_face_entropy_on_cpu_tensors():
    f = nbinom(mu=torch.tensor([1.0, 4.0], dtype=F64), theta=torch.tensor(2.0, dtype=F64))
    want = NegativeBinomial(mu=np.array([1.0, 4.0]), theta=2.0).entropy()
    np.testing.assert_allclose(np.asarray(f.entropy()), want, rtol=1e-15)


def test_top_level_logpmf_carries_gradients():
    x, mu, theta, zl = _params()
    lp = nbnumba.logpmf(x, mu, theta)
    assert isinstance(lp, torch.Tensor) and lp.grad_fn is not None
    assert torch.autograd.gradcheck(lambda m, t: nbnumba.logpmf(x, m, t), (mu, theta))
    assert torch.autograd.gradcheck(lambda m, t, z: zinb.logpmf(x, m, t, zi_logits=z),
                                    (mu, theta, zl))
    for f in (nbnumba.cdf, nbnumba.logsf, nbnumba.ppf):
        with pytest.raises(TypeError, match="not differentiable.*no_grad"):
            f(x, mu, theta)
        with torch.no_grad():
            assert f(x, mu, theta).grad_fn is None
    np.testing.assert_array_equal(lp.detach().numpy(), nbnumba.logpmf(
        x.numpy(), mu.detach().numpy(), theta.detach().numpy()))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_loglik_is_a_differentiable_tensor(axis):
    g = torch.Generator().manual_seed(3)
    x = torch.poisson(torch.full((5, 4), 2.0), generator=g).to(F64)
    mu = (torch.rand(5, 4, generator=g, dtype=F64) * 4 + 0.5).requires_grad_()
    theta = (torch.rand(4, generator=g, dtype=F64) + 0.5).requires_grad_()
    zl = torch.randn(4, generator=g, dtype=F64).requires_grad_()
    res = nbnumba.loglik(x, mu, theta, axis=axis)
    assert isinstance(res, torch.Tensor) and res.grad_fn is not None and res.dtype == F64
    want = nbnumba.loglik(x.numpy(), mu.detach().numpy(), theta.detach().numpy(), axis=axis)
    np.testing.assert_array_equal(res.detach().numpy(), want)
    assert torch.autograd.gradcheck(lambda m, t: nbnumba.loglik(x, m, t, axis=axis), (mu, theta))
    assert torch.autograd.gradcheck(lambda m, t, z: zinb.loglik(x, m, t, zi_logits=z, axis=axis),
                                    (mu, theta, zl))
    f32 = nbnumba.loglik(x.float(), mu.detach().float(), theta.detach().float(), axis=axis)
    assert f32.dtype == torch.float32


def test_training_loop_on_loglik():
    """The loss as nbnumba.loglik: the same gradients as log_prob's sum, and it trains."""
    torch.manual_seed(1)
    cells, genes, latent = 200, 30, 3
    z = torch.randn(cells, latent, dtype=F64)
    x = torch.poisson(torch.exp(z @ (torch.randn(latent, genes, dtype=F64) * 0.5) + 1.0))
    model = torch.nn.Linear(latent, genes).double()
    log_theta = torch.zeros(genes, dtype=F64, requires_grad=True)
    opt = torch.optim.Adam(list(model.parameters()) + [log_theta], lr=0.05)

    def loss(fused):
        mu, theta = torch.exp(model(z)), torch.exp(log_theta)
        if fused:
            return -nbnumba.loglik(x, mu, theta) / cells
        return -NegativeBinomial(mu=mu, theta=theta).log_prob(x).sum() / cells

    grads = []
    for fused in (True, False):
        opt.zero_grad()
        loss(fused).backward()
        grads.append([p.grad.clone() for p in list(model.parameters()) + [log_theta]])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    first = loss(True).item()
    for _ in range(60):
        opt.zero_grad()
        value = loss(True)
        value.backward()
        opt.step()
    assert value.item() < first - 0.5


def test_second_derivatives_are_the_hessian_kernels():
    a = torch.tensor(2.0, dtype=F64)
    h = torch.autograd.functional.hessian(
        lambda m: NegativeBinomial(mu=m, theta=0.5).log_prob(torch.tensor(1.0, dtype=F64)).sum(),
        a)
    assert float(h) == pytest.approx(nbnumba.logpmf_hess(1.0, 2.0, 0.5)[0], rel=1e-14)
    assert float(h) == pytest.approx(-0.01, rel=1e-12)       # the value: -1/100
    x, mu, theta, _ = _params()
    assert torch.autograd.gradgradcheck(
        lambda m, t: NegativeBinomial(mu=m, theta=t).log_prob(x), (mu, theta))
    assert torch.autograd.gradgradcheck(lambda m, t: nbnumba.logpmf(x, m, t), (mu, theta))


def test_double_backward_without_kernels_raises():
    x, mu, theta, zl = _params()
    lp = ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=zl).log_prob(x).sum()
    (g,) = torch.autograd.grad(lp, mu, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
        torch.autograd.grad(g.sum(), mu)


def test_off_support_is_the_continuous_extension_with_gradients():
    mu = torch.tensor(2.0, dtype=F64, requires_grad=True)
    d = NegativeBinomial(mu=mu, theta=torch.tensor(1.0, dtype=F64))
    lp = d.log_prob(torch.tensor([1.5, 2.0], dtype=F64))
    assert float(lp[0]) == pytest.approx(-1.70681, abs=1e-5)
    assert float(lp[0]) == pytest.approx(float(NegativeBinomial(mu=2.0, theta=1.0).log_prob(1.5)),
                                         rel=1e-14)
    lp.sum().backward()
    assert torch.isfinite(mu.grad)
    with pytest.warns(UserWarning, match="within the support"):
        ZeroInflatedNegativeBinomial(mu=mu, theta=1.0, zi_logits=0.0).log_prob(
            torch.tensor([0.5], dtype=F64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.log_prob(torch.tensor([1.0, 2.0], dtype=F64))          # on the support: no warning


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_dtypes_follow_torch(dtype):
    mu = torch.tensor([1.0, 2.0], dtype=dtype, requires_grad=True)
    theta = torch.tensor([1.5, 1.5], dtype=dtype)
    d = NegativeBinomial(mu=mu, theta=theta)
    counts = torch.tensor([0, 3])                                # int64
    lp = d.log_prob(counts)
    assert lp.dtype == dtype
    want = NegativeBinomial(mu=mu.detach().float(), theta=theta.float()).log_prob(
        counts.float())
    torch.testing.assert_close(lp.float(), want.to(dtype).float())
    lp.sum().backward()
    assert mu.grad.dtype == dtype
    z = ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=torch.zeros(2, dtype=dtype))
    assert z.log_prob(counts).dtype == dtype and z.sample().dtype == dtype
    assert d.cdf(counts).dtype == dtype and d.mean.dtype == dtype


def test_int64_counts_with_float32_parameters_give_float32():
    d = NegativeBinomial(mu=torch.tensor([1.0, 2.0]), theta=torch.tensor(2.0))
    assert d.log_prob(torch.tensor([1, 2])).dtype == torch.float32


def test_autocast_cpu_bfloat16():
    layer = torch.nn.Linear(3, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(torch.randn(5, 3))
        mu, theta = torch.exp(out), torch.ones(4, dtype=out.dtype)
        d = NegativeBinomial(mu=mu, theta=theta)
        lp = d.log_prob(torch.ones(5, 4, dtype=torch.bfloat16))
        # torch's promotion: a float32 value makes a float32 result
        assert d.log_prob(torch.ones(5, 4)).dtype == torch.float32
    assert out.dtype == torch.bfloat16 and lp.dtype == torch.bfloat16
    lp.float().sum().backward()
    assert torch.isfinite(layer.weight.grad).all()


def test_deepcopy_of_faces_on_parameters():
    mu = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    theta = torch.nn.Parameter(torch.tensor(3.0))
    for d in (NegativeBinomial(mu=mu, theta=theta),
              ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=torch.tensor(0.3)),
              NegativeBinomial(total_count=theta, logits=mu)):
        c = copy.deepcopy(d)
        torch.testing.assert_close(c.log_prob(torch.tensor(1.0)), d.log_prob(torch.tensor(1.0)))
        c.log_prob(torch.tensor(1.0)).sum().backward()        # into the copies' leaves
        assert mu.grad is None


def test_zinb_with_torch_means_and_numpy_zi_logits():
    mu, theta = torch.tensor([1.0, 2.0], dtype=F64), torch.tensor(2.0, dtype=F64)
    d = ZeroInflatedNegativeBinomial(mu=mu, theta=theta, zi_logits=np.array([0.5, -1.0]))
    lp = d.log_prob(torch.tensor([0.0, 3.0], dtype=F64))
    assert isinstance(lp, torch.Tensor)
    want = ZeroInflatedNegativeBinomial(mu=mu.numpy(), theta=2.0,
                                        zi_logits=np.array([0.5, -1.0])).log_prob([0.0, 3.0])
    np.testing.assert_array_equal(lp.numpy(), want)


def test_far_means_on_torch():
    d = NegativeBinomial(total_count=torch.tensor(2.0, dtype=F64),
                         logits=torch.tensor(-800.0, dtype=F64))
    assert float(d.log_prob(torch.tensor(1.0, dtype=F64))) == pytest.approx(-799.306852819440,
                                                                          rel=1e-15)
    lp = NegativeBinomial(total_count=torch.tensor(2.0), logits=torch.tensor(100.0)).log_prob(
        torch.tensor(1.0))
    assert lp.dtype == torch.float32 and float(lp) == pytest.approx(-199.30685, rel=1e-7)


class _FakeCuda(torch.Tensor):
    """A CPU tensor that says it is on a GPU, and refuses the CUDA array
    interface when it requires grad, as torch's CUDA tensors do."""

    @property
    def is_cuda(self):
        return True

    @property
    def __cuda_array_interface__(self):
        if self.requires_grad:
            raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires "
                               "grad. If gradients aren't required, use var.detach() to get "
                               "Variable that doesn't require gradient.")
        raise AttributeError("a fake")

    def __bool__(self):
        raise AssertionError("bool() of a tensor")


def test_cuda_tensors_that_require_grad_reach_the_gpu_kernels_detached(monkeypatch):
    from nbnumba import _arrays, gpu
    calls = []

    def elementwise(distribution, name, args, out=None):
        for a in args:
            if isinstance(a, torch.Tensor):
                assert not a.requires_grad
        calls.append(name)
        plain = [a.as_subclass(torch.Tensor) if isinstance(a, torch.Tensor) else a for a in args]
        return nbnumba.ufuncs.evaluate(distribution, name, plain)

    monkeypatch.setattr(gpu, "elementwise", elementwise)
    x, mu, theta, zl = (t.detach().as_subclass(_FakeCuda) for t in _params())
    mu.requires_grad_()
    theta.requires_grad_()
    assert _arrays.on_device(mu) and _arrays.target(x, mu, theta) == "cuda"
    lp = NegativeBinomial(mu=mu, theta=theta).log_prob(x)
    lp.sum().backward()
    # (autograd's saved tensors come back as plain tensors, so the fake's
    # backward runs on the CPU kernels: the forward is the dispatch checked)
    assert calls[0] == "logpmf"
    want = nbnumba.logpmf_grad(*(t.detach().as_subclass(torch.Tensor) for t in (x, mu, theta)))
    torch.testing.assert_close(mu.grad.as_subclass(torch.Tensor), want[0])
    calls.clear()
    nbnumba.logpmf(x, mu, theta).sum().backward()
    assert calls[0] == "logpmf"
    # no tensor was asked bool() (the fake raises) and none requiring grad
    # reached the kernels (the fake refuses its CUDA array interface then)


def test_torch_compile_runs_log_prob():
    x, mu, theta, _ = _params()

    def f(m, t):
        return NegativeBinomial(mu=m, theta=t).log_prob(x).sum()

    compiled = torch.compile(f, backend="eager")
    torch.testing.assert_close(compiled(mu, theta), f(mu, theta))
    compiled(mu, theta).backward()
    assert mu.grad is not None


def test_threads_of_torch_and_openmp_are_left_as_they_were():
    """In a fresh process: torch's thread count set to 1 stays 1 after
    nbnumba's first parallel call (Numba's OpenMP launch would set it to
    the number of cores), and torch inputs bound nbnumba's threads."""
    code = (
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "assert torch.get_num_threads() == 1\n"
        "import numpy as np, numba, nbnumba\n"
        "x = np.random.default_rng(0).poisson(2.0, (4000, 100)).astype(float)\n"
        "nbnumba.logpmf(x, 2.0, 1.5); nbnumba.loglik(x, 2.0, 1.5)\n"
        "assert torch.get_num_threads() == 1, torch.get_num_threads()\n"
        "from nbnumba._cpu import threads\n"
        "seen = []\n"
        "import contextlib\n"
        "with threads.following_torch():\n"
        "    seen.append(numba.get_num_threads())\n"
        "assert seen == [1], seen\n"
        "nbnumba.logpmf(torch.from_numpy(x), 2.0, 1.5)\n"
        "assert torch.get_num_threads() == 1\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr

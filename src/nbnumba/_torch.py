"""torch autograd for the log-likelihoods: ``log_prob``, ``nbnumba.logpmf``
and ``nbnumba.loglik`` differentiable in their parameters through the
gradient kernels (exact derivatives, no autodiff of a formula), twice for
the NB in (mu, theta) through the Hessian kernels. Imported only for torch
inputs (torch is an optional extra).

Every kernel call gets detached tensors: a CUDA tensor that requires grad
refuses ``__cuda_array_interface__``, and the kernels need no graph. The
callers (the faces, the top-level functions, loglik) pass their kernel
dispatcher ``run(distribution, name, args)`` (and loglik its ``reduce``):
this module sits above nothing but :mod:`nbnumba._arrays`.
"""
import torch
from torch.autograd.function import once_differentiable

from . import _arrays

#: The gradient row of each log-pmf row, and the positions (among the
#: parameter operands) of its outputs.
GRADIENTS = {
    ("nbinom", "logpmf"): (("nbinom", "logpmf_grad"), (0, 1)),
    ("zinb", "logpmf"): (("zinb", "logpmf_grad"), (0, 1, 2)),
    ("logits", "logpmf"): (("logits", "logpmf_grad"), (1, 2)),
    ("logits", "zinb_logpmf"): (("logits", "zinb_logpmf_grad"), (1, 2, 3)),
}


def eager(f, *args):
    """f(*args) outside torch.compile's graph (a graph break): the kernels
    are Numba code, which Dynamo cannot trace."""
    return torch.compiler.disable(f)(*args)


def _detached(args):
    return tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)


def _unbroadcast(grad, shape):
    """Sum a broadcast gradient back to a parameter's shape."""
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for d, n in enumerate(shape):
        if n == 1 and grad.shape[d] != 1:
            grad = grad.sum(d, keepdim=True)
    return grad


def _gradients(run, row, value, params, needs):
    """The kernels' derivatives of the log-pmf row ``row`` in each parameter
    (None where not needed or not differentiable), in the params' dtype."""
    (gdist, gname), where = GRADIENTS[row]
    derivs = run(gdist, gname, _detached((value, *params)))
    derivs = derivs if isinstance(derivs, tuple) else (derivs,)
    out = [None] * len(params)
    for i, d in zip(where, derivs):
        if needs[i]:
            out[i] = d
    return out


def _nb_forward(ctx, run, name, value, mu, theta):
    """The forward of the NB's Functions: row ``name`` at the detached
    operands, which are kept for the backward."""
    ctx.run = run
    ctx.save_for_backward(value, mu, theta)
    return run("nbinom", name, _detached((value, mu, theta)))


class _NBGradient(torch.autograd.Function):
    """(d_mu, d_theta) of the NB log-pmf, differentiable once more through
    the ``logpmf_hess`` kernel (double backward: Hessians, gradgradcheck)."""

    @staticmethod
    def forward(ctx, run, value, mu, theta):
        return _nb_forward(ctx, run, "logpmf_grad", value, mu, theta)

    @staticmethod
    @once_differentiable
    def backward(ctx, g_mu, g_theta):
        value, mu, theta = ctx.saved_tensors
        h_mm, h_mt, h_tt = ctx.run("nbinom", "logpmf_hess", _detached((value, mu, theta)))
        d_mu = g_mu * h_mm + g_theta * h_mt
        d_theta = g_mu * h_mt + g_theta * h_tt
        return None, None, _unbroadcast(d_mu, mu.shape), _unbroadcast(d_theta, theta.shape)


class LogProb(torch.autograd.Function):
    """The NB log-pmf in (mu, theta): backward by the ``logpmf_grad``
    kernel, itself differentiable (the ``logpmf_hess`` kernel)."""

    @staticmethod
    def forward(ctx, run, value, mu, theta):
        return _nb_forward(ctx, run, "logpmf", value, mu, theta)

    @staticmethod
    def backward(ctx, grad):
        value, mu, theta = ctx.saved_tensors
        d_mu, d_theta = _NBGradient.apply(ctx.run, value, mu, theta)
        return (None, None,
                _unbroadcast(d_mu * grad, mu.shape) if ctx.needs_input_grad[2] else None,
                _unbroadcast(d_theta * grad, theta.shape) if ctx.needs_input_grad[3] else None)


class LogProbOnce(torch.autograd.Function):
    """Any other log-pmf row (ZINB, the logit rows): backward by its
    gradient row; no kernel gives their second derivatives, so a double
    backward raises (torch's once_differentiable) instead of giving 0."""

    @staticmethod
    def forward(ctx, run, row, value, *params):
        ctx.run, ctx.row = run, row
        ctx.save_for_backward(value, *params)
        return run(*row, _detached((value, *params)))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        value, *params = ctx.saved_tensors
        derivs = _gradients(ctx.run, ctx.row, value, params, ctx.needs_input_grad[3:])
        # in place: d is the kernel's fresh tensor (no 80 MB allocation
        # per 20000 x 1000 float32 matrix)
        return (None, None, None) + tuple(None if d is None else _unbroadcast(d.mul_(grad), p.shape)
                                    for p, d in zip(params, derivs))


def _as_tensors(value, params):
    like = next(p for p in params if isinstance(p, torch.Tensor))
    return [v if isinstance(v, torch.Tensor) else
            torch.as_tensor(v, dtype=like.dtype, device=like.device) for v in (value, *params)]


def apply(run, row, value, params):
    """The differentiable log-pmf of table row ``row`` (a tensor like the
    parameters)."""
    value, *params = _as_tensors(value, params)
    if row == ("nbinom", "logpmf"):
        return LogProb.apply(run, value, *params)
    return LogProbOnce.apply(run, row, value, *params)


def log_prob(run, p, value):
    """The faces' log_prob on a :class:`nbnumba._params.Parameters` of
    tensors, in its result dtype. The mean held beside the logits is not
    differentiated: its derivative reaches the given parameters through
    the logit rows' gradient at fixed logits."""
    row = p.row("logpmf")
    ops = p.operands()
    if p.logits is not None:
        ops[0] = ops[0].detach()
    return p.give(apply(run, row, p.value(value), ops), value)


def differentiable(run, distribution, name, args, out=None):
    """A top-level function on tensors that require grad: the log-pmf
    through autograd, anything else a clear error (never a dropped graph)."""
    if name != "logpmf" or distribution not in ("nbinom", "zinb"):
        raise TypeError(f"nbnumba's {name} is not differentiable in its parameters: call it "
                        "under torch.no_grad() or on detached tensors (logpmf, loglik and the "
                        "distributions' log_prob are differentiable)")
    if out is not None:
        raise TypeError("out= is not supported where the result requires grad")
    return apply(run, (distribution, name), args[0], list(args[1:]))


class LogLik(torch.autograd.Function):
    """``loglik``'s fused, compensated sum; backward by the gradient
    kernels (the derivative of a sum is the sum's broadcast gradient)."""

    @staticmethod
    def forward(ctx, run, reduce, distribution, axis, keepdims, value, *params):
        ctx.run, ctx.distribution, ctx.axis = run, distribution, axis
        ctx.save_for_backward(value, *params)
        host = [_arrays.host(a, n) for a, n in zip((value, *params), ("x", "mu", "theta", "pi"))]
        res = reduce(distribution, host[0], host[1], host[2:], axis, keepdims)
        like = params[0]
        return torch.as_tensor(res, dtype=like.dtype).to(like.device)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        value, *params = ctx.saved_tensors
        derivs = _gradients(ctx.run, (ctx.distribution, "logpmf"), value, params,
                            ctx.needs_input_grad[6:])
        ndim = value.dim()
        if ctx.axis is not None and ndim == 2 and grad.dim() < 2:
            grad = grad.unsqueeze(ctx.axis % 2)
        return (None,) * 6 + tuple(
            None if d is None else _unbroadcast(d.mul_(grad), p.shape)
            for p, d in zip(params, derivs))


def loglik(run, reduce, distribution, x, mu, rest, axis=None, keepdims=False):
    """``loglik`` on torch tensors: a tensor on their device in the
    parameters' dtype, differentiable in the parameters (CPU tensors: the
    compensated fused sum; CUDA tensors: the GPU log-pmf summed by torch)."""
    if isinstance(mu, tuple):
        if _arrays.needs_grad(*mu, *rest):
            raise TypeError("loglik with mu = (size_factors, gene_means) is not "
                            "differentiable: pass the mean matrix itself")
        mu = mu[0].reshape(-1, 1) * mu[1].reshape(1, -1)
    if _arrays.is_sparse(x):
        raise TypeError("loglik on torch parameters takes dense counts (a tensor or array)")
    value, mu, *rest = _as_tensors(x, (mu, *rest))
    if value.dim() > 2:
        raise ValueError("loglik takes counts of at most 2 dimensions")
    if not value.is_floating_point() or value.dtype != mu.dtype:
        value = value.to(mu.dtype)
    if any(_arrays.on_device(a) for a in (value, mu, *rest)):
        lp = apply(run, (distribution, "logpmf"), value, [mu, *rest])
        lp = lp.expand(torch.broadcast_shapes(value.shape, lp.shape))
        return lp.sum() if axis is None else lp.sum(axis, keepdim=keepdims)
    return LogLik.apply(run, reduce, distribution, axis, keepdims, value, mu, *rest)

"""torch autograd for the log-likelihoods: ``log_prob`` differentiable in
its parameters through the gradient kernels (exact derivatives, no autodiff
of a formula). Imported only for torch inputs (torch is an optional extra).
"""
import torch

from .ufuncs import dispatch


def _unbroadcast(grad, shape):
    """Sum a broadcast gradient back to a parameter's shape."""
    while grad.dim() > len(shape):
        grad = grad.sum(0)
    for d, n in enumerate(shape):
        if n == 1 and grad.shape[d] != 1:
            grad = grad.sum(d, keepdim=True)
    return grad


class LogProb(torch.autograd.Function):
    """log-pmf of ``distribution`` at value for parameter tensors; backward
    by the table's ``logpmf_grad`` kernel (CPU or GPU, as the tensors)."""

    @staticmethod
    def forward(ctx, distribution, value, *params):
        ctx.distribution = distribution
        ctx.save_for_backward(value, *params)
        return dispatch(distribution, "logpmf", (value, *params))

    @staticmethod
    def backward(ctx, grad):
        value, *params = ctx.saved_tensors
        derivs = dispatch(ctx.distribution, "logpmf_grad", (value, *params))
        out = [None, None]
        for p, d, need in zip(params, derivs, ctx.needs_input_grad[2:]):
            # in place: d is the kernel's fresh tensor (no 80 MB allocation
            # per 20000 x 1000 float32 matrix)
            out.append(_unbroadcast(d.mul_(grad), p.shape) if need else None)
        return tuple(out)


def log_prob(distribution, value, *params):
    """The differentiable log-pmf (a tensor like the parameters)."""
    like = next(p for p in params if isinstance(p, torch.Tensor))
    value, *params = (v if isinstance(v, torch.Tensor)
                      else torch.as_tensor(v, dtype=like.dtype, device=like.device)
                      for v in (value, *params))
    return LogProb.apply(distribution, value, *params)

"""Newton's iteration, written once for every fit: theta alone (fit_theta),
the Poisson GLM's coefficients (theta = inf), and the NB GLM's coefficients
and theta together."""
import math
from typing import Callable

from .base import ETA_MAX, ETA_MIN, INF, MAX_STEP, NEAR, helper, merged


@helper
def _newton_eta(eta, g, h, lo, hi):
    """One safeguarded Newton step for the root of the score g(eta) (h its
    derivative), kept inside the bracket (lo, hi) where g(lo) > 0 > g(hi),
    steps of at most MAX_STEP: the new eta, and whether it is the Newton
    step."""
    if h < 0.0:
        step = -g / h
    else:
        step = MAX_STEP if g > 0.0 else -MAX_STEP
    step = min(max(step, -MAX_STEP), MAX_STEP)
    new = eta + step
    newton = h < 0.0 and abs(-g / h) <= MAX_STEP
    if not (lo < new < hi):
        newton = False
        if lo > -INF and hi < INF:
            new = 0.5 * (lo + hi)
        elif lo > -INF:
            new = lo + MAX_STEP
        else:
            new = hi - MAX_STEP
    return min(max(new, ETA_MIN), ETA_MAX), newton


@helper
def _done(step, prev, newton, gain, n, tol):
    """Whether Newton's iteration has converged with this step (the
    largest component of it, taken): the step is at most tol; or it is a
    Newton step and the log-likelihood it predicts to gain is below
    tol**2 n (n cells); or the last two were Newton steps converging
    quadratically (step <= prev / 2) and the next, step**3 / prev**2 by
    that rate, is at most tol."""
    if step <= tol:
        return True
    if not newton:
        return False
    return gain <= tol * tol * n or (prev < INF and step <= 0.5 * prev
                                     and step * step * step <= tol * prev * prev)


def newton(evaluate: Callable) -> Callable:
    """Newton's iteration for ``evaluate`` (below): the loop
    ``iterate(ctx, beta, dbeta, cvec, eta, max_iter, n, tol, cap)``, copied
    into its caller with evaluate (both ``merged``). One loop for every
    fit, specialized by closure: a function passed as an argument would be
    a run-time value, which keeps Numba from caching the kernels.

    ``iterate`` maximizes a gene's log-likelihood in (beta, eta), eta =
    log(theta), by joint Newton steps, safeguarded in eta, and returns
    (theta, converged, iterations). theta = inf where the likelihood rises
    all the way to the Poisson limit (eta beyond ETA_MAX): the caller's
    coefficients for theta = inf then apply.

    ``evaluate(ctx, beta, theta, dbeta, cvec)`` returns (ok, g, h, lam):
    the score g and curvature h in eta of the profile log-likelihood, the
    Newton decrement lam of the coefficients at fixed eta, whose Newton
    step it writes into dbeta, and d(beta-hat)/d(eta) into cvec; ok False
    stops (unconverged). beta may be empty (theta alone); where theta is
    fixed, evaluate returns g = 0, h = -1 and cvec = 0, and eta stays put.
    The signs of g bracket eta where the coefficients are near their
    optimum (lam <= NEAR); a joint step longer than ``cap`` is scaled back
    to it.
    """
    @merged
    def iterate(ctx, beta, dbeta, cvec, eta, max_iter, n, tol, cap):
        p = beta.size
        lo = -INF
        hi = INF
        prev = INF
        theta = INF
        iters = 0
        while iters < max_iter:
            iters += 1
            theta = math.exp(eta)
            ok, gs, h, lam = evaluate(ctx, beta, theta, dbeta, cvec)
            if not (ok and gs == gs and h == h):
                return theta, False, iters
            if lam <= NEAR:
                if gs > 0.0:
                    lo = eta
                elif gs < 0.0:
                    hi = eta
            if lo >= ETA_MAX:
                return INF, True, iters
            new, newton_step = _newton_eta(eta, gs, h, lo, hi)
            d_eta = new - eta
            bigstep = abs(d_eta)
            for a in range(p):
                dbeta[a] += cvec[a] * d_eta
                bigstep = max(bigstep, abs(dbeta[a]))
            f = cap / bigstep if bigstep > cap else 1.0
            for a in range(p):
                beta[a] += f * dbeta[a]
            eta = new if f == 1.0 else eta + f * d_eta
            theta = math.exp(eta)
            gain = 0.5 * (lam + gs * gs / -h) if h < 0.0 else INF
            newton_step = newton_step and f == 1.0
            if _done(bigstep, prev, newton_step, gain, n, tol):
                return theta, True, iters
            prev = bigstep if newton_step else INF
        return theta, False, iters

    return iterate

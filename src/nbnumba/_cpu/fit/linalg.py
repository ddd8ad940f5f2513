"""Small dense linear algebra for the GLM's Newton steps (p x p matrices)."""
import math

from .base import INF, helper


@helper
def _cholesky(A, L):
    """L = the Cholesky factor of A (symmetric positive definite); False
    where it is not (numerically)."""
    p = A.shape[0]
    for i in range(p):
        for j in range(i + 1):
            s = A[i, j]
            for l in range(j):
                s -= L[i, l] * L[j, l]
            if i == j:
                if not s > 0.0:
                    return False
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    return True


@helper
def factor(A, L):
    """_cholesky, and where that fails (a coefficient running off to -inf
    leaves a direction of nearly zero curvature) again after adding
    1e-12, 1e-10, ... times the largest diagonal entry to the diagonal of
    A (damped steps in that direction, where the likelihood is flat)."""
    if _cholesky(A, L):
        return True
    p = A.shape[0]
    dmax = 0.0
    for a in range(p):
        dmax = max(dmax, A[a, a])
    if not (dmax > 0.0 and dmax < INF):
        return False
    delta = 1e-12
    while delta < 1.0:
        for a in range(p):
            A[a, a] += delta * dmax
        if _cholesky(A, L):
            return True
        delta *= 100.0
    return False


@helper
def chol_solve(L, b, x):
    """x = A^-1 b from A's Cholesky factor L."""
    p = L.shape[0]
    for i in range(p):
        s = b[i]
        for l in range(i):
            s -= L[i, l] * x[l]
        x[i] = s / L[i, i]
    for i in range(p - 1, -1, -1):
        s = x[i]
        for l in range(i + 1, p):
            s -= L[l, i] * x[l]
        x[i] = s / L[i, i]

"""Compiled kernels of :mod:`nbnumba.fitting`: per gene, the maximum
likelihood inverse dispersion theta of NB(mu, theta) for given means
(:func:`theta_kernel`, in ``theta``), and the NB GLM with log link,
coefficients and theta (:func:`glm_kernel`, in ``glm``). Both run Newton's
iteration of ``newton``; the GLM's sums are the named structure of
``accumulators``, its linear algebra in ``linalg``; ``gather`` lays out the
counts and ``likelihood`` holds the sums both fits share.

Layout. Genes are the columns of a counts matrix (cells x genes), given to
the kernels as the tuple ``src`` of :func:`gather.gather`: a C-contiguous
dense array (int64, int32, float64 or float32; cells x genes, or genes x
cells for an F-ordered input), or CSC arrays. One tuple type for all of
them, so one compiled kernel serves every input. Blocks of ``GATHER`` genes
are gathered at once (one cache line of a C-ordered X holds 8 genes) into
contiguous float64 rows; all later passes run over those. A gene's cells
are held either as all ``n`` cells (``kc``, with their means ``mc``), or,
where the mean of a gene is the same in every cell (no size factors,
``compact``), as its nonzero counts only plus a *zero group* of ``n0``
cells of count 0 and mean ``m0``, which enters every sum once, times ``n0``
(a sparse gene costs O(nnz) per iteration): a :class:`base.Gene`.

Sums. Per cell, the theta-derivatives of the log-pmf are split as in
:mod:`nbnumba._math.derivatives`: ``dlgamma_ratio(k, theta) +
log1pmx(v)`` and ``d2lgamma_ratio(k, theta) + v**2 / (k + theta)``,
``v = (k - mu) / (theta + mu)``. The digamma parts depend on k alone, so
they are summed over the distinct counts of the gene (glmGamPoi's trick),
telescoped: for the sorted distinct counts ``c_1 < c_2 < ...``,
``sum_l f_l (h(theta + c_l) - h(theta)) = sum_l N_l (h(theta + c_l) -
h(theta + c_{l-1}))`` with ``f_l`` the frequencies and ``N_l`` the number of
counts ``>= c_l``: one short call per distinct count (a gap of 1, mostly)
instead of a whole difference for each count, and all terms of one sign,
so nothing cancels (each is exact to a few ulp wherever theta + c_{l-1} is
rounded). The other parts run over the cells in tiles of ``TILE``, in loops
without branches (``special.log1pmx_ratio``: the series of ``log1pmx`` in
``v / (2 + v)`` where ``1 + v`` is in (sqrt(1/2), sqrt(2)], exact in the
Poisson limit, else a log; a tile none of whose cells took the log runs
the series alone next time, ``log1pmx_near``) whose results are summed by
vectorized reductions. The log-likelihood reported at the estimate comes
from ``nbinom``'s exact log-pmf (see :func:`likelihood.loglik`).

Compilation. Numba links every function a kernel calls into the kernel's
module and optimizes the whole again, at each level of the call graph, so
the graph here is shallow: the kernels call helpers that call only small
functions and the scalar math. Helpers get no constant arguments (Numba
compiles a function once per literal value). The kernels release the
GIL; ``nbnumba.fitting`` runs blocks of genes on a pool of threads: one
compiled kernel for the threaded and the Dask paths, where a ``prange``
wrapper would compile it all once more (~15 s). The kernels are cached on
disk and take the literal ``VERSION`` (a hash of nbnumba/_math's sources
and this package's) as their first argument: Numba's cache is keyed on the
kernel's file alone, and the version in the signature keeps it from
serving code compiled from older math or helpers. The helpers are not
cached (their code lives on in the kernels' cache).
"""
from .base import BAD_COUNTS, BAD_MEAN, GATHER, IMPOSSIBLE, OK, VERSION
from .glm import glm_kernel
from .theta import theta_kernel

__all__ = ["VERSION", "GATHER", "OK", "BAD_COUNTS", "BAD_MEAN", "IMPOSSIBLE", "theta_kernel",
           "glm_kernel"]

"""Use nbnumba's distributions inside scvi-tools' models.

scvi-tools' models build their likelihoods from ``scvi.distributions`` at
call time (``VAE.generative`` imports ``NegativeBinomial`` and
``ZeroInflatedNegativeBinomial`` from there on every step), so swapping
those two names swaps the likelihood of every model that uses them:
training, ``get_normalized_expression`` (importance weights included),
``posterior_predictive_sample``, ``get_likelihood_parameters``,
``differential_expression``. Patching ``scvi.module._vae`` instead is a
silent no-op.

.. code-block:: python

    import nbnumba.scvi

    with nbnumba.scvi.patched():        # or nbnumba.scvi.patch() / unpatch()
        model.train(max_epochs=10)

nbnumba's classes take scvi-tools' arguments (``mu``, ``theta``,
``zi_logits``, ``scale``, ``total_count`` with ``probs`` or ``logits``)
and give its ``log_prob`` exactly (no ``eps``), with the exact gradients;
their first use in a process compiles Numba kernels once (cached on disk:
about a minute cold on one core, a second warm).
"""
import contextlib
import importlib
from typing import Any, Dict, Iterator

__all__ = ["patch", "unpatch", "patched", "CLASSES"]

#: The names swapped in ``scvi.distributions``.
CLASSES = ("NegativeBinomial", "ZeroInflatedNegativeBinomial")

_saved: Dict[str, Any] = {}


def _scvi_distributions() -> Any:
    # absolute: this module is nbnumba.scvi, the package is scvi-tools' scvi
    try:
        return importlib.import_module("scvi.distributions")
    except ImportError as e:
        raise ImportError("nbnumba.scvi needs scvi-tools: pip install 'nbnumba[scvi]'") from e


def patch() -> None:
    """Put nbnumba's NegativeBinomial and ZeroInflatedNegativeBinomial in
    place of ``scvi.distributions``' (idempotent; :func:`unpatch` restores)."""
    from . import distributions
    target = _scvi_distributions()
    for name in CLASSES:
        current = getattr(target, name)
        if current is not getattr(distributions, name):
            _saved.setdefault(name, current)
        setattr(target, name, getattr(distributions, name))


def unpatch() -> None:
    """Restore scvi-tools' own classes (no-op when not patched)."""
    target = _scvi_distributions()
    for name in CLASSES:
        if name in _saved:
            setattr(target, name, _saved.pop(name))


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """A context in which scvi-tools' models use nbnumba's distributions
    (restored on exit, also after an error). Nested uses keep the outer
    patch."""
    was = bool(_saved)
    patch()
    try:
        yield
    finally:
        if not was:
            unpatch()

"""Epoch time of scvi-tools' SCVI, stock against nbnumba's distributions.

    python benchmarks/bench_scvi.py [--cells 3000] [--genes 800] [--epochs 3]
                                    [--threads 1] [--device cpu|cuda]

A synthetic AnnData (two cell types, two batches, CSR counts), SCVI with
``gene_likelihood`` "nb" and "zinb", trained with scvi-tools' own
distributions and then inside ``nbnumba.scvi.patched()``. The first epoch
is left out (compilation, data loader start-up); the figure is the median
of the rest, from Lightning's epoch timings. torch and nbnumba run on
``--threads`` threads (torch.set_num_threads; nbnumba follows torch's count
for torch tensors). Needs ``pip install nbnumba[scvi]``.
"""
import argparse
import time

import numpy as np


def adata(cells, genes, seed=0):
    import anndata
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    ct, batch = rng.integers(0, 2, cells), rng.integers(0, 2, cells)
    base = rng.gamma(2.0, 1.0, (2, genes))
    base[1, : genes // 10] *= 4
    mu = base[ct] * rng.lognormal(0, 0.3, (cells, 1))
    X = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(np.float32)
    ad = anndata.AnnData(sp.csr_matrix(X))
    ad.obs["ct"], ad.obs["batch"] = ct.astype(str), batch.astype(str)
    return ad


class _EpochTimer:
    """A Lightning callback recording each training epoch's wall time."""

    def __init__(self):
        import lightning.pytorch as pl

        class Timer(pl.Callback):
            def __init__(self):
                self.times = []

            def on_train_epoch_start(self, trainer, module):
                self.t = time.perf_counter()

            def on_train_epoch_end(self, trainer, module):
                self.times.append(time.perf_counter() - self.t)

        self.callback = Timer()


def epoch_time(ad, likelihood, epochs, device, ours):
    import scvi

    import nbnumba.scvi
    scvi.settings.seed = 0
    timer = _EpochTimer().callback
    patch = nbnumba.scvi.patched() if ours else _null()
    with patch:
        scvi.model.SCVI.setup_anndata(ad, batch_key="batch")
        model = scvi.model.SCVI(ad, gene_likelihood=likelihood)
        model.train(max_epochs=epochs, accelerator=device, enable_progress_bar=False,
                    callbacks=[timer])
    return float(np.median(timer.times[1:])), timer.times[0]


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=3000)
    p.add_argument("--genes", type=int, default=800)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    import logging
    import warnings

    import torch
    warnings.simplefilter("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    torch.set_num_threads(a.threads)
    ad = adata(a.cells, a.genes)
    print(f"SCVI, {a.cells} cells x {a.genes} genes, {a.epochs} epochs, device {a.device}, "
          f"torch threads {a.threads}; median epoch after the first (first epoch in brackets)")
    for likelihood in ("nb", "zinb"):
        stock, stock0 = epoch_time(ad, likelihood, a.epochs, a.device, False)
        ours, ours0 = epoch_time(ad, likelihood, a.epochs, a.device, True)
        print(f"  {likelihood:4s}  stock {stock:6.2f} s ({stock0:5.2f})   nbnumba {ours:6.2f} s "
              f"({ours0:5.2f})   ratio {stock / ours:4.2f}x")
        assert torch.get_num_threads() == a.threads


if __name__ == "__main__":
    main()

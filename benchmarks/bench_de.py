"""Differential expression: nbnumba.test_de against glmGamPoi (R) and PyDESeq2.

    python benchmarks/bench_de.py [--genes 1000] [--cells 3000] [--seed 29]
                                  [--pydeseq2-python PATH]

Simulates the issue's experiment: genes x cells with two conditions (half
the cells each), known size factors s (log-normal, geometric mean 1), gene
means m (log-normal), theta per gene (log-uniform on 0.5..20), 10% of the
genes changed 2-fold (log2 fold change +-1). Then times, each the best of
5 after a first call (which compiles, or loads the compiled code):

* nbnumba ``fit(Y, s, design)`` and ``test_de(Y, design, size_factors=s)``
  (both fits and the LRT), and ``method="wald"``;
* glmGamPoi ``glm_gp(Y, design = ~cond, size_factors = s)`` and
  ``test_de(fit, contrast = cond1)`` (its quasi-likelihood F test),
  timed inside R (``system.time``; R's start-up and the transfer of the data
  not counted), where ``Rscript`` and glmGamPoi are installed;
* PyDESeq2 (``DeseqDataSet(...).deseq2()`` and ``DeseqStats(...).summary()``
  with the size factors given), where it is importable, in this interpreter
  or in the one given by ``--pydeseq2-python``; timed once (it takes long),
  wall time only (its CPU time is spread over worker processes).

It prints the acceptance numbers of the analysis layer (null p-values' KS
p, AUC of the DE genes, median |lfc - truth| over them) and the ratios.
Wall-clock ratios are the goal; on a machine shared with other work CPU
times (user + system, all threads of each side) vary less, and are printed
too.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from _timing import R_HEAD, measured

import nbnumba

R_SCRIPT = R_HEAD + r"""
cond <- factor(readBin(file.path(dir, "cond.bin"), "integer", C))
storage.mode(Y) <- "double"
cpu <- function(t) t[["user.self"]] + t[["sys.self"]]
t1 <- system.time(fit <- glm_gp(Y, design = ~cond, size_factors = s))
t2 <- system.time(de <- test_de(fit, contrast = cond1))
t3 <- system.time(fit0 <- glm_gp(Y, design = ~cond, size_factors = s,
                                  overdispersion_shrinkage = FALSE,
                                  do_cox_reid_adjustment = FALSE))
writeBin(as.double(de$pval), file.path(dir, "pval.bin"))
writeBin(as.double(de$lfc), file.path(dir, "lfc.bin"))
writeBin(as.double(fit0$Beta[, 2]), file.path(dir, "beta_ml.bin"))
cat(sprintf(paste0('{"glm_gp": [%.6f, %.6f], "test_de": [%.6f, %.6f], ',
                   '"glm_gp_ml": [%.6f, %.6f], "version": "%s"}\n'),
            t1[["elapsed"]], cpu(t1), t2[["elapsed"]], cpu(t2), t3[["elapsed"]], cpu(t3),
            as.character(packageVersion("glmGamPoi"))))
"""

PYDESEQ2_SCRIPT = r"""
import json, sys, time
import numpy as np, pandas as pd
from pydeseq2.dds import DeseqDataSet
from pydeseq2.ds import DeseqStats
d, G, C = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
Y = np.fromfile(d + "/Y.bin", np.int32).reshape(C, G)
s = np.fromfile(d + "/s.bin", np.float64)
cond = np.fromfile(d + "/cond.bin", np.int32)
counts = pd.DataFrame(Y, index=[f"c{i}" for i in range(C)], columns=[f"g{j}" for j in range(G)])
meta = pd.DataFrame({"condition": np.where(cond == 1, "B", "A")}, index=counts.index)
t = time.perf_counter(); c = time.process_time()
dds = DeseqDataSet(counts=counts, metadata=meta, design="~condition", quiet=True)
dds.obs["size_factors"] = s
dds.layers["normed_counts"] = Y / s[:, None]
dds.var["_normed_means"] = dds.layers["normed_counts"].mean(axis=0)
dds.fit_genewise_dispersions(); dds.fit_dispersion_trend(); dds.fit_dispersion_prior()
dds.fit_MAP_dispersions(); dds.fit_LFC(); dds.calculate_cooks(); dds.refit(); dds.cooks_outlier()
st = DeseqStats(dds, contrast=["condition", "B", "A"], quiet=True)
st.summary()
wall, cpu = time.perf_counter() - t, time.process_time() - c
np.asarray(st.results_df["pvalue"], np.float64).tofile(d + "/pd_pval.bin")
print(json.dumps({"deseq2": [wall, cpu]}))
"""


def simulate(genes, cells, seed):
    """(Y cells x genes int32, s, cond, true log2 fold changes)."""
    rng = np.random.default_rng(seed)
    s = np.exp(rng.normal(0.0, 0.3, cells))
    s /= np.exp(np.mean(np.log(s)))
    cond = np.repeat([0, 1], [cells // 2, cells - cells // 2]).astype(np.int32)
    m = np.exp(rng.normal(0.0, 1.2, genes))
    lfc = np.zeros(genes)
    de = rng.choice(genes, genes // 10, replace=False)
    lfc[de] = rng.choice([-1.0, 1.0], de.size)
    theta = np.exp(rng.uniform(np.log(0.5), np.log(20.0), genes))
    mu = s[:, None] * m[None, :] * np.exp2(lfc[None, :] * cond[:, None])
    Y = rng.poisson(rng.gamma(theta[None, :], mu / theta[None, :])).astype(np.int32)
    return Y, s, cond, lfc


def acceptance(pvalue, lfc, true_lfc):
    """(KS p of the null p-values, AUC of the DE genes, median |lfc error|)."""
    from scipy import stats
    de = true_lfc != 0
    ok = ~np.isnan(pvalue)
    ks = stats.kstest(pvalue[~de & ok], "uniform").pvalue
    a, b = -pvalue[de & ok], -pvalue[~de & ok]
    auc = stats.mannwhitneyu(a, b).statistic / (a.size * b.size)
    err = np.median(np.abs(lfc[de] - true_lfc[de]))
    return ks, auc, err


def write_inputs(d, Y, s, cond):
    Y.tofile(os.path.join(d, "Y.bin"))      # cells x genes, C order = R's genes x cells
    s.astype(np.float64).tofile(os.path.join(d, "s.bin"))
    cond.astype(np.int32).tofile(os.path.join(d, "cond.bin"))


def run_r(Y, s, cond):
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None, "Rscript not found: glmGamPoi's part skipped"
    with tempfile.TemporaryDirectory() as d:
        write_inputs(d, Y, s, cond)
        script = os.path.join(d, "de.R")
        with open(script, "w") as f:
            f.write(R_SCRIPT)
        p = subprocess.run([rscript, "--vanilla", script, d, str(Y.shape[1]), str(Y.shape[0])],
                           capture_output=True, text=True)
        if "NO_GLMGAMPOI" in p.stdout:
            return None, "the R package glmGamPoi is not installed: its part skipped"
        if p.returncode != 0:
            return None, f"Rscript failed ({p.returncode}): {p.stderr.strip()[-2000:]}"
        times = json.loads(p.stdout.strip().splitlines()[-1])
        res = {k: np.fromfile(os.path.join(d, k + ".bin"), np.float64)
               for k in ("pval", "lfc", "beta_ml")}
    return (times, res), None


def run_pydeseq2(Y, s, cond, python):
    check = subprocess.run([python, "-c", "import pydeseq2"], capture_output=True)
    if check.returncode != 0:
        return None, (f"pydeseq2 is not importable by {python}: its part skipped "
                      "(--pydeseq2-python names another interpreter)")
    with tempfile.TemporaryDirectory() as d:
        write_inputs(d, Y, s, cond)
        p = subprocess.run([python, "-c", PYDESEQ2_SCRIPT, d, str(Y.shape[1]), str(Y.shape[0])],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return None, f"pydeseq2 failed ({p.returncode}): {p.stderr.strip()[-2000:]}"
        times = json.loads(p.stdout.strip().splitlines()[-1])
        pval = np.fromfile(os.path.join(d, "pd_pval.bin"), np.float64)
    return (times, pval), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genes", type=int, default=1000)
    ap.add_argument("--cells", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=29)
    ap.add_argument("--pydeseq2-python", default=sys.executable)
    args = ap.parse_args()
    Y, s, cond, true_lfc = simulate(args.genes, args.cells, args.seed)
    D = np.column_stack([np.ones(Y.shape[0]), cond])
    import numba
    print(f"{args.genes} genes x {args.cells} cells, two conditions, "
          f"{int(np.sum(true_lfc != 0))} genes 2-fold changed, {np.mean(Y == 0):.0%} zeros; "
          f"nbnumba on {numba.get_num_threads()} threads, {os.cpu_count()} CPUs\n")

    fit, c1, t_fit, u_fit = measured(lambda: nbnumba.fit(Y, s, D))
    lrt, c2, t_lrt, u_lrt = measured(lambda: nbnumba.test_de(Y, D, size_factors=s))
    wald, c3, t_wald, u_wald = measured(lambda: nbnumba.test_de(Y, D, size_factors=s,
                                                            method="wald"))
    print("| nbnumba | seconds | CPU seconds | first call | null KS p | AUC | median |lfc err| |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| fit(Y, s, design) | {t_fit:.3f} | {u_fit:.3f} | {c1:.2f} | | | |")
    for label, r, t, u, c in (("test_de (LRT)", lrt, t_lrt, u_lrt, c2),
                              ("test_de (Wald)", wald, t_wald, u_wald, c3)):
        ks, auc, err = acceptance(r.pvalue, r.lfc, true_lfc)
        print(f"| {label} | {t:.3f} | {u:.3f} | {c:.2f} | {ks:.3g} | {auc:.4f} | {err:.4f} |")

    rows = []
    out, why = run_r(Y, s, cond)
    if out is None:
        print(f"\n{why}")
    else:
        times, res = out
        (tg, ug), (tt, ut), (tm, um) = times["glm_gp"], times["test_de"], times["glm_gp_ml"]
        rows += [("fit(Y, s, design)", f"glm_gp(~cond) {times['version']}", t_fit, u_fit, tg, ug),
                 ("fit(Y, s, design)", "glm_gp(~cond, shrinkage and Cox-Reid off)", t_fit,
                  u_fit, tm, um),
                 ("test_de (LRT: both fits + test)", "glm_gp + test_de", t_lrt, u_lrt,
                  tg + tt, ug + ut)]
        ks, auc, err = acceptance(res["pval"], res["lfc"], true_lfc)
        diff = np.abs(fit.coefficients[:, 1] - res["beta_ml"])
        print(f"\nglmGamPoi's test_de (quasi-likelihood F): null KS p {ks:.3g}, AUC {auc:.4f}, "
              f"median |lfc err| {err:.4f}; condition coefficient against glm_gp's ML fit: "
              f"median |difference| {np.nanmedian(diff):.2g}")
    out, why = run_pydeseq2(Y, s, cond, args.pydeseq2_python)
    if out is None:
        print(f"\n{why}")
    else:
        times, pval = out
        td = times["deseq2"][0]
        # PyDESeq2's CPU time misses its joblib worker processes: no CPU ratio
        rows.append(("test_de (Wald)", "PyDESeq2 deseq2() + summary()", t_wald, u_wald, td, None))
        rows.append(("test_de (LRT)", "PyDESeq2 deseq2() + summary()", t_lrt, u_lrt, td, None))
        ok = ~np.isnan(pval)
        from scipy import stats
        ks = stats.kstest(pval[(true_lfc == 0) & ok], "uniform").pvalue
        print(f"\nPyDESeq2 (Wald on shrunken dispersions): null KS p {ks:.3g}")
    if rows:
        print("\n| nbnumba | other | nbnumba s | other s | ratio | CPU ratio |")
        print("|---|---|---:|---:|---:|---:|")
        for a, b, ta, ua, tb, ub in rows:
            cpu = "n/a" if ub is None else f"{ub / ua:.1f}x"
            print(f"| {a} | {b} | {ta:.3f} | {tb:.3f} | {tb / ta:.1f}x | {cpu} |")


if __name__ == "__main__":
    main()

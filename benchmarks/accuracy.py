"""Worst errors of nbnumba and scipy.stats.nbinom against the mpmath table.

    python benchmarks/accuracy.py [--json PATH]

Reads tests/data/reference.csv (tests/make_reference.py, 60-digit mpmath)
and prints, per function and regime, the worst error (relative; absolute
where |value| < 1) and how many values each library returns as a
non-finite number where the truth is finite. ``--json PATH`` also writes the
table as JSON (the documentation's accuracy table is made from it).
"""
import argparse
import csv
import datetime
import json
import os
import platform

import numpy as np
import scipy.stats

from nbnumba import ufuncs

HERE = os.path.dirname(os.path.abspath(__file__))


def regime(k, mu, theta):
    if theta >= 1e6:
        return "Poisson limit (theta >= 1e6, inf)"
    if theta < 1e-3:
        return "tiny theta (< 1e-3)"
    if max(k, mu) >= 1e5:
        return "huge counts (k or mu >= 1e5)"
    return "typical (theta 1e-3..1e6)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    args = ap.parse_args()
    path = os.path.join(HERE, "..", "tests", "data", "reference.csv")
    with open(path) as f:
        rows = [{key: float(v) for key, v in r.items()} for r in csv.DictReader(f)]
    k, mu, theta = (np.array([r[c] for r in rows]) for c in ("k", "mu", "theta"))
    with np.errstate(invalid="ignore"):
        n, p = theta, np.where(np.isinf(theta), 1.0, theta / (theta + mu))
    groups = np.array([regime(*t) for t in zip(k, mu, theta)])
    print(f"{len(rows)} reference values per function\n")
    print("| function | regime | nbnumba worst error | scipy worst error | scipy non-finite |")
    print("|---|---|---:|---:|---:|")
    table = []
    for name in ("logpmf", "logcdf", "logsf"):
        ref = np.array([r[name] for r in rows])
        ours = getattr(ufuncs, name)(k, mu, theta)
        with np.errstate(all="ignore"):
            theirs = getattr(scipy.stats.nbinom, name)(k, n, p)
            theirs = np.where(np.isinf(theta), getattr(scipy.stats.poisson, name)(k, mu), theirs)
        for g in sorted(set(groups)):
            sel = (groups == g) & np.isfinite(ref)
            scale = np.maximum(np.abs(ref[sel]), 1.0)
            e_ours = np.abs(ours[sel] - ref[sel]) / scale
            e_theirs = np.abs(theirs[sel] - ref[sel]) / scale
            bad = int(np.sum(~np.isfinite(theirs[sel])))
            worst_theirs = np.max(np.where(np.isfinite(e_theirs), e_theirs, 0.0))
            print(f"| {name} | {g} | {np.max(e_ours):.1e} | {worst_theirs:.1e} | {bad} |")
            table.append([name, g, float(np.max(e_ours)), float(worst_theirs), bad])
    if args.json:
        import nbnumba
        with open(args.json, "w") as f:
            json.dump({"command": "python benchmarks/accuracy.py",
                       "date": datetime.date.today().isoformat(), "references": len(rows),
                       "versions": {"nbnumba": nbnumba.__version__, "scipy": scipy.__version__,
                                    "numpy": np.__version__, "python": platform.python_version()},
                       "columns": ["function", "regime", "nbnumba", "scipy",
                                   "scipy non-finite where the truth is finite"],
                       "rows": table}, f, indent=1)


if __name__ == "__main__":
    main()

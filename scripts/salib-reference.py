#!/usr/bin/env python3
"""Reference indices for tests/sensitivity.rs, computed by SALib (Sobol', Morris) and by
numpy/scipy (SRC, PRCC) on the very sample gardengate draws (its design.csv).

Regenerate (needs `pip install SALib`, which brings numpy and scipy):

    cargo build --release
    for d in ishigami morris lhs; do
        target/release/gardengate plan tests/data/salib-$d.toml --out /tmp/salib-$d --force
        python3 scripts/salib-reference.py $d /tmp/salib-$d/design.csv > tests/data/salib-$d.csv
    done
"""
import csv
import sys

import numpy as np


def read_design(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    ucols = [c for c in rows[0] if c.startswith("u__")]
    u = np.array([[float(r[c]) for c in ucols] for r in rows])
    return [c[3:] for c in ucols], u


def ishigami(x):
    return np.sin(x[:, 0]) + 7.0 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def main():
    kind, path = sys.argv[1], sys.argv[2]
    names, u = read_design(path)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["index", "parameter", "parameter2", "value", "conf"])
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if kind == "ishigami":
        from SALib.analyze import sobol

        y = ishigami(-np.pi + 2.0 * np.pi * u)
        si = sobol.analyze(problem, y, calc_second_order=True, num_resamples=1000, seed=1)
        for j, n in enumerate(names):
            out.writerow(["S1", n, "", repr(float(si["S1"][j])), repr(float(si["S1_conf"][j]))])
            out.writerow(["ST", n, "", repr(float(si["ST"][j])), repr(float(si["ST_conf"][j]))])
        for j in range(len(names)):
            for k in range(j + 1, len(names)):
                out.writerow(["S2", names[j], names[k], repr(float(si["S2"][j, k])), repr(float(si["S2_conf"][j, k]))])
    elif kind == "morris":
        from SALib.analyze import morris

        y = 10 * u[:, 0] + 5 * u[:, 1] ** 2 + u[:, 2] + 3 * u[:, 0] * u[:, 3]
        si = morris.analyze(problem, u, y, num_levels=4, num_resamples=1000, seed=1)
        for j, n in enumerate(names):
            out.writerow(["mu", n, "", repr(float(si["mu"][j])), ""])
            out.writerow(["mu_star", n, "", repr(float(si["mu_star"][j])), repr(float(si["mu_star_conf"][j]))])
            out.writerow(["sigma", n, "", repr(float(si["sigma"][j])), ""])
    elif kind == "lhs":
        from scipy.stats import rankdata

        y = 3 * u[:, 0] - 2 * u[:, 1] ** 2 + 0.5 * u[:, 2] + np.sin(4 * u[:, 0] * u[:, 2])
        z = (u - u.mean(0)) / u.std(0, ddof=1)
        zy = (y - y.mean()) / y.std(ddof=1)
        src, *_ = np.linalg.lstsq(z, zy, rcond=None)
        for j, n in enumerate(names):
            out.writerow(["src", n, "", repr(float(src[j])), ""])
        r = np.column_stack([rankdata(u[:, j]) for j in range(u.shape[1])])
        ry = rankdata(y)
        for j, n in enumerate(names):
            others = np.column_stack([np.ones(len(y))] + [r[:, k] for k in range(r.shape[1]) if k != j])
            ex = r[:, j] - others @ np.linalg.lstsq(others, r[:, j], rcond=None)[0]
            ey = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
            out.writerow(["prcc", n, "", repr(float(np.corrcoef(ex, ey)[0, 1])), ""])
    else:
        sys.exit(f"unknown kind {kind}; expected ishigami, morris or lhs")


if __name__ == "__main__":
    main()

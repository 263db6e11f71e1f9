"""The wider metrics (issue 9): dismetrics vs a reference computation in one run, and their values on
the demo representations.

Part 1 (speed and agreement): MIG-sup, DCIMIG, JEMMIG against the review-style computation (one
``np.histogram`` + ``np.digitize`` per code dim, one ``sklearn.metrics.mutual_info_score`` call and
one joint-entropy count per (dim, factor) pair), IRS against disentanglement_lib's procedure (boolean
masks per factor value). InfoM/InfoC (kNN MI, per-dim sklearn calls as the authors), InfoE and
DCI-ES are timed alone: their cost is sklearn's, the same as the authors' code.

Part 2 (values): every wider metric on the four synthetic representations of ``dismetrics demo``
(perfect, rotated pair, duplicated, noise) of dSprites-shaped factors. Run:

    python benchmarks/bench_wider_metrics.py [--n 10000] [--dci-es-trees 100] [--skip-values]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from sklearn.metrics import mutual_info_score

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

import dismetrics as dm  # noqa: E402
from dismetrics.cli import DSPRITES_SIZES, demo_representations  # noqa: E402


def histogram_discretize(codes, bins=20):
    out = np.zeros((codes.shape[1], codes.shape[0]), dtype=np.int64)
    for i in range(codes.shape[1]):
        out[i] = np.digitize(codes[:, i], np.histogram(codes[:, i], bins)[1][:-1])
    return out


def reference_tables(codes, factors, bins=20):
    disc = histogram_discretize(codes, bins)
    mi = np.array([[mutual_info_score(factors[:, k], disc[i]) for k in range(factors.shape[1])] for i in range(disc.shape[0])])
    h = np.array([mutual_info_score(f, f) for f in factors.T])
    return disc, mi, h


def reference_mig_sup(codes, factors):
    _, mi, h = reference_tables(codes, factors)
    s = np.sort(mi / h, axis=1)[:, ::-1]
    return float(np.mean(s[:, 0] - s[:, 1]))


def reference_dcimig(codes, factors):
    _, mi, h = reference_tables(codes, factors)
    best = np.zeros(factors.shape[1])
    for row in mi:
        s = np.sort(row)[::-1]
        k = int(np.argmax(row))
        best[k] = max(best[k], s[0] - s[1])
    return float(best.sum() / h.sum())


def joint_entropy(a, b):
    _, counts = np.unique(np.stack([a, b], axis=1), axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def reference_jemmig(codes, factors, bins=20):
    disc, mi, h = reference_tables(codes, factors, bins)
    scores = []
    for k in range(factors.shape[1]):
        joints = np.array([joint_entropy(disc[i], factors[:, k]) for i in range(disc.shape[0])])
        tied = np.flatnonzero(mi[:, k] >= mi[:, k].max() - 1e-10)
        top = tied[np.argmin(joints[tied])]
        second = max((i for i in range(mi.shape[0]) if i != top), key=lambda i: mi[i, k])
        scores.append(1 - (joints[top] - mi[top, k] + mi[second, k]) / (h[k] + np.log(bins)))
    return float(np.mean(scores))


def reference_irs(codes, factors, q=0.99):
    groups = histogram_discretize(factors.astype(np.float64)).T
    z = codes[:, np.var(codes, axis=0) > 0]
    norm = np.max(np.abs(z - z.mean(axis=0)), axis=0)
    dev = np.zeros((z.shape[1], groups.shape[1]))
    for k in range(groups.shape[1]):
        values = np.unique(groups[:, k])
        for value in values:
            block = z[groups[:, k] == value]
            dev[:, k] += np.quantile(np.abs(block - block.mean(axis=0)), q, axis=0)
        dev[:, k] /= values.size
    best = (1 - dev / norm[:, None]).max(axis=1)
    return float(np.average(best, weights=norm))


def make_problem(n, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, DSPRITES_SIZES, size=(n, len(DSPRITES_SIZES)))
    return demo_representations(factors, rng)["perfect"], factors


def speed_rows(n, dci_es_trees):
    warm_codes, warm_factors = make_problem(500)
    for metric in (dm.mig_sup, dm.dcimig, dm.jemmig, dm.irs):
        metric(warm_codes, warm_factors)  # numba compiles (or loads its cache) outside the timings
    codes, factors = make_problem(n)
    rows = []
    for name, ours, reference in (("mig_sup", dm.mig_sup, reference_mig_sup), ("dcimig", dm.dcimig, reference_dcimig),
                                  ("jemmig", dm.jemmig, reference_jemmig), ("irs", dm.irs, reference_irs)):
        t_ours, result = best_time(lambda: ours(codes, factors), repeats=3)
        t_ref, ref_value = best_time(lambda: reference(codes, factors), repeats=1)
        rows.append({"benchmark": f"{name} n={n}", "ours_s": t_ours, "reference_s": t_ref, "ratio": t_ref / t_ours,
                     "abs_diff": abs(result.value - ref_value)})
    for name, call in (("infom+infoc+infoe (infomec)", lambda: dm.infomec(codes, factors)),
                       (f"dci_es ({dci_es_trees} trees)", lambda: dm.dci_es(codes, factors, n_estimators=dci_es_trees, n_jobs=-1))):
        t_ours, _ = best_time(call, repeats=1)
        rows.append({"benchmark": f"{name} n={n}", "ours_s": t_ours, "reference_s": float("nan"), "ratio": float("nan"),
                     "abs_diff": float("nan")})
    return rows


def value_rows(n, dci_es_trees, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, DSPRITES_SIZES, size=(n, len(DSPRITES_SIZES)))
    representations = demo_representations(factors, rng)
    metrics = {
        "irs": dm.irs, "mig_sup": dm.mig_sup, "dcimig": dm.dcimig, "jemmig": dm.jemmig,
        "infom": dm.infom, "infoc": dm.infoc, "infoe": dm.infoe,
        "dci_es": lambda c, f: dm.dci_es(c, f, n_estimators=dci_es_trees, n_jobs=-1), "dci_es_size": dm.dci_es_size,
    }
    rows = []
    for name, metric in metrics.items():
        row = {"metric": name}
        for rep, codes in representations.items():
            row[rep] = float(metric(codes, factors))
        rows.append(row)
    return rows, list(representations)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dci-es-trees", type=int, default=100, help="trees per forest in DCI-ES (100 = reference)")
    parser.add_argument("--skip-values", action="store_true")
    args = parser.parse_args()
    print(f"wider metrics, n = {args.n}, dSprites-shaped factors {DSPRITES_SIZES}, 10-dim codes")
    print_table(speed_rows(args.n, args.dci_es_trees), ["benchmark", "ours_s", "reference_s", "ratio", "abs_diff"])
    if not args.skip_values:
        rows, reps = value_rows(args.n, args.dci_es_trees)
        print()
        print("values on the demo representations (seed 0)")
        print_table(rows, ["metric", *reps])


if __name__ == "__main__":
    main()

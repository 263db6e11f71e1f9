"""DCI fidelity study: the xgboost backend (default) against the sklearn reference, in one run.

Six synthetic representations with known structure, on factors drawn uniformly from a
dSprites-shaped grid (3, 6, 40, 32, 32) and a Shapes3D-shaped grid (10, 10, 10, 8, 4, 15). With
u_k = v_k / (m_k - 1) the factor scaled to [0, 1] and e small Gaussian noise (sd 0.01):

- perfect:    z = [u + e, 2 noise dims]
- rotated:    perfect, with dims (0, 1) and (2, 3) each rotated by 45 degrees
- mixed:      z = u A + e, A a random Gaussian K x K matrix (all factors linearly mixed)
- duplicated: z = [u + e, u + e'] (every factor's dim twice)
- monotone:   z_k = exp(3 u_k) + e, plus 2 noise dims (nonlinear, monotone per dim)
- noise:      z = K + 2 standard Gaussian dims, independent of the factors

For each case: D, C, I (test accuracy) of both backends, their absolute differences, and the time
of each. The reference sizes are 10,000 train / 5,000 test points; the sklearn reference then takes
minutes per case, so ``--n-train``/``--n-test`` take a smaller sample. Run:

    python benchmarks/dci_backends.py [--n-train 10000 --n-test 5000] [--datasets dsprites shapes3d] [--n-jobs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import print_table  # noqa: E402

import dismetrics as dm  # noqa: E402

DATASETS = {"dsprites": (3, 6, 40, 32, 32), "shapes3d": (10, 10, 10, 8, 4, 15)}
CASES = ("perfect", "rotated", "mixed", "duplicated", "monotone", "noise")
NOISE = 0.01


def _rotate_pairs(z):
    z = z.copy()
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    for i in (0, 2):
        a, b = z[:, i].copy(), z[:, i + 1].copy()
        z[:, i], z[:, i + 1] = c * a - s * b, s * a + c * b
    return z


def make_codes(case, factors, sizes, rng):
    n, k_count = factors.shape
    u = factors / (np.asarray(sizes) - 1.0)
    e = lambda width: NOISE * rng.standard_normal((n, width))  # noqa: E731
    noise_dims = rng.standard_normal((n, 2))
    if case == "perfect":
        return np.hstack([u + e(k_count), noise_dims])
    if case == "rotated":
        return _rotate_pairs(np.hstack([u + e(k_count), noise_dims]))
    if case == "mixed":
        mixing = np.random.default_rng(12345).standard_normal((k_count, k_count))
        return u @ mixing + e(k_count)
    if case == "duplicated":
        return np.hstack([u + e(k_count), u + e(k_count)])
    if case == "monotone":
        return np.hstack([np.exp(3.0 * u) + e(k_count), noise_dims])
    if case == "noise":
        return rng.standard_normal((n, k_count + 2))
    raise ValueError(case)


def make_sample(case, sizes, n, seed):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, sizes, size=(n, len(sizes)))
    return make_codes(case, factors, sizes, rng), factors


def run(datasets, cases, n_train, n_test, seed=0, n_jobs=None) -> list[dict]:
    rows = []
    for dataset in datasets:
        sizes = DATASETS[dataset]
        for case in cases:
            codes, factors = make_sample(case, sizes, n_train + n_test, seed)
            split = dict(codes_test=codes[n_train:], factors_test=factors[n_train:], random_state=seed)
            results, times = {}, {}
            for backend in ("xgboost", "sklearn"):
                started = time.perf_counter()
                results[backend] = dm.dci(codes[:n_train], factors[:n_train], backend=backend, n_jobs=n_jobs, **split)
                times[backend] = time.perf_counter() - started
            fast, ref = results["xgboost"].details, results["sklearn"].details
            row = {"dataset": dataset, "case": case}
            for key, name in (("D", "disentanglement"), ("C", "completeness"), ("I", "informativeness_test")):
                row[f"{key}_xgb"], row[f"{key}_ref"] = fast[name], ref[name]
                row[f"|d{key}|"] = abs(fast[name] - ref[name])
            row["t_xgb_s"], row["t_ref_s"] = times["xgboost"], times["sklearn"]
            row["speedup"] = times["sklearn"] / times["xgboost"]
            rows.append(row)
            print(f"{dataset} {case}: dD={row['|dD|']:.4f} dC={row['|dC|']:.4f} dI={row['|dI|']:.4f} "
                  f"t_xgb={times['xgboost']:.2f}s t_ref={times['sklearn']:.2f}s", flush=True)
    return rows


COLUMNS = ["dataset", "case", "D_xgb", "D_ref", "|dD|", "C_xgb", "C_ref", "|dC|", "I_xgb", "I_ref", "|dI|",
           "t_xgb_s", "t_ref_s", "speedup"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=5_000)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None, help="xgboost threads (default: all cores)")
    args = parser.parse_args()
    print(f"n_train={args.n_train} n_test={args.n_test} cores={os.cpu_count()} xgboost n_jobs={args.n_jobs or 'all'}")
    rows = run(args.datasets, args.cases, args.n_train, args.n_test, args.seed, args.n_jobs)
    print()
    print_table(rows, COLUMNS)
    worst_d = max(r["|dD|"] for r in rows)
    worst_c = max(r["|dC|"] for r in rows)
    print(f"\nlargest |dD| = {worst_d:.4f}, largest |dC| = {worst_c:.4f} (tolerance 0.05): "
          f"{'within' if max(worst_d, worst_c) <= 0.05 else 'OUTSIDE'}")
    total_fast = sum(r["t_xgb_s"] for r in rows)
    total_ref = sum(r["t_ref_s"] for r in rows)
    print(f"total time: xgboost {total_fast:.1f}s, sklearn {total_ref:.1f}s, ratio {total_ref / total_fast:.1f}x")


if __name__ == "__main__":
    main()

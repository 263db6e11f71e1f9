"""DCI fidelity study: the numba (default) and xgboost backends against the sklearn reference, in one run.

Six synthetic representations with known structure, on factors drawn uniformly from a
dSprites-shaped grid (3, 6, 40, 32, 32) and a Shapes3D-shaped grid (10, 10, 10, 8, 4, 15). With
u_k = v_k / (m_k - 1) the factor scaled to [0, 1] and e small Gaussian noise (sd 0.01):

- perfect:    z = [u + e, 2 noise dims]
- rotated:    perfect, with dims (0, 1) and (2, 3) each rotated by 45 degrees
- mixed:      z = u A + e, A a random Gaussian K x K matrix (all factors linearly mixed)
- duplicated: z = [u + e, u + e'] (every factor's dim twice)
- monotone:   z_k = exp(3 u_k) + e, plus 2 noise dims (nonlinear, monotone per dim)
- noise:      z = K + 2 standard Gaussian dims, independent of the factors

For each case: D, C, I (test accuracy) of every backend, the absolute differences of numba and
xgboost from the sklearn reference, and the time of each. The reference sizes are 10,000 train /
5,000 test points; the sklearn reference then takes minutes per case, so ``--n-train``/``--n-test``
take a smaller sample, and ``--cache FILE`` keeps each finished case (a CSV row per case and backend)
so that a run interrupted, or rerun after a change to a fast backend, does not fit the reference again.
Run:

    python benchmarks/dci_backends.py [--n-train 10000 --n-test 5000] [--datasets dsprites shapes3d] [--n-jobs N] [--cache FILE]
"""

from __future__ import annotations

import argparse
import csv
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


BACKENDS = ("numba", "xgboost", "sklearn")
SHORT = {"numba": "nb", "xgboost": "xgb", "sklearn": "ref"}
KEYS = (("D", "disentanglement"), ("C", "completeness"), ("I", "informativeness_test"))


def _read_cache(path) -> dict:
    if not path or not os.path.exists(path):
        return {}
    with open(path, newline="") as handle:
        return {(r["dataset"], r["case"], r["backend"], int(r["n_train"]), int(r["n_test"]), int(r["seed"])): r
                for r in csv.DictReader(handle)}


def _append_cache(path, row) -> None:
    if not path:
        return
    new = not os.path.exists(path)
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def fit_case(dataset, case, backend, n_train, n_test, seed, n_jobs, cache_path=None, cache=None) -> dict:
    """D, C, I and seconds of one backend on one case (from the cache when it holds them)."""
    key = (dataset, case, backend, n_train, n_test, seed)
    if cache is not None and key in cache:
        return {name: float(cache[key][name]) for name in ("D", "C", "I", "seconds")}
    codes, factors = make_sample(case, DATASETS[dataset], n_train + n_test, seed)
    started = time.perf_counter()
    details = dm.dci(codes[:n_train], factors[:n_train], codes_test=codes[n_train:], factors_test=factors[n_train:],
                     backend=backend, n_jobs=n_jobs, random_state=seed).details
    values = {short: float(details[name]) for short, name in KEYS}
    values["seconds"] = time.perf_counter() - started
    _append_cache(cache_path, {"dataset": dataset, "case": case, "backend": backend, "n_train": n_train,
                               "n_test": n_test, "seed": seed, **values})
    return values


def run(datasets, cases, n_train, n_test, seed=0, n_jobs=None, cache_path=None) -> list[dict]:
    cache = _read_cache(cache_path)
    rows = []
    for dataset in datasets:
        for case in cases:
            results = {b: fit_case(dataset, case, b, n_train, n_test, seed, n_jobs, cache_path, cache) for b in BACKENDS}
            ref = results["sklearn"]
            row = {"dataset": dataset, "case": case}
            for short, _ in KEYS:
                for backend in BACKENDS:
                    row[f"{short}_{SHORT[backend]}"] = results[backend][short]
                for backend in ("numba", "xgboost"):
                    row[f"|d{short}|_{SHORT[backend]}"] = abs(results[backend][short] - ref[short])
            for backend in BACKENDS:
                row[f"t_{SHORT[backend]}_s"] = results[backend]["seconds"]
            row["speedup_nb"] = ref["seconds"] / results["numba"]["seconds"]
            row["speedup_xgb"] = ref["seconds"] / results["xgboost"]["seconds"]
            rows.append(row)
            print(f"{dataset} {case}: numba dD={row['|dD|_nb']:.4f} dC={row['|dC|_nb']:.4f}; xgboost dD={row['|dD|_xgb']:.4f} "
                  f"dC={row['|dC|_xgb']:.4f}; t numba={row['t_nb_s']:.1f}s xgb={row['t_xgb_s']:.1f}s ref={row['t_ref_s']:.1f}s",
                  flush=True)
    return rows


COLUMNS = ["dataset", "case", "D_ref", "D_nb", "|dD|_nb", "D_xgb", "|dD|_xgb", "C_ref", "C_nb", "|dC|_nb", "C_xgb",
           "|dC|_xgb", "I_ref", "I_nb", "|dI|_nb", "I_xgb", "|dI|_xgb", "t_ref_s", "t_nb_s", "t_xgb_s", "speedup_nb",
           "speedup_xgb"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=5_000)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None, help="numba / xgboost threads (default: all cores)")
    parser.add_argument("--cache", default=None, help="CSV of finished (case, backend) results to reuse and extend")
    args = parser.parse_args()
    print(f"n_train={args.n_train} n_test={args.n_test} cores={os.cpu_count()} numba/xgboost n_jobs={args.n_jobs or 'all'}")
    rows = run(args.datasets, args.cases, args.n_train, args.n_test, args.seed, args.n_jobs, args.cache)
    print()
    print_table(rows, COLUMNS)
    for short, backend in (("nb", "numba"), ("xgb", "xgboost")):
        worst_d = max(r[f"|dD|_{short}"] for r in rows)
        worst_c = max(r[f"|dC|_{short}"] for r in rows)
        total = sum(r[f"t_{short}_s"] for r in rows)
        total_ref = sum(r["t_ref_s"] for r in rows)
        print(f"{backend}: largest |dD| = {worst_d:.4f}, largest |dC| = {worst_c:.4f} (tolerance 0.05: "
              f"{'within' if max(worst_d, worst_c) <= 0.05 else 'OUTSIDE'}); total time {total:.1f}s vs reference "
              f"{total_ref:.1f}s, ratio {total_ref / total:.1f}x")


if __name__ == "__main__":
    main()

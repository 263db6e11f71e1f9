"""Benchmark: dismetrics.wdg against the direct computation with scipy.stats.wasserstein_distance.

The reference is Eq. 12 written out: for every (code dim i, factor k, value u), one
``wasserstein_distance(z_i[v_k == u], z_i)`` call, weighted by the frequency of u. Both run in the same
process on the same data: d = 10 codes, dSprites-shaped factors (sizes 3, 6, 40, 32, 32, drawn
uniformly), n = 12,800 (the paper's size) and n = 1,000,000.

For n = 1,000,000 the scipy loop takes minutes, so by default it runs on a subset of the code dims
(``--reference-dims``, all factors and values of those dims) and its time is extrapolated linearly to
all d dims (every dim costs the same: same n, same factors). The output says so. Values are compared on
every (dim, factor) pair the reference computed.

Our time is the median of ``--repeats`` calls after one warm-up call (numba compilation excluded).

    PYTHONPATH=. python benchmarks/bench_wdg.py
    PYTHONPATH=. python benchmarks/bench_wdg.py --sizes 12800 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from scipy.stats import wasserstein_distance

from dismetrics import wdg
from dismetrics.metrics.wdg import normalize_codes

FACTOR_SIZES = (3, 6, 40, 32, 32)
N_DIMS = 10


def make_representation(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """dSprites-shaped factors and a 10-d code: a random linear mixing of the scaled factors + noise."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, m, n) for m in FACTOR_SIZES], axis=1)
    scaled = factors / (np.array(FACTOR_SIZES) - 1.0)
    mixing = rng.normal(size=(len(FACTOR_SIZES), N_DIMS)) * (rng.random((len(FACTOR_SIZES), N_DIMS)) < 0.4)
    mixing[np.arange(len(FACTOR_SIZES)), np.arange(len(FACTOR_SIZES))] = 2.0
    codes = scaled @ mixing + 0.1 * rng.normal(size=(n, N_DIMS))
    return codes, factors


def reference_rows(codes: np.ndarray, factors: np.ndarray, dims) -> np.ndarray:
    """Rows of the dependency matrix for ``dims``, one scipy call per (dim, factor, value)."""
    normalized = normalize_codes(codes, "minmax")  # (z - min) / range; W1 does not see the shift
    masks = [[(factors[:, k] == u) for u in np.unique(factors[:, k])] for k in range(factors.shape[1])]
    out = np.zeros((len(dims), factors.shape[1]))
    for row, i in enumerate(dims):
        z = np.ascontiguousarray(normalized[:, i])
        for k, value_masks in enumerate(masks):
            out[row, k] = sum(mask.mean() * wasserstein_distance(z[mask], z) for mask in value_masks)
    return out


def time_ours(codes, factors, repeats: int, **kwargs) -> tuple[float, object]:
    result = wdg(codes, factors, **kwargs)  # warm-up (compiles on the first call of a process)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = wdg(codes, factors, **kwargs)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def run(n: int, repeats: int, reference_dims: int | None) -> dict:
    codes, factors = make_representation(n)
    ours_s, result = time_ours(codes, factors, repeats)
    paper_s, _ = time_ours(codes, factors, repeats, estimator="paper_code", random_state=0)

    dims = list(range(N_DIMS if reference_dims is None else min(reference_dims, N_DIMS)))
    start = time.perf_counter()
    expected = reference_rows(codes, factors, dims)
    reference_measured_s = time.perf_counter() - start
    reference_s = reference_measured_s * N_DIMS / len(dims)
    error = np.abs(result.details["dependency_matrix"][dims] - expected).max()

    print(f"n = {n:,}, d = {N_DIMS}, factor sizes {FACTOR_SIZES} (K = {len(FACTOR_SIZES)})")
    print(f"  dismetrics.wdg (exact)      : {ours_s:10.4f} s   (median of {repeats}, WDG = {result.value:.6f})")
    print(f"  dismetrics.wdg (paper_code) : {paper_s:10.4f} s")
    if len(dims) == N_DIMS:
        print(f"  scipy loop (reference)      : {reference_s:10.4f} s   (all {N_DIMS} dims)")
    else:
        print(
            f"  scipy loop (reference)      : {reference_s:10.4f} s   EXTRAPOLATED: measured "
            f"{reference_measured_s:.2f} s on {len(dims)} of {N_DIMS} dims (all factors and values), x {N_DIMS}/{len(dims)}"
        )
    print(f"  max |ours - scipy| over {len(dims) * len(FACTOR_SIZES)} (dim, factor) pairs: {error:.2e}")
    print(f"  speed-up (scipy / ours)     : {reference_s / ours_s:10.1f} x")
    print()
    note = "" if len(dims) == N_DIMS else f"reference extrapolated from {len(dims)}/{N_DIMS} dims"
    return {"benchmark": f"wdg n={n}", "ours_s": ours_s, "reference_s": reference_s, "ratio": reference_s / ours_s,
            "abs_diff": float(error), "note": note}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[12_800, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--reference-dims",
        type=int,
        default=1,
        help="code dims the scipy loop runs on for n > 100,000 (then extrapolated); 10 = all (slow)",
    )
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, numpy {np.__version__}")
    print()
    for n in args.sizes:
        run(n, args.repeats, None if n <= 100_000 else args.reference_dims)


if __name__ == "__main__":
    main()

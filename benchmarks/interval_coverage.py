"""Do "95%" intervals of a mean over repeats hold 95% of the time? And how many repeats or seeds does
a claim need?

Four tables, all from simulated values whose true mean is known (seeded, reproducible):

1. **Coverage** of the interval of the mean (``dismetrics.intervals.mean_intervals``, the code that
   ``summarize`` and the report use) for the methods ``t`` (Student's t, the default), ``bca`` and
   ``percentile`` (bootstrap, ``scipy.stats.bootstrap``), at n = 3, 5, 10 and 30 values, for four
   shapes of scores: normal; skewed (gamma, shape 2: skewness 1.4); bounded near 0 (beta(2, 38), mean
   0.05) and near 1 (beta(38, 2), mean 0.95), as scores in [0, 1] are near the ends of their range.
   Each cell is the share of trials whose interval holds the true mean, in percent. The t interval
   is cheap and gets ``--trials`` trials (default 40,000: Monte Carlo standard error 0.11 points);
   the bootstrap methods get ``--boot-trials`` (default 10,000: 0.22 points) with ``--resamples``
   resamples each (default 1,999; ``summarize`` uses 9,999, which moves coverage by less than the
   Monte Carlo error). Also the mean half-width, in units of the true std, of the normal case.
2. **Two levels**: normal scores with training-seed noise (std ``s_train``) and evaluation noise
   (std ``s_eval``), k seeds x r repeats. Coverage of the configuration's (the method's) true mean by
   the t interval over the k per-seed means (the two-stage interval of
   ``dismetrics.intervals.seed_level``) and by a t interval over all k * r values pooled as if they
   were independent (what pooling seeds and repeats into one sample gives).
3. **Power**: seeds (or repeats) per group that a two-sided two-sample t-test at alpha = 0.05 needs to
   detect a difference of d standard deviations with 80% power, from the noncentral t distribution,
   checked by simulating the test on normal values (the power reached at that n, 20,000 trials).
4. The **half-width** of the 95% t interval at n values, in units of the std: how precisely n values
   place a mean.

    python benchmarks/interval_coverage.py               # the numbers of docs/evaluate.md (~40 s on 1 core)
    python benchmarks/interval_coverage.py --boot-trials 1000 --trials 4000   # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import optimize, stats

from dismetrics.intervals import mean_intervals

REPEATS = (3, 5, 10, 30)
METHODS = ("t", "bca", "percentile")


def _normal(rng, size):
    return rng.normal(0.5, 0.1, size=size)


def _gamma(rng, size):
    return rng.gamma(2.0, 1.0, size=size)


def _near0(rng, size):
    return rng.beta(2.0, 38.0, size=size)


def _near1(rng, size):
    return rng.beta(38.0, 2.0, size=size)


#: name -> (draw(rng, size), true mean, true std)
SHAPES = {
    "normal": (_normal, 0.5, 0.1),
    "skewed (gamma k=2)": (_gamma, 2.0, np.sqrt(2.0)),
    "near 0 (beta(2,38))": (_near0, 0.05, np.sqrt(2 * 38 / (40**2 * 41))),
    "near 1 (beta(38,2))": (_near1, 0.95, np.sqrt(2 * 38 / (40**2 * 41))),
}


def coverage(shape: str, n: int, method: str, trials: int, resamples: int, seed: int) -> tuple[float, float]:
    """(coverage in percent, mean half-width in units of the true std)."""
    draw, mean, std = SHAPES[shape]
    # one stream per cell, the same draws for every method
    rng = np.random.default_rng([seed, list(SHAPES).index(shape), n])
    samples = draw(rng, (trials, n))
    low, high = mean_intervals(samples, method=method, confidence=0.95, random_state=seed, n_resamples=resamples)
    hit = (low <= mean) & (mean <= high)
    return 100.0 * hit.mean(), float(np.nanmean(high - low) / 2 / std)


def two_level_coverage(seeds: int, repeats: int, s_train: float, s_eval: float, trials: int, seed: int):
    """(two-stage t over per-seed means, pooled t over all values), coverage in percent."""
    rng = np.random.default_rng([seed, seeds, repeats, int(100 * s_eval / s_train)])
    values = rng.normal(0, s_train, size=(trials, seeds, 1)) + rng.normal(0, s_eval, size=(trials, seeds, repeats))
    low, high = mean_intervals(values.mean(axis=2), method="t")
    two_stage = 100.0 * ((low <= 0) & (0 <= high)).mean()
    low, high = mean_intervals(values.reshape(trials, seeds * repeats), method="t")
    pooled = 100.0 * ((low <= 0) & (0 <= high)).mean()
    return two_stage, pooled


def power(n: int, d: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t-test (n per group, equal variances) at effect d."""
    df = 2 * n - 2
    critical = stats.t.ppf(1 - alpha / 2, df)
    noncentrality = d * np.sqrt(n / 2)
    result = stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    if not np.isfinite(result):  # scipy's nct gives NaN far in the tail: the power is 1 to the digits shown
        result = stats.norm.sf(critical - noncentrality) + stats.norm.cdf(-critical - noncentrality)
    return float(result)


def n_for_power(d: float, target: float = 0.8, alpha: float = 0.05) -> int:
    n = 2
    while power(n, d, alpha) < target:
        n += 1
    return n


def detectable(n: int, target: float = 0.8, alpha: float = 0.05) -> float:
    """The smallest d that n per group detect with the target power."""
    return float(optimize.brentq(lambda d: power(n, d, alpha) - target, 1e-3, 50.0))


def simulated_power(n: int, d: float, trials: int, seed: int, alpha: float = 0.05) -> float:
    rng = np.random.default_rng([seed, n, int(100 * d)])
    a = rng.normal(0, 1, size=(trials, n))
    b = rng.normal(d, 1, size=(trials, n))
    p = stats.ttest_ind(a, b, axis=1).pvalue
    return float((p < alpha).mean())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40_000, help="trials per cell for the t interval")
    parser.add_argument("--boot-trials", type=int, default=10_000, help="trials per cell for bca and percentile")
    parser.add_argument("--resamples", type=int, default=1_999, help="bootstrap resamples per interval")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    print(f"## Coverage of the nominal 95% interval of the mean, percent (t: {args.trials:,} trials per cell; "
          f"bca, percentile: {args.boot_trials:,} trials, {args.resamples:,} resamples)\n")
    print("| shape | method | " + " | ".join(f"n = {n}" for n in REPEATS) + " |")
    print("|---|---|" + "---:|" * len(REPEATS))
    widths = {}
    for shape in SHAPES:
        for method in METHODS:
            trials = args.trials if method == "t" else args.boot_trials
            cells = []
            for n in REPEATS:
                percent, width = coverage(shape, n, method, trials, args.resamples, args.seed)
                cells.append(f"{percent:.1f}")
                if shape == "normal":
                    widths[(method, n)] = width
            print(f"| {shape} | {method} | " + " | ".join(cells) + " |")
    print("\nMean half-width of the interval, normal values, in units of the true std:\n")
    print("| method | " + " | ".join(f"n = {n}" for n in REPEATS) + " |")
    print("|---|" + "---:|" * len(REPEATS))
    for method in METHODS:
        print(f"| {method} | " + " | ".join(f"{widths[(method, n)]:.2f}" for n in REPEATS) + " |")

    print(f"\n## Two levels: coverage of the configuration's mean, percent (normal, {args.trials:,} trials)\n")
    print("| seeds | repeats per seed | s_eval / s_train | t over per-seed means | t over all values pooled |")
    print("|---:|---:|---:|---:|---:|")
    for seeds, repeats in [(2, 2), (3, 2), (3, 5), (5, 3), (10, 3)]:
        for ratio in (0.5, 2.0):
            two_stage, pooled = two_level_coverage(seeds, repeats, 1.0, ratio, args.trials, args.seed)
            print(f"| {seeds} | {repeats} | {ratio:g} | {two_stage:.1f} | {pooled:.1f} |")

    print("\n## Power: per group, to detect a difference of d std with 80% power "
          "(two-sided two-sample t-test, alpha = 0.05)\n")
    print("| d (difference / std) | n per group | power at that n: noncentral t | simulated (normal, 20,000 trials) |")
    print("|---:|---:|---:|---:|")
    for d in (0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0):
        n = n_for_power(d)
        print(f"| {d:g} | {n} | {power(n, d):.3f} | {simulated_power(n, d, 20_000, args.seed):.3f} |")

    print("\nPower reached with n per group, by the size d of the difference (noncentral t):\n")
    effects = (0.5, 1.0, 2.0, 3.0, 4.0)
    print("| n per group | " + " | ".join(f"d = {d:g}" for d in effects) + " | smallest d at 80% power |")
    print("|---:|" + "---:|" * (len(effects) + 1))
    for n in (2, 3, 5, 10, 20, 30):
        print(f"| {n} | " + " | ".join(f"{power(n, d):.2f}" for d in effects) + f" | {detectable(n):.2f} |")

    print("\n## Half-width of the 95% t interval, in units of the std\n")
    sizes = (2, 3, 5, 10, 20, 30, 50)
    print("| n | " + " | ".join(str(n) for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    print("| t_{0.975, n-1} / sqrt(n) | "
          + " | ".join(f"{stats.t.ppf(0.975, n - 1) / np.sqrt(n):.2f}" for n in sizes) + " |")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

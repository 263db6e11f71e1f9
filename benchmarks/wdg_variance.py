"""How much do WDG and MIG move between repeated evaluations of the same representation?

The paper (Xiao and Wang) motivates WDG as "robust to the random samples" and reports the mean and
std of 50 evaluations on n = 12,800 points. This script measures that on synthetic representations
whose structure is known: each repeat draws a fresh sample of dSprites-shaped factors (sizes 3, 6, 40,
32, 32, uniform; one row draws them from a skewed distribution instead) and fresh encoder noise, encodes it with the same fixed map, and scores it with

* MIG (20 bins, the reference setting),
* WDG, ``estimator="exact"`` (the equation, min-max normalization),
* WDG, ``estimator="paper_code"`` (the authors' released procedure, min-max normalization),
* WDG, ``estimator="exact"`` with ``normalize="std"`` and with ``normalize="rank"``.

Columns: mean and standard deviation over the repeats, and the coefficient of variation std/mean
(scale-free, so the metrics can be compared; "-" where the mean is below 0.005). The last column is the std of
``paper_code`` over 50 permutation seeds on one fixed sample: the part of its spread that comes from
the permutation alone (the exact estimator has none: it is a deterministic function of the sample).

    PYTHONPATH=. python benchmarks/wdg_variance.py            # 50 repeats, n = 12,800 (~1 min)
    PYTHONPATH=. python benchmarks/wdg_variance.py --repeats 10 --n 5000
"""

from __future__ import annotations

import argparse

import numpy as np

from dismetrics import mig, wdg

FACTOR_SIZES = np.array([3, 6, 40, 32, 32])
K = len(FACTOR_SIZES)


def _scaled(factors: np.ndarray) -> np.ndarray:
    return factors / (FACTOR_SIZES - 1.0)


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


# Each representation: (description, encode(factors, rng) -> codes (n, 10)). Fixed maps, fresh noise.
def perfect(factors, rng):
    codes = rng.normal(scale=0.05, size=(len(factors), 10))
    codes[:, :K] += _scaled(factors)
    return codes


def perfect_nonlinear(factors, rng):
    codes = perfect(factors, rng)
    codes[:, :K] = np.tanh(4.0 * (codes[:, :K] - 0.5)) + 0.1 * np.exp(3.0 * codes[:, :K])
    return codes


def rotated_pairs(factors, rng):
    codes = perfect(factors, rng)
    codes[:, 1:3] = codes[:, 1:3] @ _rotation(np.pi / 4)  # shape (6) with orientation (40)
    codes[:, 3:5] = codes[:, 3:5] @ _rotation(np.pi / 4)  # pos x with pos y
    return codes


_MIXING = np.random.default_rng(1234).normal(size=(K, 10))


def linear_mixing(factors, rng):
    return _scaled(factors) @ _MIXING + rng.normal(scale=0.05, size=(len(factors), 10))


def heavy_tailed(factors, rng):
    codes = 0.05 * rng.standard_t(3, size=(len(factors), 10))
    codes[:, :K] += _scaled(factors)
    return codes


def very_noisy(factors, rng):
    codes = rng.normal(scale=0.5, size=(len(factors), 10))
    codes[:, :K] += _scaled(factors)
    return codes


def pure_noise(factors, rng):
    return rng.normal(size=(len(factors), 10))


REPRESENTATIONS = {
    "perfect (1 dim per factor, noise 0.05, 5 noise dims)": perfect,
    "perfect, skewed factor distribution (p(u) ~ (u+1)^2)": perfect,
    "perfect, monotone nonlinear per dim": perfect_nonlinear,
    "perfect, two pairs rotated 45 deg": rotated_pairs,
    "perfect, heavy-tailed noise (Student t, 3 dof, scale 0.05)": heavy_tailed,
    "dense random linear mixing": linear_mixing,
    "1 dim per factor, noise 0.5": very_noisy,
    "pure noise": pure_noise,
}

METRICS = {
    "MIG": lambda z, v, seed: mig(z, v).value,
    "WDG exact": lambda z, v, seed: wdg(z, v).value,
    "WDG paper_code": lambda z, v, seed: wdg(z, v, estimator="paper_code", random_state=seed).value,
    "WDG exact, std": lambda z, v, seed: wdg(z, v, normalize="std").value,
    "WDG exact, rank": lambda z, v, seed: wdg(z, v, normalize="rank").value,
}


def sample(name: str, n: int, rng: np.random.Generator):
    if "skewed" in name:
        columns = []
        for m in FACTOR_SIZES:
            weights = np.arange(1, m + 1, dtype=float) ** 2
            columns.append(rng.choice(m, size=n, p=weights / weights.sum()))
        factors = np.stack(columns, axis=1)
    else:
        factors = np.stack([rng.integers(0, m, n) for m in FACTOR_SIZES], axis=1)
    return REPRESENTATIONS[name](factors, rng), factors


def study(n: int, repeats: int, seed: int) -> dict:
    table = {}
    for name in REPRESENTATIONS:
        rng = np.random.default_rng(seed)
        scores = {metric: [] for metric in METRICS}
        for r in range(repeats):
            codes, factors = sample(name, n, rng)
            for metric, score in METRICS.items():
                scores[metric].append(score(codes, factors, seed + r))
        codes, factors = sample(name, n, np.random.default_rng(seed + 10_000))
        permutation_only = [wdg(codes, factors, estimator="paper_code", random_state=s).value for s in range(repeats)]
        table[name] = {metric: np.array(values) for metric, values in scores.items()}
        table[name]["permutation_only_std"] = float(np.std(permutation_only, ddof=1))
    return table


def _cv(values: np.ndarray) -> str:
    mean = values.mean()
    return f"{values.std(ddof=1) / mean:.3f}" if abs(mean) > 5e-3 else "-"


def print_markdown(table: dict, n: int, repeats: int) -> None:
    print(f"n = {n:,} per evaluation, {repeats} repeats (fresh factors and noise each time); mean (std) [CV = std/mean]")
    print()
    header = ["representation", *METRICS, "paper_code std, permutation only"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * len(header)) + "|")
    for name, scores in table.items():
        cells = [name]
        for metric in METRICS:
            values = scores[metric]
            cells.append(f"{values.mean():.4f} ({values.std(ddof=1):.4f}) [{_cv(values)}]")
        cells.append(f"{scores['permutation_only_std']:.4f}")
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=12_800)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print_markdown(study(args.n, args.repeats, args.seed), args.n, args.repeats)


if __name__ == "__main__":
    main()

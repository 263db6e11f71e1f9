"""The metric atlas, part B (issue 20): Chen et al.'s MIG and latte-metrics' DMIG, XMIG, DLIG, smoothness and
monotonicity, each against its source computation on the same arrays, in one run.

- chen_mig: against the source's estimator (rtqichen/beta-tcvae@1a3577d, `estimate_entropies` and
  `compute_metric_shapes`, MIT licence) transcribed below in torch as the source writes it (batches of 10
  samples, the (N, K, 10) log-density tensor, max-shifted logsumexp), run on the CPU in float64 with the same
  samples and the same sample subsets as ours.
- dmig, xmig, dlig, smoothness, monotonicity: against latte-metrics itself when it is importable (MIT;
  `pip install --no-deps --ignore-requires-python latte-metrics==0.0.1a6` into a folder given with
  `--latte-path`: its last release declares Python < 3.11 but is pure Python), else against the plain
  transcription of its definitions below (the same scikit-learn calls).

Prints one row per metric: our time, the source's time, ratio = source / ours, and the largest absolute
difference of the per-factor values. Run:

    python benchmarks/bench_atlas_b.py [--latte-path /tmp/latte_pkg] [--n 2000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

from dismetrics.metrics.chen_mig import chen_mig_from_params  # noqa: E402
from dismetrics.metrics.dlig import dlig  # noqa: E402
from dismetrics.metrics.dmig import dmig  # noqa: E402
from dismetrics.metrics.monotonicity import monotonicity  # noqa: E402
from dismetrics.metrics.smoothness import smoothness  # noqa: E402
from dismetrics.metrics.xmig import xmig  # noqa: E402


# --- Chen et al.'s estimator as the source writes it (torch) -------------------------------------------------

def source_estimate_entropies(torch, samples, params, chosen):
    """disentanglement_metrics.estimate_entropies with Normal's log_density; samples (K, N), params (N, K, 2)."""
    samples = samples.index_select(1, chosen)
    k, s = samples.size()
    n = params.size(0)
    weights = -math.log(n)
    entropies = torch.zeros(k, dtype=samples.dtype)
    normalization = math.log(2 * math.pi)
    start = 0
    while start < s:
        batch = min(10, s - start)
        sample = samples.view(1, k, s).expand(n, k, s)[:, :, start:start + batch]
        mu = params.view(n, k, 1, 2).expand(n, k, s, 2)[:, :, start:start + batch, 0]
        logsigma = params.view(n, k, 1, 2).expand(n, k, s, 2)[:, :, start:start + batch, 1]
        tmp = (sample - mu) * torch.exp(-logsigma)
        logqz_i = -0.5 * (tmp * tmp + 2 * logsigma + normalization)
        value = logqz_i + weights
        m, _ = torch.max(value, dim=0, keepdim=True)
        lse = m.squeeze(0) + torch.log(torch.sum(torch.exp(value - m), dim=0))
        entropies += -lse.sum(1)
        start += batch
    return entropies / s


def source_chen_mig(means, logvars, sizes, n_samples, seed):
    import torch

    rng = np.random.default_rng(seed)  # the same draws, in the same order, as chen_mig_from_params
    samples = means + np.exp(0.5 * logvars) * rng.standard_normal(means.shape)
    n, d = means.shape
    params = torch.from_numpy(np.stack([means, 0.5 * logvars], axis=-1))  # (N, K, 2): mu, log sigma
    qz = torch.from_numpy(samples)
    chosen = torch.from_numpy(rng.permutation(n)[:n_samples])
    marginal = source_estimate_entropies(torch, qz.t().contiguous(), params, chosen)
    grid_params = params.view(*sizes, d, 2)
    grid_samples = qz.view(*sizes, d)
    cond = torch.zeros(len(sizes), d, dtype=torch.float64)
    for k, size in enumerate(sizes):
        for i in range(size):
            p = grid_params.select(k, i).contiguous().view(-1, d, 2)
            z = grid_samples.select(k, i).contiguous().view(-1, d)
            chosen = torch.from_numpy(rng.permutation(z.size(0))[:n_samples])
            cond[k] += source_estimate_entropies(torch, z.t().contiguous(), p, chosen) / size
    mutual_infos = marginal[None] - cond
    mutual_infos = torch.sort(mutual_infos, dim=1, descending=True)[0].clamp(min=0)
    mi_normed = mutual_infos / torch.tensor(sizes, dtype=torch.float64).log()[:, None]
    return float(torch.mean(mi_normed[:, 0] - mi_normed[:, 1])), mi_normed


# --- latte's definitions, written out (used when latte is not importable) -------------------------------------

def _mi(features, target, discrete, seed):
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    estimator = mutual_info_classif if discrete else mutual_info_regression
    return estimator(features, target, random_state=seed)


def _h(a, discrete, seed):
    return _mi(a[:, None].astype(float), a, discrete, seed)[0]


def _top2(score, own):
    order = np.argsort(score)
    if order[-1] == own:
        return score[own] - score[order[-2]], order[-2]
    return score[own] - score[order[-1]], order[-1]


def plain_dmig(z, a, reg_dim=None, discrete=False, seed=0):
    reg = list(range(a.shape[1])) if reg_dim is None else list(reg_dim)
    out = []
    for i in range(a.shape[1]):
        gap, other = _top2(_mi(z, a[:, i], discrete, seed), reg[i])
        den = _h(a[:, i], discrete, seed)
        if other in reg:
            den -= _mi(a[:, i : i + 1].astype(float), a[:, reg.index(other)], discrete, seed)[0]
        out.append(gap / den)
    return np.array(out)


def plain_xmig(z, a, reg_dim=None, discrete=False, seed=0):
    reg = list(range(a.shape[1])) if reg_dim is None else list(reg_dim)
    free = [d for d in range(z.shape[1]) if d not in reg]
    return np.array([(s[reg[i]] - s[free].max()) / _h(a[:, i], discrete, seed)
                     for i in range(a.shape[1]) for s in [_mi(z, a[:, i], discrete, seed)]])


def plain_dlig(z, a, reg_dim=None, discrete=False, seed=0):
    reg = list(range(a.shape[1])) if reg_dim is None else list(reg_dim)
    out = []
    for i, d in enumerate(reg):
        scores = np.array([_mi(z[:, d : d + 1], a[:, l], discrete, seed)[0] for l in range(a.shape[1])])
        gap, other = _top2(scores, i)
        out.append(gap / (_h(a[:, i], discrete, seed)
                          - _mi(a[:, i : i + 1].astype(float), a[:, other], discrete, seed)[0]))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latte-path", default=None, help="a folder holding the latte package (optional)")
    parser.add_argument("--n", type=int, default=2000, help="samples for the latte gaps")
    parser.add_argument("--grid", default="4,10,12,8", help="factor sizes of the chen_mig grid")
    parser.add_argument("--dims", type=int, default=6)
    parser.add_argument("--n-samples", type=int, default=2000, help="chen_mig samples per entropy")
    args = parser.parse_args()
    rows = []

    # chen_mig on a random Gaussian encoder over a full grid
    sizes = [int(s) for s in args.grid.split(",")]
    rng = np.random.default_rng(0)
    grid = np.array(list(np.ndindex(*sizes)), dtype=float)
    means = grid @ rng.normal(size=(len(sizes), args.dims)) / np.asarray(sizes)[:, None].mean() \
        + 0.2 * rng.normal(size=(grid.shape[0], args.dims))
    logvars = rng.uniform(-4.0, -1.0, size=means.shape)
    chen_mig_from_params(means[:12], logvars[:12], [3, 4], random_state=0)  # compile the kernel first
    ours_s, ours = best_time(lambda: chen_mig_from_params(means, logvars, sizes, n_samples=args.n_samples,
                                                          random_state=1), repeats=2)
    ref_s, (ref_value, ref_normed) = best_time(lambda: source_chen_mig(means, logvars, sizes, args.n_samples, 1),
                                               repeats=1)
    normed = np.sort(ours.details["normalized_mi"], axis=0)[::-1].T
    rows.append({"metric": f"chen_mig grid={sizes} d={args.dims} n_samples={args.n_samples}", "ours_s": ours_s,
                 "source_s": ref_s, "ratio": ref_s / ours_s,
                 "max_abs_diff": float(max(abs(ours.value - ref_value), np.max(np.abs(normed - ref_normed.numpy())))),
                 "source": "beta-tcvae estimator in torch (cpu, float64)"})

    # latte
    latte = None
    if args.latte_path:
        sys.path.insert(0, args.latte_path)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import latte  # noqa: F811
            from latte.functional.disentanglement import mutual_info as latte_mi
            from latte.functional.interpolatability import monotonicity as latte_mono
            from latte.functional.interpolatability import smoothness as latte_smooth
    except ImportError:
        latte = None
    rng = np.random.default_rng(1)
    n = args.n
    a = rng.integers(0, 6, size=(n, 3))
    a[:, 2] = (a[:, 0] + rng.integers(0, 2, size=n)) % 6
    z = np.column_stack([a + 0.5 * rng.normal(size=(n, 3)), rng.normal(size=(n, 2)),
                         0.3 * a[:, 0] + rng.normal(size=n)])
    seed = 42
    for name, ours_fn, plain in (("dmig", dmig, plain_dmig), ("xmig", xmig, plain_xmig), ("dlig", dlig, plain_dlig)):
        for discrete in (False, True):
            if latte is not None:
                latte.seed(seed)
                source = getattr(latte_mi, name)
                label = "latte-metrics 0.0.1a6"
            else:
                source = plain
                label = "plain transcription (sklearn calls)"
            types = "discrete" if discrete else "continuous"
            ours_s, result = best_time(lambda: ours_fn(z, a, factor_types=types, random_state=seed), repeats=1)
            kwargs = {"discrete": discrete} if latte is not None else {"discrete": discrete, "seed": seed}
            ref_s, expected = best_time(lambda: source(z, a, **kwargs), repeats=1)
            rows.append({"metric": f"{name} n={n} factor_types={types}", "ours_s": ours_s, "source_s": ref_s,
                         "ratio": ref_s / ours_s,
                         "max_abs_diff": float(np.max(np.abs(result.details[f"{name}_per_factor"] - expected))),
                         "source": label})

    steps = np.linspace(-1.0, 1.0, 21)
    zt = steps * rng.uniform(0.5, 2.0, size=(n, 5, 1)) + rng.normal(size=(n, 5, 1))
    at = np.stack([np.tanh(2 * zt[:, 2]), zt[:, 0] ** 3 - zt[:, 0], np.sin(3 * zt[:, 3])], axis=1)
    at = at + 0.01 * rng.normal(size=at.shape)
    if latte is not None:
        for name, ours_fn, source in (("smoothness", smoothness, latte_smooth.smoothness),
                                      ("monotonicity", monotonicity, latte_mono.monotonicity)):
            ours_s, result = best_time(lambda: ours_fn(zt, at), repeats=5)
            ref_s, expected = best_time(lambda: source(zt, at), repeats=5)
            rows.append({"metric": f"{name} traversals={n}x3x21", "ours_s": ours_s, "source_s": ref_s,
                         "ratio": ref_s / ours_s,
                         "max_abs_diff": float(np.nanmax(np.abs(result.details[f"{name}_per_factor"] - expected))),
                         "source": "latte-metrics 0.0.1a6"})
    else:
        print("latte is not importable: smoothness and monotonicity are compared in tests/test_atlas_latte_interp.py "
              "against the written-out definition; give --latte-path to time them against latte.")
    print_table(rows, ["metric", "ours_s", "source_s", "ratio", "max_abs_diff", "source"])
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()

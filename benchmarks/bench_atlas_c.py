"""The metric atlas, part C (issue 20): downstream task, SEPIN/INDIN, UDR, fairness, each against its
source computation on the same arrays, printing the time ratio (source / ours) and the agreement.

Sources, re-typed here as they compute (disentanglement_lib is Apache-2.0 but needs TensorFlow and gin;
Do & Tran's code carries no licence, so its estimator is written from the paper's description):

* downstream task: disentanglement_lib `downstream_task.py` (`_compute_loss` with
  `LogisticRegressionCV(Cs=10, cv=KFold(5))` / `GradientBoostingClassifier()`), one fit per size and factor;
* SEPIN/INDIN: the sampling estimator computed as the authors' GPU code does it, on the CPU with numpy:
  blocks of 10 samples, densities (not log densities) multiplied over dims, one product per left-out dim;
* UDR: `compute_udr_sklearn` after the representations are drawn (StandardScaler, Lasso(alpha=0.1), loops);
* fairness: `compute_fairness` (sklearn GradientBoostingClassifier, one encoding per sensitive value).

Run:  python benchmarks/bench_atlas_c.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

from dismetrics.data import FactorGrid  # noqa: E402
from dismetrics.metrics.downstream_task import downstream_task  # noqa: E402
from dismetrics.metrics.fairness import fairness, inter_group_fairness  # noqa: E402
from dismetrics.metrics.sepin_indin import posterior_information  # noqa: E402
from dismetrics.metrics.udr import udr  # noqa: E402


def source_downstream(codes, factors, codes_test, factors_test, sizes, predictor):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    out = []
    for size in sizes:
        row = []
        for k in range(factors.shape[1]):
            if predictor == "logistic_regression_cv":
                model = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5), scoring="accuracy")
            else:
                model = GradientBoostingClassifier()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(codes[:size], factors[:size, k])
            row.append(np.mean(model.predict(codes_test) == factors_test[:, k]))
        out.append(row)
    return np.array(out)


def source_sepin(mean, logvar, n_samples, seed, batch=10, eps=1e-8):
    rng = np.random.default_rng(seed)
    n, d = mean.shape
    std = np.exp(0.5 * logvar)
    rows = rng.integers(0, n, size=n_samples)
    z = mean[rows] + std[rows] * rng.standard_normal((n_samples, d))

    def density(x, mu, sd):
        return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))

    def robust_prod(x, axis):
        return np.exp(np.sum(np.log(np.maximum(x, eps)), axis=axis))

    h_zi, h_zi_x, h_not, h_not_x = (np.zeros(d) for _ in range(4))
    h_z = h_z_x = 0.0
    for start in range(0, n_samples, batch):
        zb = z[start:start + batch]
        own = density(zb, mean[rows[start:start + batch]], std[rows[start:start + batch]])
        every = density(zb[None], mean[:, None], std[:, None])
        h_zi_x -= np.sum(np.log(np.maximum(own, eps)), axis=0)
        h_zi -= np.sum(np.log(np.maximum(np.mean(every, axis=0), eps)), axis=0)
        for i in range(d):
            others = [j for j in range(d) if j != i]
            h_not_x[i] -= np.sum(np.log(np.maximum(robust_prod(own[:, others], -1), eps)))
            h_not[i] -= np.sum(np.log(np.maximum(np.mean(robust_prod(every[:, :, others], -1), axis=0), eps)))
        h_z_x -= np.sum(np.log(np.maximum(robust_prod(own, -1), eps)))
        h_z -= np.sum(np.log(np.maximum(np.mean(robust_prod(every, -1), axis=0), eps)))
    mi_z = max((h_z - h_z_x) / n_samples, 0)
    mi_not = np.maximum((h_not - h_not_x) / n_samples, 0)
    return mi_z - mi_not


def source_udr(reps, kls):
    from sklearn.linear_model import Lasso
    from sklearn.preprocessing import StandardScaler

    reps = [StandardScaler().fit_transform(r) * np.greater(k, 0.01) for r, k in zip(reps, kls)]
    masks = [k > 0.01 for k in kls]
    m = len(reps)
    scores = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i != j:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    matrix = np.abs(Lasso(alpha=0.1).fit(reps[i], reps[j]).coef_).T[masks[i]][:, masks[j]]
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.nanmean(np.nan_to_num(np.max(matrix, 0) ** 2 / np.sum(matrix, 0), nan=0.0))
                    y = np.nanmean(np.nan_to_num(np.max(matrix, 1) ** 2 / np.sum(matrix, 1), nan=0.0))
                scores[i, j] = (x + y) / 2
    return np.array([np.median(np.delete(scores[:, i], i)) for i in range(m)])


def source_fairness(representation, sampler, n_train, per_class, seed):
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(seed)
    sizes = sampler.factor_sizes
    k_count = len(sizes)
    ys = sampler.sample_factors(n_train, rng)
    mus = representation(sampler.sample_observations_from_factors(ys, rng))
    rng.integers(0, 2**31 - 1)
    mean_f = np.zeros((k_count, k_count))
    for i in range(k_count):
        model = GradientBoostingClassifier().fit(mus, ys[:, i])
        for j in range(k_count):
            if i == j:
                continue
            original = sampler.sample_factors(per_class, rng)
            counts = np.zeros((sizes[i], sizes[j]), dtype=np.int64)
            for c in range(sizes[j]):
                intervened = np.copy(original)
                intervened[:, j] = c
                predictions = model.predict(representation(sampler.sample_observations_from_factors(intervened, rng)))
                counts[:, c] = np.bincount(predictions, minlength=sizes[i])
            mean_f[i, j] = inter_group_fairness(counts)[0]
    return np.mean([np.mean([mean_f[i, j] for j in range(k_count) if j != i]) for i in range(k_count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    rng = np.random.default_rng(0)
    rows = []

    # Downstream task: 3 factors (3, 6, 10 values), 10 dims.
    n, n_test = int(1000 * scale), int(1000 * scale)
    factors = np.column_stack([rng.integers(0, m, n + n_test) for m in (3, 6, 10)])
    codes = factors @ rng.standard_normal((3, 10)) + 0.5 * rng.standard_normal((n + n_test, 10))
    split = dict(codes_test=codes[n:], factors_test=factors[n:], shuffle=False)
    sizes = tuple(s for s in (10, 100, 1000) if s <= n)
    for predictor, label in (("logistic_regression_cv", "downstream LR"), ("gradient_boosting", "downstream GBT")):
        ours_s, ours = best_time(lambda: downstream_task(codes[:n], factors[:n], predictor=predictor, train_sizes=sizes,
                                                         **split), repeats=1)
        ref_s, ref = best_time(lambda: source_downstream(codes[:n], factors[:n], codes[n:], factors[n:], sizes, predictor),
                               repeats=1)
        diff = np.abs(ours.details["test_accuracy_per_factor"] - ref).max()
        rows.append({"benchmark": f"{label} n={n}/{n_test} sizes={sizes}", "ours_s": ours_s, "reference_s": ref_s,
                     "ratio": ref_s / ours_s, "note": f"max |accuracy diff| {diff:.4f}"})
        if predictor == "logistic_regression_cv":
            # The same fits: ours differ only by one BLAS thread; the source given one thread too.
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                ref1_s, _ = best_time(lambda: source_downstream(codes[:n], factors[:n], codes[n:], factors[n:], sizes,
                                                                predictor), repeats=1)
            rows.append({"benchmark": f"{label}, source with 1 BLAS thread", "ours_s": ours_s, "reference_s": ref1_s,
                         "ratio": ref1_s / ours_s, "note": "the same scikit-learn fits"})

    # SEPIN / INDIN: N observations, S samples, d dims.
    big_n, samples, d = int(2000 * scale), int(2000 * scale), 6
    x = rng.standard_normal((big_n, 3))
    mean = np.column_stack([x, x[:, :2] @ rng.standard_normal((2, 2)), 0.1 * rng.standard_normal(big_n)])
    logvar = np.log(rng.uniform(0.02, 0.3, size=(big_n, d)))
    ours_s, ours = best_time(lambda: posterior_information(mean, logvar, n_samples=samples, random_state=1), repeats=1)
    ref_s, ref = best_time(lambda: source_sepin(mean, logvar, samples, 1), repeats=1)
    rows.append({"benchmark": f"sepin/indin N={big_n} S={samples} d={d}", "ours_s": ours_s, "reference_s": ref_s,
                 "ratio": ref_s / ours_s, "note": f"max |SEPIN_i diff| {np.abs(ours['sepin_per_dim'] - ref).max():.2e}"})

    # UDR: M models on the same n inputs.
    models, n_udr = 6, int(1000 * scale)
    truth = rng.standard_normal((n_udr, 5))
    reps = [np.column_stack([truth @ (np.eye(5) + rng.uniform(0, 1) * rng.standard_normal((5, 5))),
                             0.05 * rng.standard_normal((n_udr, 5))]) for _ in range(models)]
    kls = [np.r_[rng.uniform(0.5, 3, 5), rng.uniform(0, 0.02, 5)] for _ in range(models)]
    ours_s, ours = best_time(lambda: udr(reps, kl_per_model=kls), repeats=3)
    ref_s, ref = best_time(lambda: source_udr(reps, kls), repeats=3)
    rows.append({"benchmark": f"udr lasso M={models} n={n_udr} d=10", "ours_s": ours_s, "reference_s": ref_s,
                 "ratio": ref_s / ours_s, "note": f"max |score diff| {np.abs(ours.details['model_scores'] - ref).max():.1e}"})

    # Fairness: 3 factors (3, 4, 5 values), a lossy code.
    sampler = FactorGrid([3, 4, 5], observe=lambda f: np.tanh(f @ np.array([[1, .3, 0], [0, 1, .4], [.5, 0, 1]]).T / 3))
    representation = lambda obs: np.column_stack([obs[:, 0], obs[:, 0] ** 2])  # noqa: E731 (lossy: unfair)
    n_train, per_class = int(2000 * scale), 100
    ours_s, ours = best_time(lambda: fairness(representation, sampler, n_train=n_train, n_test_points_per_class=per_class,
                                              random_state=2), repeats=1)
    ref_s, ref = best_time(lambda: source_fairness(representation, sampler, n_train, per_class, 2), repeats=1)
    rows.append({"benchmark": f"fairness numba vs sklearn n_train={n_train} per_class={per_class}", "ours_s": ours_s,
                 "reference_s": ref_s, "ratio": ref_s / ours_s, "note": f"value {ours.value:.4f} vs {ref:.4f}"})

    print(f"load average {os.getloadavg()}")
    print_table(rows, ["benchmark", "ours_s", "reference_s", "ratio", "note"])


if __name__ == "__main__":
    main()

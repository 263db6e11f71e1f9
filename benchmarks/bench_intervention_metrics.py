"""FactorVAE and beta-VAE scores: dismetrics (stacked, chunked encoding) vs disentanglement_lib's loop.

The reference below re-implements disentanglement_lib's ``factor_vae.py`` and ``beta_vae.py``
procedure faithfully: a ``RandomState``, factors drawn one column at a time with ``randint`` (as its
``SplitDiscreteStateSpace`` does), the representation called on one batch of 64 observations per vote
(FactorVAE: 15,000 calls + the variance sample in batches of 64; beta-VAE: 30,000 calls), sklearn's
``LogisticRegression`` with today's defaults. Both run at the reference sizes (batch 64, 10,000 train,
5,000 eval, 10,000 points for the variances) on a grid with dSprites' factor sizes (3, 6, 40, 32, 32)
and a cheap 10-dim numpy representation (the 5 factors scaled to [0, 1] with noise, plus 5
pure-noise dims), so the timing measures the metric's own machinery.

Run:  PYTHONPATH=. python benchmarks/bench_intervention_metrics.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dismetrics import beta_vae_score, factor_vae_score
from dismetrics.data import FactorGrid

DSPRITES_SIZES = [3, 6, 40, 32, 32]
DSPRITES_NAMES = ["shape", "scale", "orientation", "x", "y"]


def make_representation(seed: int = 0):
    """10 dims: factors / (size - 1) + N(0, 0.4^2) noise (so the scores sit below 1), then 5 N(0, 1) noise dims."""
    rng = np.random.default_rng(seed)
    scale = 1.0 / (np.asarray(DSPRITES_SIZES, dtype=np.float64) - 1.0)

    def representation(observations):
        x = np.asarray(observations, dtype=np.float64) * scale
        n = x.shape[0]
        return np.concatenate([x + 0.4 * rng.standard_normal(x.shape), rng.standard_normal((n, 5))], axis=1)

    return representation


# ---- the reference: disentanglement_lib's procedure, one batch per call ------------------------------


class ReferenceGroundTruthData:
    """disentanglement_lib's GroundTruthData interface over the same grid."""

    def __init__(self, sampler):
        self.sampler = sampler
        self.factor_sizes = list(sampler.factor_sizes)

    @property
    def num_factors(self):
        return len(self.factor_sizes)

    def sample_factors(self, num, random_state):
        factors = np.zeros(shape=(num, self.num_factors), dtype=np.int64)
        for pos, size in enumerate(self.factor_sizes):
            factors[:, pos] = random_state.randint(size, size=num)
        return factors

    def sample_observations_from_factors(self, factors, random_state):
        return self.sampler.sample_observations_from_factors(factors, None)

    def sample_observations(self, num, random_state):
        return self.sample_observations_from_factors(self.sample_factors(num, random_state), random_state)


def obtain_representation(observations, representation_function, batch_size):
    representations = None
    num_points = observations.shape[0]
    i = 0
    while i < num_points:
        num_points_iter = min(num_points - i, batch_size)
        current_observations = observations[i : i + num_points_iter]
        if i == 0:
            representations = representation_function(current_observations)
        else:
            representations = np.vstack((representations, representation_function(current_observations)))
        i += num_points_iter
    return np.transpose(representations)


def reference_factor_vae(ground_truth_data, representation_function, random_state, batch_size=64,
                         num_train=10000, num_eval=5000, num_variance_estimate=10000, threshold=0.05):
    def compute_variances(num, eval_batch_size=64):
        observations = ground_truth_data.sample_observations(num, random_state)
        representations = obtain_representation(observations, representation_function, eval_batch_size)
        representations = np.transpose(representations)
        assert representations.shape[0] == num
        return np.var(representations, axis=0, ddof=1)

    def generate_training_sample(global_variances, active_dims):
        factor_index = random_state.randint(ground_truth_data.num_factors)
        factors = ground_truth_data.sample_factors(batch_size, random_state)
        factors[:, factor_index] = factors[0, factor_index]
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        representations = representation_function(observations)
        local_variances = np.var(representations, axis=0, ddof=1)
        argmin = np.argmin(local_variances[active_dims] / global_variances[active_dims])
        return factor_index, argmin

    def generate_training_batch(num_points, global_variances, active_dims):
        votes = np.zeros((ground_truth_data.num_factors, global_variances.shape[0]), dtype=np.int64)
        for _ in range(num_points):
            factor_index, argmin = generate_training_sample(global_variances, active_dims)
            votes[factor_index, argmin] += 1
        return votes

    global_variances = compute_variances(num_variance_estimate)
    active_dims = np.sqrt(global_variances) >= threshold
    if not active_dims.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    training_votes = generate_training_batch(num_train, global_variances, active_dims)
    classifier = np.argmax(training_votes, axis=0)
    other_index = np.arange(training_votes.shape[1])
    train_accuracy = np.sum(training_votes[classifier, other_index]) * 1.0 / np.sum(training_votes)
    eval_votes = generate_training_batch(num_eval, global_variances, active_dims)
    eval_accuracy = np.sum(eval_votes[classifier, other_index]) * 1.0 / np.sum(eval_votes)
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy, "num_active_dims": len(active_dims)}


def reference_beta_vae(ground_truth_data, representation_function, random_state, batch_size=64,
                       num_train=10000, num_eval=5000):
    from sklearn import linear_model

    def generate_training_sample():
        index = random_state.randint(ground_truth_data.num_factors)
        factors1 = ground_truth_data.sample_factors(batch_size, random_state)
        factors2 = ground_truth_data.sample_factors(batch_size, random_state)
        factors2[:, index] = factors1[:, index]
        observation1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
        observation2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
        representation1 = representation_function(observation1)
        representation2 = representation_function(observation2)
        feature_vector = np.mean(np.abs(representation1 - representation2), axis=0)
        return index, feature_vector

    def generate_training_batch(num_points):
        points = None
        labels = np.zeros(num_points, dtype=np.int64)
        for i in range(num_points):
            labels[i], feature_vector = generate_training_sample()
            if points is None:
                points = np.zeros((num_points, feature_vector.shape[0]))
            points[i, :] = feature_vector
        return points, labels

    train_points, train_labels = generate_training_batch(num_train)
    model = linear_model.LogisticRegression(random_state=random_state)
    model.fit(train_points, train_labels)
    train_accuracy = np.mean(model.predict(train_points) == train_labels)
    eval_points, eval_labels = generate_training_batch(num_eval)
    eval_accuracy = model.score(eval_points, eval_labels)
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy}


# ---- the run -----------------------------------------------------------------------------------


def best_of(repeats, func):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - start)
    return min(times), value


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (the best is reported)")
    parser.add_argument("--reference-repeats", type=int, default=1, help="timing repeats of the slow reference")
    args = parser.parse_args(argv)
    rows = []

    sampler = FactorGrid(DSPRITES_SIZES, factor_names=DSPRITES_NAMES)
    reference_data = ReferenceGroundTruthData(sampler)
    print(f"grid {DSPRITES_SIZES}, 10-dim numpy representation, reference sizes (batch 64, 10000 train, "
          f"5000 eval, 10000 variance points); cpu_count={os.cpu_count()}")
    print(f"{'metric':<12} {'ours s':>9} {'reference s':>12} {'speed-up':>9}   {'ours score':>10} {'ref score':>10}")

    cases = [
        (
            "factor_vae",
            lambda: factor_vae_score(make_representation(1), sampler, random_state=0, progress=False),
            lambda: reference_factor_vae(reference_data, make_representation(1), np.random.RandomState(0)),
        ),
        (
            "beta_vae",
            lambda: beta_vae_score(make_representation(1), sampler, random_state=0, progress=False),
            lambda: reference_beta_vae(reference_data, make_representation(1), np.random.RandomState(0)),
        ),
    ]
    for name, ours, reference in cases:
        ours()  # warm-up (imports)
        ours_s, ours_result = best_of(args.repeats, ours)
        ref_s, ref_result = best_of(args.reference_repeats, reference)
        print(
            f"{name:<12} {ours_s:9.3f} {ref_s:12.3f} {ref_s / ours_s:8.1f}x   "
            f"{ours_result.value:10.4f} {ref_result['eval_accuracy']:10.4f}"
        )
        rows.append({"benchmark": f"{name} score, reference sizes", "ours_s": ours_s, "reference_s": ref_s,
                     "ratio": ref_s / ours_s, "note": f"score {ours_result.value:.4f} vs reference loop {ref_result['eval_accuracy']:.4f}"})
        if name == "factor_vae":
            print(f"{'':<12} active dims: ours {ours_result.details['num_active_dims']} "
                  f"(reference reports {ref_result['num_active_dims']}, the length of its mask)")
    return rows


if __name__ == "__main__":
    main()

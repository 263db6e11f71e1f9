"""beta-VAE score (Higgins et al., ICLR 2017), as run by disentanglement_lib."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._validation import check_choice, check_positive_int, check_random_state
from ..result import MetricResult
from ._fit import fit_to_max_iter
from ._intervention import (
    DEFAULT_CHUNK_SIZE,
    check_sizes,
    describe_seed,
    encode_groups,
    factor_names_of,
    prepare,
    resolve_factor_subset,
)
from .presets import preset_params
from .registry import MetricSpec, register_metric

__all__ = ["beta_vae_score"]

LOGISTIC_CHOICES = ("lbfgs", "liblinear_ovr")


def _draw_points(sampler, subset: np.ndarray, n_points: int, batch_size: int, rng: np.random.Generator):
    """Labels (n_points,) and factor groups (n_points, 2 * batch_size, K): two batches sharing factor k."""
    labels = subset[rng.integers(0, subset.size, size=n_points)]
    first = sampler.sample_factors(n_points * batch_size, rng).reshape(n_points, batch_size, -1)
    second = sampler.sample_factors(n_points * batch_size, rng).reshape(n_points, batch_size, -1)
    rows = np.arange(n_points)
    second[rows, :, labels] = first[rows, :, labels]
    return labels, np.concatenate([first, second], axis=1)


def _make_classifier(logistic: str, max_iter: int, seed: int):
    from sklearn.linear_model import LogisticRegression

    if logistic == "lbfgs":
        # sklearn >= 0.22 default: lbfgs, multinomial loss (what disentanglement_lib gives today).
        return LogisticRegression(solver="lbfgs", C=1.0, max_iter=max_iter, random_state=seed)
    # sklearn <= 0.21 default, what the published study ran: liblinear, one-vs-rest.
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(LogisticRegression(solver="liblinear", C=1.0, max_iter=max_iter, random_state=seed))


def beta_vae_score(
    representation,
    sampler,
    *,
    factors: Sequence | None = None,
    preset: str = "disentanglement_lib",
    batch_size: int | None = None,
    n_train: int | None = None,
    n_eval: int | None = None,
    logistic: str | None = None,
    max_iter: int | None = None,
    random_state=0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
    encoding: str = "auto",
) -> MetricResult:
    r"""beta-VAE score: accuracy of a linear classifier that tells which factor was held fixed.

    One training point: draw a factor k uniformly (from `factors`), two batches of `batch_size`
    factor vectors from the grid, copy factor k of the first batch into the second, encode both
    ($z^{(1)}, z^{(2)}$) and take the feature

    $$
    f = \frac{1}{B} \sum_{b=1}^{B} \bigl| z^{(1)}_b - z^{(2)}_b \bigr| \in \mathbb{R}^d
    $$

    with label k. A logistic regression is fit on `n_train` points; the score is its accuracy on
    `n_eval` fresh points (train accuracy is in the details).

    Reference settings (`preset="disentanglement_lib"`, Locatello et al. 2019): batch 64,
    10,000 train and 5,000 eval points, `LogisticRegression` with lbfgs and the multinomial loss
    (`logistic="lbfgs"`, what disentanglement_lib gives with today's scikit-learn);
    `logistic="liblinear_ovr"` is the one-vs-rest liblinear classifier of scikit-learn <= 0.21, which
    the published study ran.

    Sizes: `batch_size` at most 10,000, `n_train` and `n_eval` at most 10 million, points x 2 x
    `batch_size` at most 50 million observations ([`dismetrics._validation`][dismetrics._validation]); codes
    so large that the features overflow float64 raise `ValueError`. The score is in [0, 1].

    Unlike the reference, which encodes the 2 x 64 observations of each point in its own call, all
    points are drawn first and the observations encoded `chunk_size` at a time; the procedure and
    its distribution are the reference's.

    Parameters
    ----------
    representation : callable, torch.nn.Module, Representation or RepresentationTable
        Observations -> codes (see
        [`dismetrics.as_representation`][dismetrics.representation.as_representation]).
    sampler : GroundTruthSampler
        The data set (factor grid and observations).
    factors : list of int or str, optional
        Restrict the factor that is held fixed to these (indices or names), e.g. all but shape for the
        4-factor variant of Rubenstein et al.; at least two. Default: all factors.
    preset : {"disentanglement_lib", "wtc_paper"}
        Source of the defaults; any parameter given here overrides its preset value.
    batch_size, n_train, n_eval : int
        Batch size of one point (64), number of train (10,000) and eval (5,000) points.
    logistic : {"lbfgs", "liblinear_ovr"}
        The classifier (see above). `max_iter` (100, scikit-learn's default) is its iteration limit.
    random_state : int, None or numpy Generator
        Seeds every draw; the same int gives bit-identical results.
    chunk_size : int
        Observations per call of the representation (rounded down to whole points, at least one).
    encoding : {"auto", "table", "direct"}, default "auto"
        Where the codes come from: `"auto"` looks them up in a representation table (each distinct
        observation encoded once; [`dismetrics.table`][dismetrics.table]) when the data set is indexed and
        encodes the drawn observations otherwise; `"table"` requires a table, `"direct"` never uses one.
        A [`RepresentationTable`][dismetrics.table.RepresentationTable] given as `representation` is used
        as is. The values are the same either way for an encoder that maps each observation on its own;
        `params["encoding"]` records which path ran.
    progress : bool or None
        Progress bar; None shows it when stderr is a terminal.

    Returns
    -------
    MetricResult
        `value` is the eval accuracy; `details` hold `train_accuracy`, `eval_accuracy`,
        `eval_accuracy_per_factor` and `factors` (the indices that were fixed).

    Examples
    --------
    A representation that is the factors themselves: the fixed factor is always told apart. Every image of
    the grid is encoded at most once (`params["encoding"]` says a table served the codes).

    >>> from dismetrics.data import FactorGrid
    >>> result = beta_vae_score(lambda x: x / 5.0, FactorGrid([4, 5, 6]), n_train=200, n_eval=100, batch_size=16)
    >>> result.value, result.params["encoding"]
    (1.0, 'table')
    """
    params = preset_params(
        preset, "beta_vae", batch_size=batch_size, n_train=n_train, n_eval=n_eval, logistic=logistic, max_iter=max_iter
    )
    batch_size, sizes = check_sizes(batch_size=params["batch_size"], minimum_batch=1, group_factor=2,
                                    n_train=(params["n_train"], 2), n_eval=(params["n_eval"], 1))
    n_train, n_eval = sizes["n_train"], sizes["n_eval"]
    logistic = check_choice(params["logistic"], name="logistic", choices=LOGISTIC_CHOICES)
    max_iter = check_positive_int(params["max_iter"], name="max_iter")
    source = prepare(representation, sampler, encoding)
    subset = resolve_factor_subset(factors, sampler, minimum=2)
    rng = check_random_state(random_state)
    classifier_seed = int(rng.integers(0, 2**31 - 1))

    def features(codes: np.ndarray) -> np.ndarray:  # (c, 2B, d) -> (c, d)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.mean(np.abs(codes[:, :batch_size] - codes[:, batch_size:]), axis=1)
        if not np.isfinite(out).all():
            raise ValueError(
                f"representation returned codes so large (|z| up to {np.abs(codes).max():.3g}) that the differences "
                "|z1 - z2| of the beta-VAE features overflow float64; rescale the representation's output."
            )
        return out

    def make_points(n_points: int, desc: str):
        labels, groups = _draw_points(sampler, subset, n_points, batch_size, rng)
        points = encode_groups(source, groups, rng, features, chunk_size=chunk_size, progress=progress, desc=desc)
        return points, labels

    train_points, train_labels = make_points(n_train, "beta-VAE train")
    if np.unique(train_labels).size < 2:
        raise ValueError(f"n_train={n_train} points drew a single factor; use more training points.")
    eval_points, eval_labels = make_points(n_eval, "beta-VAE eval")

    model = _make_classifier(logistic, max_iter, classifier_seed)
    # The reference settings (max_iter=100) often stop lbfgs early; the result is still the reference's.
    fit_to_max_iter(model, train_points, train_labels)
    train_accuracy = float(np.mean(model.predict(train_points) == train_labels))
    eval_correct = model.predict(eval_points) == eval_labels
    eval_accuracy = float(np.mean(eval_correct))
    per_factor = np.array(
        [eval_correct[eval_labels == k].mean() if np.any(eval_labels == k) else np.nan for k in subset]
    )
    names = factor_names_of(sampler)
    return MetricResult(
        name="beta_vae",
        value=eval_accuracy,
        details={
            "train_accuracy": train_accuracy,
            "eval_accuracy": eval_accuracy,
            "eval_accuracy_per_factor": per_factor,
            "factors": subset,
            "n_dims": int(train_points.shape[1]),
        },
        params={
            "preset": preset,
            "batch_size": batch_size,
            "n_train": n_train,
            "n_eval": n_eval,
            "logistic": logistic,
            "max_iter": max_iter,
            "factors": ",".join(names[k] for k in subset),
            "representation_mode": source.mode,
            "encoding": source.path,
            "random_state": describe_seed(random_state),
        },
    )


SPEC = register_metric(MetricSpec(
    name="beta_vae", func=beta_vae_score, kind="intervention", title="beta-VAE score", aliases=("beta_vae_score",),
    random=True, takes_preset=True,
    presets={
        "disentanglement_lib": {"batch_size": 64, "n_train": 10_000, "n_eval": 5_000, "logistic": "lbfgs",
                                "max_iter": 100},
        "wtc_paper": {"batch_size": 64, "n_train": 10_000, "n_eval": 5_000, "logistic": "lbfgs", "max_iter": 100},
    },
    reference="Higgins et al. 2017, as disentanglement_lib beta_vae.py", docs="beta_vae.md"))

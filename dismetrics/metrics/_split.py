"""Train/test handling shared by the metrics that fit predictors on the codes (DCI, SAP, Explicitness).

The reference (disentanglement_lib) draws 10,000 training and 5,000 test points independently.
Here the caller may give the test sample (`codes_test`, `factors_test`); when it does not, the
one sample is split at random, 2/3 train : 1/3 test (the reference ratio), and the params say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_codes, check_factors

__all__ = ["PredictorSplit", "split_for_predictors", "check_targets", "REFERENCE_TEST_FRACTION"]

REFERENCE_TEST_FRACTION = 1.0 / 3.0
FACTOR_TYPES = ("discrete", "continuous")


@dataclass(frozen=True)
class PredictorSplit:
    codes_train: np.ndarray
    factors_train: np.ndarray
    codes_test: np.ndarray
    factors_test: np.ndarray
    params: dict

    @property
    def training_part(self) -> str:
        """Where `factors_train` comes from, for messages: "" (all of `factors`) or the random split."""
        return "" if self.params.get("split") == "given" else " in the training part of the random split"


def check_factor_types(factor_types, n_factors: int) -> tuple[str, ...]:
    """`"discrete"`, `"continuous"` or a sequence of those, one per factor -> a tuple of K strings."""
    if isinstance(factor_types, str):
        types = (factor_types,) * n_factors
    else:
        try:
            types = tuple(factor_types)
        except TypeError:
            raise ValueError(f"factor_types must be 'discrete', 'continuous' or a sequence of those; got {factor_types!r}.") from None
        if len(types) != n_factors:
            raise ValueError(f"factor_types has {len(types)} entries but factors has {n_factors} columns; give one per factor.")
    for t in types:
        if t not in FACTOR_TYPES:
            raise ValueError(f"factor_types entries must be 'discrete' or 'continuous'; got {t!r}.")
    return types


def check_targets(factors, *, n_samples: int, factor_types: tuple[str, ...] | None, name: str = "factors") -> np.ndarray:
    """Factors of a predictor metric: [`check_factors`][dismetrics._validation.check_factors] with their types
    (int64 when all are discrete, otherwise float64)."""
    return check_factors(factors, n_samples=n_samples, factor_types=factor_types, name=name)


def split_for_predictors(codes, factors, codes_test, factors_test, *, rng: np.random.Generator,
                         factor_types: tuple[str, ...] | None = None, min_dims: int = 1) -> PredictorSplit:
    """Validate inputs and return the train and test parts.

    With `codes_test`/`factors_test` given, they are the test split (same number of code dims
    and factors). Without them, a random permutation from `rng` puts `round(n/3)` points in the
    test split and the rest in the training split (10,000 : 5,000 from 15,000 points).
    """
    codes = check_codes(codes, min_dims=min_dims)
    factors = check_targets(factors, n_samples=codes.shape[0], factor_types=factor_types)
    if (codes_test is None) != (factors_test is None):
        raise ValueError("give both codes_test and factors_test (a test sample), or neither (the sample is split 2/3 : 1/3).")
    if codes_test is not None:
        codes_test = check_codes(codes_test, name="codes_test", min_dims=min_dims, min_samples=1)
        if codes_test.shape[1] != codes.shape[1]:
            raise ValueError(f"codes_test has {codes_test.shape[1]} dims but codes has {codes.shape[1]}; they must be the same representation.")
        # a test factor may take a single value (a small test split)
        factors_test = check_factors(factors_test, n_samples=codes_test.shape[0], n_factors=factors.shape[1],
                                     factor_types=factor_types, require_variation=False, name="factors_test",
                                     rows_of="codes_test")
        params = {"split": "given", "n_train": codes.shape[0], "n_test": codes_test.shape[0]}
        return PredictorSplit(codes, factors, codes_test, factors_test, params)
    n = codes.shape[0]
    n_test = int(round(n * REFERENCE_TEST_FRACTION))
    if n_test < 2 or n - n_test < 2:
        raise ValueError(f"codes has {n} samples: too few to split into train and test; give at least 6, or pass codes_test/factors_test.")
    order = rng.permutation(n)
    test_rows, train_rows = np.sort(order[:n_test]), np.sort(order[n_test:])
    train_factors = factors[train_rows]
    # The training part must still have two values of every factor.
    train_factors = check_targets(train_factors, n_samples=train_rows.size, factor_types=factor_types,
                                  name="factors (training part of the random split)")
    params = {"split": "random 2/3 train : 1/3 test of the given sample", "n_train": int(train_rows.size),
              "n_test": int(test_rows.size)}
    return PredictorSplit(codes[train_rows], train_factors, codes[test_rows], factors[test_rows], params)


def encode_with_training_labels(train_column: np.ndarray, test_column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous labels 0..m-1 from the training values (sorted), the same mapping for the test values.

    A test value never seen in training gets label -1: no classifier trained on this split can
    predict it, so it counts as an error in test accuracy (as it does with sklearn, whose
    classifier predicts only its `classes_`). Returns `(train_labels, test_labels, classes)`.
    """
    classes, train_labels = np.unique(train_column, return_inverse=True)
    position = np.searchsorted(classes, test_column)
    position = np.clip(position, 0, classes.size - 1)
    seen = classes[position] == test_column
    test_labels = np.where(seen, position, -1)
    return train_labels.astype(np.int64), test_labels.astype(np.int64), classes

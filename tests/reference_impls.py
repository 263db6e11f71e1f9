"""Independent, slow reference computations the tests compare against.

These follow disentanglement_lib's procedure step by step with numpy and sklearn (one
``np.histogram`` + ``np.digitize`` per code dim, one ``sklearn.metrics.mutual_info_score`` call
per pair). They share no code with dismetrics.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mutual_info_score as sk_mutual_info


def histogram_discretize(codes: np.ndarray, bins: int) -> np.ndarray:
    """(d, n) array of bins 1..bins, exactly as disentanglement_lib's ``_histogram_discretize``."""
    out = np.zeros((codes.shape[1], codes.shape[0]), dtype=np.int64)
    for i in range(codes.shape[1]):
        out[i] = np.digitize(codes[:, i], np.histogram(codes[:, i], bins)[1][:-1])
    return out


def discrete_mi_matrix(disc: np.ndarray, factors: np.ndarray) -> np.ndarray:
    return np.array([[sk_mutual_info(factors[:, k], disc[i]) for k in range(factors.shape[1])] for i in range(disc.shape[0])])


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    return np.array([sk_mutual_info(factors[:, k], factors[:, k]) for k in range(factors.shape[1])])


def reference_mig(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> float:
    m = discrete_mi_matrix(histogram_discretize(codes, bins), factors)
    sorted_m = np.sort(m, axis=0)[::-1]
    return float(np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], factor_entropies(factors))))


def reference_modularity(codes: np.ndarray, factors: np.ndarray, bins: int = 20) -> float:
    m = discrete_mi_matrix(histogram_discretize(codes, bins), factors)
    squared_mi = np.square(m)
    max_squared_mi = np.max(squared_mi, axis=1)
    numerator = np.sum(squared_mi, axis=1) - max_squared_mi
    denominator = max_squared_mi * (squared_mi.shape[1] - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - numerator / denominator
    score[max_squared_mi == 0.0] = 0.0
    return float(np.mean(score))


def reference_mutual_info_score(codes: np.ndarray, bins: int = 20) -> float:
    disc = histogram_discretize(codes, bins)
    d = disc.shape[0]
    m = np.array([[sk_mutual_info(disc[i], disc[j]) for j in range(d)] for i in range(d)])
    np.fill_diagonal(m, 0)
    return float(np.sum(m) / (d**2 - d))

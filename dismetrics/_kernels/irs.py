"""Numba kernel for IRS: mean within-group quantile of the absolute deviations from the group mean.

For one factor, the sample is split into groups (points sharing the factor's discretized value);
for every code dim and group it computes `np.quantile(|z - mean_group(z)|, q)` (numpy's default
`linear` method, including its two-sided interpolation) and averages over the groups. The group
mean is accumulated row by row in the original order, as `np.mean(block, axis=0)` does.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["mean_group_quantile_deviation"]


@nb.njit(cache=True, nogil=True)
def _select(values, k):
    """Reorder `values` in place so that `values[k]` is its k-th smallest (quickselect,
    median-of-three pivot) and everything after index k is >= it."""
    low, high = 0, values.shape[0] - 1
    while high > low:
        middle = (low + high) // 2
        # median of three to the middle position
        if values[middle] < values[low]:
            values[middle], values[low] = values[low], values[middle]
        if values[high] < values[low]:
            values[high], values[low] = values[low], values[high]
        if values[high] < values[middle]:
            values[high], values[middle] = values[middle], values[high]
        pivot = values[middle]
        i, j = low, high
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if k <= j:
            high = j
        elif k >= i:
            low = i
        else:
            return


@nb.njit(cache=True, nogil=True)
def _linear_quantile(values, q):
    """np.quantile(values, q), method "linear" (numpy's interpolation formula); reorders `values`."""
    m = values.shape[0]
    position = (m - 1) * q
    below = int(np.floor(position))
    if below >= m - 1:
        return values.max()
    _select(values, below)
    a = values[below]
    b = values[below + 1 :].min()
    gamma = position - below
    difference = b - a
    if gamma >= 0.5:
        return b - difference * (1.0 - gamma)
    return a + difference * gamma


@nb.njit(cache=True, nogil=True, parallel=True)
def _group_deviation(latents, order, starts, ends, q):
    n_latents = latents.shape[1]
    n_groups = starts.shape[0]
    out = np.zeros(n_latents)
    largest = 0
    for g in range(n_groups):
        largest = max(largest, ends[g] - starts[g])
    for i in nb.prange(n_latents):
        workspace = np.empty(largest)
        total = 0.0
        for g in range(n_groups):
            start, end = starts[g], ends[g]
            size = end - start
            mean = 0.0
            for j in range(start, end):
                mean += latents[order[j], i]
            mean = mean / size
            buffer = workspace[:size]
            for j in range(start, end):
                buffer[j - start] = abs(latents[order[j], i] - mean)
            total += _linear_quantile(buffer, q)
        out[i] = total / n_groups
    return out


def mean_group_quantile_deviation(latents: np.ndarray, labels: np.ndarray, q: float) -> np.ndarray:
    """For every column of `latents` (n, L): the mean over the groups of `labels` (n,) of the
    `q`-quantile of `|z - group mean|`."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    ends = np.r_[starts[1:], sorted_labels.size]
    return _group_deviation(np.ascontiguousarray(latents, dtype=np.float64), order.astype(np.int64),
                            starts.astype(np.int64), ends.astype(np.int64), float(q))

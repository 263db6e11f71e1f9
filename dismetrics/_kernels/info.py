"""Numba kernels for the histogram metrics: discretization, contingency tables, plug-in MI.

The reference (disentanglement_lib's `_histogram_discretize` + `sklearn.metrics.mutual_info_score`)
does, for every code dim separately:

```python
edges = np.histogram(z[:, i], bins)[1]          # bins+1 equal-width edges over [min, max]
disc[:, i] = np.digitize(z[:, i], edges[:-1])   # values 1..bins
```

and then one `mutual_info_score` call per (code dim, factor) pair. Here the edges are computed with
numpy exactly as `np.histogram` computes them (`histogram_left_edges`), the digitization is a
numba loop that returns the same bin for every value (ties with an edge included), and one pass over the
sample fills every (dim, factor) contingency table at once.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._parallel import numba_threads, resolve_n_jobs

__all__ = [
    "histogram_left_edges",
    "discretize",
    "encode_factor_columns",
    "contingency_tables",
    "mutual_info_from_tables",
    "pairwise_mutual_info",
    "entropies",
    "DIGITIZE_PARALLEL_WORK",
    "TABLES_PARALLEL_WORK",
    "PAIRWISE_PARALLEL_WORK",
]

# Work sizes below which a kernel runs on one thread (`dismetrics._parallel`, "n_jobs"): where one
# thread takes about 1 ms, so that two threads save at least 0.5 ms, well above the 0.02-0.1 ms of
# starting and joining numba's OpenMP team on free cores. Measured with numba 0.68 on a 2-core x86
# machine (best of 20 runs, one thread), d = 10 code dims, K = 5 factors, 20 bins:
DIGITIZE_PARALLEL_WORK = 400_000
"""n * d: `_digitize_columns` took 0.023 ms at n*d = 1e4, 0.23 ms at 1e5, 7.9 ms at 1e6."""
TABLES_PARALLEL_WORK = 1_000_000
"""n * d * K: `_fill_tables` took 0.041 ms at n*d*K = 5e4, 0.42 ms at 5e5, 9.4 ms at 5e6."""
PAIRWISE_PARALLEL_WORK = 1_000_000
"""n * d * (d + 1) / 2: `_pairwise_mi` took 0.20 ms at 5.5e4, 0.66 ms at 5.5e5, 10 ms at 5.5e6."""


def histogram_left_edges(codes: np.ndarray, bins: int) -> np.ndarray:
    """Left edges (d, bins) of `np.histogram(codes[:, i], bins)` for every dim i.

    Reproduces numpy's `_get_outer_edges` (a constant dim gets the range [v - 0.5, v + 0.5]) and
    its `np.linspace` call, in the dtype numpy would use, so the edges are bit-identical.
    """
    lows = codes.min(axis=0)
    highs = codes.max(axis=0)
    edges = np.empty((codes.shape[1], bins), dtype=codes.dtype)
    for i in range(codes.shape[1]):
        first, last = lows[i], highs[i]
        if first == last:
            first = first - 0.5
            last = last + 0.5
        edges[i] = np.linspace(first, last, bins + 1, endpoint=True, dtype=np.result_type(first, last, codes))[:-1]
    return edges


@nb.njit(cache=True, nogil=True, parallel=True)
def _digitize_columns(codes, left_edges):
    n, d = codes.shape
    bins = left_edges.shape[1]
    out = np.empty((d, n), dtype=np.int32)
    for i in nb.prange(d):
        edges = left_edges[i]
        start = edges[0]
        width = edges[1] - edges[0] if bins > 1 else 1.0
        for j in range(n):
            x = codes[j, i]
            # First guess from the arithmetic, then corrected against the actual edges so that the
            # result is exactly np.digitize(x, edges) (= number of left edges <= x), minus one.
            guess = int((x - start) / width) if width > 0 else 0
            if guess < 0:
                guess = 0
            elif guess > bins - 1:
                guess = bins - 1
            while guess + 1 < bins and edges[guess + 1] <= x:
                guess += 1
            while guess > 0 and edges[guess] > x:
                guess -= 1
            out[i, j] = guess
    return out


def discretize(codes: np.ndarray, bins: int, *, n_jobs=None) -> np.ndarray:
    """Histogram-discretize every code dim: an int32 array (d, n) of bin indices 0..bins-1.

    `discretize(z, b)[i] + 1 == np.digitize(z[:, i], np.histogram(z[:, i], b)[1][:-1])` exactly.
    One thread per dim, at most `n_jobs` (`dismetrics._parallel.resolve_n_jobs`), one thread below
    `DIGITIZE_PARALLEL_WORK`; the result does not depend on it.
    """
    threads = resolve_n_jobs(n_jobs, work=codes.shape[0] * codes.shape[1], parallel_work=DIGITIZE_PARALLEL_WORK,
                             idle_only=True)
    with numba_threads(threads):
        return _digitize_columns(codes, histogram_left_edges(codes, bins))


def encode_factor_columns(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map each factor column to contiguous labels 0..m_k-1 (in sorted value order).

    Returns `(labels, sizes)`: labels is int32 (K, n), sizes the number of distinct values of each
    factor. Non-negative columns of moderate range use a bincount lookup (O(n)); others `np.unique`.
    """
    n, k_count = factors.shape
    labels = np.empty((k_count, n), dtype=np.int32)
    sizes = np.empty(k_count, dtype=np.int64)
    for k in range(k_count):
        column = factors[:, k]
        low, high = int(column.min()), int(column.max())
        if high - low <= 4 * n + 1024:
            present = np.bincount(column - low, minlength=high - low + 1) > 0
            lookup = np.cumsum(present) - 1
            labels[k] = lookup[column - low]
            sizes[k] = int(present.sum())
        else:
            _, inverse = np.unique(column, return_inverse=True)
            labels[k] = inverse.reshape(-1)
            sizes[k] = int(inverse.max()) + 1
    return labels, sizes


@nb.njit(cache=True, nogil=True, parallel=True)
def _fill_tables(disc, labels, offsets, bins, total_values):
    d, n = disc.shape
    k_count = labels.shape[0]
    tables = np.zeros((d, bins * total_values), dtype=np.int64)
    for i in nb.prange(d):
        row = disc[i]
        table = tables[i]
        for j in range(n):
            b = row[j]
            for k in range(k_count):
                table[(offsets[k] + labels[k, j]) * bins + b] += 1
    return tables


def contingency_tables(disc: np.ndarray, labels: np.ndarray, sizes: np.ndarray, bins: int, *,
                       n_jobs=None) -> list[np.ndarray]:
    """All (dim, factor) contingency tables in one pass over the sample.

    Returns a list over factors k of int64 arrays (d, m_k, bins): `tables[k][i, u, b]` counts the
    points with `labels[k] == u` and `disc[i] == b`. One thread per dim, at most `n_jobs`, one thread
    below `TABLES_PARALLEL_WORK`; the result does not depend on it.
    """
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    d, n = disc.shape
    threads = resolve_n_jobs(n_jobs, work=n * d * labels.shape[0], parallel_work=TABLES_PARALLEL_WORK,
                             idle_only=True)
    with numba_threads(threads):
        flat = _fill_tables(disc, labels, offsets, bins, int(sizes.sum()))
    d = disc.shape[0]
    return [
        flat[:, offsets[k] * bins : (offsets[k] + sizes[k]) * bins].reshape(d, int(sizes[k]), bins)
        for k in range(len(sizes))
    ]


@nb.njit(cache=True, nogil=True)
def _mutual_info_table(table):
    """Plug-in MI (nats) of a 2-D count table, term by term as sklearn's mutual_info_score."""
    rows, cols = table.shape
    row_sums = np.zeros(rows, dtype=np.int64)
    col_sums = np.zeros(cols, dtype=np.int64)
    total = 0
    for r in range(rows):
        for c in range(cols):
            v = table[r, c]
            row_sums[r] += v
            col_sums[c] += v
            total += v
    nonzero_rows = 0
    for r in range(rows):
        if row_sums[r] > 0:
            nonzero_rows += 1
    nonzero_cols = 0
    for c in range(cols):
        if col_sums[c] > 0:
            nonzero_cols += 1
    # sklearn returns exactly 0 when either labelling has a single class.
    if nonzero_rows <= 1 or nonzero_cols <= 1:
        return 0.0
    log_total = np.log(total)
    eps = np.finfo(np.float64).eps
    mi = 0.0
    for r in range(rows):
        for c in range(cols):
            v = table[r, c]
            if v == 0:
                continue
            p = v / total
            outer = row_sums[r] * col_sums[c]
            term = p * (np.log(v) - log_total) + p * (-np.log(outer) + log_total + log_total)
            if abs(term) < eps:
                term = 0.0
            mi += term
    return max(mi, 0.0)


@nb.njit(cache=True, nogil=True)
def _mi_matrix(tables_flat, d, sizes, bins):
    k_count = sizes.shape[0]
    out = np.zeros((d, k_count))
    offset = 0
    for k in range(k_count):
        m = sizes[k]
        for i in range(d):
            out[i, k] = _mutual_info_table(tables_flat[i, offset * bins : (offset + m) * bins].reshape(m, bins))
        offset += m
    return out


def mutual_info_from_tables(tables: list[np.ndarray]) -> np.ndarray:
    """The (d, K) matrix of plug-in MI values from `contingency_tables`' output."""
    d = tables[0].shape[0]
    sizes = np.array([t.shape[1] for t in tables], dtype=np.int64)
    bins = tables[0].shape[2]
    flat = np.concatenate([t.reshape(d, -1) for t in tables], axis=1)
    return _mi_matrix(np.ascontiguousarray(flat), d, sizes, bins)


@nb.njit(cache=True, nogil=True)
def _entropy_of_labels(labels, size):
    counts = np.zeros(size, dtype=np.int64)
    for j in range(labels.shape[0]):
        counts[labels[j]] += 1
    n = labels.shape[0]
    # H = MI(v, v): the diagonal contingency table, evaluated with the same formula as sklearn.
    table = np.zeros((size, size), dtype=np.int64)
    for u in range(size):
        table[u, u] = counts[u]
    return _mutual_info_table(table) if n > 0 else 0.0


def entropies(labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Plug-in entropy (nats) of every label row, as `mutual_info_score(v, v)`."""
    return np.array([_entropy_of_labels(labels[k], int(sizes[k])) for k in range(labels.shape[0])])


@nb.njit(cache=True, nogil=True, parallel=True)
def _pairwise_mi(disc, bins):
    d, n = disc.shape
    out = np.zeros((d, d))
    for i in nb.prange(d):
        for j in range(i, d):
            table = np.zeros((bins, bins), dtype=np.int64)
            for s in range(n):
                table[disc[i, s], disc[j, s]] += 1
            out[i, j] = _mutual_info_table(table)
    for i in range(d):
        for j in range(i):
            out[i, j] = out[j, i]
    return out


def pairwise_mutual_info(disc: np.ndarray, bins: int, *, n_jobs=None) -> np.ndarray:
    """The symmetric (d, d) matrix of plug-in MI between discretized code dims.

    One thread per row, at most `n_jobs`, one thread below `PAIRWISE_PARALLEL_WORK`; the result does
    not depend on it.
    """
    d, n = disc.shape
    threads = resolve_n_jobs(n_jobs, work=n * d * (d + 1) // 2, parallel_work=PAIRWISE_PARALLEL_WORK,
                             idle_only=True)
    with numba_threads(threads):
        return _pairwise_mi(disc, bins)

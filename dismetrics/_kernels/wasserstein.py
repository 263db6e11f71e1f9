"""Numba kernels for 1-D Wasserstein-1 distances between empirical distributions (WDG).

For two 1-D samples with empirical CDFs F and G, W1 = integral of |F(x) - G(x)| dx, and both CDFs are
step functions that only change at sample values, so the integral is an exact finite sum over the
gaps between consecutive sorted values. Tied values give gaps of width zero, so ties need no special
handling: the sum is exact whatever order tied values are visited in.

The WDG kernel needs W1 between the conditional sample {z_i : v_k = u} of every value u of a factor
and the marginal sample of all n codes, for every (dim i, factor k). Written naively that is one merge
per value u, O(n m_k) per pair. Here each dim is sorted once, and one pass over the sorted values per
(dim, factor) does it in O(n + m_k):

* On the sorted values s_0 <= ... <= s_{n-1}, the marginal ECDF is F = (t + 1) / n on the gap
  [s_t, s_{t+1}), and the conditional ECDF of value u is F_u = c_u(t) / n_u, where c_u(t) counts the
  points of value u among the first t + 1.
* c_u is constant between two consecutive points of value u (a *segment*), while F increases; so on a
  segment |F_u - F| changes sign at most once, at an index found in O(1) with integer arithmetic, and
  the integral over the segment is two differences of prefix integrals:
  `s_t` itself (the integral of 1) and `H_t` = integral of F from s_0 to s_t (compensated sum).
* The pass keeps, for every value u, its running count and the start of its current segment; each
  point closes exactly one segment (that of its own value), so all values are integrated at once.

Memory per dim: the order, the sorted values and their prefix integral (O(n)), the labels gathered
into sorted order (K small integers per point, so each factor's pass reads them sequentially), plus
O(m_k) per factor; nothing n x n.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "w1_sorted",
    "marginal_cdf_integral",
    "sort_labels",
    "average_ranks_sorted",
    "conditional_marginal_w1",
    "exact_dependency_row",
    "paired_permutation_w1",
    "paper_code_dependency_row",
]


@nb.njit(cache=True, nogil=True)
def w1_sorted(x, y):
    """Exact W1 between two sorted 1-D samples of any sizes (float64, non-empty)."""
    nx = x.shape[0]
    ny = y.shape[0]
    i = 0
    j = 0
    cx = 0
    cy = 0
    total = 0.0
    prev = x[0] if x[0] < y[0] else y[0]
    # On the gap that ends at the next value, the CDF difference is (cx/nx - cy/ny); its numerator
    # cx*ny - cy*nx is an exact integer.
    while i < nx or j < ny:
        if j >= ny or (i < nx and x[i] <= y[j]):
            value = x[i]
            take_x = True
        else:
            value = y[j]
            take_x = False
        diff = cx * ny - cy * nx
        if diff < 0:
            diff = -diff
        total += (value - prev) * float(diff)
        prev = value
        if take_x:
            cx += 1
            i += 1
        else:
            cy += 1
            j += 1
    return total / (float(nx) * float(ny))


@nb.njit(cache=True, nogil=True)
def marginal_cdf_integral(s):
    """`H[t]` = integral from s[0] to s[t] of the ECDF of the sorted sample `s` (Neumaier sum)."""
    n = s.shape[0]
    out = np.empty(n)
    out[0] = 0.0
    acc = 0.0
    comp = 0.0
    for t in range(n - 1):
        term = (s[t + 1] - s[t]) * ((t + 1) / n)
        updated = acc + term
        if abs(acc) >= abs(term):
            comp += (acc - updated) + term
        else:
            comp += (term - updated) + acc
        acc = updated
        out[t + 1] = acc + comp
    return out


@nb.njit(cache=True, nogil=True)
def _segment_integral(s, cdf_integral, a, b, count, n_value, n):
    """Sum over gaps t = a..b of (s[t+1] - s[t]) * |count / n_value - (t + 1) / n|."""
    # The sign of count/n_value - (t+1)/n flips at the first t with (t+1)*n_value >= count*n.
    # Decide with exact integer comparisons; divide (float estimate, then corrected exactly) only
    # when the flip falls strictly inside the segment.
    num = count * n
    if (a + 1) * n_value >= num:
        flip = a
    elif (b + 1) * n_value < num:
        flip = b + 1
    else:
        flip = np.int64(num / n_value) - 1
        while (flip + 1) * n_value < num:
            flip += 1
        while flip > a and flip * n_value >= num:
            flip -= 1
    level = count / n_value
    above = level * (s[flip] - s[a]) - (cdf_integral[flip] - cdf_integral[a])
    below = (cdf_integral[b + 1] - cdf_integral[flip]) - level * (s[b + 1] - s[flip])
    return above + below


@nb.njit(cache=True, nogil=True)
def sort_labels(order, labels_by_point):
    """Gather the (n, K) labels of the points into sorted order: (K, n), one pass, one row read per point."""
    n = order.shape[0]
    k_count = labels_by_point.shape[1]
    out = np.empty((k_count, n), dtype=labels_by_point.dtype)
    for t in range(n):
        j = order[t]
        for k in range(k_count):
            out[k, t] = labels_by_point[j, k]
    return out


@nb.njit(cache=True, nogil=True)
def average_ranks_sorted(s):
    """Average ranks (1-based; tied values share the mean of their ranks) of a sorted sample, mapped
    to [0, 1] by (rank - 1) / (n - 1): the values of `scipy.stats.rankdata(method="average")`."""
    n = s.shape[0]
    out = np.empty(n)
    t = 0
    scale = 1.0 / (n - 1) if n > 1 else 0.0
    while t < n:
        end = t + 1
        while end < n and s[end] == s[t]:
            end += 1
        # Ranks t+1..end (1-based) share their mean (t + 1 + end) / 2; minus 1 gives (t + end - 1) / 2.
        shared = 0.5 * (t + end - 1) * scale
        for p in range(t, end):
            out[p] = shared
        t = end
    return out


@nb.njit(cache=True, nogil=True)
def conditional_marginal_w1(s, cdf_integral, sorted_labels, value_counts, out):
    """W1 between each value's conditional sample and the marginal sample, for one (dim, factor).

    `s` is the dim sorted, `cdf_integral` its `marginal_cdf_integral`, `sorted_labels`
    the factor's labels 0..m-1 of the points in that sorted order, `value_counts` (m,) the number of
    points of each value. Writes W1(q(z | v = u), q(z)) into `out[u]` (0 for a value with no points).
    """
    n = s.shape[0]
    m = value_counts.shape[0]
    counts = np.zeros(m, dtype=np.int64)
    start = np.zeros(m, dtype=np.int64)
    for u in range(m):
        out[u] = 0.0
    for t in range(n):
        u = sorted_labels[t]
        c = counts[u]
        a = start[u]
        if t - 1 >= a:
            out[u] += _segment_integral(s, cdf_integral, a, t - 1, c, value_counts[u], n)
        counts[u] = c + 1
        start[u] = t
    for u in range(m):
        a = start[u]
        if value_counts[u] > 0 and a <= n - 2:
            out[u] += _segment_integral(s, cdf_integral, a, n - 2, counts[u], value_counts[u], n)


@nb.njit(cache=True, nogil=True)
def exact_dependency_row(s, order, labels_by_point, value_counts, offsets):
    """One code dim's row of I_W: sum_u (n_u / n) W1(q(z_i | v_k = u), q(z_i)) for every factor k.

    `s` the sorted dim and `order` its argsort, `labels_by_point` (n, K) int32 labels,
    `value_counts` the concatenated per-value counts of all factors, `offsets` (K + 1,) where
    factor k's counts start and end.
    """
    n = s.shape[0]
    k_count = labels_by_point.shape[1]
    row = np.zeros(k_count)
    cdf_integral = marginal_cdf_integral(s)
    sorted_labels = sort_labels(order, labels_by_point)
    for k in range(k_count):
        counts = value_counts[offsets[k] : offsets[k + 1]]
        w1 = np.empty(counts.shape[0])
        conditional_marginal_w1(s, cdf_integral, sorted_labels[k], counts, w1)
        total = 0.0
        for u in range(counts.shape[0]):
            total += (counts[u] / n) * w1[u]
        row[k] = total
    return row


@nb.njit(cache=True, nogil=True)
def paired_permutation_w1(s, sorted_labels, permuted_sorted_labels, value_counts, out):
    """The authors' released estimator for one (dim, factor): W1(z[v = u], z[perm][v = u]) per value u.

    `z[perm]` is an independently permuted copy of the dim; restricted to the points of value u it
    is a same-size draw without replacement from the marginal. Both samples have n_u points, so W1
    is the mean of |sorted differences|. `sorted_labels[t]` is the label of the point holding the
    t-th smallest value of z, `permuted_sorted_labels[t]` that of the point holding the t-th smallest
    value of z[perm]; bucketing the sorted values by label gives each value's two samples sorted.
    """
    n = s.shape[0]
    m = value_counts.shape[0]
    begin = np.zeros(m + 1, dtype=np.int64)
    for u in range(m):
        begin[u + 1] = begin[u] + value_counts[u]
    fill_x = begin[:m].copy()
    fill_y = begin[:m].copy()
    xs = np.empty(n)
    ys = np.empty(n)
    for t in range(n):
        u = sorted_labels[t]
        xs[fill_x[u]] = s[t]
        fill_x[u] += 1
        u = permuted_sorted_labels[t]
        ys[fill_y[u]] = s[t]
        fill_y[u] += 1
    for u in range(m):
        total = 0.0
        for p in range(begin[u], begin[u + 1]):
            total += abs(xs[p] - ys[p])
        out[u] = total / value_counts[u] if value_counts[u] > 0 else 0.0


@nb.njit(cache=True, nogil=True)
def paper_code_dependency_row(s, order, perm, labels_by_point, value_counts, offsets):
    """One code dim's row of the authors' estimate: unweighted mean over values of the paired W1.

    `perm` (n,): point j of the permuted copy holds the value of point `perm[j]`.
    """
    n = s.shape[0]
    k_count = labels_by_point.shape[1]
    rank = np.empty(n, dtype=np.int64)
    for t in range(n):
        rank[order[t]] = t
    # Point j holds z[perm[j]], whose position in the sorted dim is rank[perm[j]].
    permuted_order = np.empty(n, dtype=np.int64)
    for j in range(n):
        permuted_order[rank[perm[j]]] = j
    sorted_labels = sort_labels(order, labels_by_point)
    permuted_sorted_labels = sort_labels(permuted_order, labels_by_point)
    row = np.zeros(k_count)
    for k in range(k_count):
        counts = value_counts[offsets[k] : offsets[k + 1]]
        w1 = np.empty(counts.shape[0])
        paired_permutation_w1(s, sorted_labels[k], permuted_sorted_labels[k], counts, w1)
        total = 0.0
        present = 0
        for u in range(counts.shape[0]):
            if counts[u] > 0:
                total += w1[u]
                present += 1
        row[k] = total / present
    return row

"""Numba kernels: sklearn's gradient boosting (`GradientBoostingClassifier` / `Regressor`), re-implemented.

The reference DCI fits `GradientBoostingClassifier()` (100 stages of depth-3 regression trees,
learning rate 0.1) once per factor and reads its impurity-based `feature_importances_`. sklearn grows
every tree depth-first with exact thresholds; each node sorts its samples once per feature, which makes
the reference take minutes at 10,000 points. The algorithm implemented here is the same, step by step:

1. initial raw prediction: the log prior of each class, centred (`log(clip(p_k, eps, 1 - eps))` minus
   its mean over classes, sklearn's symmetric multinomial link); the logit of the positive class for two
   classes; the mean for regression;
2. per stage, the negative gradient `r = y_k - p_k` (softmax / sigmoid of the raw prediction; `y - raw`
   for squared error), computed once for all of the stage's trees;
3. per class a regression tree on `r`: a node with at least 2 samples and variance above machine epsilon
   is split at the (feature, threshold) maximizing `S_l^2 / n_l + S_r^2 / n_r` (sklearn's squared-error
   proxy), over thresholds between consecutive distinct values (`x_{(p)} > x_{(p-1)} + 1e-7` in float32,
   sklearn's `FEATURE_THRESHOLD`), the threshold being `x_{(p-1)}/2 + x_{(p)}/2`; the samples are
   float32, as sklearn casts them; depth at most `max_depth`;
4. leaf values: one Newton step `(K - 1)/K * sum(r) / sum(p (1 - p))` (multiclass),
   `sum(r) / sum(p (1 - p))` (two classes), 0 where the denominator is below 1e-150; the leaf mean for
   regression; the raw prediction moves by `learning_rate` times the leaf value;
5. importance of feature j: the sum over all trees of the weighted impurity decrease
   `n_t v_t - n_l v_l - n_r v_r` of the nodes split on j (`v` the node variance), normalized to
   sum 1 (sklearn divides every tree by n and averages the trees with a split: the same after
   normalization).

Where this differs from sklearn: the trees are grown level by level (one pass over each feature's global
sort order per level instead of a sort per node: the same splits, since a node's split depends only on
its own samples), sums are accumulated in another order (rounding differs in the last bits, which can
flip a near-tie), and when two features give exactly the same proxy the winner is drawn from the
given random keys (sklearn visits the features in a random order per node and keeps the first best).

Layout and speed (each step gives the numbers of the plain per-node, per-class scan, bit for bit):
- the per-class arrays of the classifier (raw predictions, probabilities, one-hot targets) are class-major,
  `(T, n)`, so every per-class pass (negative gradient, leaf values, prediction update) and the softmax run
  over contiguous rows, each sample's arithmetic in the order of a per-sample loop;
- the root is scanned in each feature's global sort order; below it, each node is a segment of a stable
  partition of the sort order (`_partition`), scanned on its own with its running sums and its best so far
  in registers (`_scan_node`);
- the first pass over a node's samples runs four features at once (four independent chains of additions)
  and keeps, per block of BLOCK positions, the least and greatest centred sum `S_l - n_l * mean`; from
  them a bound on the block's proxies skips most blocks whole, and a division-free screen most of the
  remaining candidates (`_scan_blocks`; both let through every candidate that could win or tie);
- the partition copies the split feature's own row (already in order) and moves the others branch-free;
- the test points of a depth-3 tree (the reference's) take seven independent comparisons and three
  selections each (`_route_depth_three`);
- a stage's trees are independent given the stage's probabilities: `fit_classes` fits a range of them,
  so threads can share a stage (`dismetrics._kernels.boosting_threads`); each tree's impurity decreases
  are kept and added to the importance in the serial order afterwards (`add_importance`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["sort_columns", "boost_classifier", "boost_regressor", "n_tree_nodes", "prepare", "workspace", "start_classifier",
           "start_regressor", "probabilities", "fit_classes", "fit_regression_stage", "add_importance",
           "normalized"]

FEATURE_THRESHOLD = np.float32(1e-7)
EPSILON = np.finfo(np.float64).eps
SAFE_DIVIDE_BELOW = 1e-150
PROXY_MARGIN = 1e-12
"""Relative margin of the screens of the scans (their rounding errors are below 1e-15)."""
BLOCK = 32
"""Positions per block of a scan's block screen (`_scan_blocks`)."""
CENTRED_SLACK = 1e-13
"""Relative widening of the greatest centred sum `|D_l|` of a block in the block screen (`_scan_blocks`):
the rounding of `S_l - n_l * mean` is below 4 ulps of `|D_l| + n_l |mean|`, about 1e-15 of it."""

# rows of a `best` array (one column per node): the best candidate split found so far
PROXY, KEY, THRESHOLD, N_LEFT, S_LEFT, SS_LEFT = 0, 1, 2, 3, 4, 5
BEST_FIELDS = 6


def n_tree_nodes(max_depth: int) -> int:
    """Nodes of a complete binary tree of depth `max_depth` (heap layout: children of m are 2m+1, 2m+2)."""
    return 2 ** (max_depth + 1) - 1


def sort_columns(x32: np.ndarray) -> np.ndarray:
    """Per column, the stable argsort of the samples, `(d, n)` int32 (one contiguous row per column: the
    root's scan order), shared by every tree of every fit on these samples."""
    if x32.shape[0] >= 2**31:
        raise ValueError(f"the boosting kernel indexes samples with int32; {x32.shape[0]:,} samples are too many")
    return np.ascontiguousarray(np.argsort(x32, axis=0, kind="stable").T.astype(np.int32))


@nb.njit(cache=True, nogil=True, inline="always")
def _takes_over(proxy, j, key, proxy_best, feature_best, key_best):
    """The split rule: a larger proxy, or an equal one on another feature with a smaller random key
    (sklearn visits the features in a random order per node and keeps the first best)."""
    return proxy > proxy_best or (proxy == proxy_best and feature_best != j and key < key_best)


@nb.njit(cache=True, nogil=True)
def _block_sums_two(rows, target, ja, jb, lo, hi, mean, sums):
    """Pass 1 of the scans of features ja and jb of the node `rows[j, lo:hi]` (rows 0 and 1 of `sums`; a lone
    feature passes ja == jb): per block of BLOCK positions (from lo + 1), the running sum `S_l` at its first
    position (`sums[0, row, block]`, bit for bit the sum `_scan_blocks` starts from: the same additions in
    the same order) and the least and greatest centred sum `D_l = S_l - n_l * mean` over its positions
    (`sums[1 / 2, row, block]`; `n_l` the count left of the position, `mean` the node's). The two features'
    chains of additions are independent, so the processor overlaps them (one feature's pass is bound by
    the latency of its one addition per sample)."""
    s_a = target[rows[ja, lo]]
    s_b = target[rows[jb, lo]]
    block = 0
    for start in range(lo + 1, hi, BLOCK):
        stop = min(start + BLOCK, hi)
        count = np.float64(start - lo)
        shift = count * mean
        sums[0, 0, block] = s_a
        sums[0, 1, block] = s_b
        low_a = high_a = s_a - shift
        low_b = high_b = s_b - shift
        for q in range(start, stop - 1):
            count += 1.0
            shift = count * mean
            s_a += target[rows[ja, q]]
            s_b += target[rows[jb, q]]
            low_a = min(low_a, s_a - shift)
            high_a = max(high_a, s_a - shift)
            low_b = min(low_b, s_b - shift)
            high_b = max(high_b, s_b - shift)
        sums[1, 0, block], sums[2, 0, block] = low_a, high_a
        sums[1, 1, block], sums[2, 1, block] = low_b, high_b
        s_a += target[rows[ja, stop - 1]]
        s_b += target[rows[jb, stop - 1]]
        block += 1


@nb.njit(cache=True, nogil=True)
def _block_sums_four(rows, target, j, lo, hi, mean, sums):
    """`_block_sums_two` of features j..j+3 (rows 0..3) in one pass: four independent chains of additions
    (the pass is bound by the latency of the additions, not by their number)."""
    s_a = target[rows[j, lo]]
    s_b = target[rows[j + 1, lo]]
    s_c = target[rows[j + 2, lo]]
    s_d = target[rows[j + 3, lo]]
    block = 0
    for start in range(lo + 1, hi, BLOCK):
        stop = min(start + BLOCK, hi)
        count = np.float64(start - lo)
        shift = count * mean
        sums[0, 0, block] = s_a
        sums[0, 1, block] = s_b
        sums[0, 2, block] = s_c
        sums[0, 3, block] = s_d
        low_a = high_a = s_a - shift
        low_b = high_b = s_b - shift
        low_c = high_c = s_c - shift
        low_d = high_d = s_d - shift
        for q in range(start, stop - 1):
            count += 1.0
            shift = count * mean
            s_a += target[rows[j, q]]
            s_b += target[rows[j + 1, q]]
            s_c += target[rows[j + 2, q]]
            s_d += target[rows[j + 3, q]]
            low_a = min(low_a, s_a - shift)
            high_a = max(high_a, s_a - shift)
            low_b = min(low_b, s_b - shift)
            high_b = max(high_b, s_b - shift)
            low_c = min(low_c, s_c - shift)
            high_c = max(high_c, s_c - shift)
            low_d = min(low_d, s_d - shift)
            high_d = max(high_d, s_d - shift)
        sums[1, 0, block], sums[2, 0, block] = low_a, high_a
        sums[1, 1, block], sums[2, 1, block] = low_b, high_b
        sums[1, 2, block], sums[2, 2, block] = low_c, high_c
        sums[1, 3, block], sums[2, 3, block] = low_d, high_d
        s_a += target[rows[j, stop - 1]]
        s_b += target[rows[j + 1, stop - 1]]
        s_c += target[rows[j + 2, stop - 1]]
        s_d += target[rows[j + 3, stop - 1]]
        block += 1


@nb.njit(cache=True, nogil=True)
def _scan_blocks(columns, rows, target, j, lo, hi, n_node, s_node, mean, reciprocal, floor, sums, row):
    """Pass 2: feature j's first best candidate in the node `rows[j, lo:hi]` among those whose proxy can
    reach `floor` (the node's best over the earlier features): `(proxy, threshold, n_left, s_left)`,
    proxy -1.0 when there is none.

    A candidate is a sample whose value is above the previous one's by more than FEATURE_THRESHOLD; its
    proxy `S_l^2 / n_l + S_r^2 / n_r`. Two screens, each letting through every candidate that could win or
    tie, so the result is the plain scan's, bit for bit:
    - per block: the proxy is `S^2 / n + D_l^2 (1/n_l + 1/n_r)` with the centred sum `D_l = S_l - n_l S / n`
      (an identity), so `S^2 / n + max D_l^2 * max (1/n_l + 1/n_r)` bounds every proxy in the block: the
      greatest `|D_l|` from its least and greatest (`_block_sums_two`), widened by far more than their rounding
      (CENTRED_SLACK), and `1/n_l + 1/n_r`, convex in `n_l`, greatest at an end of the block. A block whose
      bound is below the cutoff (PROXY_MARGIN below the best so far) is skipped whole. Most blocks are,
      also in the nodes whose residuals are nearly constant (where a bound from `S_l` alone lets every
      block through): the scan costs about the first pass;
    - per candidate: `S_l^2 (1/n_l) + S_r^2 (1/n_r)` from tabulated reciprocals, within a few ulps of the
      proxy (both terms are non-negative); below the cutoff, skipped; every other candidate is evaluated
      exactly, with the two divisions.
    (Written out in one function: the candidate code as a function called per sample made the scan 7x
    slower.)"""
    size = hi - lo
    best = -1.0
    best_threshold = best_n_left = best_s_left = 0.0
    cutoff = floor * (1.0 - PROXY_MARGIN)
    base = s_node * mean
    block = 0
    for start in range(lo + 1, hi, BLOCK):
        stop = min(start + BLOCK, hi)
        first, last_count = start - lo, stop - 1 - lo
        largest = max(-sums[1, row, block], sums[2, row, block])  # the greatest |D_l| (least <= greatest)
        largest += CENTRED_SLACK * (largest + 2.0 * last_count * abs(mean))
        spread = max(reciprocal[first] + reciprocal[size - first], reciprocal[last_count] + reciprocal[size - last_count])
        bound = base + largest * largest * spread
        if bound * (1.0 + PROXY_MARGIN) >= cutoff:
            s_left = sums[0, row, block]
            last = columns[j, rows[j, start - 1]]
            for q in range(start, stop):
                i = rows[j, q]
                v = columns[j, i]
                if v > last + FEATURE_THRESHOLD:
                    count = q - lo
                    s_right = s_node - s_left
                    if s_left * s_left * reciprocal[count] + s_right * s_right * reciprocal[size - count] >= cutoff:
                        n_left = np.float64(count)
                        proxy = s_left * s_left / n_left + s_right * s_right / (n_node - n_left)
                        if proxy > best:
                            best, best_n_left, best_s_left = proxy, n_left, s_left
                            best_threshold = np.float64(last) / 2.0 + np.float64(v) / 2.0
                            cutoff = max(floor, proxy) * (1.0 - PROXY_MARGIN)
                s_left += target[i]
                last = v
        block += 1
    return best, best_threshold, best_n_left, best_s_left


@nb.njit(cache=True, nogil=True, inline="always")
def _merge(best, best_feature, m, j, key, proxy, threshold, n_left, s_left):
    """Make feature j's first best candidate node m's best if `_takes_over` says so. Taking each feature's
    first best and merging them in feature order gives the split of one scan over the features in turn."""
    if proxy >= 0.0 and _takes_over(proxy, j, key, best[PROXY, m], best_feature[m], best[KEY, m]):
        best[PROXY, m] = proxy
        best_feature[m] = j
        best[KEY, m] = key
        best[THRESHOLD, m] = threshold
        best[N_LEFT, m] = n_left
        best[S_LEFT, m] = s_left


@nb.njit(cache=True, nogil=True)
def _scan_node(columns, rows, target, lo, hi, n_node, s_node, node_keys, reciprocal, m, best, best_feature, sums):
    """The best split of node `m`, whose samples are `rows[j, lo:hi]` in feature j's sorted order (the root:
    every sample in the global sort order; below it, the node's segment of the stable partition).

    The plain scan visits the features in turn, each one's samples in order, and a candidate (a value above
    the previous one by more than FEATURE_THRESHOLD) replaces the node's best by `_takes_over` on its
    proxy `S_l^2 / n_l + S_r^2 / n_r`. The same result here: per feature its first best candidate among
    those that can reach the best so far (`_scan_blocks`, after the block sums of `_block_sums_four` /
    `_block_sums_two`, four or two features per pass), merged in feature order (`_merge`); the sum of
    squares `SS_l` of the winner recomputed afterwards over its samples, in the scan's order. Same splits
    as the plain scan, bit for bit. `sums` is a `(3, 4, blocks)` buffer."""
    d = rows.shape[0]
    mean = s_node / n_node
    j = 0
    while j < d:
        if d - j >= 4:
            _block_sums_four(rows, target, j, lo, hi, mean, sums)
            width = 4
        else:  # two features, or the last one alone (computed twice, in two chains at once)
            _block_sums_two(rows, target, j, min(j + 1, d - 1), lo, hi, mean, sums)
            width = min(2, d - j)
        for row in range(width):
            proxy, threshold, n_left, s_left = _scan_blocks(columns, rows, target, j + row, lo, hi, n_node, s_node,
                                                            mean, reciprocal, best[PROXY, m], sums, row)
            _merge(best, best_feature, m, j + row, node_keys[j + row], proxy, threshold, n_left, s_left)
        j += width
    _winner_sum_of_squares(rows, target, lo, best, best_feature, m)


@nb.njit(cache=True, nogil=True)
def _winner_sum_of_squares(rows, target, lo, best, best_feature, m):
    """`SS_l` of node m's best split: the squares of its left samples summed in the scan's order."""
    j = best_feature[m]
    if j >= 0:
        ss_left = 0.0
        for q in range(lo, lo + np.int64(best[N_LEFT, m])):
            t = target[rows[j, q]]
            ss_left += t * t
        best[SS_LEFT, m] = ss_left


@nb.njit(cache=True, nogil=True)
def _partition(source, out, goes_right, lo, hi, n_left, split_feature):
    """Stable partition of the segment `lo:hi` of every row of `source` into `out`: the samples with
    `goes_right` 0 first (`n_left` of them), then the others, each part keeping its order (branch-free;
    `goes_right` is a uint8 per sample, so it stays in the fastest cache). The row of the feature split
    on is copied: in its own sorted order the left samples are already the first `n_left` (their values
    are at most the threshold's lower neighbour, the others at least its upper one)."""
    for j in range(source.shape[0]):
        if j == split_feature:
            out[j, lo:hi] = source[j, lo:hi]
            continue
        at_left = lo
        at_right = lo + n_left
        for q in range(lo, hi):
            i = source[j, q]
            right = np.int64(goes_right[i])
            out[j, at_left + (at_right - at_left) * right] = i
            at_left += 1 - right
            at_right += right


@nb.njit(cache=True, nogil=True)
def _grow_tree(x, columns, order, target, max_depth, keys, reciprocal, ws):
    """Grow one regression tree on `target` in the buffers of `ws` (`workspace`): fill `node_of` (leaf of
    each sample), `feature` (-1 at leaves), `threshold`, and `decrease` (the impurity decrease
    `n_t v_t - n_l v_l - n_r v_r` of each split node).

    Level by level: the root is scanned in the global sort order `order`; below it every node holds one
    segment `seg_lo[m]:seg_hi[m]` of `part` (int32 `(d, n)`, the same offsets in every feature's row), the
    stable partition of the sort order by node, so each node is scanned on its own (`_scan_node`).
    `columns` is `x` transposed, `(d, n)`."""
    _, node_of, feature, threshold, decrease, part, part_next, best, best_feature, _, _, _, sums, _, goes_right = ws
    n, d = x.shape
    n_nodes = feature.shape[0]
    node_n = np.zeros(n_nodes)
    node_s = np.zeros(n_nodes)
    node_ss = np.zeros(n_nodes)
    seg_lo = np.zeros(n_nodes, dtype=np.int64)
    seg_hi = np.zeros(n_nodes, dtype=np.int64)
    for m in range(n_nodes):
        feature[m] = -1
        threshold[m] = 0.0
    for i in range(n):
        node_of[i] = 0
        node_n[0] += 1.0
        node_s[0] += target[i]
        node_ss[0] += target[i] * target[i]
    seg_hi[0] = n
    splittable = np.zeros(n_nodes, dtype=np.bool_)
    for depth in range(max_depth):
        first = 2**depth - 1
        last = 2 ** (depth + 1) - 1
        any_splittable = False
        for m in range(first, last):
            splittable[m] = False
            if node_n[m] >= 2.0:
                mean = node_s[m] / node_n[m]
                if node_ss[m] / node_n[m] - mean * mean > EPSILON:
                    splittable[m] = True
                    any_splittable = True
            best[PROXY, m] = -np.inf
            best_feature[m] = -1
        if not any_splittable:
            break
        for m in range(first, last):
            if splittable[m]:
                _scan_node(columns, order if depth == 0 else part, target, seg_lo[m], seg_hi[m], node_n[m], node_s[m],
                           keys[m], reciprocal, m, best, best_feature, sums)
        for m in range(first, last):
            j = best_feature[m]
            if not splittable[m] or j < 0 or best[THRESHOLD, m] == np.inf:
                # a leaf: no candidate split (every feature's values within FEATURE_THRESHOLD of each other in
                # this node). Its samples stay here; it must not take part in the scans of deeper levels.
                splittable[m] = False
                continue
            feature[m] = j
            threshold[m] = best[THRESHOLD, m]
            left, right = 2 * m + 1, 2 * m + 2
            node_n[left], node_s[left], node_ss[left] = best[N_LEFT, m], best[S_LEFT, m], best[SS_LEFT, m]
            node_n[right] = node_n[m] - best[N_LEFT, m]
            node_s[right] = node_s[m] - best[S_LEFT, m]
            node_ss[right] = node_ss[m] - best[SS_LEFT, m]
            seg_lo[left] = seg_lo[m]
            seg_hi[left] = seg_lo[right] = seg_lo[m] + np.int64(best[N_LEFT, m])
            seg_hi[right] = seg_hi[m]
            variance = node_ss[m] / node_n[m] - (node_s[m] / node_n[m]) ** 2
            variance_left = node_ss[left] / node_n[left] - (node_s[left] / node_n[left]) ** 2
            variance_right = node_ss[right] / node_n[right] - (node_s[right] / node_n[right]) ** 2
            decrease[m] = node_n[m] * variance - node_n[left] * variance_left - node_n[right] * variance_right
        for i in range(n):
            m = node_of[i]
            j = feature[m]
            if j >= 0:
                right = np.int64(np.float64(x[i, j]) > threshold[m])
                node_of[i] = 2 * m + 1 + right
                goes_right[i] = right
        if depth + 1 < max_depth:  # the next level scans its nodes' segments: partition the split ones
            for m in range(first, last):
                if splittable[m]:
                    _partition(order if depth == 0 else part, part_next, goes_right, seg_lo[m], seg_hi[m],
                               np.int64(best[N_LEFT, m]), feature[m])
            part, part_next = part_next, part


@nb.njit(cache=True, nogil=True)
def prepare(x):
    """What every tree of a fit on `x` `(n, d)` float32 reads besides the sort order: `x` transposed
    `(d, n)` (each feature's values in one row, gathered by sample during the scans) and the reciprocals
    `1 / c` of the counts `c = 1..n` (index 0 unused) for the screen."""
    n, d = x.shape
    columns = np.empty((d, n), dtype=np.float32)
    for i in range(n):
        for j in range(d):
            columns[j, i] = x[i, j]
    reciprocal = np.zeros(n + 1)
    for c in range(1, n + 1):
        reciprocal[c] = 1.0 / c
    return columns, reciprocal


@nb.njit(cache=True, nogil=True)
def workspace(n, d, n_nodes, n_test):
    """The buffers one thread needs to grow trees: the residual of a tree `(n,)`, the leaf of each sample
    (int32: read by every partition, it stays in the fastest cache),
    the tree (feature, threshold, impurity decrease per node), the two int32 `(d, n)` partitions of the
    sort order, the best split of each node (`best` `(BEST_FIELDS, n_nodes)`, `best_feature`), the sums,
    weights and values of the leaves, the block sums of the scans (`_block_sums_two`), the node of each of
    the `n_test` test points, and which side of its node's split each sample went (for `_partition`)."""
    return (np.empty(n), np.empty(n, dtype=np.int32), np.empty(n_nodes, dtype=np.int64), np.empty(n_nodes),
            np.zeros(n_nodes), np.empty((d, n), dtype=np.int32), np.empty((d, n), dtype=np.int32),
            np.empty((BEST_FIELDS, n_nodes)), np.empty(n_nodes, dtype=np.int64), np.empty(n_nodes), np.empty(n_nodes),
            np.empty(n_nodes), np.empty((3, 4, n // BLOCK + 1)), np.empty(n_test, dtype=np.int64),
            np.empty(n, dtype=np.uint8))


@nb.njit(cache=True, nogil=True)
def probabilities(raw, out, top, total):
    """Softmax over the classes (rows of `raw`, (T, n)) for every sample; one row: the sigmoid.
    Class by class over contiguous rows, with each sample's operations in the order of a per-sample
    loop (its maximum, then its exponentials and their sum in class order, then the division)."""
    t_count, n = raw.shape
    if t_count == 1:
        for i in range(n):
            out[0, i] = 1.0 / (1.0 + np.exp(-raw[0, i]))
        return
    for i in range(n):
        top[i] = raw[0, i]
        total[i] = 0.0
    for k in range(1, t_count):
        for i in range(n):
            top[i] = max(top[i], raw[k, i])
    for k in range(t_count):
        for i in range(n):
            out[k, i] = np.exp(raw[k, i] - top[i])
            total[i] += out[k, i]
    for k in range(t_count):
        for i in range(n):
            out[k, i] /= total[i]


@nb.njit(cache=True, nogil=True)
def _add_tree(raw, raw_test, x_test, node_of, node_test, feature, threshold, value, learning_rate):
    """Move the raw predictions by `learning_rate` times the tree's leaf values: the training points
    through their recorded leaves, the test points routed down the tree (`node_test` receives the node
    each one ends at). Depth 3 (the reference's) takes `_route_depth_three`; any other depth routes each
    point in registers (branch-free: a point at a leaf stays there)."""
    for i in range(raw.shape[0]):
        raw[i] += learning_rate * value[node_of[i]]
    levels = 0
    while 2 ** (levels + 1) - 1 < feature.shape[0]:
        levels += 1
    if levels == 3:
        down = _route_depth_three(x_test, feature, threshold, value, node_test)
    else:
        down = value
        for i in range(x_test.shape[0]):
            m = 0
            for _ in range(levels):
                j = feature[m]
                child = 2 * m + 1 + np.int64(np.float64(x_test[i, max(j, 0)]) > threshold[m])
                m = child if j >= 0 else m
            node_test[i] = m
    for i in range(x_test.shape[0]):
        raw_test[i] += learning_rate * down[node_test[i]]


@nb.njit(cache=True, nogil=True)
def _route_depth_three(x_test, feature, threshold, value, node_test):
    """Route every test point to a node of depth 3 of a depth-3 tree (nodes 0..14), and return the values
    seen from there: a node that is a leaf above depth 3 hands its value down to its whole subtree, so a
    point that stops at it ends, whichever way the (meaningless) comparisons below it go, at a node
    carrying the leaf's value. Per point the seven comparisons are independent of each other (no lookup
    waits for the one before), then three selections pick the path."""
    down = value.copy()
    for m in range(7):
        if feature[m] < 0:
            down[2 * m + 1] = down[2 * m + 2] = down[m]
    j0, j1, j2, j3 = max(feature[0], 0), max(feature[1], 0), max(feature[2], 0), max(feature[3], 0)
    j4, j5, j6 = max(feature[4], 0), max(feature[5], 0), max(feature[6], 0)
    t0, t1, t2, t3, t4, t5, t6 = threshold[0], threshold[1], threshold[2], threshold[3], threshold[4], threshold[5], \
        threshold[6]
    for i in range(x_test.shape[0]):
        r0 = np.float64(x_test[i, j0]) > t0
        r1 = np.float64(x_test[i, j1]) > t1
        r2 = np.float64(x_test[i, j2]) > t2
        r3 = np.float64(x_test[i, j3]) > t3
        r4 = np.float64(x_test[i, j4]) > t4
        r5 = np.float64(x_test[i, j5]) > t5
        r6 = np.float64(x_test[i, j6]) > t6
        level_one = r2 if r0 else r1
        if r0:
            level_two = r6 if level_one else r5
        else:
            level_two = r4 if level_one else r3
        node_test[i] = 7 + 4 * np.int64(r0) + 2 * np.int64(level_one) + np.int64(level_two)
    return down


@nb.njit(cache=True, nogil=True)
def fit_classes(x, columns, order, x_test, target, proba, raw, raw_test, k_start, k_stop, stage_keys, learning_rate,
                max_depth, reciprocal, ws, features, decreases):
    """One stage's trees of the classes `k_start:k_stop` of a classifier: each grown on its negative
    gradient `target_k - proba_k`, its Newton leaf values added to `raw[k]` / `raw_test[k]`, its split
    features / impurity decreases stored in row k of `features` / `decreases` (`add_importance` adds them
    in the serial order). The classes of one stage touch disjoint rows, so several calls may run at
    once, each with its own `ws` (`workspace`)."""
    residual, node_of, feature, threshold, decrease, _, _, _, _, numerator, denominator, value, _, node_test, _ = ws
    n = x.shape[0]
    t_count = raw.shape[0]
    n_classes = 2 if t_count == 1 else t_count
    scale = 1.0 if t_count == 1 else (n_classes - 1.0) / n_classes
    for k in range(k_start, k_stop):
        for i in range(n):
            residual[i] = target[k, i] - proba[k, i]  # the negative gradient
        _grow_tree(x, columns, order, residual, max_depth, stage_keys[k], reciprocal, ws)
        numerator[:] = 0.0
        denominator[:] = 0.0
        for i in range(n):
            p = target[k, i] - residual[i]
            numerator[node_of[i]] += residual[i]
            denominator[node_of[i]] += p * (1.0 - p)
        for m in range(value.shape[0]):
            value[m] = 0.0 if abs(denominator[m]) < SAFE_DIVIDE_BELOW else scale * numerator[m] / denominator[m]
        _add_tree(raw[k], raw_test[k], x_test, node_of, node_test, feature, threshold, value, learning_rate)
        features[k, :] = feature
        decreases[k, :] = decrease


@nb.njit(cache=True, nogil=True)
def add_importance(importance, features, decreases):
    """Add a stage's impurity decreases to `importance`, tree by tree (class order), node by node: the
    order in which a serial fit adds them."""
    for k in range(features.shape[0]):
        for m in range(features.shape[1]):
            if features[k, m] >= 0:
                importance[features[k, m]] += decreases[k, m]


@nb.njit(cache=True, nogil=True)
def normalized(importance):
    """Importance summing to 1 (all zeros stay zeros: no tree split at all)."""
    total = importance.sum()
    return importance / total if total > 0 else importance


@nb.njit(cache=True, nogil=True)
def start_classifier(y, n_classes, n_test):
    """The initial state of a classifier: raw predictions train `(T, n)` and test `(T, n_test)` at the
    centred log prior (sklearn's symmetric multinomial link: log p_k minus the mean over classes of log p;
    the logit of class 1 for two classes, T = 1), and the one-hot targets `(T, n)`. Class-major: every
    per-class pass runs over contiguous rows."""
    n = y.shape[0]
    t_count = 1 if n_classes == 2 else n_classes
    counts = np.zeros(n_classes)
    for i in range(n):
        counts[y[i]] += 1.0
    eps = np.finfo(np.float64).eps
    raw = np.empty((t_count, n))
    raw_test = np.empty((t_count, n_test))
    mean_log_prior = 0.0
    for k in range(n_classes):
        mean_log_prior += np.log(min(max(counts[k] / n, eps), 1.0 - eps)) / n_classes
    for k in range(t_count):
        if t_count == 1:
            p1 = min(max(counts[1] / n, eps), 1.0 - eps)
            init = np.log(p1 / (1.0 - p1))
        else:
            init = np.log(min(max(counts[k] / n, eps), 1.0 - eps)) - mean_log_prior
        raw[k, :] = init
        raw_test[k, :] = init
    target = np.zeros((t_count, n))
    for i in range(n):
        if t_count == 1:
            target[0, i] = 1.0 if y[i] == 1 else 0.0
        else:
            target[y[i], i] = 1.0
    return raw, raw_test, target


@nb.njit(cache=True, nogil=True)
def boost_classifier(x, order, y, n_classes, x_test, n_estimators, learning_rate, max_depth, keys):
    """Gradient boosting with the log loss, as `GradientBoostingClassifier`, on one thread.

    `x` (n, d) and `x_test` float32; `order` from `sort_columns`; `y` labels 0..K-1;
    `keys` (n_estimators, T, n_nodes, d) random tie-break keys (T = 1 for two classes, else K).
    Returns (importance (d,) normalized, raw train (n, T), raw test (n_test, T)).
    """
    n, d = x.shape
    n_nodes = 2 ** (max_depth + 1) - 1
    raw, raw_test, target = start_classifier(y, n_classes, x_test.shape[0])
    t_count = raw.shape[0]
    columns, reciprocal = prepare(x)
    ws = workspace(n, d, n_nodes, x_test.shape[0])
    proba = np.empty((t_count, n))
    top = np.empty(n)
    total = np.empty(n)
    features = np.empty((t_count, n_nodes), dtype=np.int64)
    decreases = np.empty((t_count, n_nodes))
    importance = np.zeros(d)
    for stage in range(n_estimators):
        probabilities(raw, proba, top, total)
        fit_classes(x, columns, order, x_test, target, proba, raw, raw_test, 0, t_count, keys[stage], learning_rate,
                    max_depth, reciprocal, ws, features, decreases)
        add_importance(importance, features, decreases)
    return normalized(importance), raw.T.copy(), raw_test.T.copy()


@nb.njit(cache=True, nogil=True)
def fit_regression_stage(x, columns, order, x_test, y, raw, raw_test, stage_keys, learning_rate, max_depth, reciprocal,
                         ws, features, decreases):
    """One stage of a regressor: a tree on the residual `y - raw`, its leaf means added to the predictions;
    its split features / impurity decreases in row 0 of `features` / `decreases`."""
    residual, node_of, feature, threshold, decrease, _, _, _, _, sums, counts, value, _, node_test, _ = ws
    n = x.shape[0]
    for i in range(n):
        residual[i] = y[i] - raw[i]
    _grow_tree(x, columns, order, residual, max_depth, stage_keys[0], reciprocal, ws)
    sums[:] = 0.0
    counts[:] = 0.0
    for i in range(n):
        sums[node_of[i]] += residual[i]
        counts[node_of[i]] += 1.0
    for m in range(value.shape[0]):
        value[m] = sums[m] / counts[m] if counts[m] > 0 else 0.0
    _add_tree(raw, raw_test, x_test, node_of, node_test, feature, threshold, value, learning_rate)
    features[0, :] = feature
    decreases[0, :] = decrease


@nb.njit(cache=True, nogil=True)
def start_regressor(y, n_test):
    """The initial predictions of a regressor, train `(n,)` and test `(n_test,)`: the mean of `y` (numba's
    sum, in sample order)."""
    init = y.mean()
    return np.full(y.shape[0], init), np.full(n_test, init)


@nb.njit(cache=True, nogil=True)
def boost_regressor(x, order, y, x_test, n_estimators, learning_rate, max_depth, keys):
    """Gradient boosting with the squared error, as `GradientBoostingRegressor`; returns
    (importance (d,), prediction train (n,), prediction test (n_test,))."""
    n, d = x.shape
    n_nodes = 2 ** (max_depth + 1) - 1
    raw, raw_test = start_regressor(y, x_test.shape[0])
    columns, reciprocal = prepare(x)
    ws = workspace(n, d, n_nodes, x_test.shape[0])
    features = np.empty((1, n_nodes), dtype=np.int64)
    decreases = np.empty((1, n_nodes))
    importance = np.zeros(d)
    for stage in range(n_estimators):
        fit_regression_stage(x, columns, order, x_test, y, raw, raw_test, keys[stage], learning_rate, max_depth,
                             reciprocal, ws, features, decreases)
        add_importance(importance, features, decreases)
    return normalized(importance), raw, raw_test

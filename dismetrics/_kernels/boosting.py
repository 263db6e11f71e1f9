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

Layout: the per-class arrays of the classifier (raw predictions, probabilities, one-hot targets) are
class-major, `(T, n)`, so every per-class pass (negative gradient, leaf values, prediction update) and the
softmax run over contiguous rows; each sample's arithmetic is done in the same order as a per-sample loop,
so the numbers are those of the sample-major layout, bit for bit (20% less time than with `(n, T)`).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["sort_columns", "boost_classifier", "boost_regressor", "n_tree_nodes"]

FEATURE_THRESHOLD = np.float32(1e-7)
EPSILON = np.finfo(np.float64).eps
SAFE_DIVIDE_BELOW = 1e-150


def n_tree_nodes(max_depth: int) -> int:
    """Nodes of a complete binary tree of depth `max_depth` (heap layout: children of m are 2m+1, 2m+2)."""
    return 2 ** (max_depth + 1) - 1


def sort_columns(x32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the stable argsort of the samples and the sorted values, both `(d, n)` (one
    contiguous row per column, scanned once per tree level), shared by every tree."""
    order = np.ascontiguousarray(np.argsort(x32, axis=0, kind="stable").T.astype(np.int64))
    values = np.ascontiguousarray(np.take_along_axis(x32, order.T, axis=0).T)
    return order, values


@nb.njit(cache=True, nogil=True)
def _best_root_split(order, sorted_x, target, n_node, s_node, keys, best_proxy, best_feature, best_key,
                     best_threshold, best_nl, best_sl, best_ssl):
    """The scan of `_grow_tree` for the root, where every sample is in the one node: the running
    sums stay in registers (same candidates, same arithmetic, same tie rule)."""
    d, n = order.shape
    proxy_best = -np.inf
    feature_best = -1
    for j in range(d):
        n_left = 0.0
        s_left = 0.0
        ss_left = 0.0
        last = sorted_x[j, 0]
        for q in range(n):
            v = sorted_x[j, q]
            if n_left > 0.0 and v > last + FEATURE_THRESHOLD:
                s_right = s_node - s_left
                proxy = s_left * s_left / n_left + s_right * s_right / (n_node - n_left)
                if proxy > proxy_best or (proxy == proxy_best and feature_best != j and keys[j] < best_key[0]):
                    proxy_best = proxy
                    feature_best = j
                    best_key[0] = keys[j]
                    best_threshold[0] = np.float64(last) / 2.0 + np.float64(v) / 2.0
                    best_nl[0] = n_left
                    best_sl[0] = s_left
                    best_ssl[0] = ss_left
            t = target[order[j, q]]
            n_left += 1.0
            s_left += t
            ss_left += t * t
            last = v
    best_proxy[0] = proxy_best
    best_feature[0] = feature_best


@nb.njit(cache=True, nogil=True)
def _grow_tree(x, order, sorted_x, target, max_depth, keys, node_of, feature, threshold, importance):
    """Grow one regression tree on `target`; fill `node_of` (leaf of each sample), `feature`
    (-1 at leaves), `threshold`; add the tree's impurity decreases to `importance`."""
    n, d = x.shape
    n_nodes = feature.shape[0]
    node_n = np.zeros(n_nodes)
    node_s = np.zeros(n_nodes)
    node_ss = np.zeros(n_nodes)
    for m in range(n_nodes):
        feature[m] = -1
        threshold[m] = 0.0
    for i in range(n):
        node_of[i] = 0
        node_n[0] += 1.0
        node_s[0] += target[i]
        node_ss[0] += target[i] * target[i]
    splittable = np.zeros(n_nodes, dtype=np.bool_)
    best_proxy = np.empty(n_nodes)
    best_feature = np.empty(n_nodes, dtype=np.int64)
    best_threshold = np.empty(n_nodes)
    best_key = np.empty(n_nodes)
    best_nl = np.empty(n_nodes)
    best_sl = np.empty(n_nodes)
    best_ssl = np.empty(n_nodes)
    cum_n = np.zeros(n_nodes)
    cum_s = np.zeros(n_nodes)
    cum_ss = np.zeros(n_nodes)
    last_v = np.zeros(n_nodes, dtype=np.float32)
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
            best_proxy[m] = -np.inf
            best_feature[m] = -1
        if not any_splittable:
            break
        if depth == 0:
            _best_root_split(order, sorted_x, target, node_n[0], node_s[0], keys[0], best_proxy, best_feature,
                             best_key, best_threshold, best_nl, best_sl, best_ssl)
        for j in range(d if depth > 0 else 0):
            for m in range(first, last):
                cum_n[m] = 0.0
                cum_s[m] = 0.0
                cum_ss[m] = 0.0
            for q in range(n):
                i = order[j, q]
                m = node_of[i]
                if not splittable[m]:
                    continue
                v = sorted_x[j, q]
                n_left = cum_n[m]
                if n_left > 0.0 and v > last_v[m] + FEATURE_THRESHOLD:
                    n_right = node_n[m] - n_left
                    s_left = cum_s[m]
                    s_right = node_s[m] - s_left
                    proxy = s_left * s_left / n_left + s_right * s_right / n_right
                    better = proxy > best_proxy[m]
                    if not better and proxy == best_proxy[m] and best_feature[m] != j and keys[m, j] < best_key[m]:
                        better = True
                    if better:
                        best_proxy[m] = proxy
                        best_feature[m] = j
                        best_key[m] = keys[m, j]
                        best_threshold[m] = np.float64(last_v[m]) / 2.0 + np.float64(v) / 2.0
                        best_nl[m] = n_left
                        best_sl[m] = s_left
                        best_ssl[m] = cum_ss[m]
                cum_n[m] = n_left + 1.0
                cum_s[m] += target[i]
                cum_ss[m] += target[i] * target[i]
                last_v[m] = v
        for m in range(first, last):
            j = best_feature[m]
            if not splittable[m] or j < 0 or best_threshold[m] == np.inf:
                # a leaf: no candidate split (every feature's values within FEATURE_THRESHOLD of each other in
                # this node). Its samples stay here; it must not take part in the scans of deeper levels.
                splittable[m] = False
                continue
            feature[m] = j
            threshold[m] = best_threshold[m]
            left, right = 2 * m + 1, 2 * m + 2
            node_n[left], node_s[left], node_ss[left] = best_nl[m], best_sl[m], best_ssl[m]
            node_n[right] = node_n[m] - best_nl[m]
            node_s[right] = node_s[m] - best_sl[m]
            node_ss[right] = node_ss[m] - best_ssl[m]
            variance = node_ss[m] / node_n[m] - (node_s[m] / node_n[m]) ** 2
            variance_left = node_ss[left] / node_n[left] - (node_s[left] / node_n[left]) ** 2
            variance_right = node_ss[right] / node_n[right] - (node_s[right] / node_n[right]) ** 2
            importance[j] += node_n[m] * variance - node_n[left] * variance_left - node_n[right] * variance_right
        for i in range(n):
            m = node_of[i]
            j = feature[m]
            if j >= 0:
                node_of[i] = 2 * m + 1 if np.float64(x[i, j]) <= threshold[m] else 2 * m + 2


@nb.njit(cache=True, nogil=True)
def _leaf_of(x_row, feature, threshold):
    m = 0
    while feature[m] >= 0:
        m = 2 * m + 1 if np.float64(x_row[feature[m]]) <= threshold[m] else 2 * m + 2
    return m


@nb.njit(cache=True, nogil=True)
def _probabilities(raw, out, top, total):
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
def _add_tree(raw, raw_test, x_test, node_of, feature, threshold, value, learning_rate):
    """Move the raw predictions by `learning_rate` times the tree's leaf values: the training points
    through their recorded leaves, the test points routed through the tree."""
    for i in range(raw.shape[0]):
        raw[i] += learning_rate * value[node_of[i]]
    for i in range(x_test.shape[0]):
        raw_test[i] += learning_rate * value[_leaf_of(x_test[i], feature, threshold)]


@nb.njit(cache=True, nogil=True)
def _normalized(importance):
    """Importance summing to 1 (all zeros stay zeros: no tree split at all)."""
    total = importance.sum()
    return importance / total if total > 0 else importance


@nb.njit(cache=True, nogil=True)
def boost_classifier(x, order, sorted_x, y, n_classes, x_test, n_estimators, learning_rate, max_depth, keys):
    """Gradient boosting with the log loss, as `GradientBoostingClassifier`.

    `x` (n, d) and `x_test` float32; `order`, `sorted_x` from `sort_columns`; `y` labels 0..K-1;
    `keys` (n_estimators, T, n_nodes, d) random tie-break keys (T = 1 for two classes, else K).
    Returns (importance (d,) normalized, raw train (n, T), raw test (n_test, T)).
    """
    n, d = x.shape
    t_count = 1 if n_classes == 2 else n_classes
    n_nodes = 2 ** (max_depth + 1) - 1
    counts = np.zeros(n_classes)
    for i in range(n):
        counts[y[i]] += 1.0
    eps = np.finfo(np.float64).eps
    # class-major (T, n): every per-class pass below runs over contiguous rows
    raw = np.empty((t_count, n))
    raw_test = np.empty((t_count, x_test.shape[0]))
    # sklearn's symmetric multinomial link: log p_k minus the mean over classes of log p
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
    proba = np.empty((t_count, n))
    top = np.empty(n)
    total = np.empty(n)
    residual = np.empty(n)
    node_of = np.empty(n, dtype=np.int64)
    feature = np.empty(n_nodes, dtype=np.int64)
    threshold = np.empty(n_nodes)
    numerator = np.empty(n_nodes)
    denominator = np.empty(n_nodes)
    value = np.empty(n_nodes)
    importance = np.zeros(d)
    scale = 1.0 if t_count == 1 else (n_classes - 1.0) / n_classes
    for stage in range(n_estimators):
        _probabilities(raw, proba, top, total)
        for k in range(t_count):
            for i in range(n):
                residual[i] = target[k, i] - proba[k, i]  # the negative gradient
            _grow_tree(x, order, sorted_x, residual, max_depth, keys[stage, k], node_of, feature, threshold, importance)
            numerator[:] = 0.0
            denominator[:] = 0.0
            for i in range(n):
                p = target[k, i] - residual[i]
                numerator[node_of[i]] += residual[i]
                denominator[node_of[i]] += p * (1.0 - p)
            for m in range(n_nodes):
                value[m] = 0.0 if abs(denominator[m]) < SAFE_DIVIDE_BELOW else scale * numerator[m] / denominator[m]
            _add_tree(raw[k], raw_test[k], x_test, node_of, feature, threshold, value, learning_rate)
    return _normalized(importance), raw.T.copy(), raw_test.T.copy()


@nb.njit(cache=True, nogil=True)
def boost_regressor(x, order, sorted_x, y, x_test, n_estimators, learning_rate, max_depth, keys):
    """Gradient boosting with the squared error, as `GradientBoostingRegressor`; returns
    (importance (d,), prediction train (n,), prediction test (n_test,))."""
    n, d = x.shape
    n_nodes = 2 ** (max_depth + 1) - 1
    init = y.mean()
    raw = np.full(n, init)
    raw_test = np.full(x_test.shape[0], init)
    residual = np.empty(n)
    node_of = np.empty(n, dtype=np.int64)
    feature = np.empty(n_nodes, dtype=np.int64)
    threshold = np.empty(n_nodes)
    sums = np.empty(n_nodes)
    counts = np.empty(n_nodes)
    value = np.empty(n_nodes)
    importance = np.zeros(d)
    for stage in range(n_estimators):
        for i in range(n):
            residual[i] = y[i] - raw[i]
        _grow_tree(x, order, sorted_x, residual, max_depth, keys[stage, 0], node_of, feature, threshold, importance)
        sums[:] = 0.0
        counts[:] = 0.0
        for i in range(n):
            sums[node_of[i]] += residual[i]
            counts[node_of[i]] += 1.0
        for m in range(n_nodes):
            value[m] = sums[m] / counts[m] if counts[m] > 0 else 0.0
        _add_tree(raw, raw_test, x_test, node_of, feature, threshold, value, learning_rate)
    return _normalized(importance), raw, raw_test

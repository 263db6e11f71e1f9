"""The boosting kernel's fast paths against their plain definitions.

`_scan_node` (block sums four or two features per pass, each feature's first best merged in feature order, the
block screen and the division-free screen) against the plain scan written out in Python (features in turn, every candidate evaluated with
the two divisions, `_takes_over` applied in order), on nodes built to tie: residuals with two values
(whole runs of equal proxies), duplicated code dims (equal proxies across features, decided by the
keys), repeated values (no candidate between them) and an odd number of dims. And the threaded stage
scheduler against the one-thread kernels: the same bits for any number of threads.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dismetrics._kernels import boosting as kernel
from dismetrics._kernels.boosting_threads import ClassifierFit, RegressorFit, SharedSamples, run_fits


def sequential_best_split(columns, rows, target, lo, hi, n_node, s_node, keys):
    """The plain scan: the features in turn, every candidate's proxy with its two divisions, the rule of
    `_takes_over` in order; (proxy, feature, key, threshold, n_left, s_left, ss_left) of the winner."""
    proxy_best, feature_best, key_best = -np.inf, -1, 0.0
    record = None
    for j in range(rows.shape[0]):
        s_left = ss_left = n_left = 0.0
        last = columns[j, rows[j, lo]]
        for q in range(lo, hi):
            i = rows[j, q]
            v = columns[j, i]
            if n_left > 0.0 and v > np.float32(last + kernel.FEATURE_THRESHOLD):
                s_right = s_node - s_left
                proxy = s_left * s_left / n_left + s_right * s_right / (n_node - n_left)
                if proxy > proxy_best or (proxy == proxy_best and feature_best != j and keys[j] < key_best):
                    proxy_best, feature_best, key_best = proxy, j, keys[j]
                    record = (proxy, j, keys[j], float(last) / 2.0 + float(v) / 2.0, n_left, s_left, ss_left)
            t = target[i]
            n_left += 1.0
            s_left += t
            ss_left += t * t
            last = v
    return record


def node_problem(seed, n, d, duplicates, two_values, rounding):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    if rounding:
        x = np.round(x * 2) / 2  # few distinct values: long runs without a candidate
    for j in range(duplicates):
        x[:, d - 1 - j] = x[:, j]  # the same column twice: exact ties across features
    x32 = x.astype(np.float32)
    target = (np.where(rng.random(n) < 0.3, 2 / 3, -1 / 3) if two_values else rng.standard_normal(n))
    keys = rng.random(d)
    return x32, target, keys


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 300), d=st.integers(1, 11), duplicates=st.integers(0, 3),
       two_values=st.booleans(), rounding=st.booleans(), cut=st.floats(0.0, 1.0))
def test_scan_node_equals_the_plain_sequential_scan(seed, n, d, duplicates, two_values, rounding, cut):
    x32, target, keys = node_problem(seed, n, d, min(duplicates, d // 2), two_values, rounding)
    columns, reciprocal = kernel.prepare(x32)
    order = kernel.sort_columns(x32)
    # a node below the root: the samples of a random half, as a segment of a stable partition
    inside = np.random.default_rng(seed + 1).random(n) < max(cut, 2.5 / n)
    rows = np.ascontiguousarray(np.stack([np.concatenate([row[inside[row]], row[~inside[row]]]) for row in order]))
    hi = int(inside.sum())
    if hi < 2:
        return
    s_node = 0.0
    for i in range(n):  # _grow_tree sums a node's targets in sample order, along its split path
        if inside[i]:
            s_node += target[i]
    best = np.empty((kernel.BEST_FIELDS, 3))
    best_feature = np.empty(3, dtype=np.int64)
    best[kernel.PROXY, 1] = -np.inf
    best_feature[1] = -1
    kernel._scan_node(columns, rows.astype(np.int32), target, 0, hi, float(hi), s_node, keys, reciprocal, 1, best,
                      best_feature, np.empty((3, 4, n // kernel.BLOCK + 1)))
    expected = sequential_best_split(columns, rows, target, 0, hi, float(hi), s_node, keys)
    if expected is None:
        assert best_feature[1] == -1
        return
    proxy, j, key, threshold, n_left, s_left, ss_left = expected
    assert best_feature[1] == j
    got = best[:, 1]
    assert (got[kernel.PROXY], got[kernel.KEY], got[kernel.THRESHOLD], got[kernel.N_LEFT], got[kernel.S_LEFT],
            got[kernel.SS_LEFT]) == (proxy, key, threshold, n_left, s_left, ss_left)


def plain_route(x_test, feature, threshold):
    """Each test point walked down the tree node by node until a node that is not split."""
    nodes = []
    for point in x_test:
        m = 0
        while m < len(feature) and feature[m] >= 0:
            m = 2 * m + 1 + int(float(point[feature[m]]) > threshold[m])
        nodes.append(m)
    return np.array(nodes)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), max_depth=st.integers(1, 4), leaf_share=st.floats(0.0, 0.6))
def test_test_points_take_the_leaf_value_of_the_plain_walk(seed, max_depth, leaf_share):
    # _add_tree routes depth-3 trees by independent comparisons (leaf values handed down), other depths
    # in registers; both must add the value of the leaf the plain walk reaches, with leaves at any level.
    rng = np.random.default_rng(seed)
    n_nodes, d = kernel.n_tree_nodes(max_depth), 4
    x_test = np.round(rng.standard_normal((200, d)), 1).astype(np.float32)  # values on the thresholds too
    feature = np.full(n_nodes, -1, dtype=np.int64)
    threshold = np.zeros(n_nodes)
    for m in range(2**max_depth - 1):  # internal levels, top down: a node below a leaf stays a leaf
        parent_split = m == 0 or feature[(m - 1) // 2] >= 0
        if parent_split and rng.random() >= leaf_share:
            feature[m] = rng.integers(0, d)
            threshold[m] = float(np.float32(np.round(rng.standard_normal(), 1)))
    value = rng.standard_normal(n_nodes)
    raw_test = rng.standard_normal(len(x_test))
    expected = raw_test + 0.1 * value[plain_route(x_test, feature, threshold)]
    raw = np.zeros(3)
    kernel._add_tree(raw, raw_test, x_test, np.zeros(3, dtype=np.int32), np.empty(len(x_test), dtype=np.int64),
                     feature, threshold, value, 0.1)
    np.testing.assert_array_equal(raw_test, expected)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 200), d=st.integers(1, 5), cut=st.floats(0.0, 1.0))
def test_partition_copying_the_split_row_equals_the_stable_partition(seed, n, d, cut):
    rng = np.random.default_rng(seed)
    x32 = np.round(rng.standard_normal((n, d)), 1).astype(np.float32)
    order = kernel.sort_columns(x32)
    split = int(rng.integers(0, d))
    values = np.unique(x32[:, split])
    threshold = float(values[min(int(cut * len(values)), len(values) - 1)])  # some samples on it
    goes_right = (x32[:, split].astype(np.float64) > threshold).astype(np.uint8)
    out = np.empty_like(order)
    kernel._partition(order, out, goes_right, 0, n, int((goes_right == 0).sum()), split)
    expected = np.stack([np.concatenate([row[goes_right[row] == 0], row[goes_right[row] == 1]]) for row in order])
    np.testing.assert_array_equal(out, expected)


def boosting_problem(seed, n=400, d=5, n_test=100):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + n_test, d))
    x[:, d - 1] = x[:, 0]  # an exact tie between two dims at every split on them
    x32 = x.astype(np.float32)
    labels = [np.round(2 * x[:, 0] + rng.standard_normal(n + n_test)).astype(np.int64) % k for k in (2, 3, 9)]
    return x32[:n], x32[n:], [label[:n] for label in labels], x[:n, 1] + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threaded_stages_give_the_one_thread_kernels_bits(threads):
    x32, x_test, labels, y_continuous = boosting_problem(0)
    order = kernel.sort_columns(x32)
    samples = SharedSamples(x32, order, x_test)
    stages, depth = 12, 3
    nodes = kernel.n_tree_nodes(depth)
    rng = np.random.default_rng(1)
    fits, expected = [], []
    for label in labels:
        n_classes = int(label.max()) + 1
        keys = rng.random((stages, 1 if n_classes == 2 else n_classes, nodes, x32.shape[1]))
        fits.append(ClassifierFit(samples, label, n_classes, stages, 0.1, depth, keys))
        expected.append(kernel.boost_classifier(x32, order, label, n_classes, x_test, stages, 0.1, depth, keys))
    keys = rng.random((stages, 1, nodes, x32.shape[1]))
    fits.append(RegressorFit(samples, y_continuous, stages, 0.1, depth, keys))
    expected.append(kernel.boost_regressor(x32, order, y_continuous, x_test, stages, 0.1, depth, keys))
    run_fits(fits, threads)
    for fit, reference in zip(fits, expected):
        for got, want in zip(fit.result(), reference):
            assert np.array_equal(got, want)


def test_dci_numba_bits_do_not_depend_on_n_jobs():
    import dismetrics as dm

    rng = np.random.default_rng(4)
    factors = np.column_stack([rng.integers(0, 9, 500), rng.integers(0, 3, 500), rng.integers(0, 2, 500)])
    codes = np.hstack([factors + 0.3 * rng.standard_normal((500, 3)), rng.standard_normal((500, 2))])
    one, two = (dm.dci(codes, factors, n_estimators=15, n_jobs=jobs, random_state=3) for jobs in (1, 2))
    assert np.array_equal(one.details["importance_matrix"], two.details["importance_matrix"])
    assert one.details["informativeness_test"] == two.details["informativeness_test"]


def test_a_failing_item_stops_the_threads_and_raises():
    class FailingFit(ClassifierFit):
        def fit_item(self, item, ws):
            if self.stage == 2 and item == 1:
                raise RuntimeError("item failed")
            super().fit_item(item, ws)

    x32, x_test, labels, _ = boosting_problem(2)
    samples = SharedSamples(x32, kernel.sort_columns(x32), x_test)
    keys = np.random.default_rng(0).random((5, 9, kernel.n_tree_nodes(3), x32.shape[1]))
    fits = [FailingFit(samples, labels[2], 9, 5, 0.1, 3, keys), ClassifierFit(samples, labels[2], 9, 5, 0.1, 3, keys)]
    with pytest.raises(RuntimeError, match="item failed"):
        run_fits(fits, 2)
    assert fits[0].stage == 2  # the failing fit never finished its stage

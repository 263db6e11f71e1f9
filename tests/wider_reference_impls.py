"""Slow, independent computations of the wider metrics (issue 9), to compare dismetrics against.

Written from the published procedures with numpy loops, ``sklearn.metrics.mutual_info_score`` and
scipy; they share no code with dismetrics.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma
from scipy.stats import entropy as scipy_entropy
from sklearn.metrics import mutual_info_score as sk_mi

from reference_impls import discrete_mi_matrix, factor_entropies, histogram_discretize


def reference_irs(codes, factors, diff_quantile=0.99, bins=20):
    """disentanglement_lib's IRS procedure, step by step (factors histogram-discretized, boolean masks)."""
    groups = histogram_discretize(factors.astype(np.float64), bins).T if bins else factors
    keep = [i for i in range(codes.shape[1]) if np.var(codes[:, i]) > 0]
    if not keep:
        return 0.0
    z = codes[:, keep]
    norm = np.array([np.max(np.abs(z[:, i] - np.mean(z[:, i]))) for i in range(z.shape[1])])
    scores = np.zeros((z.shape[1], groups.shape[1]))
    for k in range(groups.shape[1]):
        values = np.unique(groups[:, k])
        for value in values:
            rows = groups[:, k] == value
            block = z[rows, :]
            center = np.mean(block, axis=0)
            scores[:, k] += np.quantile(np.abs(block - center), diff_quantile, axis=0)
        scores[:, k] /= len(values)
    irs_matrix = 1.0 - scores / norm[:, None]
    best = irs_matrix.max(axis=1)
    return float(np.sum(best * norm) / np.sum(norm))


def reference_mig_sup(codes, factors, bins=20):
    m = discrete_mi_matrix(histogram_discretize(codes, bins), factors) / factor_entropies(factors)
    total = 0.0
    for row in m:
        ordered = sorted(row, reverse=True)
        total += ordered[0] - ordered[1]
    return total / m.shape[0]


def reference_dcimig(codes, factors, bins=20):
    m = discrete_mi_matrix(histogram_discretize(codes, bins), factors)
    best = [0.0] * factors.shape[1]
    for row in m:
        ordered = sorted(row, reverse=True)
        k = int(np.argmax(row))
        best[k] = max(best[k], ordered[0] - ordered[1])
    return sum(best) / factor_entropies(factors).sum()


def joint_entropy(a, b):
    _, counts = np.unique(np.stack([a, b], axis=1), axis=0, return_counts=True)
    return float(scipy_entropy(counts))


def reference_jemmig(codes, factors, bins=20):
    """(normalized score, mean raw JEMMIG) with sklearn MI and scipy entropies."""
    disc = histogram_discretize(codes, bins)
    normalized, raw = [], []
    for k in range(factors.shape[1]):
        mi = np.array([sk_mi(factors[:, k], disc[i]) for i in range(disc.shape[0])])
        joints = np.array([joint_entropy(disc[i], factors[:, k]) for i in range(disc.shape[0])])
        # ties for the top MI (within 1e-10): the dim of smallest joint entropy; then the best other dim
        candidates = [i for i in range(mi.size) if mi[i] >= mi.max() - 1e-10]
        top = min(candidates, key=lambda i: joints[i])
        second = max((i for i in range(mi.size) if i != top), key=lambda i: mi[i])
        value = joints[top] - mi[top] + mi[second]
        h = sk_mi(factors[:, k], factors[:, k])
        raw.append(value)
        normalized.append(1.0 - value / (h + np.log(bins)))
    return float(np.mean(normalized)), float(np.mean(raw))


def ross_mi_brute_force(x, labels, n_neighbors=10):
    """Ross (2014) kNN MI between a continuous x and a discrete label, O(n^2), as sklearn defines it.

    For each point: k = min(n_neighbors, count of its label - 1), r = distance to its k-th nearest
    neighbour with the same label, m = number of points of any label within r (itself included,
    strictly inside: sklearn shrinks r by one ulp). Points whose label is unique are dropped.
    """
    x = np.asarray(x, dtype=np.float64)
    keep = np.array([np.sum(labels == labels[j]) > 1 for j in range(x.size)])
    x, labels = x[keep], labels[keep]
    n = x.size
    ks, ms, counts = [], [], []
    for j in range(n):
        same = np.flatnonzero(labels == labels[j])
        k = min(n_neighbors, same.size - 1)
        distances = np.sort(np.abs(x[same] - x[j]))[1:]
        radius = np.nextafter(distances[k - 1], 0)
        ks.append(k)
        counts.append(same.size)
        ms.append(np.sum(np.abs(x - x[j]) <= radius))
    value = digamma(n) + np.mean(digamma(ks)) - np.mean(digamma(counts)) - np.mean(digamma(ms))
    return max(0.0, float(value))


def reference_infom_infoc(nmi, active):
    """InfoM and InfoC from a (d, K) NMI matrix, with the conventions of dismetrics for 0/0."""
    pruned = nmi[active]
    K, L = nmi.shape[1], pruned.shape[0]
    if L == 0:
        return 0.0, 0.0
    infom = []
    for row in pruned:
        ratio = row.max() / row.sum() if row.sum() > 0 else 1.0 / K
        infom.append((ratio - 1 / K) / (1 - 1 / K))
    infoc = []
    for k in range(K):
        column = pruned[:, k]
        if L == 1:
            infoc.append(1.0 if column.sum() > 0 else 0.0)
            continue
        ratio = column.max() / column.sum() if column.sum() > 0 else 1.0 / L
        infoc.append((ratio - 1 / L) / (1 - 1 / L))
    return float(np.mean(infom)), float(np.mean(infoc))


def trapezoid_explicitness(capacity, loss, baseline, lowest=0.0):
    """E = 1 - AULCC / ((c_max - c_min)(baseline - lowest)), loop by loop."""
    best = np.inf
    curve = []
    for value in loss:
        best = min(best, min(value, baseline))
        curve.append(best)
    area = 0.0
    for j in range(1, len(capacity)):
        area += (capacity[j] - capacity[j - 1]) * ((curve[j] - lowest) + (curve[j - 1] - lowest)) / 2
    return 1.0 - area / ((capacity[-1] - capacity[0]) * (baseline - lowest))

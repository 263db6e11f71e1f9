"""Direct reference computations (disentanglement_lib's procedures, re-typed with sklearn/scipy) for
DCI, SAP and Explicitness; the tests compare dismetrics against these."""

from __future__ import annotations

import numpy as np
import scipy.stats
from sklearn import linear_model, metrics, preprocessing, svm
from sklearn.ensemble import GradientBoostingClassifier


def reference_dci(x_train, y_train, x_test, y_test, seed, n_estimators=100):
    """disentanglement_lib dci.compute_importance_gbt + disentanglement/completeness (seed added)."""
    d, k_count = x_train.shape[1], y_train.shape[1]
    importance = np.zeros((d, k_count))
    train_acc, test_acc = [], []
    for k in range(k_count):
        model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
        model.fit(x_train, y_train[:, k])
        importance[:, k] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(x_train) == y_train[:, k]))
        test_acc.append(np.mean(model.predict(x_test) == y_test[:, k]))
    return importance, reference_d(importance), reference_c(importance), float(np.mean(train_acc)), float(np.mean(test_acc))


def reference_d(importance):
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return float(np.sum(per_code * importance.sum(axis=1) / importance.sum()))


def reference_c(importance):
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    return float(np.sum(per_factor * importance.sum(axis=0) / importance.sum()))


def reference_sap(x_train, y_train, x_test, y_test, discrete=True):
    """disentanglement_lib sap_score.compute_score_matrix + compute_avg_diff_top_two (LinearSVC defaults of today)."""
    d, k_count = x_train.shape[1], y_train.shape[1]
    score = np.zeros((d, k_count))
    for i in range(d):
        for k in range(k_count):
            if discrete:
                clf = svm.LinearSVC(C=0.01, class_weight="balanced")
                clf.fit(x_train[:, i][:, None], y_train[:, k])
                score[i, k] = np.mean(clf.predict(x_test[:, i][:, None]) == y_test[:, k])
            else:
                cov = np.cov(x_train[:, i], y_train[:, k], ddof=1)
                score[i, k] = 0.0 if cov[0, 0] <= 1e-12 else cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
    ordered = np.sort(score, axis=0)
    return score, float(np.mean(ordered[-1] - ordered[-2]))


def reference_explicitness(x_train, y_train, x_test, y_test, liblinear=False):
    """disentanglement_lib modularity_explicitness.explicitness_per_factor over standardized codes."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    train, test = [], []
    for k in range(y_train.shape[1]):
        if liblinear:
            from sklearn.multiclass import OneVsRestClassifier

            clf = OneVsRestClassifier(linear_model.LogisticRegression(solver="liblinear"))
        else:
            clf = linear_model.LogisticRegression()
        clf.fit(x_train, y_train[:, k])
        mlb = preprocessing.MultiLabelBinarizer()
        train.append(metrics.roc_auc_score(mlb.fit_transform(np.expand_dims(y_train[:, k], 1)), clf.predict_proba(x_train)))
        test.append(metrics.roc_auc_score(mlb.fit_transform(np.expand_dims(y_test[:, k], 1)), clf.predict_proba(x_test)))
    return float(np.mean(train)), float(np.mean(test))

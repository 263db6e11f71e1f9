"""Fitting sklearn probes the way the reference code does."""

from __future__ import annotations

import warnings

__all__ = ["fit_to_max_iter"]


def fit_to_max_iter(model, x, y):
    """`model.fit(x, y)`, stopping at the model's `max_iter` whether it has converged or not, as the
    reference code does, without sklearn's ConvergenceWarning (one per fit, per factor and repeat, would
    only add noise to a sweep's log; explicitness records its iterations in its details instead).
    Returns the fitted model."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)

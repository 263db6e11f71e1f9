"""Latent monotonicity, an interpolatability score of latte-metrics (Watcharasupat 2021)."""

from __future__ import annotations

import numbers
import warnings
from typing import Sequence

import numpy as np

from ..result import MetricResult
from ._liad import check_traversals, forward_liads
from .registry import MetricSpec, register_metric

__all__ = ["monotonicity"]


def monotonicity(latents, attributes, *, reg_dim: Sequence[int] | None = None, liad_thresh: float = 1e-3,
                 degenerate_val: float = float("nan"), nanmean: bool = True) -> MetricResult:
    r"""Latent monotonicity: how consistently each attribute moves one way along its dim's traversal.

    With the first-order latent-induced attribute differences $\mathcal D_k = (a_{k+1} - a_k) /
    (z_{k+1} - z_k)$ along a traversal of the dim regularizing attribute $i$, and
    $I_k = [\,|\mathcal D_k| > \epsilon\,]$ (`liad_thresh`, ignoring near-zero changes):

    $$
    \mathrm{Monotonicity}_i = \frac{\sum_k I_k \operatorname{sgn}\mathcal D_k}{\sum_k I_k}
    \in [-1, 1]
    $$

    A traversal with no difference above the threshold gets `degenerate_val` (NaN, left out of the
    means when `nanmean`). Per attribute the scores are averaged over traversals (latte's default
    `reduce_mode="attribute"`), and the value is the mean over all traversals and attributes (latte's
    `reduce_mode="all"`; NaN when every traversal is degenerate).

    This is `latte.functional.interpolatability.monotonicity.monotonicity`
    (karnwatcharasupat/latte@623fae2) with its defaults.

    Parameters
    ----------
    latents : array (n, d, I)
        Along traversal s of attribute i, `latents[s, reg_dim[i], :]` holds the values of its
        regularizing dim (latte's `z`), never constant; I >= 2.
    attributes : array (n, K, I)
        `attributes[s, i, :]`: attribute i measured along that traversal (latte's `a`).
    reg_dim : sequence of int or None, default None
        The dim regularizing each attribute; None: attribute i <-> dim i.
    liad_thresh : float, default 1e-3
        Differences with absolute value at most this are ignored.
    degenerate_val : float, default nan
        The score of a traversal whose differences are all ignored (latte suggests 0.0 as the other choice).
    nanmean : bool, default True
        Leave NaN scores out of the means.

    Returns
    -------
    MetricResult
        `value` is the mean monotonicity; `details` holds `monotonicity_per_factor` (K),
        `monotonicity_matrix` (n, K; latte's `reduce_mode="none"`) and `degenerate_fraction` (K).

    References
    ----------
    K. N. Watcharasupat. Controllable Music: Supervised Learning of Disentangled Representations for
    Music Generation. Thesis, Nanyang Technological University, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.monotonicity import monotonicity
    >>> steps = np.linspace(-2, 2, 9)
    >>> latents = np.broadcast_to(steps, (4, 2, 9))
    >>> attributes = np.stack([np.exp(latents[:, 0]), np.cos(latents[:, 1])], axis=1)
    >>> monotonicity(latents, attributes).details["monotonicity_per_factor"].tolist()
    [1.0, 0.0]
    """
    if not isinstance(liad_thresh, numbers.Real) or isinstance(liad_thresh, bool) or not liad_thresh >= 0:
        raise ValueError(f"liad_thresh must be a non-negative number; got {liad_thresh!r}.")
    if not isinstance(degenerate_val, numbers.Real) or isinstance(degenerate_val, bool):
        raise ValueError(f"degenerate_val must be a number (NaN allowed); got {degenerate_val!r}.")
    z, a, dims = check_traversals(latents, attributes, reg_dim, min_size=2, equal_steps=False)
    (liad1,) = forward_liads(z, a, order=1)
    liad1 = liad1 * (np.abs(liad1) > liad_thresh)
    signs = np.sign(liad1)
    counted = np.sum(signs != 0, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.sum(signs, axis=-1) / counted
    matrix[counted == 0] = degenerate_val
    mean = np.nanmean if nanmean else np.mean
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is NaN, as in latte
        per_factor = mean(matrix, axis=0)
        value = mean(matrix)
    return MetricResult(
        name="monotonicity", value=float(value),
        details={"monotonicity_per_factor": per_factor, "monotonicity_matrix": matrix,
                 "degenerate_fraction": np.mean(counted == 0, axis=0)},
        params={"reg_dim": dims, "liad_thresh": float(liad_thresh), "degenerate_val": float(degenerate_val),
                "nanmean": bool(nanmean), "liad_mode": "forward", "n_traversals": int(z.shape[0]),
                "n_steps": int(z.shape[2])})


SPEC = register_metric(MetricSpec(
    name="monotonicity", func=monotonicity, kind="traversal", title="Monotonicity (latte)",
    value_range=(-1.0, 1.0),
    reference="Watcharasupat & Lerch 2021; latte interpolatability/monotonicity.py@623fae2", docs="monotonicity.md"))

"""Latent smoothness, an interpolatability score of latte-metrics (Watcharasupat 2021)."""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

from .._kernels.liad import smoothness_rows
from ..result import MetricResult
from ._liad import CONSTANT_MESSAGE, UNEQUAL_MESSAGE, check_traversals, forward_liads
from .registry import MetricSpec, register_metric

__all__ = ["smoothness"]


def smoothness(latents, attributes, *, reg_dim: Sequence[int] | None = None, max_mode: str = "lehmer",
               ptp_mode="naive", clamp: bool = False, p: float = 2.0) -> MetricResult:
    r"""Latent smoothness: how smoothly each attribute follows a traversal of its regularizing code dim.

    Along a traversal with step $\delta$ of the dim $d$ regularizing attribute $i$, with the first- and
    second-order latent-induced attribute differences (forward differences)
    $\mathcal D^{(1)}_k = (a_{k+1} - a_k)/\delta$ and $\mathcal D^{(2)}_k = (\mathcal D^{(1)}_{k+1} -
    \mathcal D^{(1)}_k)/\delta$:

    $$
    \mathrm{Smoothness}_i = 1 - \frac{\mathcal C_k\big[|\mathcal D^{(2)}_k|\big]}
    {\delta^{-1}\,\mathcal R_k\big[\mathcal D^{(1)}_k\big]}
    $$

    with $\mathcal C$ the Lehmer mean of order `p` ($\sum x^p / \sum x^{p-1}$; `max_mode="naive"`: the
    maximum) and $\mathcal R$ the range (peak to peak; `ptp_mode=q`: the range between the
    $0.5 \pm q/2$ quantiles). An attribute whose second differences are all zero on every traversal gets
    1 everywhere. Per attribute the scores are averaged over the traversals (latte's default
    `reduce_mode="attribute"`), and the value is the mean over all traversals and attributes (latte's
    `reduce_mode="all"`).

    This is `latte.functional.interpolatability.smoothness.smoothness` (karnwatcharasupat/latte@623fae2)
    with its defaults (`liad_mode="forward"`, the only mode latte implements).

    Parameters
    ----------
    latents : array (n, d, I)
        Along traversal s of attribute i, `latents[s, reg_dim[i], :]` holds the values of its
        regularizing dim (latte's `z`), changing by equal, non-zero steps; I >= 3.
    attributes : array (n, K, I)
        `attributes[s, i, :]`: attribute i measured on the outputs decoded along that traversal
        (latte's `a`).
    reg_dim : sequence of int or None, default None
        The dim regularizing each attribute; None: attribute i <-> dim i.
    max_mode : {"lehmer", "naive"}, default "lehmer"
    ptp_mode : "naive" or float in (0, 1], default "naive"
    clamp : bool, default False
        Clip each score to [0, 1] before averaging.
    p : float, default 2.0
        Lehmer mean order (> 1; 2 is the contraharmonic mean).

    Returns
    -------
    MetricResult
        `value` is the mean smoothness; `details` holds `smoothness_per_factor` (K) and
        `smoothness_matrix` (n, K; latte's `reduce_mode="none"`).

    References
    ----------
    K. N. Watcharasupat. Controllable Music: Supervised Learning of Disentangled Representations for
    Music Generation. Thesis, Nanyang Technological University, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from dismetrics.metrics.smoothness import smoothness
    >>> steps = np.linspace(-2, 2, 9)
    >>> latents = np.broadcast_to(steps, (4, 2, 9))                     # 4 traversals of 2 dims
    >>> attributes = np.stack([3 * latents[:, 0], np.round(latents[:, 1])], axis=1)
    >>> result = smoothness(latents, attributes)
    >>> result.details["smoothness_per_factor"].round(3).tolist()      # linear: 1; a staircase: lower
    [1.0, 0.0]
    """
    if max_mode not in ("lehmer", "naive"):
        raise ValueError(f"max_mode must be 'lehmer' or 'naive'; got {max_mode!r}.")
    if isinstance(ptp_mode, str):
        if ptp_mode != "naive":
            raise ValueError(f"ptp_mode must be 'naive' or a float in (0, 1]; got {ptp_mode!r}.")
    elif not isinstance(ptp_mode, numbers.Real) or isinstance(ptp_mode, bool) or not 0.0 < float(ptp_mode) <= 1.0:
        raise ValueError(f"ptp_mode must be 'naive' or a float in (0, 1]; got {ptp_mode!r}.")
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not float(p) > 1.0:
        raise ValueError(f"p must be a number greater than 1; got {p!r}.")
    z, a, dims = check_traversals(latents, attributes, reg_dim, min_size=3, equal_steps=True, check_z=False)
    n, k, steps = a.shape
    num, spread, constant, unequal = smoothness_rows(np.ascontiguousarray(z.reshape(n * k, steps)),
                                                     np.ascontiguousarray(a.reshape(n * k, steps)),
                                                     max_mode == "lehmer", float(p), True)
    if constant.any():
        raise ValueError(CONSTANT_MESSAGE)
    if unequal.any():
        raise ValueError(UNEQUAL_MESSAGE)
    num = num.reshape(n, k)
    if ptp_mode == "naive":
        den = spread.reshape(n, k)
    else:
        q = float(ptp_mode)
        (liad1,) = forward_liads(z, a, order=1)
        den = np.quantile(liad1, q=0.5 + 0.5 * q, axis=-1) - np.quantile(liad1, q=0.5 - 0.5 * q, axis=-1)
    den = den / (z[..., 1] - z[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = 1.0 - num / den
    matrix[:, np.all(num == 0, axis=0)] = 1.0
    if clamp:
        matrix = np.clip(matrix, 0.0, 1.0)
    return MetricResult(
        name="smoothness", value=float(np.mean(matrix)),
        details={"smoothness_per_factor": np.mean(matrix, axis=0), "smoothness_matrix": matrix},
        params={"reg_dim": dims, "max_mode": max_mode, "ptp_mode": ptp_mode, "clamp": bool(clamp), "p": float(p),
                "liad_mode": "forward", "n_traversals": int(z.shape[0]), "n_steps": int(z.shape[2])})


SPEC = register_metric(MetricSpec(
    name="smoothness", func=smoothness, kind="traversal", title="Smoothness (latte)",
    value_range=(float("-inf"), 1.0),
    reference="Watcharasupat & Lerch 2021; latte interpolatability/smoothness.py@623fae2", docs="smoothness.md"))

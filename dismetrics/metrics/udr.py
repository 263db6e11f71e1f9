"""UDR, the unsupervised disentanglement ranking (Duan et al., ICLR 2020), as disentanglement_lib's `udr_sklearn`.

UDR needs no ground truth: it scores each model of a sweep by how similar its representation is to the
representations of the other models (trained with other seeds) on the same inputs, on the premise that
disentangled representations agree up to permutation and sign while entangled ones differ.
Source: google-research/disentanglement_lib, `evaluation/udr/metrics/udr.py` (`compute_udr_sklearn`) and
`evaluation/udr/evaluate.py` (the per-latent KL) at commit 86a644d4ed35c771560dc3360756363d35477357;
settings from `config/tests/methods/udr/udr.gin`.

UDR is not a per-model metric (one model alone has no score), so it is not in the metric registry, whose
kinds each score one model; `udr` takes the codes of all models, `udr_from_model_dirs` reads them from
model dirs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .._parallel import resolve_n_jobs
from .._validation import check_choice, check_codes
from ..result import MetricResult
from .registry import MetricSpec, register_metric

__all__ = ["udr", "udr_from_model_dirs", "relative_strength_disentanglement", "gaussian_kl_per_latent",
           "KL_ZEROING_THRESHOLD"]

CORRELATIONS = ("lasso", "spearman")
LASSO_ALPHA = 0.1
UDR_PARALLEL_WORK = 1_000_000
"""Pairs x points below which the similarity matrices are computed on one thread: a Lasso fit of 1,000
points x 10 latents takes about 1 ms, and on a busy 2-core machine 30 such fits took 0.055 s on two threads
against 0.028 s on one (about 1 s of serial work is where threads start to pay)."""
KL_ZEROING_THRESHOLD = 0.01
"""The reference zeroes the standardized latents whose mean KL is at most 0.01 before any correlation,
whatever `kl_filter_threshold` is (a constant in its code)."""


def gaussian_kl_per_latent(mean, logvar) -> np.ndarray:
    r"""Mean over points of $\mathrm{KL}(N(\mu, e^{\lambda}) \,\|\, N(0, 1)) = \tfrac12(\mu^2 + e^{\lambda} - \lambda - 1)$
    per latent (the reference's `compute_gaussian_kl`, averaged over its batches of equal size)."""
    mean = np.asarray(mean, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    if mean.shape != logvar.shape or mean.ndim != 2:
        raise ValueError(f"mean {mean.shape} and logvar {logvar.shape} must be 2-D arrays of the same shape.")
    if not (np.isfinite(mean).all() and np.isfinite(logvar).all()):
        raise ValueError("mean and logvar must be finite.")
    return np.mean(0.5 * (np.square(mean) + np.exp(logvar) - logvar - 1.0), axis=0)


def relative_strength_disentanglement(matrix) -> float:
    r"""The pairwise UDR score of a (d_a, d_b) similarity matrix $R \ge 0$:

    $$
    \frac12 \Big(\frac{1}{d_b} \sum_b \frac{\max_a R_{ab}^2}{\sum_a R_{ab}}
        + \frac{1}{d_a} \sum_a \frac{\max_b R_{ab}^2}{\sum_b R_{ab}}\Big),
    $$

    a term being 0 where it is undefined (a zero or NaN row or column), as the reference's `nan_to_num`.
    1 for a (generalized) permutation matrix; lower as a latent spreads over several.
    An empty matrix (no active latent on one side) scores 0, where the reference raises.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(np.max(matrix, axis=0) ** 2 / np.sum(matrix, axis=0), nan=0.0)
        rows = np.nan_to_num(np.max(matrix, axis=1) ** 2 / np.sum(matrix, axis=1), nan=0.0)
    return float((np.mean(columns) + np.mean(rows)) / 2.0)


def _standardized(codes: np.ndarray) -> np.ndarray:
    """sklearn's `StandardScaler`: centred, divided by the std (ddof=0); a constant latent is only centred."""
    mean = codes.mean(axis=0)
    std = codes.std(axis=0)
    return (codes - mean) / np.where(std > 0, std, 1.0)


def _lasso_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """|coefficients| of `Lasso(alpha=0.1)` regressing every latent of `target` on all of `source`, as
    (d_source, d_target) (the reference's `lasso_correlation_matrix`)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Lasso(alpha=LASSO_ALPHA).fit(source, target)
    return np.abs(np.atleast_2d(model.coef_)).T


def _spearman_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """|Spearman rank correlation| of every latent of `source` with every latent of `target`
    (the reference's `spearman_correlation_conv`); NaN where a latent is constant, as scipy gives."""
    from scipy.stats import rankdata

    def centred_unit(ranks):
        centred = ranks - ranks.mean(axis=0)
        norm = np.sqrt(np.sum(centred**2, axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return centred / np.where(norm > 0, norm, np.nan)

    a = centred_unit(rankdata(source, axis=0))
    b = centred_unit(rankdata(target, axis=0))
    return np.abs(np.clip(a.T @ b, -1.0, 1.0))


def _as_masks(count, dims, kl_per_model, logvars_per_model, means, active_per_model):
    """Per model: (kl or None, zeroing mask, filter mask, source)."""
    given = [name for name, value in (("kl_per_model", kl_per_model), ("logvars_per_model", logvars_per_model),
                                      ("active_per_model", active_per_model)) if value is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of kl_per_model, logvars_per_model and active_per_model; got {given}.")

    def per_model(values, name):
        values = list(values)
        if len(values) != count:
            raise ValueError(f"{name} has {len(values)} entries but codes_per_model has {count} models.")
        return values

    if kl_per_model is not None or logvars_per_model is not None:
        if kl_per_model is not None:
            kls = [np.asarray(kl, dtype=np.float64) for kl in per_model(kl_per_model, "kl_per_model")]
            source = "kl_per_model"
        else:
            kls = [gaussian_kl_per_latent(mean, logvar)
                   for mean, logvar in zip(means, per_model(logvars_per_model, "logvars_per_model"))]
            source = "logvars_per_model (KL of N(mean, exp(logvar)) from N(0, 1))"
        for m, kl in enumerate(kls):
            if kl.shape != (dims[m],) or not np.isfinite(kl).all():
                raise ValueError(f"the KL of model {m} must be a finite vector of {dims[m]} values (one per latent); "
                                 f"got shape {kl.shape}.")
        return kls, source
    if active_per_model is not None:
        masks = []
        for m, mask in enumerate(per_model(active_per_model, "active_per_model")):
            mask = np.asarray(mask)
            if mask.shape != (dims[m],) or mask.dtype != np.bool_:
                raise ValueError(f"active_per_model[{m}] must be a boolean vector of {dims[m]} values; got "
                                 f"{mask.dtype} {mask.shape}.")
            masks.append(mask)
        return masks, "active_per_model"
    return None, "none (every latent active)"


def udr(codes_per_model: Sequence, *, correlation: str = "lasso", kl_per_model: Sequence | None = None,
        logvars_per_model: Sequence | None = None, active_per_model: Sequence | None = None,
        filter_low_kl: bool = True, kl_filter_threshold: float = 0.01, include_correlations: bool = False,
        names: Sequence[str] | None = None, n_jobs: int | None = None) -> MetricResult:
    r"""UDR: score every model of a sweep by how well its latents match those of the other models.

    For models $i \ne j$ with codes of the same $n$ inputs (each latent standardized, and zeroed where its
    mean KL is at most 0.01), a similarity matrix $R^{(ij)}$ (latents of $i$ x latents of $j$):

    * `correlation="lasso"` (default, the reference's): $|$coefficients$|$ of
      `Lasso(alpha=0.1)` regressing each latent of $j$ on all latents of $i$;
    * `correlation="spearman"`: $|$Spearman rank correlation$|$ of each pair of latents.

    With `filter_low_kl` the rows and columns of latents whose mean KL is at most `kl_filter_threshold`
    are dropped; the pairwise score $U_{ij}$ is
    [`relative_strength_disentanglement`][dismetrics.metrics.udr.relative_strength_disentanglement] of what
    is left, and the score of model $i$ is the median over $j \ne i$ of $U_{ji}$ (the reference's
    `np.median(np.delete(disentanglement[:, i], i))`).

    KL: `kl_per_model` (the mean KL per latent of each model, as the reference's representation functions
    return it), or `logvars_per_model` (log-variances of the encoder on the same inputs, the KL is then
    $\tfrac12(\mu^2 + \sigma^2 - \log \sigma^2 - 1)$ averaged over the inputs, with `codes_per_model` as
    the means), or `active_per_model` (boolean masks used for both the zeroing and the filtering). With
    none of them every latent is active (codes alone carry no KL; the reference always has one).

    Parameters
    ----------
    codes_per_model : sequence of arrays (n, d_m)
        The mean codes of each model on the same n inputs, in the same order (at least 2 models).
    correlation : {"lasso", "spearman"}, default "lasso"
    kl_per_model, logvars_per_model, active_per_model : sequences, optional
        At most one of them (see above).
    filter_low_kl : bool, default True
    kl_filter_threshold : float, default 0.01
    include_correlations : bool, default False
        Also return every similarity matrix (the reference's `raw_correlations`, before filtering).
    names : sequence of str, optional
        Model names for the details (default "0", "1", ...).
    n_jobs : int or None, default None
        Threads for the M(M-1) similarity matrices (scikit-learn's meaning; the Lasso's coordinate
        descent runs without the GIL). Each matrix is an independent fit: the result does not depend on it.

    Returns
    -------
    MetricResult
        `value`: the mean of the model scores (for a summary; UDR is for ranking); `details`:
        `model_scores` (M,), `pairwise_scores` (M, M; diagonal 0), `active_latents` (per model),
        `names`, and `correlations` (M x M nested list of matrices, diagonal None) when asked.

    References
    ----------
    S. Duan et al., "Unsupervised model selection for variational disentangled representation
    learning", ICLR 2020. disentanglement_lib `evaluation/udr/metrics/udr.py` @ 86a644d4.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((500, 3))
    >>> models = [z, -3.0 * z[:, [2, 0, 1]], z[:, [1, 2, 0]] + 1.0, z @ rng.standard_normal((3, 3))]
    >>> r = udr(models, correlation="spearman")   # three agree up to permutation, sign and scale
    >>> [round(float(s), 1) for s in r.details["model_scores"]][:3], bool(r.details["model_scores"][3] < 0.9)
    ([1.0, 1.0, 1.0], True)
    """
    check_choice(correlation, name="correlation", choices=CORRELATIONS)
    if not isinstance(filter_low_kl, (bool, np.bool_)):
        raise ValueError(f"filter_low_kl must be True or False; got {filter_low_kl!r}.")
    if isinstance(codes_per_model, np.ndarray) and codes_per_model.ndim == 2:
        raise ValueError("codes_per_model must be a sequence of (n, d) code arrays, one per model; got one 2-D array.")
    models = [check_codes(codes, name=f"codes_per_model[{m}]") for m, codes in enumerate(codes_per_model)]
    count = len(models)
    if count < 2:
        raise ValueError(f"UDR compares models with each other: give the codes of at least 2 models; got {count}.")
    n = models[0].shape[0]
    for m, codes in enumerate(models):
        if codes.shape[0] != n:
            raise ValueError(f"codes_per_model[{m}] has {codes.shape[0]} rows but codes_per_model[0] has {n}: UDR needs "
                             "the codes of every model on the same inputs.")
    threshold = float(kl_filter_threshold)
    if not np.isfinite(threshold):
        raise ValueError(f"kl_filter_threshold must be a finite number; got {kl_filter_threshold!r}.")
    dims = [codes.shape[1] for codes in models]
    info, source = _as_masks(count, dims, kl_per_model, logvars_per_model, models, active_per_model)
    if names is None:
        names = [str(m) for m in range(count)]
    names = [str(name) for name in names]
    if len(names) != count:
        raise ValueError(f"names has {len(names)} entries but codes_per_model has {count} models.")
    if info is None:
        zeroing = [np.ones(d, dtype=bool) for d in dims]
        keep = zeroing
    elif source == "active_per_model":
        zeroing = keep = info
    else:
        zeroing = [kl > KL_ZEROING_THRESHOLD for kl in info]
        keep = [kl > threshold for kl in info]
    prepared = [_standardized(codes.astype(np.float64)) * mask for codes, mask in zip(models, zeroing)]
    pairwise = np.zeros((count, count))
    matrices: list[list[np.ndarray | None]] = [[None] * count for _ in range(count)]
    similarity = _lasso_matrix if correlation == "lasso" else _spearman_matrix
    pairs = [(i, j) for i in range(count) for j in range(count) if i != j]
    threads = resolve_n_jobs(n_jobs, work=len(pairs) * n, parallel_work=UDR_PARALLEL_WORK)
    if threads == 1:
        computed = [similarity(prepared[i], prepared[j]) for i, j in pairs]
    else:
        from joblib import Parallel, delayed

        computed = Parallel(n_jobs=threads, prefer="threads")(delayed(similarity)(prepared[i], prepared[j])
                                                              for i, j in pairs)
    for (i, j), matrix in zip(pairs, computed):
        if include_correlations:
            matrices[i][j] = matrix
        if filter_low_kl:
            matrix = matrix[keep[i]][:, keep[j]]
        pairwise[i, j] = relative_strength_disentanglement(matrix)
    scores = np.array([np.median(np.delete(pairwise[:, i], i)) for i in range(count)])
    details = {"model_scores": scores, "pairwise_scores": pairwise, "names": names,
               "active_latents": [np.flatnonzero(mask) for mask in keep]}
    if include_correlations:
        details["correlations"] = matrices
    return MetricResult(
        name="udr",
        value=float(np.mean(scores)),
        details=details,
        params={"correlation": correlation, "lasso_alpha": LASSO_ALPHA if correlation == "lasso" else None,
                "filter_low_kl": bool(filter_low_kl), "kl_filter_threshold": threshold,
                "kl_zeroing_threshold": KL_ZEROING_THRESHOLD, "kl_source": source, "n_models": count,
                "n_points": n},
    )


def udr_from_model_dirs(model_dirs: Sequence, *, split: str = "codes", **kwargs) -> MetricResult:
    """[`udr`][dismetrics.metrics.udr.udr] over the `codes.npz` of several model dirs (one sweep).

    Reads each dir's codes with [`dismetrics.modeldir.read_codes`][dismetrics.modeldir.read_codes]
    (`split="codes"`, or `"codes_test"` for the held-out codes). The dirs' codes must be of the same inputs:
    their factor arrays must be equal row for row, or a `ValueError` says which dir differs. `codes.npz`
    holds no log-variances, so without `kl_per_model=` / `active_per_model=` every latent is active.
    Other keyword arguments go to `udr`; the model names are the dirs' paths.
    """
    from ..modeldir import read_codes

    check_choice(split, name="split", choices=("codes", "codes_test"))
    model_dirs = list(model_dirs)
    codes, reference_factors = [], None
    factor_key = "factors" if split == "codes" else "factors_test"
    for directory in model_dirs:
        arrays = read_codes(directory)
        if split not in arrays:
            raise ValueError(f"{directory}: its codes.npz has no {split!r} array.")
        if reference_factors is None:
            reference_factors = arrays[factor_key]
        elif arrays[factor_key].shape != reference_factors.shape or not np.array_equal(arrays[factor_key], reference_factors):
            raise ValueError(f"{directory}: its {factor_key} differ from those of {model_dirs[0]}; UDR needs every model's "
                             "codes of the same inputs (write the codes of one shared sample into every dir).")
        codes.append(arrays[split])
    kwargs.setdefault("names", [str(Path(directory)) for directory in model_dirs])
    return udr(codes, **kwargs)


SPEC = register_metric(MetricSpec(
    name="udr", func=udr, kind="sweep", title="UDR",
    reference="Duan et al. 2020; disentanglement_lib evaluation/udr/metrics/udr.py@86a644d4", docs="udr.md"))

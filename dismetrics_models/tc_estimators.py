"""Minibatch estimators of log q(z), its marginals and the total correlation (Chen et al., 2018).

Notation: a minibatch of `B` data points `n_1 .. n_B` drawn from a data set of size `N` (for a
ground-truth grid, `N` is the grid size), their posteriors `q(z | n_j) = N(mu_j, diag(exp(logvar_j)))`
and one sample `z_i ~ q(z | n_i)` per point. The aggregate posterior is
`q(z) = (1/N) sum_n q(z | n)` and `TC = E_q(z)[log q(z) - sum_k log q(z_k)]`.

- Minibatch weighted sampling (MWS, Chen et al. Appendix C.1), as MODELS.md and the beta-TCVAE
  reference code write it:

    ```text
    log q(z_i)   ~ logsumexp_j  log q(z_i | n_j)   - log(N B)
    log q(z_ik)  ~ logsumexp_j  log q(z_ik | n_j)  - log(N B)
    ```

    Taken literally its expectation is not q(z_i): averaging over batches whose other members are drawn
    uniformly with replacement, `E[q_MWS(z_i)] = (q(z_i | n_i) + (B - 1) q(z_i)) / (N B)` (the tests
    check this identity by enumeration). The constant `log N` offsets do not change gradients; they
    shift the logged TC value by a constant.

- Minibatch stratified sampling (MSS, Chen et al. Appendix C.2), with `M = B - 1`:

    ```text
    log q(z_i)   ~ logsumexp_j  (log W_ij + log q(z_i | n_j))
    W_ii = 1/N,  W_i,(i+1) mod B = (N - M) / (N M),  W_ij = 1/M otherwise.
    ```

    Each row of `W` sums to one, and when the other members of the batch are distinct from `n_i`
    and uniform over the rest of the data set, `E[q_MSS(z_i)] = q(z_i)` exactly. The widely copied
    reference code fills the matrix by striding the flattened array by the batch size, which writes
    columns 0 and 1 instead of the diagonal and the next diagonal (MSS_0 in the RTC-VAE paper); this is
    the corrected MSS_1.

All functions are pure (tensors in, tensors out) and differentiable.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "gaussian_log_density",
    "pairwise_log_density",
    "mss_log_weight_matrix",
    "log_qz_mws",
    "log_qz_mss",
    "total_correlation_mws",
    "total_correlation_mss",
    "total_correlation",
]

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise `log N(z; mean, exp(logvar))` (broadcasting)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mean) ** 2 * torch.exp(-logvar))


def pairwise_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """`out[i, j, k] = log q(z_ik | n_j)`, shape `(B, B, d)`, for `z` `(B, d)` and posteriors `(B, d)`."""
    return gaussian_log_density(z.unsqueeze(1), mean.unsqueeze(0), logvar.unsqueeze(0))


def _check_sizes(batch_size: int, dataset_size: int, *, stratified: bool) -> None:
    if batch_size < 2:
        raise ValueError(f"the minibatch TC estimators need a batch of at least 2; got {batch_size}.")
    if dataset_size < 1:
        raise ValueError(f"dataset_size must be a positive integer; got {dataset_size}.")
    if stratified and dataset_size < batch_size - 1:
        raise ValueError(
            f"MSS needs dataset_size >= batch_size - 1 (its stratum weight (N - M) / (N M) must be >= 0); "
            f"got dataset_size={dataset_size}, batch_size={batch_size}."
        )


def mss_log_weight_matrix(batch_size: int, dataset_size: int, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """`log W` of minibatch stratified sampling (the corrected MSS_1), shape `(B, B)`."""
    _check_sizes(batch_size, dataset_size, stratified=True)
    n, m = float(dataset_size), float(batch_size - 1)
    weights = torch.full((batch_size, batch_size), 1.0 / m, dtype=torch.float64)
    rows = torch.arange(batch_size)
    weights[rows, rows] = 1.0 / n
    weights[rows, (rows + 1) % batch_size] = (n - m) / (n * m)
    return weights.log().to(dtype=dtype, device=device)


def log_qz_mws(z, mean, logvar, dataset_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MWS estimates `(log q(z_i), log q(z_ik))` of shapes `(B,)` and `(B, d)`."""
    batch_size = z.shape[0]
    _check_sizes(batch_size, dataset_size, stratified=False)
    log_q = pairwise_log_density(z, mean, logvar)
    offset = math.log(batch_size * dataset_size)
    log_qz = torch.logsumexp(log_q.sum(dim=2), dim=1) - offset
    log_qz_marginals = torch.logsumexp(log_q, dim=1) - offset
    return log_qz, log_qz_marginals


def log_qz_mss(z, mean, logvar, dataset_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MSS estimates `(log q(z_i), log q(z_ik))` of shapes `(B,)` and `(B, d)`."""
    batch_size = z.shape[0]
    log_w = mss_log_weight_matrix(batch_size, dataset_size, dtype=z.dtype, device=z.device)
    log_q = pairwise_log_density(z, mean, logvar)
    log_qz = torch.logsumexp(log_w + log_q.sum(dim=2), dim=1)
    log_qz_marginals = torch.logsumexp(log_w.unsqueeze(2) + log_q, dim=1)
    return log_qz, log_qz_marginals


def total_correlation_mws(z, mean, logvar, dataset_size: int) -> torch.Tensor:
    """Batch mean of `log q(z_i) - sum_k log q(z_ik)` with the MWS estimates (a scalar)."""
    log_qz, log_qz_marginals = log_qz_mws(z, mean, logvar, dataset_size)
    return (log_qz - log_qz_marginals.sum(dim=1)).mean()


def total_correlation_mss(z, mean, logvar, dataset_size: int) -> torch.Tensor:
    """Batch mean of `log q(z_i) - sum_k log q(z_ik)` with the MSS estimates (a scalar)."""
    log_qz, log_qz_marginals = log_qz_mss(z, mean, logvar, dataset_size)
    return (log_qz - log_qz_marginals.sum(dim=1)).mean()


def total_correlation(z, mean, logvar, dataset_size: int, estimator: str = "mws") -> torch.Tensor:
    """`total_correlation_mws` or `total_correlation_mss` by name."""
    if estimator == "mws":
        return total_correlation_mws(z, mean, logvar, dataset_size)
    if estimator == "mss":
        return total_correlation_mss(z, mean, logvar, dataset_size)
    raise ValueError(f"estimator must be 'mws' or 'mss'; got {estimator!r}.")

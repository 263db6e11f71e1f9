"""beta-VAE, AnnealedVAE, DIP-VAE-I and DIP-VAE-II (objectives on the KL and the posterior moments).

All minimize `recon + regularizer` (MODELS.md, "Objectives"):

- beta-VAE (Higgins et al.): `beta * KL`.
- AnnealedVAE (Burgess et al.): `gamma * |KL - C(step)|`,
  `C(step) = min(c_max, c_max * step / iteration_threshold)`.
- DIP-VAE-I (Kumar et al.): `KL + l_od sum_{i!=j} Cov[mu]_ij^2 + l_d sum_i (Cov[mu]_ii - 1)^2`,
  `l_d = 10 l_od`.
- DIP-VAE-II: the same on `Cov_q(z) = E[diag(sigma^2)] + Cov[mu]`, `l_d = l_od`.

`Cov[mu]` is the batch covariance of the means with the 1/n normalisation (disentanglement_lib's
`compute_covariance_z_mean`); `E[diag(sigma^2)]` is the batch mean of the diagonal encoder
covariances -- a diagonal d x d matrix, not a scalar.
"""

from __future__ import annotations

import math

import torch

from .base import VAEBase

__all__ = [
    "BetaVAE",
    "AnnealedVAE",
    "DIPVAEI",
    "DIPVAEII",
    "annealed_capacity",
    "covariance",
    "dip_regularizer",
]


def _nonneg_float(hp: dict, key: str, *, positive: bool = False) -> None:
    value = hp[key]
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a number; got {value!r}.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number; got {value!r}.") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{key} must be a finite {kind} number; got {hp[key]!r}.")
    hp[key] = value


def _adam_beta(hp: dict, key: str) -> None:
    """An Adam decay rate: a number in [0, 1)."""
    _nonneg_float(hp, key)
    if hp[key] >= 1.0:
        raise ValueError(f"{key} must be in [0, 1) (an Adam decay rate); got {hp[key]!r}.")


class BetaVAE(VAEBase):
    """beta-VAE: `recon + beta * KL`. Grid beta in {1, 2, 4, 6, 8, 16}."""

    name = "beta_vae"
    defaults = {"beta": 4.0}

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "beta")
        return hp

    def regularizer(self, mean, logvar, z, kl, step, cache):
        weighted = self.hp["beta"] * kl
        return weighted, {"beta_kl": weighted}


def annealed_capacity(step: int, c_max: float, iteration_threshold: int) -> float:
    """`C(step) = min(c_max, c_max * step / iteration_threshold)` (disentanglement_lib's AnnealedVAE)."""
    return min(float(c_max), float(c_max) * float(step) / float(iteration_threshold))


class AnnealedVAE(VAEBase):
    """AnnealedVAE: `recon + gamma * |KL - C|`, `C` rising linearly from 0 to `c_max` over
    `iteration_threshold` steps. Grid c_max in {5, 10, 25, 50, 75, 100}, gamma = 1000."""

    name = "annealed_vae"
    defaults = {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100_000}

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "gamma")
        _nonneg_float(hp, "c_max")
        threshold = hp["iteration_threshold"]
        if isinstance(threshold, bool) or int(threshold) != threshold or threshold < 1:
            raise ValueError(f"iteration_threshold must be a positive integer; got {threshold!r}.")
        hp["iteration_threshold"] = int(threshold)
        return hp

    def regularizer(self, mean, logvar, z, kl, step, cache):
        capacity = annealed_capacity(step, self.hp["c_max"], self.hp["iteration_threshold"])
        weighted = self.hp["gamma"] * torch.abs(kl - capacity)
        return weighted, {"capacity": torch.tensor(capacity), "gamma_abs_kl_minus_c": weighted}


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Batch covariance with 1/n normalisation: `E[x x^T] - E[x] E[x]^T`, shape (d, d)."""
    centred = x - x.mean(dim=0, keepdim=True)
    return centred.T @ centred / x.shape[0]


def dip_regularizer(cov: torch.Tensor, lambda_od: float, lambda_d: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`(l_od * sum_{i != j} cov_ij^2, l_d * sum_i (cov_ii - 1)^2)`."""
    diagonal = torch.diagonal(cov)
    off_diagonal = cov - torch.diag(diagonal)
    return lambda_od * off_diagonal.pow(2).sum(), lambda_d * (diagonal - 1.0).pow(2).sum()


class _DIPBase(VAEBase):
    defaults = {"lambda_od": 10.0, "lambda_d": None}
    lambda_d_factor = 1.0

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "lambda_od")
        if hp["lambda_d"] is None:
            hp["lambda_d"] = self.lambda_d_factor * hp["lambda_od"]
        _nonneg_float(hp, "lambda_d")
        return hp

    def latent_covariance(self, mean, logvar) -> torch.Tensor:
        raise NotImplementedError

    def regularizer(self, mean, logvar, z, kl, step, cache):
        cov = self.latent_covariance(mean, logvar)
        off_diagonal, diagonal = dip_regularizer(cov, self.hp["lambda_od"], self.hp["lambda_d"])
        return kl + off_diagonal + diagonal, {"dip_off_diagonal": off_diagonal, "dip_diagonal": diagonal}


class DIPVAEI(_DIPBase):
    """DIP-VAE-I: the DIP penalty on `Cov[mu]`, `lambda_d = 10 lambda_od` by default.
    Grid lambda_od in {1, 2, 5, 10, 20, 50}."""

    name = "dip_vae_i"
    lambda_d_factor = 10.0

    def latent_covariance(self, mean, logvar):
        return covariance(mean)


class DIPVAEII(_DIPBase):
    """DIP-VAE-II: the DIP penalty on `E[diag(sigma^2)] + Cov[mu]`, `lambda_d = lambda_od` by default."""

    name = "dip_vae_ii"
    lambda_d_factor = 1.0

    def latent_covariance(self, mean, logvar):
        return torch.diag(logvar.exp().mean(dim=0)) + covariance(mean)


"""Wasserstein auto-encoders and the Wasserstein total-correlation models.

Objectives (minimized; MODELS.md, "Objectives"):

- `wae_mmd` (Tolstikhin et al.): `recon + lambda * MMD(q(z), p(z))` with a deterministic encoder
  (`z = mu`), `p = N(0, I)`.
- `wae_mmd_random` (Rubenstein, Schölkopf & Tolstikhin): the same with a random Gaussian encoder
  (`z = mu + sigma * eps`) plus the L1 log-variance penalty `(lambda_1 / B) sum_{i,k} |log sigma_ik^2|`.
  `tanh_means=True` bounds the means to (-1, 1) (their disentanglement run); the exported encoder
  then outputs the bounded means too.
- `wae` (the Wasserstein-TC paper's baseline): `recon + beta * W1(q(z), p(z))`, `W1` estimated by a
  critic `g` with gradient penalty: the model minimizes `beta * [mean g(z) - mean g(z')]`, `z' ~ p`.
- `wtc_vae` (Algorithm 2): `recon + KL + gamma * [mean f(z) - mean f(permute_dims(z))]`; the model's
  gradient flows through both `z` and its permutation.
- `wtc_wae` (Algorithm 3): `recon + beta * [mean g(zbar) - mean g(z')] + gamma * [mean f(z) - mean f(zbar)]`,
  `zbar = permute_dims(z)`, `z' ~ p(z)`; two critics, random Gaussian encoder.

MMD: inverse multiquadratic kernel `k(x, y) = sum_C C / (C + |x - y|^2)` over
`C in 2 d s^2 {0.1, 0.2, 0.5, 1, 2, 5, 10}` (`s = 1`), unbiased U-statistic:

```text
MMD = (sum_{i != j} k(x_i, x_j) + sum_{i != j} k(y_i, y_j)) / (n (n - 1)) - 2 sum_{i, j} k(x_i, y_j) / n^2
```

(the Wasserstein-TC paper's released code adds the cross term instead of subtracting it; we follow
Tolstikhin et al.).

Critics (MLP, three hidden layers of 256, ReLU, scalar) maximize the same difference they estimate
minus `gp_weight * GP` (WGAN-GP, Gulrajani et al.): `GP = mean_i (|grad f(x_hat_i)|_2 - 1)^2` at
`x_hat_i = u_i a_i + (1 - u_i) b_i`, `u_i ~ U(0, 1)`, between the two samples the critic separates.
They train on detached codes after the model step, `critic_steps` updates per model step (default 1,
as in the paper), with Adam(`critic_lr` 1e-4, betas (`critic_beta1`, `critic_beta2`) = (0.9, 0.999): the
Wasserstein-TC paper's Table 4(b) and its authors' code, Adam's defaults; WGAN-GP's (0.5, 0.9) is the
option `critic_beta1=0.5, critic_beta2=0.9`, `CRITIC_BETAS["wgan_gp"]` in
`dismetrics_models.hyperparameters`); the model optimizer never holds their parameters.
"""

from __future__ import annotations

from typing import Callable

import torch

from .architectures import Critic
from .base import LossOutput, VAEBase, permute_dims
from .hyperparameters import CRITIC_BETAS, DEFAULT_CRITIC_BETAS
from .vae import _adam_beta, _nonneg_float

__all__ = [
    "IMQ_SCALES",
    "imq_kernel",
    "mmd_unbiased",
    "gradient_penalty",
    "prior_sample",
    "WAEMMD",
    "WAEMMDRandom",
    "WAE",
    "WTCVAE",
    "WTCWAE",
]

IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
"""Multipliers of `2 d s^2` giving the inverse multiquadratic kernel scales (Tolstikhin et al.)."""


def imq_kernel(x: torch.Tensor, y: torch.Tensor, prior_var: float = 1.0) -> torch.Tensor:
    """`K[i, j] = sum_C C / (C + |x_i - y_j|^2)`, `C in 2 d prior_var * IMQ_SCALES`."""
    d = x.shape[1]
    sq = (x.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(dim=2)
    base = 2.0 * d * prior_var
    return sum(base * s / (base * s + sq) for s in IMQ_SCALES)


def mmd_unbiased(x: torch.Tensor, y: torch.Tensor, prior_var: float = 1.0) -> torch.Tensor:
    """The unbiased U-statistic of `MMD^2` between samples `x` and `y` of equal size `n >= 2`."""
    n = x.shape[0]
    if n < 2 or y.shape[0] != n:
        raise ValueError(f"mmd_unbiased needs two samples of the same size >= 2; got {x.shape[0]} and {y.shape[0]}.")
    k_xx = imq_kernel(x, x, prior_var)
    k_yy = imq_kernel(y, y, prior_var)
    k_xy = imq_kernel(x, y, prior_var)
    off = 1.0 - torch.eye(n, dtype=x.dtype, device=x.device)
    within = ((k_xx + k_yy) * off).sum() / (n * (n - 1))
    return within - 2.0 * k_xy.sum() / (n * n)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], a: torch.Tensor, b: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: `mean_i (|grad critic(u_i a_i + (1 - u_i) b_i)|_2 - 1)^2`; `u` of shape `(n,)`.
    Differentiable with respect to the critic's parameters (`create_graph=True`)."""
    x_hat = (u.unsqueeze(1) * a + (1.0 - u.unsqueeze(1)) * b).detach().requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return (grad.norm(2, dim=1) - 1.0).pow(2).mean()


def prior_sample(shape, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """`z' ~ N(0, I)` drawn on the CPU from `generator`, moved to `like`'s device and dtype."""
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float32).to(device=like.device, dtype=like.dtype)


def _uniform(n: int, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand((n,), generator=generator, dtype=torch.float32).to(device=like.device, dtype=like.dtype)


def _positive_int(hp: dict, key: str) -> None:
    value = hp[key]
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{key} must be a positive integer; got {value!r}.")
    hp[key] = int(value)


def _bool(hp: dict, key: str) -> None:
    if not isinstance(hp[key], bool):
        raise ValueError(f"{key} must be true or false; got {hp[key]!r}.")


# ---- WAE-MMD -------------------------------------------------------------------------------------------
class WAEMMD(VAEBase):
    """WAE-MMD with a deterministic encoder (`z = mu`): `recon + lambda * MMD(q(z), N(0, I))`."""

    name = "wae_mmd"
    defaults = {"lambda": 10.0, "tanh_means": False}
    stochastic_encoder = False

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "lambda")
        _bool(hp, "tanh_means")
        return hp

    def encode(self, x):
        mean, logvar = self.encoder(x)
        if self.hp["tanh_means"]:
            mean = torch.tanh(mean)
        return mean, logvar

    def regularizer(self, mean, logvar, z, kl, step, cache):
        z_prior = prior_sample(z.shape, cache["generator"], z)
        mmd = mmd_unbiased(z, z_prior)
        weighted = self.hp["lambda"] * mmd
        return weighted, {"mmd": mmd, "lambda_mmd": weighted}


class WAEMMDRandom(WAEMMD):
    """WAE-MMD with a random Gaussian encoder and the L1 log-variance penalty
    `(lambda_1 / B) sum |log sigma^2|` (Rubenstein et al.). Grid lambda_1 in {0, 0.1, 0.5, 1, 2, 3, 5, 8, 12}."""

    name = "wae_mmd_random"
    defaults = {"lambda": 10.0, "lambda_1": 1.0, "tanh_means": False}
    stochastic_encoder = True

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "lambda_1")
        return hp

    def regularizer(self, mean, logvar, z, kl, step, cache):
        weighted_mmd, terms = super().regularizer(mean, logvar, z, kl, step, cache)
        l1 = logvar.abs().sum() / logvar.shape[0]
        weighted_l1 = self.hp["lambda_1"] * l1
        return weighted_mmd + weighted_l1, {**terms, "l1_logvar": l1, "lambda_1_l1_logvar": weighted_l1}


# ---- critic models -----------------------------------------------------------------------------------
class _CriticModel(VAEBase):
    """Shared machinery of the critic models: hyperparameters, optimizers and the critic updates."""

    critic_names: tuple[str, ...] = ()
    critic_defaults = {"critic_steps": 1, "gp_weight": 10.0, "critic_lr": 1e-4,
                       "critic_beta1": CRITIC_BETAS[DEFAULT_CRITIC_BETAS][0],
                       "critic_beta2": CRITIC_BETAS[DEFAULT_CRITIC_BETAS][1]}

    def build_auxiliary_networks(self) -> None:
        for name in self.critic_names:
            setattr(self, name, Critic(self.latent_dim))

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _positive_int(hp, "critic_steps")
        _nonneg_float(hp, "gp_weight")
        for key in ("critic_beta1", "critic_beta2"):
            _adam_beta(hp, key)
        _nonneg_float(hp, "critic_lr", positive=True)
        return hp

    def make_auxiliary_optimizers(self):
        return {
            name: torch.optim.Adam(
                getattr(self, name).parameters(),
                lr=self.hp["critic_lr"],
                betas=(self.hp["critic_beta1"], self.hp["critic_beta2"]),
                eps=1e-8,
            )
            for name in self.critic_names
        }

    def critic_pairs(self, z: torch.Tensor, generator: torch.Generator) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """For each critic, the (detached) samples `(a, b)` whose mean difference `f(a) - f(b)` it maximizes."""
        raise NotImplementedError

    def auxiliary_step(self, output: LossOutput, optimizers):
        z = output.cache["z"].detach()
        generator = output.cache["generator"]
        terms = {}
        for _ in range(self.hp["critic_steps"]):
            pairs = self.critic_pairs(z, generator)
            for name, (a, b) in pairs.items():
                critic = getattr(self, name)
                optimizer = optimizers[name]
                optimizer.zero_grad(set_to_none=True)
                gap = critic(a).mean() - critic(b).mean()
                gp = gradient_penalty(critic, a, b, _uniform(a.shape[0], generator, a))
                loss = -gap + self.hp["gp_weight"] * gp
                loss.backward()
                optimizer.step()
                terms[f"{name}_gap"] = gap.detach()
                terms[f"{name}_gp"] = gp.detach()
                terms[f"{name}_loss"] = loss.detach()
        return terms


class WAE(_CriticModel):
    """The Wasserstein-TC paper's WAE baseline: `recon + beta * W1(q(z), N(0, I))` by a critic.
    Grid beta in {1, 4, 8, 16}."""

    name = "wae"
    critic_names = ("critic_prior",)
    defaults = {"beta": 4.0, **_CriticModel.critic_defaults}

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "beta")
        return hp

    def critic_pairs(self, z, generator):
        return {"critic_prior": (z, prior_sample(z.shape, generator, z))}

    def regularizer(self, mean, logvar, z, kl, step, cache):
        z_prior = prior_sample(z.shape, cache["generator"], z)
        w1 = self.critic_prior(z).mean() - self.critic_prior(z_prior).mean()
        weighted = self.hp["beta"] * w1
        return weighted, {"w1_prior": w1, "beta_w1_prior": weighted}


class WTCVAE(_CriticModel):
    """WTC-VAE (Algorithm 2): `recon + KL + gamma * [f(z) - f(permute_dims(z))]`.
    Grid gamma in {10, 20, 40, 80} (and {1, 4})."""

    name = "wtc_vae"
    critic_names = ("critic_tc",)
    defaults = {"gamma": 10.0, **_CriticModel.critic_defaults}

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "gamma")
        return hp

    def critic_pairs(self, z, generator):
        return {"critic_tc": (z, permute_dims(z, generator))}

    def regularizer(self, mean, logvar, z, kl, step, cache):
        z_permuted = permute_dims(z, cache["generator"])  # not detached: the gradient flows through both
        wtc = self.critic_tc(z).mean() - self.critic_tc(z_permuted).mean()
        weighted = self.hp["gamma"] * wtc
        return kl + weighted, {"wtc": wtc, "gamma_wtc": weighted}


class WTCWAE(_CriticModel):
    """WTC-WAE (Algorithm 3): `recon + beta * [g(zbar) - g(z')] + gamma * [f(z) - f(zbar)]`.

    `gamma >= beta` is required (checked at construction). With `gamma = beta` the objective is the upper
    bound `beta * W1(prod_k q_k, p) + beta * W1(q, prod_k q_k) >= beta * W1(q, p)` of the WAE objective (the
    paper's Eq. 10); the paper chooses `gamma >= beta` "to encourage disentanglement" (after its Eq. 11), i.e.
    the total-correlation term weighted up, never down."""

    name = "wtc_wae"
    critic_names = ("critic_prior", "critic_tc")
    defaults = {"beta": 1.0, "gamma": 10.0, **_CriticModel.critic_defaults}

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "beta")
        _nonneg_float(hp, "gamma")
        if hp["gamma"] < hp["beta"]:
            raise ValueError(f"wtc_wae needs gamma >= beta (the Wasserstein-TC paper weights the TC term at least as "
                             f"much as the marginal term); got gamma={hp['gamma']!r} < beta={hp['beta']!r}.")
        return hp

    def critic_pairs(self, z, generator):
        z_bar = permute_dims(z, generator)
        return {"critic_prior": (z_bar, prior_sample(z.shape, generator, z)), "critic_tc": (z, z_bar)}

    def regularizer(self, mean, logvar, z, kl, step, cache):
        generator = cache["generator"]
        z_bar = permute_dims(z, generator)
        z_prior = prior_sample(z.shape, generator, z)
        w_marginals = self.critic_prior(z_bar).mean() - self.critic_prior(z_prior).mean()
        wtc = self.critic_tc(z).mean() - self.critic_tc(z_bar).mean()
        weighted_marginals = self.hp["beta"] * w_marginals
        weighted_wtc = self.hp["gamma"] * wtc
        return weighted_marginals + weighted_wtc, {
            "w1_marginals": w_marginals,
            "beta_w1_marginals": weighted_marginals,
            "wtc": wtc,
            "gamma_wtc": weighted_wtc,
        }

"""What every model shares: the loss terms and the base class the engine drives.

A model is a small `torch.nn.Module` holding the shared encoder and decoder (and any auxiliary
network) and its objective. The engine calls, once per step:

1. `VAEBase.compute_loss` -- one forward pass, the model loss and the terms to log;
2. a backward pass and a step of the model optimizer (over `VAEBase.model_parameters` only);
3. `VAEBase.auxiliary_step` -- updates of auxiliary networks on *detached* codes.

Losses (MODELS.md): reconstruction = binary cross-entropy with logits summed over pixels, averaged over
the batch; KL(q(z|x) || N(0, I)) summed over latent dims, averaged over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .architectures import Decoder, Encoder, initialize_weights
from .hyperparameters import DEFAULT_INIT, INIT_SCHEMES

__all__ = [
    "reconstruction_loss",
    "kl_divergence",
    "reparameterize",
    "permute_dims",
    "LossOutput",
    "VAEBase",
]


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood: BCE with logits summed over pixels, averaged over the batch."""
    return F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="sum") / x.shape[0]


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-example `KL(N(mean, exp(logvar)) || N(0, I))` summed over dims, shape `(n,)`:
    `0.5 * sum_k (mean_k^2 + exp(logvar_k) - logvar_k - 1)`."""
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1)


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """`z = mean + exp(logvar / 2) * eps`, `eps ~ N(0, I)` drawn on the CPU from `generator` (so
    CPU and GPU runs see the same noise)."""
    eps = torch.randn(mean.shape, generator=generator, dtype=torch.float32).to(device=mean.device, dtype=mean.dtype)
    return mean + torch.exp(0.5 * logvar) * eps


def permute_dims(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Permute each latent dimension independently across the batch (Kim & Mnih, Algorithm 1)."""
    n, d = z.shape
    order = torch.argsort(torch.rand((n, d), generator=generator), dim=0).to(z.device)
    return torch.gather(z, 0, order)


@dataclass
class LossOutput:
    """What `VAEBase.compute_loss` returns."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor]
    cache: dict[str, Any] = field(default_factory=dict)


class VAEBase(nn.Module):
    """A Gaussian-encoder, Bernoulli-decoder model; subclasses define `regularizer`.

    `compute_loss` returns `recon + w(step) * regularizer` where `w` is 1 unless the named
    option `warmup_steps` is positive (then it rises linearly from 0 to 1 over that many steps;
    the reference has no warm-up, so the default is 0).

    Construction builds the encoder, the decoder and then the auxiliary networks
    (`build_auxiliary_networks`), and initializes all of them by the hyperparameter `init`:
    `"glorot_uniform"` (default; disentanglement_lib's Glorot-uniform weights and zero biases) or
    `"torch_default"` (PyTorch's layer initialization), with torch's global random generator.
    """

    name: ClassVar[str] = "vae"
    """The `--model` name (MODELS.md "Names")."""
    defaults: ClassVar[Mapping[str, Any]] = {}
    """Default hyperparameters of the objective."""
    uses_second_batch: ClassVar[bool] = False
    """Whether the objective needs a second, independent batch (FactorVAE's z*)."""
    stochastic_encoder: ClassVar[bool] = True
    """Whether codes are sampled `z = mu + sigma * eps` (False: deterministic encoder, `z = mu`)."""

    def __init__(
        self,
        in_channels: int = 1,
        latent_dim: int = 10,
        arch: str = "paper",
        dataset_size: int | None = None,
        **hyperparameters: Any,
    ) -> None:
        super().__init__()
        allowed = dict(self.defaults)
        allowed.setdefault("warmup_steps", 0)
        allowed.setdefault("init", DEFAULT_INIT)
        unknown = sorted(set(hyperparameters) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for model {self.name!r}; it takes {sorted(allowed)}."
            )
        allowed.update(hyperparameters)
        self.hyperparameters = self.validate_hyperparameters(allowed)
        self.latent_dim = latent_dim
        self.in_channels = in_channels
        self.arch = arch
        self.dataset_size = dataset_size
        self.encoder = Encoder(in_channels, latent_dim, arch)
        self.decoder = Decoder(in_channels, latent_dim)
        self.build_auxiliary_networks()
        initialize_weights(self, self.hyperparameters["init"])

    # ---- hyperparameters --------------------------------------------------------------------------
    def validate_hyperparameters(self, hp: dict[str, Any]) -> dict[str, Any]:
        warmup = hp["warmup_steps"]
        if isinstance(warmup, bool) or int(warmup) != warmup or warmup < 0:
            raise ValueError(f"warmup_steps must be a non-negative integer; got {warmup!r}.")
        hp["warmup_steps"] = int(warmup)
        if hp["init"] not in INIT_SCHEMES:
            raise ValueError(f"init must be one of {INIT_SCHEMES}; got {hp['init']!r}.")
        return hp

    @property
    def hp(self) -> dict[str, Any]:
        return self.hyperparameters

    # ---- parameters and optimizers ----------------------------------------------------------------
    def build_auxiliary_networks(self) -> None:
        """Create the auxiliary networks (discriminator, critics) as attributes; none by default. Called by
        `__init__` after the encoder and decoder and before the initialization."""
    def model_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the model optimizer updates: encoder and decoder only."""
        yield from self.encoder.parameters()
        yield from self.decoder.parameters()

    def make_auxiliary_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers of auxiliary networks (none by default)."""
        return {}

    # ---- the step ------------------------------------------------------------------------------------
    def warmup_weight(self, step: int) -> float:
        steps = self.hp["warmup_steps"]
        return 1.0 if steps <= 0 else min(1.0, step / steps)

    def compute_loss(
        self,
        x: torch.Tensor,
        step: int,
        generator: torch.Generator,
        x_second: torch.Tensor | None = None,
    ) -> LossOutput:
        """One forward pass: the model loss at `step` (number of updates done so far) and its terms."""
        n = x.shape[0]
        if x_second is not None:
            mean_all, logvar_all = self.encode(torch.cat([x, x_second], dim=0))
            mean, logvar = mean_all[:n], logvar_all[:n]
            second = (mean_all[n:].detach(), logvar_all[n:].detach())
        else:
            mean, logvar = self.encode(x)
            second = None
        mean, logvar = mean.float(), logvar.float()
        z = reparameterize(mean, logvar, generator) if self.stochastic_encoder else mean
        logits = self.decoder(z)
        recon = reconstruction_loss(logits, x)
        kl_per_example = kl_divergence(mean, logvar)
        kl = kl_per_example.mean()
        cache = {"mean": mean, "logvar": logvar, "z": z, "second": second, "generator": generator}
        regularizer, terms = self.regularizer(mean, logvar, z, kl, step, cache)
        weight = self.warmup_weight(step)
        loss = recon + weight * regularizer
        all_terms = {"loss": loss, "recon": recon, "kl": kl, "regularizer": regularizer}
        if self.hp["warmup_steps"] > 0:
            all_terms["warmup_weight"] = torch.tensor(weight)
        all_terms.update(terms)
        if self.dataset_size is not None and n >= 2:
            from .tc_estimators import total_correlation_mss, total_correlation_mws

            with torch.no_grad():  # diagnostics: both minibatch TC estimates, whatever the objective
                if "tc_mws" not in all_terms:
                    all_terms["tc_mws"] = total_correlation_mws(z, mean, logvar, self.dataset_size)
                if "tc_mss" not in all_terms and self.dataset_size >= n - 1:
                    all_terms["tc_mss"] = total_correlation_mss(z, mean, logvar, self.dataset_size)
        terms_out = {k: torch.as_tensor(v).detach().to(loss.device) for k, v in all_terms.items()}
        return LossOutput(loss, terms_out, cache)

    def regularizer(self, mean, logvar, z, kl, step, cache) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The part of the loss besides the reconstruction, and the terms to log."""
        raise NotImplementedError

    def auxiliary_step(self, output: LossOutput, optimizers: Mapping[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """Update auxiliary networks after the model step (on detached codes); returns terms to log."""
        return {}

    # ---- inference ------------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(mean, logvar)` of the encoder; models may transform them (WAE's `tanh_means`)."""
        return self.encoder(x)

    @torch.no_grad()
    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction loss (summed BCE, batch mean) decoding the encoder mean."""
        mean, _ = self.encode(x)
        return reconstruction_loss(self.decoder(mean.float()), x)

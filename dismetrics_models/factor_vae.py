"""FactorVAE (Kim & Mnih, 2018): `recon + KL + gamma * TC`, TC by a density-ratio discriminator.

The discriminator `D` (MLP, six hidden layers of 1000, LeakyReLU(0.2), two logits) is trained with
cross-entropy to tell samples `z ~ q(z)` (label 0) from `permute_dims(z*)` (label 1), a sample of
the product of the marginals. The model's TC estimate is `mean(D_0(z) - D_1(z))` (the log density
ratio); only `D(z)` carries the model's gradient.

- `z*` comes from a second, independent batch, as in the paper (default), or from the same batch
  (`same_batch=True`, disentanglement_lib's choice).
- The discriminator is updated after the model step, on detached codes, by its own optimizer
  (Adam, lr 1e-4, betas (0.5, 0.9): the paper's and disentanglement_lib's, Adam's defaults (0.9, 0.999)
  as the option `disc_beta1=0.9, disc_beta2=0.999`); the model optimizer never sees its parameters.
  Grid gamma in {10, 20, 30, 40, 50, 100}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .architectures import Discriminator
from .base import LossOutput, VAEBase, permute_dims
from .vae import _adam_beta, _nonneg_float

__all__ = ["FactorVAE", "discriminator_loss"]


def discriminator_loss(logits_joint: torch.Tensor, logits_permuted: torch.Tensor) -> torch.Tensor:
    """`0.5 * (CE(D(z), 0) + CE(D(permute_dims(z*)), 1))`, each a batch mean."""
    zeros = torch.zeros(logits_joint.shape[0], dtype=torch.long, device=logits_joint.device)
    ones = torch.ones(logits_permuted.shape[0], dtype=torch.long, device=logits_permuted.device)
    return 0.5 * (F.cross_entropy(logits_joint, zeros) + F.cross_entropy(logits_permuted, ones))


class FactorVAE(VAEBase):
    name = "factor_vae"
    defaults = {
        "gamma": 30.0,
        "same_batch": False,
        "disc_lr": 1e-4,
        "disc_beta1": 0.5,
        "disc_beta2": 0.9,
    }

    def build_auxiliary_networks(self) -> None:
        self.discriminator = Discriminator(self.latent_dim)

    @property
    def uses_second_batch(self) -> bool:  # type: ignore[override]
        return not self.hp["same_batch"]

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "gamma")
        _nonneg_float(hp, "disc_lr", positive=True)
        _adam_beta(hp, "disc_beta1")
        _adam_beta(hp, "disc_beta2")
        if not isinstance(hp["same_batch"], bool):
            raise ValueError(f"same_batch must be true or false; got {hp['same_batch']!r}.")
        return hp

    def make_auxiliary_optimizers(self):
        return {
            "discriminator": torch.optim.Adam(
                self.discriminator.parameters(),
                lr=self.hp["disc_lr"],
                betas=(self.hp["disc_beta1"], self.hp["disc_beta2"]),
                eps=1e-8,
            )
        }

    def regularizer(self, mean, logvar, z, kl, step, cache):
        logits = self.discriminator(z)
        tc = (logits[:, 0] - logits[:, 1]).mean()
        weighted = self.hp["gamma"] * tc
        return kl + weighted, {"tc_discriminator": tc, "gamma_tc": weighted}

    def auxiliary_step(self, output: LossOutput, optimizers):
        cache = output.cache
        z = cache["z"].detach()
        if cache["second"] is not None:
            from .base import reparameterize

            mean2, logvar2 = cache["second"]
            z_other = reparameterize(mean2, logvar2, cache["generator"])
        else:
            z_other = z
        z_permuted = permute_dims(z_other.detach(), cache["generator"])
        optimizer = optimizers["discriminator"]
        optimizer.zero_grad(set_to_none=True)  # drops the gradient the model loss left on D
        logits = self.discriminator(torch.cat([z, z_permuted], dim=0))
        n = z.shape[0]
        loss = discriminator_loss(logits[:n], logits[n:])
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            accuracy = 0.5 * ((logits[:n].argmax(1) == 0).float().mean() + (logits[n:].argmax(1) == 1).float().mean())
        return {"disc_loss": loss.detach(), "disc_accuracy": accuracy}

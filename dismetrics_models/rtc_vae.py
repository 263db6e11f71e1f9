"""RTC-VAE (the RTC-VAE paper): the FactorVAE objective with the TC weight `beta` plus a variance penalty.

`recon + KL + beta * TC + eta * mean_i sum_k sigma_ik^2`, TC by the density-ratio discriminator
(FactorVAE's, trained the same way on detached codes). The variance penalty keeps the encoder
variances small so that the total correlation of the *mean* representation stays close to that of
the sampled one. `eta = 10`, grid beta in {2, 4, 6, 8, 10}.
"""

from __future__ import annotations

from .base import VAEBase
from .factor_vae import FactorVAE
from .vae import _adam_beta, _nonneg_float

__all__ = ["RTCVAE"]


class RTCVAE(FactorVAE):
    name = "rtc_vae"
    defaults = {
        "beta": 6.0,
        "eta": 10.0,
        "same_batch": False,
        "disc_lr": 1e-4,
        "disc_beta1": 0.5,
        "disc_beta2": 0.9,
    }

    def validate_hyperparameters(self, hp):
        hp = VAEBase.validate_hyperparameters(self, hp)
        for key in ("beta", "eta"):
            _nonneg_float(hp, key)
        for key in ("disc_beta1", "disc_beta2"):
            _adam_beta(hp, key)
        _nonneg_float(hp, "disc_lr", positive=True)
        if not isinstance(hp["same_batch"], bool):
            raise ValueError(f"same_batch must be true or false; got {hp['same_batch']!r}.")
        return hp

    def regularizer(self, mean, logvar, z, kl, step, cache):
        logits = self.discriminator(z)
        tc = (logits[:, 0] - logits[:, 1]).mean()
        weighted_tc = self.hp["beta"] * tc
        variance = logvar.exp().sum(dim=1).mean()
        weighted_variance = self.hp["eta"] * variance
        return kl + weighted_tc + weighted_variance, {
            "tc_discriminator": tc,
            "beta_tc": weighted_tc,
            "variance_sum": variance,
            "eta_variance": weighted_variance,
        }

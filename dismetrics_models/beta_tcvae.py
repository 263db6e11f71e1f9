"""beta-TCVAE (Chen et al., 2018): `recon + KL + (beta - 1) * TC` with a minibatch TC estimate.

`estimator="mws"` (minibatch weighted sampling, the reference default) or `"mss"` (minibatch
stratified sampling, the corrected weight matrix); both need the data-set size `N` (the grid size of a
ground-truth sampler), which the engine passes. Grid beta in {1, 2, 4, 6, 8, 10}.
"""

from __future__ import annotations

from .base import VAEBase
from .tc_estimators import total_correlation
from .vae import _nonneg_float

__all__ = ["BetaTCVAE"]


class BetaTCVAE(VAEBase):
    name = "beta_tcvae"
    defaults = {"beta": 6.0, "estimator": "mws"}

    def validate_hyperparameters(self, hp):
        hp = super().validate_hyperparameters(hp)
        _nonneg_float(hp, "beta")
        if hp["estimator"] not in ("mws", "mss"):
            raise ValueError(f"estimator must be 'mws' or 'mss'; got {hp['estimator']!r}.")
        return hp

    def regularizer(self, mean, logvar, z, kl, step, cache):
        if self.dataset_size is None:
            raise ValueError("beta_tcvae needs dataset_size (the number of points of the data set) for its TC estimate.")
        tc = total_correlation(z, mean, logvar, self.dataset_size, self.hp["estimator"])
        weighted = (self.hp["beta"] - 1.0) * tc
        return kl + weighted, {f"tc_{self.hp['estimator']}": tc, "beta_minus_1_tc": weighted}

"""The trainers' hyperparameter vocabulary, importable without PyTorch.

The core package (`dismetrics.scoring`, `dismetrics.report`) reads these names to describe model dirs;
importing this module imports neither torch nor any other part of `dismetrics_models` that needs it.

Contents
--------
`REGULARIZATION_KEYS`
    Model name -> the hyperparameter that sets its regularization strength (the one the sweep grids
    vary; MODELS.md, "Objectives").
`INIT_SCHEMES`, `DEFAULT_INIT`
    The weight initializations a model can be built with (hyperparameter `init`).
`CRITIC_BETAS`, `DISCRIMINATOR_BETAS`
    Named Adam `(beta1, beta2)` settings of the auxiliary networks' optimizers and which one is the default.

References
----------
Locatello et al., "Challenging common assumptions in the unsupervised learning of disentangled
representations", ICML 2019 (disentanglement_lib: Glorot-uniform weights, zero biases; the FactorVAE
discriminator's Adam betas (0.5, 0.9) in `config/unsupervised_study_v1/model_configs/shared.gin`).
Kim & Mnih, "Disentangling by factorising", ICML 2018 (discriminator Adam betas (0.5, 0.9)).
Xiao & Wang, "Disentangled representation learning with Wasserstein total correlation", 2018
(Appendix C, Table 4(b): Adam with default betas (0.9, 0.999) for every network, critics included; its
authors' code, github.com/yjxiao/disentrepr_wtc `disent/optim/adam.py`, defaults `--adam-betas` to the same).
Gulrajani et al., "Improved training of Wasserstein GANs", NeurIPS 2017 (WGAN-GP: Adam betas (0.5, 0.9)).

Examples
--------
>>> from dismetrics_models.hyperparameters import CRITIC_BETAS, REGULARIZATION_KEYS, regularization
>>> REGULARIZATION_KEYS["factor_vae"]
'gamma'
>>> regularization("beta_vae", {"beta": 4.0, "warmup_steps": 0})
{'name': 'beta', 'value': 4.0}
>>> CRITIC_BETAS["wtc_paper"], CRITIC_BETAS["wgan_gp"]
((0.9, 0.999), (0.5, 0.9))
"""

from __future__ import annotations

import math
from typing import Any, Mapping

__all__ = [
    "REGULARIZATION_KEYS",
    "INIT_SCHEMES",
    "DEFAULT_INIT",
    "CRITIC_BETAS",
    "DEFAULT_CRITIC_BETAS",
    "DISCRIMINATOR_BETAS",
    "DEFAULT_DISCRIMINATOR_BETAS",
    "regularization",
]

REGULARIZATION_KEYS: dict[str, str] = {
    "beta_vae": "beta",
    "annealed_vae": "c_max",
    "factor_vae": "gamma",
    "beta_tcvae": "beta",
    "dip_vae_i": "lambda_od",
    "dip_vae_ii": "lambda_od",
    "wae_mmd": "lambda",
    "wae_mmd_random": "lambda_1",
    "wae": "beta",
    "wtc_vae": "gamma",
    "wtc_wae": "gamma",
    "rtc_vae": "beta",
}
"""The hyperparameter that sets each model's regularization strength (MODELS.md's grids)."""

INIT_SCHEMES = ("glorot_uniform", "torch_default")
"""Weight initializations (hyperparameter `init`): `"glorot_uniform"` is disentanglement_lib's (TensorFlow's
layer default: Glorot-uniform weights, zero biases) for every convolution, transposed convolution and dense
layer of the encoder, the decoder and the auxiliary networks; `"torch_default"` keeps PyTorch's layer
initialization (Kaiming-uniform weights with `a = sqrt(5)`, uniform biases), what this package used before."""
DEFAULT_INIT = "glorot_uniform"

CRITIC_BETAS: dict[str, tuple[float, float]] = {"wtc_paper": (0.9, 0.999), "wgan_gp": (0.5, 0.9)}
"""Adam `(beta1, beta2)` of the WAE/WTC critics: the Wasserstein-TC paper's (its Table 4(b) and its
authors' code: Adam's defaults) and WGAN-GP's. Set with the hyperparameters `critic_beta1`, `critic_beta2`."""
DEFAULT_CRITIC_BETAS = "wtc_paper"

DISCRIMINATOR_BETAS: dict[str, tuple[float, float]] = {"factor_vae_paper": (0.5, 0.9), "adam_default": (0.9, 0.999)}
"""Adam `(beta1, beta2)` of the FactorVAE/RTC-VAE density-ratio discriminator: Kim & Mnih's (also
disentanglement_lib's) and Adam's defaults. Set with the hyperparameters `disc_beta1`, `disc_beta2`."""
DEFAULT_DISCRIMINATOR_BETAS = "factor_vae_paper"


def regularization(model: str, hyperparameters: Mapping[str, Any]) -> dict[str, Any] | None:
    """The regularization strength of a model as `{"name": key, "value": number}`.

    Parameters
    ----------
    model : str
        A model name (a key of `REGULARIZATION_KEYS`).
    hyperparameters : mapping
        The model's hyperparameters (as a model dir's config stores them).

    Returns
    -------
    dict or None
        `{"name": REGULARIZATION_KEYS[model], "value": float}`; None when the model is not known here or its
        hyperparameters do not hold a finite number under that name.

    Examples
    --------
    >>> regularization("wae_mmd_random", {"lambda": 10.0, "lambda_1": 0.5})
    {'name': 'lambda_1', 'value': 0.5}
    >>> regularization("my_model", {"beta": 1.0}) is None
    True
    """
    key = REGULARIZATION_KEYS.get(model)
    value = hyperparameters.get(key) if key is not None else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the float range
        return None
    return {"name": key, "value": value} if math.isfinite(value) else None

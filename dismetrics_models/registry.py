"""`--model` name -> model class (names from MODELS.md, "Names")."""

from __future__ import annotations

from .base import VAEBase
from .beta_tcvae import BetaTCVAE
from .factor_vae import FactorVAE
from .rtc_vae import RTCVAE
from .vae import AnnealedVAE, BetaVAE, DIPVAEI, DIPVAEII
from .wasserstein import WAE, WAEMMD, WAEMMDRandom, WTCVAE, WTCWAE

__all__ = ["MODELS", "get_model_class", "build_model", "model_names"]

MODELS: dict[str, type[VAEBase]] = {
    cls.name: cls for cls in (
        BetaVAE, AnnealedVAE, FactorVAE, BetaTCVAE, DIPVAEI, DIPVAEII,
        WAEMMD, WAEMMDRandom, WAE, WTCVAE, WTCWAE, RTCVAE,
    )
}


def model_names() -> list[str]:
    return list(MODELS)


def get_model_class(name: str) -> type[VAEBase]:
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}.") from None


def build_model(name: str, **kwargs) -> VAEBase:
    return get_model_class(name)(**kwargs)

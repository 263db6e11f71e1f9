"""One module per metric. ``SAMPLE_METRICS`` maps names to the sample metrics ``f(codes, factors, ...)``;
``UNSUPERVISED_METRICS`` to those of codes alone ``f(codes, ...)``."""

from .beta_vae import beta_vae_score
from .factor_vae import factor_vae_score
from .mig import mig

SAMPLE_METRICS = {
    "mig": mig,
}

UNSUPERVISED_METRICS: dict = {}

__all__ = ["mig", "beta_vae_score", "factor_vae_score", "SAMPLE_METRICS", "UNSUPERVISED_METRICS"]

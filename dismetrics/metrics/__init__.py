"""One module per metric. ``SAMPLE_METRICS`` maps names to the sample metrics ``f(codes, factors, ...)``;
``UNSUPERVISED_METRICS`` to those of codes alone ``f(codes, ...)``."""

from .mig import mig
from .wdg import wasserstein_1d, wdg

SAMPLE_METRICS = {
    "mig": mig,
    "wdg": wdg,
}

UNSUPERVISED_METRICS: dict = {}

__all__ = ["mig", "wdg", "wasserstein_1d", "SAMPLE_METRICS", "UNSUPERVISED_METRICS"]

"""One module per metric. ``SAMPLE_METRICS`` maps names to the sample metrics ``f(codes, factors, ...)``;
``UNSUPERVISED_METRICS`` to those of codes alone ``f(codes, ...)``."""

from .mig import mig

SAMPLE_METRICS = {
    "mig": mig,
}

UNSUPERVISED_METRICS: dict = {}

__all__ = ["mig", "SAMPLE_METRICS", "UNSUPERVISED_METRICS"]

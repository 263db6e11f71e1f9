"""One module per metric.

``SAMPLE_METRICS`` maps names to the sample metrics ``f(codes, factors, ...)``;
``UNSUPERVISED_METRICS`` maps names to the scores of codes alone ``f(codes, ...)``.
"""

from .mig import mig
from .modularity import modularity
from .unsupervised import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    gaussian_wasserstein_correlation_normalized,
    mutual_info_score,
)

SAMPLE_METRICS = {
    "mig": mig,
    "modularity": modularity,
}

UNSUPERVISED_METRICS = {
    "gaussian_total_correlation": gaussian_total_correlation,
    "gaussian_wasserstein_correlation": gaussian_wasserstein_correlation,
    "gaussian_wasserstein_correlation_normalized": gaussian_wasserstein_correlation_normalized,
    "mutual_info_score": mutual_info_score,
}

__all__ = [
    "mig",
    "modularity",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
    "mutual_info_score",
    "SAMPLE_METRICS",
    "UNSUPERVISED_METRICS",
]

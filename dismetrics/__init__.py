"""dismetrics: disentanglement metrics computed exactly as the literature defines them."""

from importlib.metadata import PackageNotFoundError, version as _version

from .metrics import (
    dci,
    explicitness,
    modularity_explicitness,
    sap,
    dci_es,
    dci_es_size,
    dcimig,
    infoc,
    infoe,
    infom,
    infomec,
    irs,
    jemmig,
    mig_sup,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    gaussian_wasserstein_correlation_normalized,
    mig,
    modularity,
    mutual_info_score,
)
from .result import MetricResult

try:
    __version__ = _version("dismetrics")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = [
    "MetricResult",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
    "mig",
    "modularity",
    "mutual_info_score",
    "irs",
    "mig_sup",
    "dcimig",
    "jemmig",
    "infom",
    "infoc",
    "infoe",
    "infomec",
    "dci_es",
    "dci_es_size",
    "dci",
    "sap",
    "explicitness",
    "modularity_explicitness",
    "__version__",
]

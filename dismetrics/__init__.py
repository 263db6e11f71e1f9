"""dismetrics: disentanglement metrics computed exactly as the literature defines them."""

from importlib.metadata import PackageNotFoundError, version as _version

from .evaluate import evaluate, evaluate_codes, summarize
from .metrics import (
    beta_vae_score,
    factor_vae_score,
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
    wasserstein_1d,
    wdg,
)
from .representation import Representation, as_representation
from .result import MetricResult

try:
    __version__ = _version("dismetrics")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = [
    "MetricResult",
    "Representation",
    "as_representation",
    "evaluate",
    "evaluate_codes",
    "summarize",
    "beta_vae_score",
    "factor_vae_score",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
    "mig",
    "modularity",
    "mutual_info_score",
    "wdg",
    "wasserstein_1d",
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

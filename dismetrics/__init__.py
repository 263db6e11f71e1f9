"""dismetrics: disentanglement metrics computed exactly as the literature defines them."""

# The one place the version is written: pyproject.toml reads it from here (setuptools' static `attr`),
# so the installed metadata always says the same; tests/test_packaging.py checks both and the CHANGELOG.
# It comes before the imports: submodules (scoring) read it while this module is being initialized.
__version__ = "0.1.0"

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

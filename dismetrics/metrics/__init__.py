"""One module per metric.

`SAMPLE_METRICS` maps names to the sample metrics `f(codes, factors, ...)`;
`UNSUPERVISED_METRICS` maps names to the scores of codes alone `f(codes, ...)`.
"""

from .beta_vae import beta_vae_score
from .dci import dci
from .dci_es import dci_es, dci_es_size
from .dcimig import dcimig
from .infomec import infoc, infoe, infom, infomec
from .factor_vae import factor_vae_score
from .irs import irs
from .jemmig import jemmig
from .mig import mig
from .mig_sup import mig_sup
from .modularity import modularity
from .wdg import wasserstein_1d, wdg
from .explicitness import explicitness, modularity_explicitness
from .sap import sap
from .unsupervised import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    gaussian_wasserstein_correlation_normalized,
    mutual_info_score,
)

SAMPLE_METRICS = {
    "mig": mig,
    "wdg": wdg,
    "modularity": modularity,
    "explicitness": explicitness,
    "dci": dci,
    "sap": sap,
    "irs": irs,
    "mig_sup": mig_sup,
    "dcimig": dcimig,
    "jemmig": jemmig,
    "infom": infom,
    "infoc": infoc,
    "infoe": infoe,
    "dci_es": dci_es,
    "dci_es_size": dci_es_size,
}

UNSUPERVISED_METRICS = {
    "gaussian_total_correlation": gaussian_total_correlation,
    "gaussian_wasserstein_correlation": gaussian_wasserstein_correlation,
    "gaussian_wasserstein_correlation_normalized": gaussian_wasserstein_correlation_normalized,
    "mutual_info_score": mutual_info_score,
}

__all__ = [
    "beta_vae_score",
    "factor_vae_score",
    "mig",
    "modularity",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
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
    "SAMPLE_METRICS",
    "UNSUPERVISED_METRICS",
]

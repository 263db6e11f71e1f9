"""One module per metric; each declares its [`MetricSpec`][dismetrics.metrics.registry.MetricSpec] in the
registry ([`dismetrics.metrics.registry`][dismetrics.metrics.registry]) when it is imported here.

`SAMPLE_METRICS` maps names to the sample metrics `f(codes, factors, ...)`, `UNSUPERVISED_METRICS` to the
scores of codes alone `f(codes, ...)`, `INTERVENTION_METRICS` to `f(representation, sampler, ...)`: snapshots
of the built-in metrics; the registry also holds metrics registered later.
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
from .w_modularity import w_modularity
from .z_max_variance import z_max_variance
from .flatness import flatness
from .linearity import linearity
from .distances import distances
from .aam import aam, aam_binned, aam_from_mutual_info
from .chen_mig import chen_mig, chen_mig_from_params
from .dmig import dmig
from .xmig import xmig
from .dlig import dlig
from .smoothness import smoothness
from .monotonicity import monotonicity
from .downstream_task import downstream_boosted_trees, downstream_logistic_regression, downstream_task
from .sepin_indin import indin, posterior_information, sepin
from .fairness import fairness
from .udr import udr, udr_from_model_dirs
from .unsupervised import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    gaussian_wasserstein_correlation_normalized,
    latent_mutual_info,
    mutual_info_score,
)

from .registry import (
    MetricSpec,
    canonical_name,
    get_metric,
    metric_names,
    metric_specs,
    register_metric,
    unregister_metric,
)

from .registry import _order_first

_order_first([
    "mig", "wdg", "modularity", "explicitness", "dci", "sap", "irs", "mig_sup", "dcimig", "jemmig", "infom", "infoc",
    "infoe", "dci_es", "dci_es_size", "gaussian_total_correlation", "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized", "mutual_info_score", "beta_vae", "factor_vae",
    # the atlas: metrics of other libraries, each exact to its source (docs/which_number.md)
    "w_modularity", "aam_binned", "dmig", "xmig", "dlig", "downstream_logistic_regression", "downstream_boosted_trees",
    "chen_mig", "aam", "z_max_variance", "flatness", "linearity", "distances", "sepin", "indin", "fairness",
    "smoothness", "monotonicity", "udr",
])

# Snapshots of the built-in metrics by kind (name -> function), kept for code written before the registry;
# the registry (`metric_specs`, `get_metric`) is the source, and also holds metrics registered later.
SAMPLE_METRICS = {spec.name: spec.func for spec in metric_specs("sample")}
UNSUPERVISED_METRICS = {spec.name: spec.func for spec in metric_specs("unsupervised")}
INTERVENTION_METRICS = {spec.name: spec.func for spec in metric_specs("intervention")}

__all__ = [
    "beta_vae_score",
    "factor_vae_score",
    "mig",
    "modularity",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_normalized",
    "latent_mutual_info",
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
    "w_modularity",
    "z_max_variance",
    "flatness",
    "linearity",
    "distances",
    "aam",
    "aam_binned",
    "aam_from_mutual_info",
    "chen_mig",
    "chen_mig_from_params",
    "dmig",
    "xmig",
    "dlig",
    "smoothness",
    "monotonicity",
    "downstream_task",
    "downstream_logistic_regression",
    "downstream_boosted_trees",
    "sepin",
    "indin",
    "posterior_information",
    "fairness",
    "udr",
    "udr_from_model_dirs",
    "SAMPLE_METRICS",
    "UNSUPERVISED_METRICS",
    "INTERVENTION_METRICS",
    "MetricSpec",
    "register_metric",
    "unregister_metric",
    "get_metric",
    "metric_specs",
    "metric_names",
    "canonical_name",
]

"""dismetrics: disentanglement metrics computed exactly as the literature defines them."""

from importlib.metadata import PackageNotFoundError, version as _version

from .evaluate import evaluate, summarize
from .metrics import beta_vae_score, factor_vae_score, mig
from .representation import Representation, as_representation
from .result import MetricResult

try:
    __version__ = _version("dismetrics")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = ["MetricResult", "mig", "beta_vae_score", "factor_vae_score", "evaluate", "summarize", "as_representation", "Representation", "__version__"]

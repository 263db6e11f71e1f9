"""dismetrics: disentanglement metrics computed exactly as the literature defines them."""

from importlib.metadata import PackageNotFoundError, version as _version

from .metrics import mig
from .metrics import wasserstein_1d, wdg
from .result import MetricResult

try:
    __version__ = _version("dismetrics")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = ["MetricResult", "mig", "wdg", "wasserstein_1d", "__version__"]

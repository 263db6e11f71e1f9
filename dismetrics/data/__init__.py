"""Ground-truth samplers and data-set loaders."""

from .base import GroundTruthSampler
from .synthetic import FactorGrid

__all__ = ["GroundTruthSampler", "FactorGrid"]

"""Ground-truth samplers and data-set loaders.

Observations are float32 in [0, 1], channels last: `(64, 64, 1)` for dSprites and SmallNORB,
`(64, 64, 3)` for Shapes3D, MPI3D and Cars3D. Factors are integer indices into each factor's values.
"""

from .base import GroundTruthSampler
from .dsprites import DSprites, render_dsprites
from .loaders import MPI3D, Cars3D, Shapes3D, SmallNORB
from .registry import get_sampler, list_datasets
from .synthetic import FactorGrid, LinearMixing, NoiseDims, Rotation, rotation_matrix

__all__ = [
    "GroundTruthSampler",
    "FactorGrid",
    "LinearMixing",
    "Rotation",
    "NoiseDims",
    "rotation_matrix",
    "DSprites",
    "render_dsprites",
    "Shapes3D",
    "MPI3D",
    "SmallNORB",
    "Cars3D",
    "get_sampler",
    "list_datasets",
]

"""dismetrics_models: reference trainers (PyTorch) for the models the metrics are benchmarked on.

One shared encoder/decoder and optimizer (MODELS.md); models differ only in their objective.

>>> from dismetrics_models import train                                   # doctest: +SKIP
>>> train("beta_vae", "dsprites", steps=2000, out="runs/b", beta=4)        # doctest: +SKIP
"""

from .engine import train
from .registry import MODELS, build_model, get_model_class, model_names

__all__ = ["train", "MODELS", "build_model", "get_model_class", "model_names"]

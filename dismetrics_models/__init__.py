"""dismetrics_models: reference trainers (PyTorch) for the models the metrics are benchmarked on.

One shared encoder/decoder and optimizer (MODELS.md); models differ only in their objective.

The package imports PyTorch lazily: `dismetrics_models.hyperparameters` (the models' hyperparameter names)
works without it; `train`, `MODELS`, `build_model`, `get_model_class` and `model_names` import it on first use.

Training a model takes minutes, so the usage is shown as code, not as a doctest (the trainers' own
docstrings and tests/test_models_training.py run it):

```python
from dismetrics_models import train

train("beta_vae", "dsprites", steps=2000, out="runs/b", beta=4)
```
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["train", "MODELS", "build_model", "get_model_class", "model_names"]

_LAZY = {"train": "engine", "MODELS": "registry", "build_model": "registry", "get_model_class": "registry",
         "model_names": "registry"}


def __getattr__(name: str) -> Any:
    """Import the torch-backed parts on first use (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

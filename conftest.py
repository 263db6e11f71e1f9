"""Collection of the doctests: `python -m pytest` runs the Examples of every module of `dismetrics/` and
`dismetrics_models/` (pyproject.toml: `testpaths`, `--doctest-modules`).

Modules that import an optional dependency at import time are left out of the collection when that
dependency is not installed (a plain `pip install dismetrics[test]`); CI installs every extra, so there
they all run. The shared test configuration (hypothesis profiles, fixtures) is in tests/conftest.py.
"""

from __future__ import annotations

import importlib.util

import numpy as np


def _missing(*modules: str) -> bool:
    """Whether none of these importable names is installed."""
    return all(importlib.util.find_spec(name) is None for name in modules)


collect_ignore: list[str] = []
if _missing("torch"):
    collect_ignore += ["dismetrics_models"]
if _missing("lightning", "pytorch_lightning"):
    collect_ignore += ["dismetrics/integrations/lightning.py"]
if _missing("torchmetrics") or _missing("torch"):
    collect_ignore += ["dismetrics/integrations/torchmetrics.py"]


def pytest_runtest_setup(item) -> None:
    """Every doctest starts from the same global NumPy state (Examples seed their own Generators; this
    keeps a stray `np.random` call deterministic too) and prints arrays with NumPy's default options."""
    if type(item).__name__ == "DoctestItem":
        np.random.seed(0)
        np.set_printoptions(legacy=False, precision=8, linewidth=75, threshold=1000, suppress=False)

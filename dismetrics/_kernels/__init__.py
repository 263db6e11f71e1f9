"""Numba kernels (import nothing of ours): one module per family of estimators."""

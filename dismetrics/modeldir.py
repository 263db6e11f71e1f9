"""Read and write model dirs: what ``dismetrics_models`` writes and ``dismetrics score`` reads.

A model dir holds::

    DIR/dismetrics.json   the config: format version, model kind, hyperparameters, data set, seed, steps, ...
    DIR/encoder.pt2       the trained encoder, a ``torch.export`` program loadable with torch alone
    DIR/checkpoint.pt     the full training state, for resuming
    DIR/train_log.csv     one row per training step: every loss term, KL, TC estimates, steps/s
    DIR/codes.npz         optional: ``codes`` (n, d), ``factors`` (n, K), optionally ``codes_test``, ``factors_test``
    DIR/scores.json       written by ``dismetrics score``

Every file is written atomically (a temporary file in the same directory, then ``os.replace``), so a
crash leaves either the old file or the new one, never a torn one.

This module imports no torch at import time; :func:`load_encoder` imports it inside the function.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "CONFIG_FILE",
    "ENCODER_FILE",
    "CHECKPOINT_FILE",
    "TRAIN_LOG_FILE",
    "CODES_FILE",
    "SCORES_FILE",
    "REQUIRED_CONFIG_KEYS",
    "ModelDirError",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write",
    "write_config",
    "read_config",
    "write_codes",
    "read_codes",
    "load_encoder",
]

#: Version of the model-dir format this module writes and reads.
FORMAT_VERSION = 1
CONFIG_FILE = "dismetrics.json"
ENCODER_FILE = "encoder.pt2"
CHECKPOINT_FILE = "checkpoint.pt"
TRAIN_LOG_FILE = "train_log.csv"
CODES_FILE = "codes.npz"
SCORES_FILE = "scores.json"

#: Keys every config must hold (``read_config`` checks them).
REQUIRED_CONFIG_KEYS = (
    "format_version",
    "model",
    "hyperparameters",
    "dataset",
    "seed",
    "steps",
    "latent_dim",
)

_CODE_ARRAYS = ("codes", "factors", "codes_test", "factors_test")


class ModelDirError(ValueError):
    """A model dir is missing a file, or a file in it is unreadable or inconsistent."""


# ---- atomic writes ---------------------------------------------------------------------------
def atomic_write(path, write: Callable[[Any], None], *, mode: str = "wb") -> Path:
    """Write ``path`` atomically: ``write(fileobj)`` fills a temporary file beside it, which is
    flushed, fsynced and renamed over ``path``. On any error the temporary file is removed and
    ``path`` keeps its old contents (or stays absent)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_bytes(path, data: bytes) -> Path:
    return atomic_write(path, lambda handle: handle.write(data), mode="wb")


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text), mode="w")


# ---- config ------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def write_config(directory, config: Mapping[str, Any]) -> Path:
    """Write ``config`` as ``DIR/dismetrics.json`` (atomically). ``format_version`` is filled in
    when absent; the required keys (:data:`REQUIRED_CONFIG_KEYS`) must be present."""
    config = dict(config)
    config.setdefault("format_version", FORMAT_VERSION)
    missing = [key for key in REQUIRED_CONFIG_KEYS if key not in config]
    if missing:
        raise ModelDirError(f"config is missing the required key(s) {missing}; a model dir config needs {list(REQUIRED_CONFIG_KEYS)}.")
    text = json.dumps(_jsonable(config), indent=2, sort_keys=True) + "\n"
    return atomic_write_text(Path(directory) / CONFIG_FILE, text)


def read_config(directory) -> dict[str, Any]:
    """Read and validate ``DIR/dismetrics.json``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelDirError(f"model dir {str(directory)!r} does not exist or is not a directory.")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise ModelDirError(
            f"{str(directory)!r} is not a model dir: it has no {CONFIG_FILE}. Train one with `dismetrics train`, "
            "or score a codes file instead."
        )
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{str(path)!r} is not valid JSON ({error}); the file is corrupt.") from None
    if not isinstance(config, dict):
        raise ModelDirError(f"{str(path)!r} must hold a JSON object; got {type(config).__name__}.")
    version = config.get("format_version")
    if version is None:
        raise ModelDirError(f"{str(path)!r} has no 'format_version'; it was not written by dismetrics.")
    if not isinstance(version, int) or version < 1:
        raise ModelDirError(f"{str(path)!r} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelDirError(
            f"{str(path)!r} has format_version {version}, newer than this dismetrics reads ({FORMAT_VERSION}); "
            "upgrade dismetrics."
        )
    missing = [key for key in REQUIRED_CONFIG_KEYS if key not in config]
    if missing:
        raise ModelDirError(f"{str(path)!r} is missing the required key(s) {missing}.")
    return config


# ---- codes -------------------------------------------------------------------------------------
def write_codes(directory, codes, factors, codes_test=None, factors_test=None) -> Path:
    """Write ``DIR/codes.npz`` with arrays ``codes`` (n, d) and ``factors`` (n, K), and optionally
    a held-out pair ``codes_test`` / ``factors_test``."""
    arrays = {"codes": codes, "factors": factors}
    if (codes_test is None) != (factors_test is None):
        raise ModelDirError("codes_test and factors_test must be given together.")
    if codes_test is not None:
        arrays["codes_test"] = codes_test
        arrays["factors_test"] = factors_test
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for prefix in ("", "_test"):
        if "codes" + prefix not in arrays:
            continue
        c, f = arrays["codes" + prefix], arrays["factors" + prefix]
        if c.ndim != 2 or f.ndim != 2:
            raise ModelDirError(f"codes{prefix} and factors{prefix} must be 2-D; got shapes {c.shape} and {f.shape}.")
        if c.shape[0] != f.shape[0]:
            raise ModelDirError(f"codes{prefix} has {c.shape[0]} rows but factors{prefix} has {f.shape[0]}.")
    if "codes_test" in arrays and arrays["codes_test"].shape[1] != arrays["codes"].shape[1]:
        raise ModelDirError("codes_test must have as many columns as codes.")
    return atomic_write(Path(directory) / CODES_FILE, lambda handle: np.savez(handle, **arrays))


def read_codes(directory) -> dict[str, np.ndarray]:
    """Read ``DIR/codes.npz`` (or a ``.npz`` file given directly): a dict with ``codes``, ``factors``
    and, when present, ``codes_test`` and ``factors_test``."""
    path = Path(directory)
    if path.is_dir():
        path = path / CODES_FILE
    if not path.is_file():
        raise ModelDirError(f"no codes file at {str(path)!r}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files if name in _CODE_ARRAYS}
    except Exception as error:  # zipfile.BadZipFile, ValueError, EOFError, ...
        raise ModelDirError(f"{str(path)!r} is not a readable .npz file ({type(error).__name__}: {error}).") from None
    for name in ("codes", "factors"):
        if name not in arrays:
            raise ModelDirError(f"{str(path)!r} has no array {name!r}; it must hold 'codes' and 'factors'.")
    if ("codes_test" in arrays) != ("factors_test" in arrays):
        raise ModelDirError(f"{str(path)!r} must hold both 'codes_test' and 'factors_test', or neither.")
    for prefix in ("", "_test"):
        if "codes" + prefix in arrays:
            c, f = arrays["codes" + prefix], arrays["factors" + prefix]
            if c.ndim != 2 or f.ndim != 2 or c.shape[0] != f.shape[0]:
                raise ModelDirError(
                    f"{str(path)!r}: codes{prefix} {c.shape} and factors{prefix} {f.shape} must be 2-D with the same rows."
                )
    return arrays


# ---- encoder -----------------------------------------------------------------------------------
def load_encoder(directory, *, device: str = "cpu"):
    """Load the exported encoder of a model dir with torch alone (no ``dismetrics_models``).

    Returns a ``torch.nn.Module``; calling it on a float tensor of observations in [0, 1] laid out
    as the config's ``channels_first`` says (``False``: ``(n, 64, 64, C)``, as samplers return them)
    returns ``(mean, logvar)``, each ``(n, latent_dim)``. The mean is the representation.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the installation
        raise ModelDirError("loading an encoder needs PyTorch: pip install 'dismetrics[models]'.") from None
    directory = Path(directory)
    config = read_config(directory)
    path = directory / config.get("encoder_file", ENCODER_FILE)
    if not path.is_file():
        raise ModelDirError(
            f"model dir {str(directory)!r} has no exported encoder ({path.name}); training may not have finished. "
            "Resume it, or score its codes file."
        )
    try:
        program = torch.export.load(str(path))
    except Exception as error:
        raise ModelDirError(f"could not load the encoder {str(path)!r} ({type(error).__name__}: {error}).") from None
    module = program.module()
    if device != "cpu":
        module = module.to(device)
    return module

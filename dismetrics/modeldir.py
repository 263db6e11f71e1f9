"""Read and write model dirs: what `dismetrics_models` writes and `dismetrics score` reads.

A model dir holds:

```text
DIR/dismetrics.json   the config: format version, model kind, hyperparameters, data set, seed, steps, ...
DIR/encoder.npz       the trained encoder as data: a layer graph and its weights (no pickle, no code;
                      see dismetrics.encoder_graph), loadable with torch alone
DIR/checkpoint.pt     the full training state, for resuming
DIR/train_log.csv     one row per training step: every loss term, KL, TC estimates, steps/s
DIR/codes.npz         optional: codes (n, d), factors (n, K), optionally codes_test, factors_test
DIR/scores.json       written by `dismetrics score`
```

Every file is written atomically (a temporary file in the same directory, then `os.replace`), so a
crash leaves either the old file or the new one, never a torn one.

This module imports no torch at import time; [`load_encoder`][dismetrics.modeldir.load_encoder] imports it
inside the function.
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
    "LEGACY_ENCODER_FILE",
    "UntrustedModelCodeError",
    "encoder_path",
    "save_encoder",
    "CHECKPOINT_FILE",
    "TRAIN_LOG_FILE",
    "CODES_FILE",
    "SCORES_FILE",
    "REQUIRED_CONFIG_KEYS",
    "CONFIG_SCHEMA",
    "DATASET_SCHEMA",
    "DATASET_PARAMS",
    "validate_config",
    "check_dataset_params",
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

FORMAT_VERSION = 1
"""Version of the model-dir format this module writes and reads."""
CONFIG_FILE = "dismetrics.json"
ENCODER_FILE = "encoder.npz"
LEGACY_ENCODER_FILE = "encoder.pt2"
"""The encoder file of model dirs written before the encoder-graph format (a torch.export archive)."""
CHECKPOINT_FILE = "checkpoint.pt"
TRAIN_LOG_FILE = "train_log.csv"
CODES_FILE = "codes.npz"
SCORES_FILE = "scores.json"

REQUIRED_CONFIG_KEYS = (
    "format_version",
    "model",
    "hyperparameters",
    "dataset",
    "seed",
    "steps",
    "latent_dim",
)
"""Keys every config must hold (`read_config` checks them)."""

CONFIG_SCHEMA: dict[str, tuple[str, ...]] = {
    "format_version": ("int",),
    "model": ("string",),
    "hyperparameters": ("object",),
    "dataset": ("object", "string", "null"),
    "seed": ("int",),
    "steps": ("int",),
    "latent_dim": ("int",),
    "encoder_file": ("string",),
    "channels_first": ("bool",),
    "recon_error_heldout": ("number", "null"),
    "heldout_size": ("int", "null"),
    "codes_size": ("int", "null"),
    "dataset_size": ("int", "null"),
    "steps_requested": ("int", "null"),
    "batch_size": ("int", "null"),
    "arch": ("string", "null"),
    "input_shape": ("int[]", "null"),
    "channels": ("int", "null"),
    "encoder_outputs": ("string[]",),
    "representation": ("string",),
    "complete": ("bool",),
    "optimizer": ("object",),
    "training": ("object",),
    "trainer": ("object",),
    "regularization": ("object", "null"),
}
"""The schema of `dismetrics.json`, as data: key -> the JSON types its value may have (`"int"`: an
integer, `"number"`: an integer or a float, `"string"`, `"bool"`, `"object"`, `"null"`,
`"int[]"` / `"string[]"`: a list of them). Every key the trainer writes is here. A listed key of
another type is refused, naming the key; keys not listed are kept and ignored (nothing reads them).
`regularization` (optional): `{"name": <hyperparameter name, a plain identifier>, "value": <a finite number>}`,
the model's regularization strength (`dismetrics_models.hyperparameters.REGULARIZATION_KEYS`)."""
CONFIG_MINIMUMS = {"seed": 0, "steps": 0, "latent_dim": 1}
"""Lower bounds of integer config keys."""
DATASET_SCHEMA: dict[str, tuple[str, ...]] = {
    "name": ("string", "null"),
    "path": ("string", "null"),
    "params": ("object", "null"),
    "factor_names": ("string[]",),
    "factor_sizes": ("int[]",),
    "observation_shape": ("int[]",),
}
"""The keys of the config's `dataset` object (the trainer's data-set description)."""
DATASET_PARAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "dsprites": {"path": ("string", "null"), "sprite_size": ("number",), "margin": ("number",)},
    "shapes3d": {"path": ("string", "null")},
    "mpi3d": {"path": ("string", "null")},
    "smallnorb": {"path": ("string", "null")},
    "cars3d": {"path": ("string", "null")},
}
"""The data-set parameters a config may pass to the sampler, per data set (`dataset.params`): the
public constructor arguments of [`dismetrics.data`][dismetrics.data]'s samplers that only change what is read
or rendered. Nothing that makes the scorer write (`cache`, `cache_dir`) and nothing private (a leading
`_`). `path` is the data-set file, the same as `dataset.path` (which wins when both are given)."""
FORBIDDEN_DATASET_PARAMS = ("cache", "cache_dir", "download")
"""Parameter names refused even for a data set the allow-list does not know (whose parameters are never
passed to a sampler): what writes, fetches or reaches private options. Names starting with `_` too."""
MAX_CONFIG_BYTES = 4 << 20
"""Largest `dismetrics.json` read (a config is a few kB; a larger file is refused unread)."""

_CODE_ARRAYS = ("codes", "factors", "codes_test", "factors_test")


class ModelDirError(ValueError):
    """A model dir is missing a file, or a file in it is unreadable or inconsistent."""


# ---- atomic writes ---------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask, read without changing it where the system says it (Linux's
    `/proc/self/status`); elsewhere set and restored at once."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[Any], None], *, mode: str = "wb") -> Path:
    """Write `path` atomically: `write(fileobj)` fills a temporary file beside it, which is
    flushed, fsynced and renamed over `path`. On any error the temporary file is removed and
    `path` keeps its old contents (or stays absent). The file gets mode `0o666 & ~umask`, as a
    file made by `open()` would (a group-shared results folder stays readable to the group); a
    symbolic link at `path` is replaced, never written through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; a written file gets what open() would give it
            os.fchmod(fd, 0o666 & ~current_umask())
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
    """Write `config` as `DIR/dismetrics.json` (atomically). `format_version` is filled in
    when absent; the required keys ([`REQUIRED_CONFIG_KEYS`][dismetrics.modeldir.REQUIRED_CONFIG_KEYS]) must
    be present."""
    config = dict(config)
    config.setdefault("format_version", FORMAT_VERSION)
    missing = [key for key in REQUIRED_CONFIG_KEYS if key not in config]
    if missing:
        raise ModelDirError(f"config is missing the required key(s) {missing}; a model dir config needs {list(REQUIRED_CONFIG_KEYS)}.")
    config = _jsonable(config)
    validate_config(config, source="config")
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    return atomic_write_text(Path(directory) / CONFIG_FILE, text)


def read_config(directory) -> dict[str, Any]:
    """Read and validate `DIR/dismetrics.json`."""
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
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ModelDirError(f"cannot read {str(path)!r} ({type(error).__name__}: {error}).") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelDirError(f"{str(path)!r} is larger than {MAX_CONFIG_BYTES} bytes; a config is a few kB: not reading it.")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{str(path)!r} is not valid JSON ({error}); the file is corrupt.") from None
    except RecursionError:
        raise ModelDirError(f"{str(path)!r} is not a config: its JSON is nested too deeply.") from None
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
    validate_config(config, source=str(path))
    return config


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _is_type(value: Any, kind: str) -> bool:
    if kind.endswith("[]"):
        return isinstance(value, list) and all(_JSON_TYPES[kind[:-2]](item) for item in value)
    return _JSON_TYPES[kind](value)


def _json_type_name(value: Any) -> str:
    for name, test in (("null", _JSON_TYPES["null"]), ("bool", _JSON_TYPES["bool"]), ("int", _JSON_TYPES["int"]),
                       ("number", _JSON_TYPES["number"]), ("string", _JSON_TYPES["string"]),
                       ("object", _JSON_TYPES["object"])):
        if test(value):
            return name
    return "array" if isinstance(value, list) else type(value).__name__


def _check_types(mapping: Mapping[str, Any], schema: Mapping[str, tuple[str, ...]], prefix: str, source: str) -> None:
    for key, kinds in schema.items():
        if key in mapping and not any(_is_type(mapping[key], kind) for kind in kinds):
            shown = json.dumps(mapping[key], default=str)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ModelDirError(f"{source}: {prefix}{key!r} must be {' or '.join(kinds)}; got {_json_type_name(mapping[key])} {shown}.")


def _check_regularization(entry: Any, source: str) -> None:
    """The optional `regularization` entry: None or `{"name": identifier, "value": finite number}`."""
    if entry is None:
        return
    name, value = entry.get("name"), entry.get("value")
    if set(entry) != {"name", "value"} or not isinstance(name, str) or not name.isidentifier():
        raise ModelDirError(f"{source}: 'regularization' must be {{\"name\": <hyperparameter name>, \"value\": <number>}} "
                            f"with a plain identifier as name; got {json.dumps(entry, default=str)[:80]}.")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not np.isfinite(value)):
        raise ModelDirError(f"{source}: 'regularization.value' must be a finite number; got {value!r}.")


def dataset_key(name: Any) -> str:
    """A data-set name as [`dismetrics.data.get_sampler`][dismetrics.data.registry.get_sampler] looks it up
    (`"3D-Shapes"` -> `"3dshapes"`)."""
    return str(name).lower().replace("-", "").replace("_", "")


def check_plain_file_name(name: Any, what: str) -> str:
    """`name` must be a file name inside the model dir: no directory part, not absolute, not `..`."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
            or Path(name).name != name or Path(name).is_absolute()):
        raise ModelDirError(f"{what} must be a plain file name inside the model dir (no '/', no '..'); got {name!r}.")
    return name


def check_dataset_params(name: Any, params: Mapping[str, Any] | None, source: str = CONFIG_FILE) -> dict[str, Any]:
    """The data-set parameters of a config, checked against
    [`DATASET_PARAMS`][dismetrics.modeldir.DATASET_PARAMS] (a key outside the allow-list of the named data
    set, or of the wrong type, raises naming the key).

    Returns what may be passed to the sampler: a copy of the parameters of a data set in the allow-list;
    for any other name (a sampler object handed to the trainer, a variant or alias this list does not
    name) only `path`, the rest being a description that is never passed anywhere."""
    params = dict(params or {})
    if name is None:
        allowed: Mapping[str, tuple[str, ...]] | None = {"path": ("string", "null")}  # inferred from the path
    else:
        allowed = DATASET_PARAMS.get(dataset_key(name))
    for key in params:
        if allowed is None:
            if key.startswith("_") or key in FORBIDDEN_DATASET_PARAMS:
                raise ModelDirError(f"{source}: 'dataset.params.{key}' is not allowed (data-set parameters never set "
                                    "private options, caches or downloads).")
        elif key not in allowed:
            what = f"the data set {name!r}" if name is not None else "a data set named by its path alone"
            raise ModelDirError(f"{source}: 'dataset.params.{key}' is not allowed for {what} "
                                f"(allowed: {', '.join(sorted(allowed)) or 'none'}).")
    if allowed is None:
        path = params.get("path")
        return {"path": path} if isinstance(path, str) and path else {}
    _check_types(params, allowed, "dataset.params.", source)
    return params


def validate_config(config: Mapping[str, Any], source: str = CONFIG_FILE) -> None:
    """Check a config against [`CONFIG_SCHEMA`][dismetrics.modeldir.CONFIG_SCHEMA] (types of the known keys,
    lower bounds, the data set and its parameters, `encoder_file` a plain file name); raise
    [`ModelDirError`][dismetrics.modeldir.ModelDirError] naming the key."""
    _check_types(config, CONFIG_SCHEMA, "", source)
    for key, minimum in CONFIG_MINIMUMS.items():
        if key in config and config[key] < minimum:
            raise ModelDirError(f"{source}: {key!r} must be >= {minimum}; got {config[key]!r}.")
    if "encoder_file" in config:
        check_plain_file_name(config["encoder_file"], f"{source}: 'encoder_file'")
    _check_regularization(config.get("regularization"), source)
    dataset = config.get("dataset")
    if isinstance(dataset, dict):
        _check_types(dataset, DATASET_SCHEMA, "dataset.", source)
        path = dataset.get("path")
        if path is not None and (not path or "\0" in path):
            raise ModelDirError(f"{source}: 'dataset.path' must be a file path or null; got {path!r}.")
        check_dataset_params(dataset.get("name"), dataset.get("params"), source)


# ---- codes -------------------------------------------------------------------------------------
def write_codes(directory, codes, factors, codes_test=None, factors_test=None) -> Path:
    """Write `DIR/codes.npz` with arrays `codes` (n, d) and `factors` (n, K), and optionally
    a held-out pair `codes_test` / `factors_test`."""
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


MAX_CODES_INFLATED_BYTES = 256 << 20
"""An array of `codes.npz` larger than this (uncompressed) that is also compressed more than
`MAX_CODES_RATIO` times is refused unread (a zip bomb: codes and factors do not compress so)."""
MAX_CODES_RATIO = 200


def _check_codes_archive(path: Path) -> None:
    """Read the headers of `codes.npz`'s arrays before loading any: numeric dtypes only, a shape the
    stored bytes can fill, no zip bomb, no empty array. A clear
    [`ModelDirError`][dismetrics.modeldir.ModelDirError] otherwise."""
    import zipfile  # noqa: PLC0415

    from numpy.lib import format as npy_format  # noqa: PLC0415

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ModelDirError(f"{str(path)!r} is not a readable .npz file ({type(error).__name__}: {error}).") from None
    with archive:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name not in _CODE_ARRAYS:
                continue
            where = f"{str(path)!r}: array {name!r}"
            if info.file_size > MAX_CODES_INFLATED_BYTES and info.file_size > MAX_CODES_RATIO * max(info.compress_size, 1):
                raise ModelDirError(f"{where} inflates {info.compress_size} bytes to {info.file_size}: refusing a zip bomb.")
            try:
                with archive.open(info) as member:
                    version = npy_format.read_magic(member)
                    if version == (1, 0):
                        shape, _, dtype = npy_format.read_array_header_1_0(member)
                    elif version in ((2, 0), (3, 0)):
                        shape, _, dtype = npy_format.read_array_header_2_0(member)
                    else:
                        raise ValueError(f"unknown .npy format version {version}")
                    header_bytes = member.tell()
            except Exception as error:  # noqa: BLE001 - zipfile and numpy raise many types for a bad file
                raise ModelDirError(f"{where} is not a readable .npy array ({type(error).__name__}: {error}).") from None
            if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
                raise ModelDirError(f"{where} has dtype {dtype}; codes and factors must be numbers (bool, int or float).")
            if len(shape) != 2:
                raise ModelDirError(f"{where} has shape {shape}; it must be 2-D.")
            if 0 in shape:
                raise ModelDirError(f"{where} is empty (shape {shape}).")
            needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if needed > info.file_size - header_bytes:
                raise ModelDirError(f"{where}: its header says shape {shape} ({needed} bytes) but the file holds "
                                    f"{info.file_size - header_bytes}: truncated or forged.")


def read_codes(directory) -> dict[str, np.ndarray]:
    """Read `DIR/codes.npz` (or a `.npz` file given directly): a dict with `codes`, `factors`
    and, when present, `codes_test` and `factors_test`."""
    path = Path(directory)
    if path.is_dir():
        path = path / CODES_FILE
    if not path.is_file():
        raise ModelDirError(f"no codes file at {str(path)!r}.")
    _check_codes_archive(path)
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
    for name in ("codes", "factors"):
        if name + "_test" in arrays and arrays[name + "_test"].shape[1] != arrays[name].shape[1]:
            raise ModelDirError(f"{str(path)!r}: {name}_test has {arrays[name + '_test'].shape[1]} columns but {name} has "
                                f"{arrays[name].shape[1]}.")
    return arrays


# ---- encoder -----------------------------------------------------------------------------------
TRUST_HINT = ("pass trust_model_code=True (dismetrics score --trust-model-code) to load it anyway, only if you "
              "trust where the model dir came from; or convert it once to the safe format with "
              "`dismetrics reexport DIR` (needs dismetrics[models]; reads the checkpoint with torch's weights-only loader)")
"""What a refusal to load a pickle-based encoder says (the flag in Python and in the shell)."""


class UntrustedModelCodeError(ModelDirError):
    """Loading this file would unpickle Python objects (and could run code); the user has not said to trust
    it."""


def encoder_path(directory, config: Mapping[str, Any] | None = None) -> Path | None:
    """The encoder file of a model dir, or None when it has none.

    The config's `encoder_file` (a plain file name inside the dir) when given; otherwise
    `encoder.npz`, then the legacy `encoder.pt2`.
    """
    directory = Path(directory)
    name = (config or {}).get("encoder_file")
    if name is not None:
        if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
            raise ModelDirError(f"'encoder_file' must be a plain file name inside the model dir; got {name!r}.")
        path = directory / name
        return path if path.is_file() else None
    for candidate in (ENCODER_FILE, LEGACY_ENCODER_FILE):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def save_encoder(path, modules, *, input_shape, input_layout: str = "channels_last", outputs: str = "mean_logvar",
                 latent_dim: int, mean_transform: str = "identity") -> Path:
    """Write a feed-forward torch encoder to `path` (atomically) in the safe encoder-graph format.

    `path` is a file path ending in `.npz`, or a model dir (created when absent; the file becomes
    `DIR/encoder.npz`). The layers and options
    are those of [`dismetrics.encoder_graph.graph_from_torch`][dismetrics.encoder_graph.graph_from_torch];
    loading the file back ([`load_encoder`][dismetrics.modeldir.load_encoder]) runs no code from it.
    """
    from . import encoder_graph  # noqa: PLC0415

    path = Path(path)
    if path.suffix != ".npz":
        path = path / ENCODER_FILE
    graph, weights = encoder_graph.graph_from_torch(modules, input_shape=input_shape, input_layout=input_layout,
                                                    outputs=outputs, latent_dim=latent_dim,
                                                    mean_transform=mean_transform)
    return atomic_write_bytes(path, encoder_graph.encoder_bytes(graph, weights))


def load_encoder(directory, *, device: str = "cpu", trust_model_code: bool = False):
    """Load the encoder of a model dir with torch alone (no `dismetrics_models`), running no code from it.

    Returns a `torch.nn.Module` in eval mode; calling it on a float tensor of observations in [0, 1]
    laid out as the graph's input says (`channels_last`: `(n, 64, 64, C)`, as samplers return them)
    returns `(mean, logvar)`, each `(n, latent_dim)` (or the means alone). The mean is the
    representation.

    The encoder file is an encoder graph (`encoder.npz`,
    [`dismetrics.encoder_graph`][dismetrics.encoder_graph]): layers from an allow-list and plain arrays,
    checked before anything is loaded. Any other file (a `torch.export` archive `encoder.pt2` of model dirs
    written before this format, whose loading unpickles data) is refused with
    [`UntrustedModelCodeError`][dismetrics.modeldir.UntrustedModelCodeError] unless `trust_model_code=True`.
    """
    from . import encoder_graph  # noqa: PLC0415

    directory = Path(directory)
    config = read_config(directory)
    path = encoder_path(directory, config)
    if path is None:
        raise ModelDirError(
            f"model dir {str(directory)!r} has no exported encoder ({config.get('encoder_file', ENCODER_FILE)}); "
            "training may not have finished. Resume it, or score its codes file."
        )
    try:
        import torch  # noqa: PLC0415
    except ImportError:  # pragma: no cover - depends on the installation
        raise ModelDirError("loading an encoder needs PyTorch: pip install 'dismetrics[models]'.") from None
    if path.suffix == ".npz" or encoder_graph.is_encoder_graph_file(path):
        try:
            graph, weights = encoder_graph.read_encoder(path)
        except encoder_graph.EncoderGraphError as error:
            raise ModelDirError(f"could not load the encoder: {error}") from None
        return encoder_graph.build_torch_module(graph, weights, device=device)
    if not trust_model_code:
        raise UntrustedModelCodeError(
            f"refusing to load {str(path)!r}: it is not a dismetrics encoder graph (encoder.npz) but a pickle-based "
            f"file (e.g. a torch.export archive), and loading it can run arbitrary code. To score it, {TRUST_HINT}."
        )
    try:
        program = torch.export.load(str(path))
    except Exception as error:
        raise ModelDirError(f"could not load the encoder {str(path)!r} ({type(error).__name__}: {error}).") from None
    module = program.module()
    if device != "cpu":
        module = module.to(device)
    return module

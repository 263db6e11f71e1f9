"""Score model dirs: what `dismetrics score` runs, one model dir at a time or many in parallel.

A model dir (see `dismetrics.modeldir`) is scored from, in this order of preference:

1. a representation given as `module:function` or `path/to/file.py:function` (a numpy callable),
   with the data set of the config or the one given;
2. its exported encoder (`encoder.npz`, loaded with torch alone) and the data set of its config;
3. its `codes.npz` (precomputed codes and factors: the sample metrics and unsupervised scores run on
   them; the intervention metrics, which need an encoder, are left out and say so).

The scores go to `DIR/scores.json` (atomically, merged under a lock), one entry per settings key,
each with a digest of what was scored (the files and the dismetrics version) and a checksum of the
entry. A dir is skipped only when an entry with the same settings has the same digest and an intact
checksum, unless `force=True`; otherwise it is rescored and the outcome says why.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd

from . import __version__
from .evaluate import evaluate, evaluate_codes
from .metrics.presets import preset_params
from .metrics.registry import canonical_names
from .modeldir import (
    CODES_FILE,
    CONFIG_FILE,
    ENCODER_FILE,
    SCORES_FILE,
    ModelDirError,
    atomic_write_text,
    check_dataset_params,
    encoder_path,
    read_codes,
    read_config,
)

__all__ = [
    "SCORES_FORMAT",
    "ScoreOutcome",
    "SchedulerError",
    "ScoringInterrupted",
    "score_settings",
    "score_model_dir",
    "score_model_dirs",
    "scores_table",
    "load_callable",
    "read_scores_entries",
]


def _regularization(config: dict) -> tuple[str | None, Any]:
    """`(name, value)` of a model dir's regularization strength: the config's `regularization` entry (the
    trainer writes it), or, for a dir written before that entry, the trainers' own table
    (`dismetrics_models.hyperparameters`, importable without torch; the model names live there, not in the
    core). `(None, None)` when neither says."""
    entry = config.get("regularization")
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        return entry["name"], _number(entry.get("value"))
    model, hyper = config.get("model"), config.get("hyperparameters")
    if not isinstance(model, str) or not isinstance(hyper, dict):
        return None, None
    try:
        from dismetrics_models.hyperparameters import REGULARIZATION_KEYS  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the two packages ship together
        return None, None
    key = REGULARIZATION_KEYS.get(model)
    return (key, _number(hyper.get(key))) if key else (None, None)

ROW_COLUMNS = ["metric", "value", "repeat", "seed", "seconds", "error"]
TABLE_COLUMNS = ["model_dir", "model", "dataset", "model_seed", "regularization", "regularization_value", "recon_error",
                 "steps", *ROW_COLUMNS]
"""The columns of a combined score table (`scores_table`, `dismetrics score --out`): the model's
description, then the evaluation row."""

SCORES_FORMAT = 2
"""Version of the `scores.json` layout this module writes (format 1: one entry, no digest)."""
LOCK_FILE = ".scores.json.lock"
"""The sidecar file locked (`fcntl.flock`) around the read-merge-write of `scores.json`."""
MAX_SCORES_BYTES = 64 << 20
"""Largest `scores.json` read (a larger one is ignored: rescored and replaced)."""
LOCK_TIMEOUT = 60.0
"""Seconds to wait for the lock of a `scores.json` before giving up on writing it."""
DASK_CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer."""


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be reached (or its address is malformed): nothing was scored."""


@dataclass
class ScoreOutcome:
    """What happened to one model dir.

    `status`: `"scored"`, `"skipped"` (an intact entry of `scores.json` has these settings and
    the digest of these inputs) or `"failed"` (`reason` says why; `rows` is empty). `notes`: why
    stored scores were not reused (informational); `warnings`: what the user should know even under
    `--quiet` (a `scores.json` entry that fails its checksum); `write_error`: `scores.json` could
    not be written (the rows are still here). `digest`: the digest of what was scored.
    """

    model_dir: str
    status: str
    rows: list[dict] = field(default_factory=list)
    reason: str = ""
    config: dict | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    write_error: str = ""
    digest: str | None = None

    def metric_errors(self) -> list[tuple[str, int, int, str]]:
        """`(metric, failed repeats, repeats, first error)` for each metric with an error row."""
        seen: dict[str, list] = {}
        for row in self.rows:
            name = str(row.get("metric"))
            entry = seen.setdefault(name, [0, 0, ""])
            entry[1] += 1
            if row.get("error"):
                entry[0] += 1
                entry[2] = entry[2] or str(row["error"])
        return [(name, failed, total, error) for name, (failed, total, error) in seen.items() if failed]

    @property
    def ok(self) -> bool:
        """Scored or skipped, with no metric error and its scores written."""
        return self.status != "failed" and not self.write_error and not self.metric_errors()


def score_settings(*, metrics="all", exclude=(), repeats=None, random_state=0, n=None, n_test=None,
                   preset="disentanglement_lib", dataset=None, dataset_path=None, representation=None,
                   metric_params=None, seed=None) -> dict[str, Any]:
    """The settings that identify a scoring run (stored in scores.json; equal settings are skipped
    when the inputs are unchanged too).

    `n`, `n_test` and `repeats` default to the preset's sizes
    ([`dismetrics.metrics.presets.EVALUATE_SIZES`][dismetrics.metrics.presets.EVALUATE_SIZES]); `preset` is
    passed to every metric ([`dismetrics.evaluate`][dismetrics.evaluate.evaluate]). Metric names are stored
    canonical (an alias and its metric give one key). `metric_params` (`{metric: {parameter: value}}`, as
    `dismetrics.evaluate.evaluate` takes it) must be JSON data, since it is stored; it enters the settings
    only when given, so runs without it keep their settings key. A `representation` given as
    `path/to/file.py:function` is stored with the file's absolute path (workers elsewhere load the same
    file). `seed` is the deprecated name of `random_state`.
    """
    if seed is not None:
        warnings.warn("score_settings(seed=...) is deprecated; use random_state.", DeprecationWarning, stacklevel=2)
        random_state = seed
    sizes = preset_params(preset, "evaluate", n=n, n_test=n_test, repeats=repeats)
    settings = {
        "metrics": metrics if isinstance(metrics, str) and metrics == "all" else sorted(canonical_names(metrics, "metrics")),
        "exclude": sorted(canonical_names(exclude, "exclude")),
        "repeats": int(sizes["repeats"]),
        "random_state": int(random_state),
        "n": int(sizes["n"]),
        "n_test": int(sizes["n_test"]),
        "preset": preset,
        "dataset": dataset,
        "dataset_path": str(dataset_path) if dataset_path else None,
        "representation": _absolute_representation_spec(representation) if representation else representation,
        "dismetrics_version": __version__,
    }
    if metric_params:
        try:
            settings["metric_params"] = json.loads(json.dumps(metric_params, sort_keys=True))
        except (TypeError, ValueError):
            raise ValueError(f"metric_params must be JSON data ({{metric: {{parameter: value}}}}) to be stored in "
                             f"scores.json; got {metric_params!r}.") from None
    return settings


def _settings_key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


# ---- --representation ------------------------------------------------------------------------
def _split_spec(spec: str) -> tuple[str, str]:
    source, sep, attribute = str(spec).rpartition(":")
    if not sep or not source or not attribute:
        raise ValueError(f"--representation must look like 'module:function' or 'path/to/file.py:function'; got {spec!r}.")
    return source, attribute


def _is_file_spec(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def _absolute_representation_spec(spec: str) -> str:
    source, attribute = _split_spec(spec)
    if _is_file_spec(source):
        return f"{os.path.abspath(os.path.expanduser(source))}:{attribute}"
    return spec


_SYS_PATH_LOCK = threading.RLock()


@contextlib.contextmanager
def _without_current_directory() -> Iterator[None]:
    """`sys.path` without the entries that stand for the current directory (`''`, `'.'`, the cwd
    itself: what `python -m` puts first), unless the user put them there through `PYTHONPATH`. A
    module of the same name in the current directory must not shadow the one the user means."""
    cwd = os.path.realpath(os.getcwd())
    explicit = {os.path.realpath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}

    def is_cwd(entry: str) -> bool:
        real = os.path.realpath(entry or ".")
        return real == cwd and real not in explicit

    with _SYS_PATH_LOCK:  # worker threads (a Dask worker) load callables concurrently
        saved = list(sys.path)
        filtered = [entry for entry in saved if not is_cwd(entry)]
        sys.path[:] = filtered
        try:
            yield
        finally:
            added = [entry for entry in sys.path if entry not in filtered]  # what the import itself added
            sys.path[:] = saved + [entry for entry in added if entry not in saved]


def _module_from_file(path: str):
    module_name = "_dismetrics_representation_" + hashlib.sha256(path.encode()).hexdigest()[:12]
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load {path!r} as Python source for --representation.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _representation_source(spec: str) -> str | None:
    """The file that defines the callable of `spec` (hashed into the digest), or None."""
    source, _ = _split_spec(spec)
    if _is_file_spec(source):
        return os.path.abspath(os.path.expanduser(source))
    try:
        with _without_current_directory():
            found = importlib.util.find_spec(source)
    except (ImportError, ValueError):
        return None
    return found.origin if found is not None and found.origin and os.path.isfile(found.origin) else None


def load_callable(spec: str) -> Callable:
    """`"package.module:function"` or `"path/to/file.py:function"` -> the function (a clear
    `ValueError` if it cannot be found).

    A module name is imported from the installed packages and `PYTHONPATH`, never implicitly from the
    current directory (`python -m` puts it first on `sys.path`, where a stray file of that name
    would shadow the module meant); a file of your own is named by its path."""
    source, attribute = _split_spec(spec)
    if _is_file_spec(source):
        path = os.path.abspath(os.path.expanduser(source))
        if not os.path.isfile(path):
            raise ValueError(f"--representation {spec!r}: no file {path!r}.")
        try:
            module = _module_from_file(path)
        except ValueError:
            raise
        except Exception as error:
            raise ValueError(f"cannot load {path!r} for --representation ({type(error).__name__}: {error}).") from None
        module_name = path
    else:
        module_name = source
        try:
            with _without_current_directory():
                module = importlib.import_module(module_name)
        except ImportError as error:
            hint = ""
            if os.path.exists(os.path.join(os.getcwd(), module_name.split(".")[0] + ".py")) or os.path.isdir(
                    os.path.join(os.getcwd(), module_name.split(".")[0])):
                hint = (f"; the current directory is not searched: give the file instead "
                        f"(./{module_name.replace('.', '/')}.py:{attribute}) or add its folder to PYTHONPATH")
            raise ValueError(f"cannot import module {module_name!r} for --representation ({error}{hint}).") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r} (from --representation {spec!r}).")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"--representation {spec!r} is not callable.")
    return target


# ---- what is scored, and its digest -------------------------------------------------------------
def _config_dataset(config: dict | None) -> dict | None:
    if not config:
        return None
    spec = config.get("dataset")
    if isinstance(spec, str):
        return {"name": spec}
    return spec if isinstance(spec, dict) else None


def _resolve_dataset_path(directory: Path, path: str) -> Path:
    """A config's relative data-set path: inside the model dir when the file is there (a dir shipped
    with its data), else relative to the current directory (where the trainer was run)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    inside = directory / candidate
    return inside if inside.exists() else candidate


def _dataset_source(directory: Path, config: dict | None, settings: dict) -> tuple[Any, Path | None, dict]:
    """`(name, path, params)` of the data set to score on: `--dataset`/`--dataset-path` when
    given (the config's parameters are then not used), else the config's (parameters allow-listed)."""
    if settings["dataset"] or settings["dataset_path"]:
        path = Path(settings["dataset_path"]).expanduser() if settings["dataset_path"] else None
        return settings["dataset"], path, {}
    spec = _config_dataset(config)
    if spec is None:
        raise ModelDirError("no data set to score on: the config names none; pass --dataset or --dataset-path.")
    params = check_dataset_params(spec.get("name"), spec.get("params"))
    param_path = params.pop("path", None)
    raw = spec.get("path") or param_path
    return spec.get("name"), _resolve_dataset_path(directory, raw) if raw else None, params


def _sampler_for(directory: Path, config: dict | None, settings: dict) -> Any:
    from .data import get_sampler  # noqa: PLC0415 - the data layer loads lazily

    name, path, params = _dataset_source(directory, config, settings)
    if path is not None:
        return get_sampler(name, path=str(path), **params)
    return get_sampler(name, **params)


_FILE_DIGESTS: dict[tuple, str] = {}
MEMO_DIGEST_BYTES = 64 << 20
"""Files at least this large (data sets) have their digest memoized per process, on their identity,
size and modification time: a data set shared by many model dirs is read once per run."""


def _file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    stat = path.stat()
    identity = (os.path.realpath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if identity in _FILE_DIGESTS:
        return _FILE_DIGESTS[identity]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if stat.st_size >= MEMO_DIGEST_BYTES:
        _FILE_DIGESTS[identity] = digest.hexdigest()
    return digest.hexdigest()


def _path_digest(path: Path) -> str:
    """A data set's digest: a file's sha256; for a directory (SmallNORB, Cars3D), the sha256 of the
    names, sizes and modification times of its files."""
    if path.is_file():
        return _file_digest(path)
    if path.is_dir():
        listing = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file())
        return "dir:" + hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    if path.exists():
        raise ModelDirError(f"the data set {str(path)!r} is neither a regular file nor a directory.")
    return "missing"


def _plan(directory: Path, config: dict | None, settings: dict) -> tuple[str, Path | None]:
    """How the dir is scored (`"representation"`, `"encoder"` or `"codes"`) and its encoder file."""
    encoder = encoder_path(directory, config) if config is not None else None
    if settings["representation"]:
        return "representation", encoder
    if encoder is not None:
        return "encoder", encoder
    if (directory / CODES_FILE).is_file():
        return "codes", encoder
    if config is None:
        raise ModelDirError(f"{str(directory)!r} has neither {CONFIG_FILE} with an encoder nor {CODES_FILE}: nothing to score.")
    raise ModelDirError(f"{str(directory)!r} has no exported encoder ({config.get('encoder_file', ENCODER_FILE)}) and no "
                        f"{CODES_FILE}: nothing to score.")


def _inputs(directory: Path, config: dict | None, settings: dict, kind: str, encoder: Path | None) -> dict[str, str]:
    """The digest of each input of a scoring: the config, the codes and the encoder file (those present),
    the data set (when the scoring reads one), the file defining `--representation`, and the version."""
    inputs = {"dismetrics_version": __version__}
    for name in (CONFIG_FILE, CODES_FILE):
        if (directory / name).is_file():
            inputs[name] = _file_digest(directory / name)
    if encoder is not None:
        inputs[encoder.name] = _file_digest(encoder)
    if kind != "codes":
        _, path, _ = _dataset_source(directory, config, settings)
        if path is not None:
            inputs[f"dataset {path}"] = _path_digest(path)
        if kind == "representation":
            source = _representation_source(settings["representation"])
            if source is not None:
                inputs[f"representation {source}"] = _file_digest(Path(source))
    return inputs


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _entry_checksum(entry: dict) -> str:
    """The checksum stored as `rows_digest`: sha256 of the entry's every other field."""
    return _digest({key: value for key, value in entry.items() if key != "rows_digest"})


# ---- scores.json -------------------------------------------------------------------------------
def _read_document(path: Path) -> tuple[dict | None, str]:
    """`(document, problem)`: the parsed `scores.json` (None if absent or unusable) and what is
    wrong with it, if anything."""
    if not path.exists() and not path.is_symlink():
        return None, ""
    if not path.is_file():
        return None, f"{SCORES_FILE} is not a regular file"
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SCORES_BYTES + 1)
    except OSError as error:
        return None, f"{SCORES_FILE} cannot be read ({type(error).__name__}: {error})"
    if len(raw) > MAX_SCORES_BYTES:
        return None, f"{SCORES_FILE} is larger than {MAX_SCORES_BYTES} bytes"
    try:
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None, f"{SCORES_FILE} is not valid JSON"
    if not isinstance(document, dict):
        return None, f"{SCORES_FILE} does not hold a JSON object"
    return document, ""


def read_scores_entries(document: Any) -> dict[str, dict]:
    """The entries of a parsed `scores.json`, by settings key: format 2's `entries`, or the single
    entry of a format-1 file (which has no digest, so it is never reused). Entries that are not objects
    with `settings` and a list of `rows` are left out."""
    if not isinstance(document, dict):
        return {}
    if document.get("format") == SCORES_FORMAT and isinstance(document.get("entries"), dict):
        candidates = document["entries"]
    elif "format" not in document and isinstance(document.get("settings_key"), str):
        legacy = {key: document.get(key) for key in ("settings", "settings_key", "config", "rows")}
        candidates = {document["settings_key"]: {**legacy, "digest": None, "rows_digest": None}}
    else:
        return {}
    return {key: entry for key, entry in candidates.items()
            if isinstance(key, str) and isinstance(entry, dict) and isinstance(entry.get("settings"), dict)
            and isinstance(entry.get("rows"), list) and all(isinstance(row, dict) for row in entry["rows"])}


def _stored_rows(directory: Path, key: str, settings: dict, inputs: dict, digest: str,
                 outcome: ScoreOutcome) -> list[dict] | None:
    """The rows of an intact `scores.json` entry for these settings and this digest, or None (with a
    note, or a warning for an entry that fails its checksum, on `outcome`)."""
    document, problem = _read_document(directory / SCORES_FILE)
    if problem:
        outcome.notes.append(f"{problem}: rescored, and the file replaced")
        return None
    if document is None:
        return None
    if "format" not in document:
        if read_scores_entries(document):
            outcome.notes.append(f"{SCORES_FILE} was written by an older dismetrics, with no digest of what it scored: rescored")
        else:
            outcome.notes.append(f"{SCORES_FILE} is not a dismetrics scores file: rescored, and the file replaced")
        return None
    if document.get("format") != SCORES_FORMAT:
        outcome.notes.append(f"{SCORES_FILE} has format {document.get('format')!r}, not {SCORES_FORMAT}: rescored")
        return None
    raw_entries = document.get("entries")
    raw = raw_entries.get(key) if isinstance(raw_entries, dict) else None
    if raw is None:
        if not isinstance(raw_entries, dict):
            outcome.notes.append(f"{SCORES_FILE} has no valid 'entries': rescored")
        return None
    entry = read_scores_entries({"format": SCORES_FORMAT, "entries": {key: raw}}).get(key)
    if entry is None or not isinstance(entry.get("rows_digest"), str) or entry.get("rows_digest") != _entry_checksum(entry):
        outcome.warnings.append(f"{SCORES_FILE}'s entry for these settings fails its checksum (edited since it was "
                                "written?): ignored and rescored")
        return None
    if entry.get("settings") != settings or entry.get("settings_key") != key:
        outcome.warnings.append(f"{SCORES_FILE}'s entry for these settings holds other settings: ignored and rescored")
        return None
    if entry.get("digest") != digest:
        stored = entry.get("inputs") if isinstance(entry.get("inputs"), dict) else {}
        changed = sorted(name for name in set(stored) | set(inputs) if stored.get(name) != inputs.get(name))
        outcome.notes.append(f"changed since scored with these settings ({', '.join(changed) or 'digest'}): rescored")
        return None
    return entry["rows"]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold `DIR/.scores.json.lock` (an exclusive `flock`), waiting at most `LOCK_TIMEOUT`."""
    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # pragma: no cover - Windows: no lock (atomic replace still holds)
        yield
        return
    safe = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)  # a symlink planted there is not followed
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | safe, 0o666)
    except PermissionError:  # another user's lock file: flock works on a read-only descriptor too
        fd = os.open(directory / LOCK_FILE, os.O_RDONLY | safe)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{LOCK_FILE} stayed locked for {LOCK_TIMEOUT:.0f} s") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


def _store_entry(directory: Path, key: str, entry: dict) -> None:
    """Merge `entry` into `DIR/scores.json` under the lock: the other settings' entries are kept."""
    with _locked(directory):
        document, _ = _read_document(directory / SCORES_FILE)
        entries = read_scores_entries(document)
        entries[key] = entry
        latest = {name: entry[name] for name in ("settings", "settings_key", "config", "rows")}
        merged = {"format": SCORES_FORMAT, "model_dir": str(directory), "latest": key, **latest, "entries": entries}
        atomic_write_text(directory / SCORES_FILE, json.dumps(merged, indent=1, sort_keys=True) + "\n")


# ---- scoring -----------------------------------------------------------------------------------
def _score_rows(directory: Path, config: dict | None, settings: dict, kind: str,
                trust_model_code: bool = False) -> pd.DataFrame:
    if kind in ("representation", "encoder"):
        from .representation import as_representation  # noqa: PLC0415

        target = load_callable(settings["representation"]) if kind == "representation" else directory
        representation = (as_representation(target, trust_model_code=True) if trust_model_code
                          else as_representation(target))
        sampler = _sampler_for(directory, config, settings)
        from .table import planned_observations, scoring_table  # noqa: PLC0415  (the table on disk, issue 18)

        planned = planned_observations(settings["metrics"], settings["exclude"], n=settings["n"], n_test=settings["n_test"],
                                       repeats=settings["repeats"], metric_params=settings.get("metric_params"),
                                       preset=settings["preset"])
        representation = scoring_table(representation, sampler, planned=planned) or representation
        return evaluate(representation, sampler, settings["metrics"], exclude=settings["exclude"],
                        n=settings["n"], n_test=settings["n_test"], repeats=settings["repeats"],
                        random_state=settings["random_state"], preset=settings["preset"],
                        metric_params=settings.get("metric_params"), progress=False)
    arrays = read_codes(directory)
    return evaluate_codes(arrays["codes"], arrays["factors"], settings["metrics"], codes_test=arrays.get("codes_test"),
                          factors_test=arrays.get("factors_test"), exclude=settings["exclude"],
                          repeats=settings["repeats"], random_state=settings["random_state"],
                          preset=settings["preset"],
                          metric_params=settings.get("metric_params"), progress=False)


def _read_config_if_any(directory: Path) -> dict | None:
    path = directory / CONFIG_FILE
    if path.is_file():
        return read_config(directory)
    if path.exists() or path.is_symlink():
        raise ModelDirError(f"{str(path)!r} is not a regular file.")
    return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def score_model_dir(directory, *, force: bool = False, trust_model_code: bool = False, **settings_kwargs) -> ScoreOutcome:
    """Score one model dir and merge its entry into `DIR/scores.json`; never raises for a bad dir
    (status "failed", with the reason).

    Skipped (the stored rows returned) only when `scores.json` holds an intact entry for these
    settings whose digest matches the inputs now; otherwise rescored, with a note saying why.
    `trust_model_code=True` lets a legacy encoder file that can run code be loaded (not part of the
    settings). A `scores.json` that cannot be written leaves the rows in the outcome, with
    `write_error` set.
    """
    directory = Path(directory)
    started = time.perf_counter()
    settings = score_settings(**settings_kwargs)
    key = _settings_key(settings)
    outcome = ScoreOutcome(str(directory), "scored")
    try:
        if not directory.is_dir():
            raise ModelDirError(f"model dir {str(directory)!r} does not exist or is not a directory.")
        outcome.config = _read_config_if_any(directory)
        kind, encoder = _plan(directory, outcome.config, settings)
        inputs = _inputs(directory, outcome.config, settings, kind, encoder)
        outcome.digest = _digest(inputs)
        if not force:
            stored = _stored_rows(directory, key, settings, inputs, outcome.digest, outcome)
            if stored is not None:
                outcome.status, outcome.rows, outcome.reason = "skipped", stored, "already scored with these settings and inputs"
                outcome.seconds = time.perf_counter() - started
                return outcome
        frame = _score_rows(directory, outcome.config, settings, kind, trust_model_code)
        if (frame.attrs.get("table") or {}).get("path"):
            outcome.notes.append(frame.attrs["table"]["text"])
        outcome.rows = json.loads(frame.to_json(orient="records", double_precision=15))
    except Exception as error:  # one bad dir must not stop the others; the reason is reported
        outcome.status, outcome.rows = "failed", []
        outcome.reason = _one_line(f"{type(error).__name__}: {error}")
        outcome.seconds = time.perf_counter() - started
        return outcome
    entry = {"settings": settings, "settings_key": key, "digest": outcome.digest, "inputs": inputs,
             "config": outcome.config, "rows": outcome.rows, "scored_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    entry["rows_digest"] = _entry_checksum(entry)
    try:
        _store_entry(directory, key, entry)
    except (OSError, TimeoutError) as error:
        outcome.write_error = _one_line(f"could not write {SCORES_FILE} ({type(error).__name__}: {error})")
    outcome.seconds = time.perf_counter() - started
    return outcome


def _score_for_pool(args: tuple) -> ScoreOutcome:
    directory, force, trust_model_code, settings_kwargs = args
    return score_model_dir(directory, force=force, trust_model_code=trust_model_code, **settings_kwargs)


def _init_worker(threads: int) -> None:
    """A pool worker: Ctrl-C (SIGINT, sent by a terminal to the whole process group) is ignored here;
    the parent alone handles it and stops the workers (no traceback from each of them)."""
    import signal  # noqa: PLC0415

    from ._parallel import limit_threads  # noqa: PLC0415

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # the workers draw no bars: no cross-process lock (a semaphore a stopped worker would leak)
        import threading  # noqa: PLC0415

        from tqdm import tqdm  # noqa: PLC0415

        tqdm.set_lock(threading.RLock())
    except ImportError:  # pragma: no cover
        pass
    limit_threads(threads)


def process_pool(jobs: int):
    """The local pool of `--jobs`: `jobs` spawned processes (not forked: forking a process that holds
    numba/torch/OpenMP threads can deadlock), each capping its thread pools at cpus / jobs
    (`dismetrics._parallel.limit_threads`) so that the jobs together do not oversubscribe the cores.
    The workers ignore Ctrl-C: the parent stops them (`score_model_dirs`)."""
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    from ._parallel import threads_per_worker  # noqa: PLC0415

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads_per_worker(jobs),))


def _stop_pool(pool) -> None:
    """Cancel what has not started and end the workers now (their dirs are left as they were: a
    `scores.json` is replaced atomically, so it is the old one or the new one, never half)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():  # pragma: no cover - a worker stuck in uninterruptible I/O
            process.kill()
            process.join(timeout=5)
    manager = getattr(pool, "_executor_manager_thread", None)  # it sees the workers gone and frees the queues
    if manager is not None:
        manager.join(timeout=10)


class ScoringInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped `score_model_dirs`: `outcomes` are the dirs that finished (in the order of
    the dirs given), `total` the number of dirs asked for. Every finished dir's `scores.json` is
    written; the others are untouched (or hold only what earlier runs wrote)."""

    def __init__(self, outcomes: list, total: int):
        super().__init__(f"interrupted after {len(outcomes)} of {total} model dirs")
        self.outcomes, self.total = outcomes, total


def _dask_client(address: str):
    try:
        from distributed import Client  # noqa: PLC0415
    except ImportError:
        raise ValueError("--dask-scheduler needs the [dask] extra: pip install 'dismetrics[dask]'.") from None
    import re  # noqa: PLC0415
    import threading  # noqa: PLC0415

    if not isinstance(address, str) or not re.fullmatch(r"(tcp|tls|ucx|ws|wss)://[^\s/]+:\d{1,5}/?", address):
        raise SchedulerError(f"cannot connect to the Dask scheduler {address!r}: not an address of the form "
                             "tcp://HOST:PORT.")
    # Connect in a helper thread with a hard bound: distributed's own timeout does not cover every way a
    # connection can stall (an event loop left by an earlier cluster in the same process, for one).
    result: dict[str, Any] = {}

    def connect() -> None:
        try:
            result["client"] = Client(address, timeout=DASK_CONNECT_TIMEOUT)
        except Exception as error:  # OSError (unreachable), ValueError/TypeError (malformed address), ...
            result["error"] = error

    thread = threading.Thread(target=connect, name="dismetrics-dask-connect", daemon=True)
    thread.start()
    thread.join(DASK_CONNECT_TIMEOUT + 10.0)
    if "client" in result:
        return result["client"]
    error = result.get("error")
    detail = f"{type(error).__name__}: {error}" if error is not None else f"no answer within {DASK_CONNECT_TIMEOUT + 10:.0f} s"
    raise SchedulerError(f"cannot connect to the Dask scheduler {address!r}: {_one_line(detail)}")


def _result_or_failure(future, task: tuple, what: str) -> ScoreOutcome:
    """A future's outcome; a worker that died (killed for memory, a lost Dask worker) fails its dir."""
    try:
        return future.result()
    except Exception as error:  # BrokenProcessPool, KilledWorker, CancelledError, ...
        return ScoreOutcome(task[0], "failed", reason=_one_line(f"{what} scoring it failed ({type(error).__name__}: {error})"))


def score_model_dirs(directories: Sequence, *, jobs: int = 1, dask_scheduler: str | None = None, force: bool = False,
                     progress: bool = False, trust_model_code: bool = False,
                     on_outcome: Callable[[ScoreOutcome], None] | None = None, **settings_kwargs) -> list[ScoreOutcome]:
    """Score many model dirs: serially (`jobs=1`), over a local process pool (`jobs > 1`), or on an
    existing Dask distributed cluster (`dask_scheduler="tcp://host:port"`). Results come back in the
    order of `directories` and are the same whichever way they ran. An unreachable or malformed
    scheduler address raises `SchedulerError` within `DASK_CONNECT_TIMEOUT` seconds.

    `on_outcome(outcome)` is called in this process as each dir finishes (in the order they finish),
    so that a failure can be reported when it happens. Ctrl-C (`KeyboardInterrupt`) cancels the dirs
    not started, ends the pool's workers (which ignore SIGINT themselves) or cancels the Dask tasks,
    and raises `ScoringInterrupted` (a `KeyboardInterrupt`) holding the finished outcomes."""
    score_settings(**settings_kwargs)  # bad settings raise here, once, not once per dir
    if settings_kwargs.get("representation"):  # a file path means the same file to every worker
        settings_kwargs = {**settings_kwargs, "representation": _absolute_representation_spec(settings_kwargs["representation"])}
    tasks = [(str(d), force, trust_model_code, settings_kwargs) for d in directories]
    results: list[ScoreOutcome | None] = [None] * len(tasks)

    def finished(index: int, outcome: ScoreOutcome) -> None:
        results[index] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    def interrupted() -> ScoringInterrupted:
        return ScoringInterrupted([r for r in results if r is not None], len(tasks))

    if dask_scheduler:
        with _dask_client(dask_scheduler) as client:
            from distributed import as_completed  # noqa: PLC0415

            futures = client.map(_score_for_pool, tasks, pure=False)
            index_of = {future.key: i for i, future in enumerate(futures)}
            try:
                for future in as_completed(futures):
                    i = index_of[future.key]
                    finished(i, _result_or_failure(future, tasks[i], "the Dask task"))
            except KeyboardInterrupt:
                client.cancel(futures)
                raise interrupted() from None
            return list(results)
    from tqdm.auto import tqdm  # noqa: PLC0415

    bar = tqdm(total=len(tasks), desc="model dirs", unit="dir", disable=not progress)
    try:
        if jobs <= 1 or len(tasks) <= 1:
            try:
                for i, task in enumerate(tasks):
                    finished(i, _score_for_pool(task))
                    bar.update(1)
            except KeyboardInterrupt:
                raise interrupted() from None
            return list(results)
        from concurrent.futures import as_completed  # noqa: PLC0415

        pool = process_pool(jobs)
        stopped = False
        try:
            futures = {pool.submit(_score_for_pool, task): i for i, task in enumerate(tasks)}
            for future in as_completed(futures):
                i = futures[future]
                finished(i, _result_or_failure(future, tasks[i], "the worker process"))
                bar.update(1)
        except KeyboardInterrupt:
            stopped = True
            _stop_pool(pool)
            raise interrupted() from None
        finally:
            if not stopped:
                pool.shutdown(wait=True, cancel_futures=True)
        return list(results)
    finally:
        bar.close()


def _number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def scores_table(outcomes: Sequence[ScoreOutcome]) -> pd.DataFrame:
    """One tidy table of every (model dir, metric, repeat) with the model's description.

    Columns: `model_dir`, `model`, `dataset`, `model_seed`, `regularization`,
    `regularization_value`, `recon_error`, `steps` (training steps of the config), then `metric`,
    `value`, `repeat`, `seed`, `seconds`, `error`. A failed dir gives one row with no
    `metric` and no `value` whose `error` is the reason; a metric that failed gives its rows with
    no `value` and the error.
    """
    records = []
    for outcome in outcomes:
        config = outcome.config if isinstance(outcome.config, dict) else {}
        model = config.get("model") if isinstance(config.get("model"), str) else None
        reg_key, reg_value = _regularization(config)
        dataset = config.get("dataset")
        dataset = dataset.get("name") if isinstance(dataset, dict) else dataset
        base = {
            "model_dir": outcome.model_dir,
            "model": model,
            "dataset": dataset if isinstance(dataset, str) else None,
            "model_seed": _number(config.get("seed")),
            "regularization": reg_key,
            "regularization_value": reg_value,
            "recon_error": _number(config.get("recon_error_heldout")),
            "steps": _number(config.get("steps")),
        }
        if outcome.status == "failed":
            records.append({**base, **{c: None for c in ROW_COLUMNS}, "error": outcome.reason or "failed"})
            continue
        for row in outcome.rows:
            if isinstance(row, dict):
                records.append({**base, **{c: row.get(c) for c in ROW_COLUMNS}})
    return pd.DataFrame(records, columns=TABLE_COLUMNS)

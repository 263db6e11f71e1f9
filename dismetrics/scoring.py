"""Score model dirs: what ``dismetrics score`` runs, one model dir at a time or many in parallel.

A model dir (see :mod:`dismetrics.modeldir`) is scored from, in this order of preference:

1. a representation given as ``module:function`` (a numpy callable), with the data set of the
   config or the one given;
2. its exported encoder (``encoder.pt2``, loaded with torch alone) and the data set of its config;
3. its ``codes.npz`` (precomputed codes and factors: the sample metrics and unsupervised scores run on
   them; the intervention metrics, which need an encoder, are left out and say so).

The scores go to ``DIR/scores.json`` (atomically), together with the settings that produced them;
a dir already scored with the same settings is skipped unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from . import __version__
from .evaluate import evaluate, evaluate_codes
from .modeldir import (
    CODES_FILE,
    CONFIG_FILE,
    ENCODER_FILE,
    SCORES_FILE,
    ModelDirError,
    atomic_write_text,
    read_codes,
    read_config,
)

__all__ = [
    "REGULARIZATION_KEYS",
    "ScoreOutcome",
    "score_settings",
    "score_model_dir",
    "score_model_dirs",
    "scores_table",
    "load_callable",
]

#: The hyperparameter that sets each model's regularization strength (MODELS.md's grids).
REGULARIZATION_KEYS = {
    "beta_vae": "beta",
    "annealed_vae": "c_max",
    "factor_vae": "gamma",
    "beta_tcvae": "beta",
    "dip_vae_i": "lambda_od",
    "dip_vae_ii": "lambda_od",
    "wae_mmd": "lambda",
    "wae_mmd_random": "lambda_1",
    "wae": "beta",
    "wtc_vae": "gamma",
    "wtc_wae": "gamma",
    "rtc_vae": "beta",
}

ROW_COLUMNS = ["metric", "value", "repeat", "seed", "seconds", "error"]
#: The columns of a combined score table (``scores_table``, ``dismetrics score --out``): the model's
#: description, then the evaluation row.
TABLE_COLUMNS = ["model_dir", "model", "dataset", "model_seed", "regularization", "regularization_value", "recon_error",
                 "steps", *ROW_COLUMNS]


@dataclass
class ScoreOutcome:
    """What happened to one model dir."""

    model_dir: str
    status: str  # "scored", "skipped" (already scored with these settings) or "failed"
    rows: list[dict] = field(default_factory=list)
    reason: str = ""
    config: dict | None = None
    seconds: float = 0.0


def score_settings(*, metrics="all", exclude=(), repeats=1, seed=0, n=10_000, n_test=5_000,
                   dataset=None, dataset_path=None, representation=None, metric_params=None) -> dict[str, Any]:
    """The settings that identify a scoring run (stored in scores.json; equal settings are skipped).

    ``metric_params`` (``{metric: {parameter: value}}``, as :func:`dismetrics.evaluate.evaluate` takes
    it) must be JSON data, since it is stored; it enters the settings only when given, so runs without
    it keep their settings key.
    """
    settings = {
        "metrics": metrics if isinstance(metrics, str) else sorted(metrics),
        "exclude": sorted(exclude or ()),
        "repeats": int(repeats),
        "seed": int(seed),
        "n": int(n),
        "n_test": int(n_test),
        "dataset": dataset,
        "dataset_path": str(dataset_path) if dataset_path else None,
        "representation": representation,
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


def load_callable(spec: str) -> Callable:
    """``"package.module:function"`` -> the function (a clear error if it cannot be found)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"--representation must look like 'module:function'; got {spec!r}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import module {module_name!r} for --representation ({error}).") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r} (from --representation {spec!r}).")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"--representation {spec!r} is not callable.")
    return target


def _sampler_for(config: dict | None, dataset: str | None, dataset_path) -> Any:
    from .data import get_sampler  # noqa: PLC0415 - the data layer loads lazily

    if dataset or dataset_path:
        return get_sampler(dataset, path=dataset_path) if dataset_path else get_sampler(dataset)
    if not config or not isinstance(config.get("dataset"), dict):
        raise ModelDirError("no data set to score on: the config names none; pass --dataset or --dataset-path.")
    spec = config["dataset"]
    params = dict(spec.get("params") or {})
    if spec.get("path"):
        return get_sampler(spec.get("name"), path=spec["path"], **params)
    return get_sampler(spec.get("name"), **params)


def _score_rows(directory: Path, config: dict | None, settings: dict) -> pd.DataFrame:
    representation_spec = settings["representation"]
    has_encoder = config is not None and (directory / config.get("encoder_file", ENCODER_FILE)).is_file()
    if representation_spec or has_encoder:
        from .representation import as_representation  # noqa: PLC0415

        target = load_callable(representation_spec) if representation_spec else directory
        representation = as_representation(target)
        sampler = _sampler_for(config, settings["dataset"], settings["dataset_path"])
        return evaluate(representation, sampler, settings["metrics"], exclude=settings["exclude"],
                        n=settings["n"], n_test=settings["n_test"], repeats=settings["repeats"],
                        random_state=settings["seed"], metric_params=settings.get("metric_params"), progress=False)
    if (directory / CODES_FILE).is_file():
        arrays = read_codes(directory)
        return evaluate_codes(arrays["codes"], arrays["factors"], settings["metrics"], codes_test=arrays.get("codes_test"),
                              factors_test=arrays.get("factors_test"), exclude=settings["exclude"],
                              repeats=settings["repeats"], random_state=settings["seed"],
                              metric_params=settings.get("metric_params"), progress=False)
    if config is None:
        raise ModelDirError(f"{str(directory)!r} has neither {CONFIG_FILE} with an encoder nor {CODES_FILE}: nothing to score.")
    raise ModelDirError(f"{str(directory)!r} has no exported encoder ({ENCODER_FILE}) and no {CODES_FILE}: nothing to score.")


def score_model_dir(directory, *, force: bool = False, **settings_kwargs) -> ScoreOutcome:
    """Score one model dir and write ``DIR/scores.json``; never raises for a bad dir (status "failed")."""
    directory = Path(directory)
    started = time.perf_counter()
    settings = score_settings(**settings_kwargs)
    key = _settings_key(settings)
    config = None
    try:
        if not directory.is_dir():
            raise ModelDirError(f"model dir {str(directory)!r} does not exist or is not a directory.")
        if (directory / CONFIG_FILE).is_file():
            config = read_config(directory)
        scores_path = directory / SCORES_FILE
        if scores_path.is_file() and not force:
            try:
                previous = json.loads(scores_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                previous = None
            if isinstance(previous, dict) and previous.get("settings_key") == key:
                return ScoreOutcome(str(directory), "skipped", previous.get("rows", []), "already scored with these settings",
                                    config, time.perf_counter() - started)
        frame = _score_rows(directory, config, settings)
        rows = json.loads(frame.to_json(orient="records", double_precision=15))
        document = {"model_dir": str(directory), "settings": settings, "settings_key": key, "config": config, "rows": rows}
        atomic_write_text(scores_path, json.dumps(document, indent=1, sort_keys=True) + "\n")
        return ScoreOutcome(str(directory), "scored", rows, "", config, time.perf_counter() - started)
    except Exception as error:  # one bad dir must not stop the others; the reason is reported
        reason = f"{type(error).__name__}: {error}"
        return ScoreOutcome(str(directory), "failed", [], reason, config, time.perf_counter() - started)


def _score_for_pool(args: tuple) -> ScoreOutcome:
    directory, force, settings_kwargs = args
    return score_model_dir(directory, force=force, **settings_kwargs)


def process_pool(jobs: int):
    """The local pool of ``--jobs``: ``jobs`` spawned processes (not forked: forking a process that holds
    numba/torch/OpenMP threads can deadlock), each capping its thread pools at cpus / jobs
    (:func:`dismetrics._parallel.limit_threads`) so that the jobs together do not oversubscribe the cores."""
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    from ._parallel import limit_threads, threads_per_worker  # noqa: PLC0415

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=limit_threads, initargs=(threads_per_worker(jobs),))


def score_model_dirs(directories: Sequence, *, jobs: int = 1, dask_scheduler: str | None = None, force: bool = False,
                     progress: bool = False, **settings_kwargs) -> list[ScoreOutcome]:
    """Score many model dirs: serially (``jobs=1``), over a local process pool (``jobs > 1``), or on an
    existing Dask distributed cluster (``dask_scheduler="tcp://host:port"``). Results come back in the
    order of ``directories`` and are the same whichever way they ran."""
    tasks = [(str(d), force, settings_kwargs) for d in directories]
    if dask_scheduler:
        try:
            from distributed import Client  # noqa: PLC0415
        except ImportError:
            raise ValueError("--dask-scheduler needs the [dask] extra: pip install 'dismetrics[dask]'.") from None
        with Client(dask_scheduler) as client:
            futures = client.map(_score_for_pool, tasks, pure=False)
            return client.gather(futures)
    from tqdm.auto import tqdm  # noqa: PLC0415

    bar = tqdm(total=len(tasks), desc="model dirs", unit="dir", disable=not progress)
    outcomes: list[ScoreOutcome] = []
    try:
        if jobs <= 1 or len(tasks) <= 1:
            for task in tasks:
                outcomes.append(_score_for_pool(task))
                bar.update(1)
            return outcomes
        with process_pool(jobs) as pool:
            for outcome in pool.map(_score_for_pool, tasks):
                outcomes.append(outcome)
                bar.update(1)
        return outcomes
    finally:
        bar.close()


def scores_table(outcomes: Sequence[ScoreOutcome]) -> pd.DataFrame:
    """One tidy table of every (model dir, metric, repeat) with the model's description.

    Columns: ``model_dir``, ``model``, ``dataset``, ``model_seed``, ``regularization``,
    ``regularization_value``, ``recon_error``, ``steps`` (training steps of the config), then ``metric``,
    ``value``, ``repeat``, ``seed``, ``seconds``, ``error``.
    """
    records = []
    for outcome in outcomes:
        config = outcome.config or {}
        model = config.get("model")
        hyper = config.get("hyperparameters") or {}
        reg_key = REGULARIZATION_KEYS.get(model)
        dataset = config.get("dataset")
        base = {
            "model_dir": outcome.model_dir,
            "model": model,
            "dataset": dataset.get("name") if isinstance(dataset, dict) else dataset,
            "model_seed": config.get("seed"),
            "regularization": reg_key,
            "regularization_value": hyper.get(reg_key) if reg_key else None,
            "recon_error": config.get("recon_error_heldout"),
            "steps": config.get("steps"),
        }
        for row in outcome.rows:
            records.append({**base, **{c: row.get(c) for c in ROW_COLUMNS}})
    return pd.DataFrame(records, columns=TABLE_COLUMNS)

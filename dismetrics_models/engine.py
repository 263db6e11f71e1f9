"""The training engine shared by every model.

`train(model="beta_vae", dataset="dsprites", steps=..., out=DIR)` trains one model under the shared
protocol (MODELS.md) and writes a model dir (DESIGN.md) that `dismetrics score` reads:

- data uniformly with replacement from the sampler's factor grid, one deterministic batch per step
  (`dismetrics_models.data`), prepared ahead in a background thread or gathered from an in-memory
  array of the whole grid;
- Adam(lr 1e-4, betas (0.9, 0.999), eps 1e-8) on the encoder and decoder; auxiliary networks have their
  own optimizers and are updated on detached codes after the model step;
- CUDA when available (`device="auto"`), CPU otherwise; `amp=True` runs the forward passes under
  bfloat16 autocast, `compile=True` compiles the encoder and decoder with `torch.compile`. Noise is
  drawn on the CPU from per-step seeds, so CPU and GPU runs see the same data and noise and differ only
  by floating-point rounding;
- a checkpoint every `checkpoint_every` steps and at the end, written to a temporary file and renamed
  (a crash never corrupts the last good one); `resume=True` continues from it exactly: the model,
  the optimizers, the step and the RNG states are restored, and the data and noise of step `s` depend
  only on the seed and `s`;
- a CSV log with one row per step (every loss term, KL, TC estimates, discriminator accuracy, steps/s)
  and a progress bar;
- at the end: the encoder written as an encoder graph (`encoder.npz`: layers as data, plain weights;
  loads with torch alone and runs no code from the file), the reconstruction
  error on held-out samples, and the config `dismetrics.json`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from dismetrics import modeldir

from .architectures import IMAGE_SIZE
from .base import VAEBase
from .data import BatchSource
from .hyperparameters import regularization
from .registry import get_model_class

__all__ = ["train", "train_step", "resolve_device", "resolve_dataset", "step_generator", "OPTIMIZER_DEFAULTS"]

OPTIMIZER_DEFAULTS = {"lr": 1e-4, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8}
"""Model-optimizer settings (MODELS.md); override with `lr=`, `beta1=`, `beta2=`, `adam_eps=`."""

_NOISE_STREAM = 0x4015E
_HELDOUT_STREAM = 0x4E1D
_CODES_STREAM = 0xC0DE5
_TC_STREAM = 0x7C106
_CHECKPOINT_FORMAT = 1


# ---- small helpers ----------------------------------------------------------------------------------
def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`"auto"` -> CUDA when available, else CPU; anything else as `torch.device`."""
    if isinstance(device, torch.device):
        return device
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but CUDA is not available here; use device='auto' or 'cpu'.")
    return resolved


def step_generator(seed: int, step: int) -> torch.Generator:
    """The CPU torch generator of the model noise (reparameterization, permutations) at `step`."""
    state = np.random.SeedSequence([int(seed), _NOISE_STREAM, int(step)]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _is_sampler(obj: Any) -> bool:
    return all(hasattr(obj, name) for name in ("factor_sizes", "sample_factors", "sample_observations_from_factors"))


def resolve_dataset(dataset: Any, dataset_path: str | os.PathLike | None = None) -> tuple[Any, dict[str, Any]]:
    """A sampler object, or a data-set name resolved with `dismetrics.data.get_sampler`; returns
    `(sampler, spec)` where `spec` is the JSON description stored in the config."""
    if dataset is None and dataset_path is None:
        raise ValueError("give a dataset: a dismetrics sampler object, or a data-set name such as 'dsprites'.")
    if _is_sampler(dataset):
        sampler = dataset
        name = getattr(sampler, "name", None) or type(sampler).__name__
    else:
        if dataset is not None and not isinstance(dataset, str):
            raise ValueError(
                f"dataset must be a sampler (with factor_sizes, sample_factors, sample_observations_from_factors) "
                f"or a data-set name; got {type(dataset).__name__}."
            )
        try:
            from dismetrics.data import get_sampler  # type: ignore[attr-defined]
        except ImportError:
            raise ValueError(
                f"cannot resolve the data set {dataset!r} by name: this dismetrics has no dismetrics.data.get_sampler. "
                "Pass a sampler object instead."
            ) from None
        sampler = get_sampler(dataset, path=dataset_path) if dataset_path is not None else get_sampler(dataset)
        name = dataset if dataset is not None else (getattr(sampler, "name", None) or type(sampler).__name__)
    params = getattr(sampler, "params", None)
    if callable(params):
        params = params()
    shape = tuple(int(s) for s in sampler.observation_shape)
    spec = {
        "name": str(name),
        "path": str(dataset_path) if dataset_path is not None else None,
        "params": dict(params) if isinstance(params, Mapping) else {},
        "factor_names": [str(n) for n in getattr(sampler, "factor_names", [])],
        "factor_sizes": [int(s) for s in sampler.factor_sizes],
        "observation_shape": list(shape),
    }
    return sampler, spec


def _channels(observation_shape: Sequence[int]) -> int:
    shape = tuple(observation_shape)
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or shape[0] != IMAGE_SIZE or shape[1] != IMAGE_SIZE:
        raise ValueError(
            f"the trainers take 64x64 images with channels last, (64, 64, C); the sampler's observations have shape {tuple(observation_shape)}."
        )
    return int(shape[2])


def _autocast(device: torch.device, amp: bool):
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


# ---- one step ---------------------------------------------------------------------------------------
def train_step(
    model: VAEBase,
    optimizer: torch.optim.Optimizer,
    auxiliary_optimizers: Mapping[str, torch.optim.Optimizer],
    x: torch.Tensor,
    x_second: torch.Tensor | None,
    step: int,
    generator: torch.Generator,
    *,
    amp: bool = False,
) -> dict[str, torch.Tensor]:
    """One training step: one forward pass, the model update, then the auxiliary updates.

    Auxiliary parameters are frozen while the model loss is differentiated, so the model update
    neither sees nor touches them; auxiliary networks then train on detached codes, so nothing flows
    back into the encoder. After the call, the encoder's `.grad` is the gradient of the model loss
    alone."""
    model_ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
    auxiliary = [p for p in model.parameters() if id(p) not in model_ids and p.requires_grad]
    for p in auxiliary:
        p.requires_grad_(False)
    try:
        with _autocast(x.device, amp):
            output = model.compute_loss(x, step, generator, x_second)
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        optimizer.step()
    finally:
        for p in auxiliary:
            p.requires_grad_(True)
    terms = dict(output.terms)
    with _autocast(x.device, amp):
        terms.update(model.auxiliary_step(output, auxiliary_optimizers))
    return terms


# ---- logging ----------------------------------------------------------------------------------------
class _CsvLog:
    """One row per step; rows are buffered as tensors and written every `every` steps (one device sync)."""

    def __init__(self, path: Path, every: int) -> None:
        self.path = path
        self.every = max(1, int(every))
        self.fields: list[str] | None = None
        self.rows: list[tuple[int, dict[str, torch.Tensor]]] = []
        self.window_start = time.perf_counter()
        self.window_steps = 0
        self.last_values: dict[str, float] = {}
        self.last_rate = float("nan")
        if path.exists():
            with path.open(newline="") as handle:
                header = next(csv.reader(handle), None)
            self.fields = header or None

    def truncate_after(self, step: int) -> None:
        """Drop rows of steps after `step` (written after the checkpoint a run resumes from)."""
        if not self.path.exists():
            return
        with self.path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return
        kept = [rows[0]] + [row for row in rows[1:] if row and int(row[0]) <= step]
        buffer = io.StringIO()
        csv.writer(buffer).writerows(kept)
        modeldir.atomic_write_text(self.path, buffer.getvalue())

    def add(self, step: int, terms: dict[str, torch.Tensor]) -> None:
        self.rows.append((step, terms))
        self.window_steps += 1
        if len(self.rows) >= self.every:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        elapsed = time.perf_counter() - self.window_start
        names = list(self.rows[0][1])
        device = self.rows[0][1][names[0]].device
        stacked = torch.stack(
            [torch.stack([terms[k].float().reshape(()).to(device) for k in names]) for _, terms in self.rows]
        ).cpu()
        values = stacked.numpy()
        rate = self.window_steps / elapsed if elapsed > 0 else float("nan")
        if self.fields is None:
            self.fields = ["step", *names, "steps_per_second"]
            write_header = True
        else:
            write_header = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if write_header:
                writer.writerow(self.fields)
            for (step, _), row in zip(self.rows, values):
                by_name = dict(zip(names, row.tolist()))
                writer.writerow([step] + [_fmt(by_name.get(k, float("nan"))) for k in self.fields[1:-1]] + [_fmt(rate)])
            handle.flush()
            os.fsync(handle.fileno())
        self.last_values = dict(zip(names, values[-1].tolist()))
        self.last_rate = rate
        self.rows.clear()
        self.window_start = time.perf_counter()
        self.window_steps = 0


def _fmt(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else str(value)


# ---- checkpoints -----------------------------------------------------------------------------------
def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    modeldir.atomic_write(path, lambda handle: torch.save(state, handle))


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"could not read the checkpoint {str(path)!r} ({type(error).__name__}: {error}).") from None


def _rng_state() -> dict[str, Any]:
    state = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    if "torch_cpu" in state:
        torch.set_rng_state(state["torch_cpu"])
    if "torch_cuda" in state and torch.cuda.is_available() and len(state["torch_cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


# ---- TC of the mean and sampled representations ------------------------------------------------------
class _TCLog:
    """Every `every` steps, the Gaussian TC (covariance-based, `gaussian_tc_from_cov`) of the mean
    representation and of the sampled one on a fixed held-out batch; rows go to `tc_log.csv`."""

    FILE = "tc_log.csv"

    def __init__(self, out: Path, every: int, sampler, seed: int, n: int, device: torch.device) -> None:
        self.path = out / self.FILE
        self.every = int(every)
        self.x = None
        self._source_args = (sampler, int(n), int(seed), device)
        self.generator_seed = int(seed)

    def truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        lines = self.path.read_text().splitlines()
        kept = lines[:1] + [line for line in lines[1:] if line and int(line.split(",")[0]) <= step]
        modeldir.atomic_write_text(self.path, "\n".join(kept) + "\n")

    @torch.no_grad()
    def log(self, step: int, model: VAEBase) -> None:
        if self.every <= 0 or step % self.every != 0:
            return
        from dismetrics.metrics.unsupervised import gaussian_tc_from_cov

        if self.x is None:  # the fixed held-out batch, built on first use
            sampler, n, seed, device = self._source_args
            with BatchSource(sampler, n, seed, device, prefetch=0, stream=_TC_STREAM) as source:
                self.x, _ = source.batch(0)
        was_training = model.training
        model.eval()
        mean, logvar = model.encode(self.x)
        model.train(was_training)
        mean, logvar = mean.float(), logvar.float()
        generator = torch.Generator().manual_seed(self.generator_seed)
        eps = torch.randn(mean.shape, generator=generator).to(mean.device)
        sampled = mean + torch.exp(0.5 * logvar) * eps if model.stochastic_encoder else mean
        tc_mean = gaussian_tc_from_cov(np.atleast_2d(np.cov(mean.cpu().double().numpy(), rowvar=False)))
        tc_sampled = gaussian_tc_from_cov(np.atleast_2d(np.cov(sampled.cpu().double().numpy(), rowvar=False)))
        new = not self.path.exists()
        with self.path.open("a") as handle:
            if new:
                handle.write("step,tc_mean,tc_sampled\n")
            handle.write(f"{step},{_fmt(tc_mean)},{_fmt(tc_sampled)}\n")


# ---- disentanglement metrics during training ---------------------------------------------------------
_EVAL_STREAM = 0xE7A1


class _MetricLog:
    """Every `every` steps and at the last step, the disentanglement metrics of the encoder
    ([`dismetrics.monitor.TrainingMonitor`][dismetrics.monitor.TrainingMonitor], which leaves the weights, the
    optimizers and the random states alone): the values become `eval_<metric>` columns of the train log (NaN
    on the other steps) and the full rows (with the time taken and any error message) go to `eval_log.csv`."""

    FILE = "eval_log.csv"
    PREFIX = "eval_"

    def __init__(self, out: Path, every: int, steps: int, sampler, seed: int, metrics, n: int, n_test: int,
                 params: Mapping[str, Mapping[str, Any]] | None) -> None:
        self.path = out / self.FILE
        self.every = int(every)
        self.steps = int(steps)
        self.monitor = None
        if self.every <= 0:
            return
        from dismetrics.monitor import TrainingMonitor

        names = [m.strip() for m in metrics.split(",") if m.strip()] if isinstance(metrics, str) else list(metrics)
        state = np.random.SeedSequence([int(seed), _EVAL_STREAM]).generate_state(1, dtype=np.uint32)
        self.monitor = TrainingMonitor(sampler, names, every=self.every, n=n, n_test=n_test,
                                       random_state=int(state[0]), metric_params=params)
        self.nan = {self.PREFIX + name: torch.tensor(float("nan")) for name in self.monitor.metrics}

    def truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        with self.path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) <= step]
        buffer = io.StringIO()
        csv.writer(buffer).writerows(kept)
        modeldir.atomic_write_text(self.path, buffer.getvalue())

    def step(self, step: int, model: VAEBase) -> dict[str, torch.Tensor]:
        """The `eval_*` log columns of this step: the metric values on evaluation steps, else NaN."""
        if self.monitor is None:
            return {}
        if step % self.every != 0 and step != self.steps:
            return dict(self.nan)
        rows = self.monitor.evaluate(model.encoder, step=step)
        new = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["step", "metric", "value", "seconds", "error"])
            for row in rows:
                writer.writerow([step, row["metric"], _fmt(row["value"]), _fmt(row["seconds"]), row["error"]])
        return {self.PREFIX + row["metric"]: torch.tensor(row["value"]) for row in rows}


# ---- export -----------------------------------------------------------------------------------------
def export_encoder(model: VAEBase, path: Path) -> Path:
    """Write the encoder to `path` as an encoder graph
    ([`dismetrics.encoder_graph`][dismetrics.encoder_graph]): its layers as data and its weights as plain
    float32 arrays, taking channels-last observations `(n, 64, 64, C)`. Loading it
    (`dismetrics.modeldir.load_encoder`) needs torch alone and unpickles nothing."""
    encoder = model.encoder
    return modeldir.save_encoder(
        path, [encoder.convs, encoder.fc], input_shape=(IMAGE_SIZE, IMAGE_SIZE, model.in_channels),
        input_layout="channels_last", outputs="mean_logvar", latent_dim=model.latent_dim,
        mean_transform="tanh" if model.hp.get("tanh_means", False) else "identity",
    )


def heldout_reconstruction_error(model: VAEBase, sampler, seed: int, n: int, device: torch.device, chunk: int = 256) -> float:
    """Mean over `n` fresh samples (their own random stream) of the summed-BCE reconstruction error,
    decoding the encoder mean."""
    if n <= 0:
        return float("nan")
    was_training = model.training
    model.eval()
    total, seen = 0.0, 0
    with BatchSource(sampler, min(chunk, n), seed, device, prefetch=0, stream=_HELDOUT_STREAM) as source:
        index = 0
        while seen < n:
            x, _ = source.batch(index)
            x = x[: n - seen]
            total += float(model.reconstruction_error(x)) * x.shape[0]
            seen += x.shape[0]
            index += 1
    model.train(was_training)
    return total / seen


def encode_samples(model: VAEBase, sampler, seed: int, n: int, device: torch.device, chunk: int = 256):
    """Encoder means of `n` fresh samples (their own random stream) and their factors."""
    was_training = model.training
    model.eval()
    codes, factors = [], []
    with BatchSource(sampler, min(chunk, n), seed, device, prefetch=0, stream=_CODES_STREAM) as source, torch.no_grad():
        index, seen = 0, 0
        while seen < n:
            take = min(source.batch_size, n - seen)
            x, _ = source.batch(index)
            codes.append(model.encode(x[:take])[0].float().cpu().numpy())
            factors.append(np.asarray(source.factors(index))[:take])
            seen += take
            index += 1
    model.train(was_training)
    return np.concatenate(codes), np.concatenate(factors).astype(np.int64)


# ---- the engine, step by step -----------------------------------------------------------------------
# `train` runs these in order: check the out dir (and read its checkpoint when resuming), settle the run's
# settings (from the checkpoint or the arguments), build the model and its optimizers, restore the checkpoint
# or clear an overwritten run, open the logs, write the starting config, run the steps, then export the
# encoder, measure the held-out reconstruction error, write the codes and the final config.
def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


_RUN_KEYS = ("model", "batch_size", "seed", "latent_dim", "arch")
"""The run settings a resumed run must keep (given again, they must equal the checkpoint's)."""
_OUTPUT_FILES = (modeldir.CHECKPOINT_FILE, modeldir.TRAIN_LOG_FILE, modeldir.ENCODER_FILE, modeldir.LEGACY_ENCODER_FILE,
                 modeldir.CONFIG_FILE, _TCLog.FILE, _MetricLog.FILE)
"""What a run writes into its dir (removed by `overwrite=True`; `codes.npz` is rewritten only on request)."""


def _read_resume_checkpoint(out: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """Step 1, the resume checks: the checkpoint to continue from (None: a fresh start); refuses to start
    afresh over a run unless `overwrite`."""
    ckpt_path = out / modeldir.CHECKPOINT_FILE
    if resume and ckpt_path.exists():
        return _load_checkpoint(ckpt_path)
    if not resume and not overwrite and (ckpt_path.exists() or (out / modeldir.CONFIG_FILE).exists()):
        raise ValueError(
            f"{str(out)!r} already holds a run; pass resume=True (--resume) to continue it, overwrite=True to start "
            "afresh, or choose another out dir."
        )
    return None


def _resumed_run(checkpoint: Mapping[str, Any], requested: Mapping[str, Any], hyperparameters: Mapping[str, Any],
                 dataset: Any, dataset_path, steps: int | None) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """Step 2 when resuming: the checkpoint's run settings, checked against what was asked for again;
    returns `(run, sampler, dataset_spec)`, `run["steps"]` the total to reach (default: the checkpoint's)."""
    run = dict(checkpoint["run"])
    # Checkpoints written before the `init` option were initialized by PyTorch's default.
    run["hyperparameters"] = {**run["hyperparameters"], "init": run["hyperparameters"].get("init", "torch_default")}
    for key, value in requested.items():
        if value is not None and value != run[key]:
            raise ValueError(f"resume: {key}={value!r} differs from the checkpoint's {run[key]!r}.")
    stored = {**run["hyperparameters"], **run["optimizer"], "dataset_size": run["dataset_size"]}
    for key, value in hyperparameters.items():
        if key not in stored or stored[key] != value:
            raise ValueError(f"resume: hyperparameter {key}={value!r} differs from the checkpoint's {stored.get(key)!r}.")
    if dataset is None and dataset_path is None:
        dataset, dataset_path = run["dataset"]["name"], run["dataset"]["path"]
    sampler, dataset_spec = resolve_dataset(dataset, dataset_path)
    if dataset_spec["name"] != run["dataset"]["name"] or dataset_spec["factor_sizes"] != run["dataset"]["factor_sizes"]:
        raise ValueError(
            f"resume: the data set {dataset_spec['name']!r} {dataset_spec['factor_sizes']} differs from the checkpoint's "
            f"{run['dataset']['name']!r} {run['dataset']['factor_sizes']}."
        )
    if steps is not None:
        run["steps"] = steps
    return run, sampler, dataset_spec


def _new_run(requested: Mapping[str, Any], hyperparameters: Mapping[str, Any], dataset: Any, dataset_path,
             steps: int | None) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """Step 2 for a fresh start: the run settings from the arguments and their defaults (MODELS.md);
    returns `(run, sampler, dataset_spec)`."""
    if steps is None:
        raise ValueError("steps must be given (the number of model updates).")
    sampler, dataset_spec = resolve_dataset(dataset, dataset_path)
    hp = dict(hyperparameters)
    optimizer_hp = {key: float(hp.pop(key, default)) for key, default in OPTIMIZER_DEFAULTS.items()}
    dataset_size = hp.pop("dataset_size", None)
    dataset_size = int(np.prod(dataset_spec["factor_sizes"])) if dataset_size is None else _check_int(dataset_size, "dataset_size", 1)
    run = {
        "model": requested["model"] if requested["model"] is not None else "beta_vae",
        "batch_size": _check_int(requested["batch_size"] if requested["batch_size"] is not None else 64, "batch_size", 2),
        "seed": _check_int(requested["seed"] if requested["seed"] is not None else 0, "seed", 0),
        "latent_dim": _check_int(requested["latent_dim"] if requested["latent_dim"] is not None else 10, "latent_dim", 1),
        "arch": requested["arch"] if requested["arch"] is not None else "paper",
        "hyperparameters": hp,
        "optimizer": optimizer_hp,
        "dataset_size": dataset_size,
        "dataset": dataset_spec,
        "steps": steps,
    }
    return run, sampler, dataset_spec


class _Trainer:
    """What the steps after the settings share: the run settings, the data, the device and the model with
    its optimizers (step 3, construction: `__init__`)."""

    def __init__(self, run: dict[str, Any], sampler, dataset_spec: dict[str, Any], device: torch.device,
                 *, amp: bool, compile: bool) -> None:
        self.run, self.sampler, self.dataset_spec, self.device = run, sampler, dataset_spec, device
        self.amp, self.compile = bool(amp), bool(compile)
        self.channels = _channels(dataset_spec["observation_shape"])
        model_cls = get_model_class(run["model"])
        with torch.random.fork_rng(devices=[]):  # a seeded initialization that leaves the global RNG alone
            torch.manual_seed(run["seed"])
            self.net = model_cls(in_channels=self.channels, latent_dim=run["latent_dim"], arch=run["arch"],
                                 dataset_size=run["dataset_size"], **run["hyperparameters"])
        run["hyperparameters"] = dict(self.net.hyperparameters)
        self.net.to(device)
        opt_hp = run["optimizer"]
        self.optimizer = torch.optim.Adam(list(self.net.model_parameters()), lr=opt_hp["lr"],
                                          betas=(opt_hp["beta1"], opt_hp["beta2"]), eps=opt_hp["adam_eps"])
        self.auxiliary_optimizers = self.net.make_auxiliary_optimizers()

    def restore(self, checkpoint: Mapping[str, Any]) -> int:
        """Step 4, restore: the weights, the optimizers and the RNG states of `checkpoint`; returns its step."""
        self.net.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        for name, opt in self.auxiliary_optimizers.items():
            opt.load_state_dict(checkpoint["auxiliary_optimizers"][name])
        _set_rng_state(checkpoint.get("rng", {}))
        start = int(checkpoint["step"])
        if start > self.run["steps"]:
            raise ValueError(f"resume: the checkpoint is at step {start}, past the requested steps={self.run['steps']}.")
        return start

    def save(self, path: Path, step_done: int) -> None:
        """The checkpoint after `step_done` updates: everything resuming needs to continue exactly."""
        _save_checkpoint(path, {
            "format": _CHECKPOINT_FORMAT,
            "step": step_done,
            "run": self.run,
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "auxiliary_optimizers": {name: opt.state_dict() for name, opt in self.auxiliary_optimizers.items()},
            "rng": _rng_state(),
        })

    def config(self, *, steps_done: int, complete: bool) -> dict[str, Any]:
        return _config(self.run, self.dataset_spec, self.channels, self.device, self.amp, self.compile,
                       steps_done=steps_done, complete=complete)


def _clear_previous_run(out: Path) -> None:
    """Step 4 for `overwrite=True`: remove what an earlier run wrote into `out`."""
    if out.exists():
        for name in _OUTPUT_FILES:
            (out / name).unlink(missing_ok=True)


class _Logs:
    """Step 5: the per-step log, the TC log and the metric log of the run in `out`, continued after the
    checkpoint's step `start` (rows written after it are dropped) or started afresh."""

    def __init__(self, out: Path, trainer: _Trainer, start: int, resumed: bool, *, log_every: int, tc_every: int,
                 tc_size: int, eval_every: int, eval_metrics, eval_n: int, eval_n_test: int, eval_params) -> None:
        run, path = trainer.run, out / modeldir.TRAIN_LOG_FILE
        self.train = _CsvLog(path, log_every)
        self.tc = _TCLog(out, tc_every, trainer.sampler, run["seed"], tc_size, trainer.device)
        self.metrics = _MetricLog(out, eval_every, run["steps"], trainer.sampler, run["seed"], eval_metrics,
                                  eval_n, eval_n_test, eval_params)
        self.tc.truncate_after(start)  # a fresh start (start 0) drops the rows of a run that crashed before
        self.metrics.truncate_after(start)  # its first checkpoint
        if resumed:
            self.train.truncate_after(start)
        elif path.exists():
            path.unlink()
            self.train.fields = None

    def step(self, done: int, net: VAEBase, terms: dict[str, torch.Tensor]) -> None:
        """Log the step that made `done` updates: its terms, the metrics and the TC when due."""
        terms.update(self.metrics.step(done, net))
        self.train.add(done, terms)
        self.tc.log(done, net)


def _run_steps(trainer: _Trainer, logs: _Logs, ckpt_path: Path, start: int, *, checkpoint_every: int, prefetch: int,
               progress: bool | None, callbacks: Iterable[Callable[[int, VAEBase], None]]) -> float:
    """Step 6, the loop: the model updates `start + 1 .. steps`, a checkpoint every `checkpoint_every` and at
    the end; returns the seconds it took."""
    from tqdm.auto import tqdm

    run, net, steps = trainer.run, trainer.net, trainer.run["steps"]
    progress = sys.stderr.isatty() if progress is None else progress
    callbacks = list(callbacks)
    net.train()
    t0 = time.perf_counter()
    source = BatchSource(trainer.sampler, run["batch_size"], run["seed"], trainer.device,
                         second_batch=net.uses_second_batch, prefetch=prefetch)
    bar = tqdm(total=steps, initial=start, disable=not progress, desc=f"{run['model']}", unit="step", dynamic_ncols=True)
    try:
        for step in range(start, steps):
            x, x_second = source.batch(step)
            terms = train_step(net, trainer.optimizer, trainer.auxiliary_optimizers, x, x_second, step,
                               step_generator(run["seed"], step), amp=trainer.amp)
            done = step + 1
            logs.step(done, net, terms)
            if done % checkpoint_every == 0 and done < steps:
                logs.train.flush()
                trainer.save(ckpt_path, done)
            for callback in callbacks:
                callback(done, net)
            bar.update(1)
            last = logs.train.last_values
            if last and not logs.train.rows:
                bar.set_postfix(loss=f"{last['loss']:.1f}", recon=f"{last['recon']:.1f}", refresh=False)
        logs.train.flush()
        trainer.save(ckpt_path, steps)
    finally:
        source.close()
        bar.close()
    return time.perf_counter() - t0


def _finish(out: Path, trainer: _Trainer, start: int, resumed: bool, train_seconds: float, *, heldout_size: int,
            codes_size: int) -> dict[str, Any]:
    """Steps 7-9, export, evaluation and codes: the held-out reconstruction error, the encoder file, the codes
    (when asked for) and the final config; returns the config."""
    run, net, steps = trainer.run, trainer.net, trainer.run["steps"]
    recon_heldout = heldout_reconstruction_error(net, trainer.sampler, run["seed"], heldout_size, trainer.device)
    export_encoder(net, out / modeldir.ENCODER_FILE)
    codes_size = int(codes_size) if codes_size and codes_size > 0 else 0
    if codes_size:
        codes, code_factors = encode_samples(net, trainer.sampler, run["seed"], codes_size, trainer.device)
        modeldir.write_codes(out, codes, code_factors)
    config = trainer.config(steps_done=steps, complete=True)
    config["recon_error_heldout"] = recon_heldout
    config["heldout_size"] = int(heldout_size)
    config["codes_size"] = codes_size
    config["training"] = {
        "seconds_this_session": train_seconds,
        "steps_this_session": steps - start,
        "steps_per_second": (steps - start) / train_seconds if train_seconds > 0 and steps > start else None,
        "resumed_from_step": start if resumed else None,
    }
    modeldir.write_config(out, config)
    return config


def train(
    model: str | None = None,
    dataset: Any = None,
    steps: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    device: str | torch.device = "auto",
    out: str | os.PathLike | None = None,
    *,
    dataset_path: str | os.PathLike | None = None,
    latent_dim: int | None = None,
    arch: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_every: int = 1000,
    log_every: int = 50,
    amp: bool = False,
    compile: bool = False,
    heldout_size: int = 1024,
    codes_size: int = 0,
    tc_log_every: int = 500,
    tc_log_size: int = 1024,
    eval_every: int = 0,
    eval_metrics: Sequence[str] | str = ("mig", "dci"),
    eval_n: int = 2000,
    eval_n_test: int = 1000,
    eval_params: Mapping[str, Mapping[str, Any]] | None = None,
    prefetch: int = 2,
    progress: bool | None = None,
    callbacks: Iterable[Callable[[int, VAEBase], None]] = (),
    **hyperparameters: Any,
) -> dict[str, Any]:
    """Train `model` on `dataset` for `steps` model updates and write the model dir `out`.

    The steps (each a function of this module): the resume checks, the run settings, the construction of the
    model and its optimizers (seeded by `seed`), the restore of the checkpoint or the removal of an
    overwritten run, the logs, the training loop with its checkpoints, then the encoder export, the held-out
    reconstruction error, the codes and the final config.

    Parameters
    ----------
    model : str, optional
        A name from MODELS.md ("beta_vae", "annealed_vae", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii",
        "wae_mmd", "wae_mmd_random", "wae", "wtc_vae", "wtc_wae", "rtc_vae"); default "beta_vae" (or the
        checkpoint's when resuming).
    dataset : sampler or str
        A ground-truth sampler (64x64xC observations in [0, 1]) or a data-set name for
        `dismetrics.data.get_sampler` (with `dataset_path` for data sets loaded from files).
    steps : int
        Total number of model-optimizer updates (when resuming, the total to reach; default the checkpoint's).
    batch_size, seed, latent_dim : int, optional
        Defaults 64, 0, 10 (when resuming: the checkpoint's, and any given must equal it).
    device : str or torch.device, default "auto"
        "auto" (CUDA if available), "cpu", "cuda", "cuda:N".
    out : str or path-like
        The model dir to write.
    dataset_path : str or path-like, optional
        The data-set file, for data sets loaded from files.
    arch : {"paper", "dlib_released"}, optional
        Default "paper" (4x4 kernels); "dlib_released": 2x2 kernels in convs 3 and 4.
    resume : bool, default False
        Continue the run in `out` from its checkpoint (a fresh start when it has none yet).
    overwrite : bool, default False
        Start afresh in an `out` that already holds a run.
    checkpoint_every, log_every : int, default 1000, 50
        Checkpoint period (steps); log rows are written to disk every `log_every` steps and at each
        checkpoint.
    amp, compile : bool, default False
        bfloat16 autocast for the forward passes; `torch.compile` of the encoder and decoder.
    heldout_size : int, default 1024
        Fresh samples for the held-out reconstruction error at the end.
    codes_size : int, default 0
        When positive, also write `codes.npz`: the encoder means of that many fresh samples and
        their factors (for scoring without torch).
    tc_log_every, tc_log_size : int, default 500, 1024
        Every `tc_log_every` steps (0: never) the Gaussian TC of the mean and of the sampled
        representation of a fixed held-out batch of `tc_log_size` observations goes to
        `tc_log.csv` (Locatello et al.'s Figure 1; the RTC-VAE paper).
    eval_every, eval_metrics, eval_n, eval_n_test, eval_params : default 0, ("mig", "dci"), 2000, 1000, None
        Every `eval_every` steps (0: never) and at the last step, score the encoder with the
        metrics `eval_metrics` (registered metric names) on `eval_n` points (and `eval_n_test` test points)
        drawn from a fixed seed of the run ([`dismetrics.monitor.TrainingMonitor`][dismetrics.monitor.TrainingMonitor];
        `eval_params`: extra arguments per metric). The train log gets an `eval_<metric>` column (NaN on the
        other steps), `eval_log.csv` the full rows. Evaluation does not change training: the weights are
        bit-identical to a run without it.
    prefetch : int, default 2
        Batches prepared ahead by the background thread.
    progress : bool, optional
        Show a progress bar; default: when stderr is a terminal.
    callbacks : iterable of callables, default ()
        `f(step, model)` after each step (`step` = updates done).
    **hyperparameters
        The objective's (`beta`, `gamma`, `c_max`, `lambda_od`, ...), the named warm-up `warmup_steps`, the
        initialization `init` ("glorot_uniform", default, or "torch_default"), the auxiliary optimizers'
        (`critic_beta1`, `disc_beta1`, ...), the model optimizer's (`lr`, `beta1`, `beta2`, `adam_eps`) and
        `dataset_size` (default: the grid size).

    Returns
    -------
    dict
        The config written to `out/dismetrics.json`.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from dismetrics.data import FactorGrid
    >>> from dismetrics_models import train
    >>> def halves(factors):  # 64x64 images: the left or the right half lit, by the first factor
    ...     images = np.zeros((len(factors), 64, 64, 1))
    ...     for image, (side, _) in zip(images, factors):
    ...         image[:, 32 * side:32 * side + 32] = 1.0
    ...     return images
    >>> config = train("beta_vae", FactorGrid([2, 2], observe=halves), steps=2, batch_size=4, heldout_size=4,
    ...                out=tempfile.mkdtemp(), progress=False, tc_log_every=0)
    >>> config["steps"], config["complete"], config["regularization"]
    (2, True, {'name': 'beta', 'value': 4.0})
    """
    if out is None:
        raise ValueError("out must name the model dir to write.")
    out = Path(out)
    checkpoint_every = _check_int(checkpoint_every, "checkpoint_every", 1)
    log_settings = dict(log_every=log_every, tc_every=_check_int(tc_log_every, "tc_log_every", 0),
                        tc_size=_check_int(tc_log_size, "tc_log_size", 2), eval_every=_check_int(eval_every, "eval_every", 0),
                        eval_metrics=eval_metrics, eval_n=_check_int(eval_n, "eval_n", 2),
                        eval_n_test=_check_int(eval_n_test, "eval_n_test", 2), eval_params=eval_params)
    checkpoint = _read_resume_checkpoint(out, resume, overwrite)
    requested = {"model": model, "batch_size": batch_size, "seed": seed, "latent_dim": latent_dim, "arch": arch}
    if checkpoint is not None:
        run, sampler, dataset_spec = _resumed_run(checkpoint, requested, hyperparameters, dataset, dataset_path, steps)
    else:
        run, sampler, dataset_spec = _new_run(requested, hyperparameters, dataset, dataset_path, steps)
    run["steps"] = _check_int(run["steps"], "steps", 1)
    trainer = _Trainer(run, sampler, dataset_spec, resolve_device(device), amp=amp, compile=compile)
    start = trainer.restore(checkpoint) if checkpoint is not None else 0
    if checkpoint is None and overwrite:
        _clear_previous_run(out)
    if compile:
        trainer.net.encoder.compile()
        trainer.net.decoder.compile()
    out.mkdir(parents=True, exist_ok=True)
    logs = _Logs(out, trainer, start, checkpoint is not None, **log_settings)
    modeldir.write_config(out, trainer.config(steps_done=start, complete=False))
    seconds = _run_steps(trainer, logs, out / modeldir.CHECKPOINT_FILE, start, checkpoint_every=checkpoint_every,
                         prefetch=prefetch, progress=progress, callbacks=callbacks)
    return _finish(out, trainer, start, checkpoint is not None, seconds, heldout_size=heldout_size, codes_size=codes_size)


def _config(run, dataset_spec, channels, device, amp, compile, *, steps_done: int, complete: bool) -> dict[str, Any]:
    return {
        "format_version": modeldir.FORMAT_VERSION,
        "model": run["model"],
        "hyperparameters": run["hyperparameters"],
        "optimizer": {"name": "adam", **run["optimizer"]},
        "dataset": dataset_spec,
        "dataset_size": run["dataset_size"],
        "seed": run["seed"],
        "steps": steps_done,
        "steps_requested": run["steps"],
        "batch_size": run["batch_size"],
        "latent_dim": run["latent_dim"],
        "arch": run["arch"],
        "input_shape": [IMAGE_SIZE, IMAGE_SIZE, channels],
        "channels": channels,
        "channels_first": False,
        "encoder_file": modeldir.ENCODER_FILE,
        "encoder_outputs": ["mean", "logvar"],
        "representation": "mean",
        "complete": complete,
        "recon_error_heldout": None,
        "regularization": regularization(run["model"], run["hyperparameters"]),
        "trainer": {
            "package": "dismetrics_models",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": str(device),
            "amp": bool(amp),
            "compile": bool(compile),
        },
    }

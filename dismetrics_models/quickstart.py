"""`dismetrics quickstart`: the first thing a new user runs, on a CPU, in under 10 minutes.

1. procedural dSprites (rendered in-process, no download);
2. a beta-VAE (beta = 4) trained for `steps` updates, and an untrained control of the same architecture
   (one update with learning rate 0: its weights stay at their seeded initialization);
3. both scored with every metric (DCI-ES left out: minutes on its own) over `repeats` independent
   evaluations, for error bars;
4. the report of `dismetrics report` (figures and an HTML page).

It prints the time it expects at the start (from rates measured on 2 CPU cores, then from the rate
it measures here after the first training steps). Run it again with the same `--out` and it picks up
where it stopped: training resumes from its last checkpoint (every `CHECKPOINT_EVERY` steps), a
finished model is reused, and scores computed with the same settings are reused; it says which, and
why when it has to restart a model from step 0.

It scores at the reference sizes (`QUICKSTART_SIZES`: 10,000 / 5,000 points, the intervention scores'
10,000 / 5,000 points and votes), through a representation table per model (`dismetrics.table`): every
one of dSprites' 737,280 images is encoded once, and every metric and repeat looks its codes up. The
control's images are encoded while the beta-VAE trains (training runs on one core; the other only renders
the next batches, well under 1% of its time); the beta-VAE's on all cores after training. DCI runs on all
cores too (its threads never wait for each other), every other metric on one thread.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

__all__ = ["QUICKSTART_SIZES", "REFERENCE_SECONDS", "CHECKPOINT_EVERY", "estimate_seconds", "run_quickstart", "main"]

QUICKSTART_SIZES = {
    "n": 10_000,
    "n_test": 5_000,
    "repeats": 3,
    "exclude": ["dci_es"],
    "metric_params": {},
}
"""Scoring sizes of the quickstart: the reference sizes of `evaluate` (disentanglement_lib's: 10,000 / 5,000
points; the beta-VAE score 10,000 / 5,000 points of batches of 64 pairs, the FactorVAE score 10,000 / 5,000
votes from 10,000 points for the variances), 3 repeats for the error bars, every metric but DCI-ES
(minutes on its own). One repeat at these sizes draws 2.89 million images, 98.0% of dSprites' 737,280
distinct ones, so each model's table is filled whole (one encode of the data set, about 117 s at the
6,300 images/s the conv encoder runs on 2 quiet cores, 205 s on one)."""
CHECKPOINT_EVERY = 100
"""Training checkpoints this often (steps): an interrupted run loses at most this many steps."""
REFERENCE_SECONDS = {"train_step": 0.124, "calibration_step": 0.154, "encode_one_core": 270.0,
                     "encode_all_cores": 117.0, "metrics_model": 42.5, "other": 15.0}
"""Seconds on 2 CPU cores with nothing else running, with the quickstart's threads (`run_quickstart`),
measured in a fresh clone on 2026-12-07 (the whole run 486 s): per training step of the beta-VAE, on
average over its 2,000 steps (one thread, beside the control's table being filled on the other core: 0.085
alone), and over the calibration steps (`CALIBRATION_STEPS` after `WARMUP_STEPS`: the first steps are the
slowest); to encode the whole data set on the core the training leaves (the control's: 313 s, of which
what outlasts the training shares the cores with the beta-VAE's fill: 270 s is what fits the run) and on
all cores (the beta-VAE's); the metrics of one model at `QUICKSTART_SIZES` (every repeat; DCI on all cores:
52 s for the beta-VAE, 33 s for the control); and the rest (imports, the data set, the report). The
estimate printed at the start scales the training by the number of steps; after the calibration steps it
is redone with the rate measured here against `calibration_step`."""
CALIBRATION_STEPS = 30
"""The rate here is measured over this many training steps, after WARMUP_STEPS, and the estimate redone."""
WARMUP_STEPS = 10
DSPRITES_IMAGES = 737_280
"""Distinct images of dSprites (3 x 6 x 40 x 32 x 32)."""
SCORES_SETTINGS_FILE = "quickstart_scores.json"
"""Name of the file, beside `quickstart_scores.csv` in each model dir, with what those scores were computed from."""


def _say(message: str) -> None:
    try:
        from tqdm.auto import tqdm

        tqdm.write(f"[quickstart {time.strftime('%H:%M:%S')}] {message}", file=sys.stdout)
        sys.stdout.flush()
    except ImportError:  # pragma: no cover
        print(f"[quickstart {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _minutes(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _fills_whole(sizes: dict) -> bool:
    """Whether scoring at `sizes` draws at least as many images as dSprites has (then each model's table
    is filled whole, at once; otherwise `evaluate` encodes the images it draws, once each)."""
    from dismetrics.table import planned_observations

    return planned_observations("all", sizes.get("exclude", ()), n=sizes["n"], n_test=sizes["n_test"],
                                repeats=sizes["repeats"], metric_params=sizes.get("metric_params")) >= DSPRITES_IMAGES


def estimate_seconds(steps_to_train: dict[str, int], models_to_score: int, *, seconds_per_step: float | None = None,
                     sizes: dict | None = None) -> dict[str, float]:
    """The time the quickstart expects: `{"train", "encode", "metrics", "score", "other", "total"}` in seconds
    (`score` is `encode + metrics`).

    From `REFERENCE_SECONDS` (2 quiet CPU cores, at `QUICKSTART_SIZES`): the first model to score has its
    images encoded on one core while the training runs (only what outlasts the training counts), every other
    one on all cores. With `seconds_per_step` measured here over the calibration steps, everything is scaled
    by its ratio to the reference's (`calibration_step`: the machine's speed, as far as one rate can tell). Other sizes scale
    the metrics by their repeats and points; sizes too small to fill the tables whole encode nothing
    up front."""
    reference = REFERENCE_SECONDS
    sizes = QUICKSTART_SIZES if sizes is None else sizes
    speed = 1.0 if seconds_per_step is None else seconds_per_step / reference["calibration_step"]
    per_step = reference["train_step"] * speed
    scale = (sizes.get("repeats", 3) / QUICKSTART_SIZES["repeats"]) * (
        (sizes.get("n", 1) + sizes.get("n_test", 0)) / (QUICKSTART_SIZES["n"] + QUICKSTART_SIZES["n_test"]))
    train = per_step * sum(max(0, s) for s in steps_to_train.values())
    encode = 0.0
    if models_to_score > 0 and (sizes is QUICKSTART_SIZES or _fills_whole(sizes)):
        overlapped = max(0.0, reference["encode_one_core"] * speed - train) if train > 0 else reference["encode_all_cores"] * speed
        encode = overlapped + reference["encode_all_cores"] * speed * (models_to_score - 1)
    metrics = reference["metrics_model"] * models_to_score * speed * scale
    other = reference["other"]
    return {"train": train, "encode": encode, "metrics": metrics, "score": encode + metrics, "other": other,
            "total": train + encode + metrics + other}


def _thread_count() -> int:
    from dismetrics._parallel import available_threads

    return available_threads()


def _checkpoint_state(path: Path):
    """`(step, None)` of the checkpoint in `path`, `(None, why)` if it cannot be read, `(None, None)` if none."""
    checkpoint = path / "checkpoint.pt"
    if not checkpoint.is_file():
        return None, None
    from .engine import _load_checkpoint

    try:
        return int(_load_checkpoint(checkpoint)["step"]), None
    except (ValueError, KeyError, TypeError) as error:
        return None, str(error)


def _plan(name: str, path: Path, steps: int) -> tuple[int, str]:
    """`(steps still to train, what will happen)` for one model dir of the quickstart."""
    step, unreadable = _checkpoint_state(path)
    if unreadable:
        return steps, f"restarting {name} from step 0: its checkpoint cannot be read ({unreadable})"
    if step is None:
        if path.is_dir() and any(path.iterdir()):
            return steps, (f"restarting {name} from step 0: {path} holds no checkpoint (the previous run stopped "
                           f"before its first one, at step {min(CHECKPOINT_EVERY, steps)})")
        return steps, f"training {name} ({steps:,} step{'s' if steps != 1 else ''}) into {path}"
    if step == steps:
        return 0, f"{name} is already there ({steps:,} step{'s' if steps != 1 else ''}, in {path}): reusing it"
    if step < steps:
        return steps - step, f"resuming {name} from its checkpoint at step {step:,} of {steps:,} (in {path})"
    return steps, f"restarting {name} from step 0: its checkpoint is at step {step:,}, past the {steps:,} asked for"


def _train(name: str, path: Path, model: str, steps: int, seed: int, spec: dict, sampler, progress, callbacks):
    """Train (or resume, or reuse) one model dir; restarts from step 0, saying why, when the checkpoint
    there does not belong to this run."""
    from .engine import train

    kwargs = dict(model=model, dataset=sampler, steps=steps, seed=seed, out=str(path), progress=progress,
                  checkpoint_every=CHECKPOINT_EVERY, callbacks=callbacks, **spec)
    try:
        return train(resume=True, **kwargs)
    except ValueError as error:
        text = " ".join(str(error).split())
        if not (text.startswith("resume:") or "checkpoint" in text):
            raise
        _say(f"restarting {name} from step 0: the run in {path} does not match this one ({text})")
        return train(overwrite=True, **kwargs)


def _scores_settings(config: dict, sizes: dict, seed: int) -> dict:
    from dismetrics import __version__

    settings = {"sizes": sizes, "seed": seed, "dismetrics": __version__, "model": config.get("model"),
                "hyperparameters": config.get("hyperparameters"), "steps": config.get("steps"),
                "recon_error_heldout": config.get("recon_error_heldout")}
    return json.loads(json.dumps(settings, sort_keys=True, default=str))


def _stored_scores(path: Path, settings: dict):
    """The scores of an earlier run of the quickstart on this model dir, if computed with these settings."""
    import pandas as pd

    try:
        stored = json.loads((path / SCORES_SETTINGS_FILE).read_text())
        if stored != settings:
            return None
        return pd.read_csv(path / "quickstart_scores.csv", keep_default_na=False, na_values=[""])
    except (OSError, ValueError):
        return None


def _scored_before(path: Path, sizes: dict, seed: int) -> bool:
    """Whether an earlier run scored this model dir with these sizes and seed (checked in full later)."""
    try:
        stored = json.loads((path / SCORES_SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stored, dict) and stored.get("sizes") == json.loads(json.dumps(sizes, sort_keys=True, default=str)) \
        and stored.get("seed") == seed


class _Calibration:
    """A training callback: after `CALIBRATION_STEPS` steps of this session, the rate here and the
    expected time left."""

    def __init__(self, remaining_steps: int, models_to_score: int, sizes: dict):
        self.remaining, self.models, self.sizes = remaining_steps, models_to_score, sizes
        self.first = None
        self.done = False

    def __call__(self, step: int, model) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = (step + WARMUP_STEPS, None)  # the first steps are slower (allocation, caches)
        if self.first[1] is None:
            if step >= self.first[0]:
                self.first = (step, now)
            return
        if self.done or step - self.first[0] < CALIBRATION_STEPS:
            return
        self.done = True
        rate = (now - self.first[1]) / (step - self.first[0])
        left = self.remaining - step
        estimate = estimate_seconds({"left": left}, self.models, seconds_per_step=rate, sizes=self.sizes)
        _say(f"measured here: {1 / rate:.1f} training steps/s; expected: training {_minutes(estimate['train'])} more, "
             f"scoring {_minutes(estimate['score'])}, report and the rest {_minutes(estimate['other'])}; done in about "
             f"{_minutes(estimate['total'])} (at {time.strftime('%H:%M', time.localtime(time.time() + estimate['total']))})")


def run_quickstart(out="dismetrics-quickstart", *, steps: int = 2_000, seed: int = 0, progress: bool | None = None,
                   sizes: dict | None = None, threads: int | None = None) -> Path:
    """Train, score and report into `out`; returns the path of the report's index.html.

    `threads`: the threads of every pool while it runs (torch, numba, BLAS/OpenMP, the metrics'; the
    default is one fewer than the cores, at least 1: training leaves a core to the thread that renders
    the next batches). On a 2-core machine that is one thread: measured on a busy 2-core machine, two
    threads trained 2.5 times slower than one, and the small probes of explicitness and InfoE ran 7
    and 30 times slower (the threads spin-wait for each other); the numbers do not depend on it."""
    from dismetrics._parallel import capped_threads

    with capped_threads(max(1, (os.cpu_count() or 1) - 1) if threads is None else max(1, int(threads))):
        return _run_quickstart(out, steps=steps, seed=seed, progress=progress, sizes=sizes)


class _BackgroundFill:
    """Fill a representation table in a thread (the control's, while the beta-VAE trains): torch and numpy
    release the GIL, so it runs on the core the training leaves to the batch renderer."""

    def __init__(self, table, name: str) -> None:
        import threading

        self.table, self.name, self.error, self.seconds = table, name, None, 0.0
        self.thread = threading.Thread(target=self._run, name=f"quickstart-fill-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        begun = time.perf_counter()
        try:
            self.table.fill()
        except BaseException as error:  # noqa: BLE001 - re-raised by wait()
            self.error = error
        self.seconds = time.perf_counter() - begun

    def wait(self):
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.table


def _score(table, sampler, sizes: dict, seed: int, progress):
    """`evaluate` of every metric at `sizes` from a filled (or lazily filled) table: DCI with all cores (its
    threads never wait for each other), the others on the quickstart's one thread (`run_quickstart`). The
    rows are those of one `evaluate` call over all the metrics: each metric's sample is drawn from the same
    seeds, whichever call computes it."""
    import pandas as pd

    from dismetrics._parallel import capped_threads
    from dismetrics.evaluate import evaluate, selected_metrics

    names = selected_metrics("all", sizes["exclude"])
    common = dict(n=sizes["n"], n_test=sizes["n_test"], repeats=sizes["repeats"], random_state=seed,
                  metric_params=sizes["metric_params"], progress=progress)
    rest = [name for name in names if name != "dci"]
    frames = [evaluate(table, sampler, rest, **common)] if rest else []
    if "dci" in names:
        with capped_threads(os.cpu_count() or 1):
            frames.append(evaluate(table, sampler, ["dci"], **common))
    frame = pd.concat(frames, ignore_index=True)
    order = {name: position for position, name in enumerate(names)}  # evaluate's row order
    return frame.sort_values(["repeat", "metric"], key=lambda column: column.map(order) if column.name == "metric"
                             else column, kind="stable").reset_index(drop=True)


def _run_quickstart(out, *, steps: int, seed: int, progress: bool | None, sizes: dict | None) -> Path:
    from dismetrics._parallel import capped_threads
    from dismetrics.data import get_sampler
    from dismetrics.modeldir import atomic_write_text
    from dismetrics.report import summary_text, write_report
    from dismetrics.representation import as_representation
    from dismetrics.scoring import ScoreOutcome, scores_table
    from dismetrics.table import RepresentationTable

    started = time.perf_counter()
    sizes = dict(QUICKSTART_SIZES if sizes is None else sizes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {
        "beta_vae": {"model": "beta_vae", "steps": steps, "beta": 4.0},
        "untrained": {"model": "beta_vae", "steps": 1, "beta": 4.0, "lr": 0.0},
    }
    plans = {name: _plan(name, out / name, spec["steps"]) for name, spec in runs.items()}
    to_score = sum(not (plans[name][0] == 0 and _scored_before(out / name, sizes, seed)) for name in runs)
    estimate = estimate_seconds({name: plan[0] for name, plan in plans.items()}, to_score, sizes=sizes)
    cores = os.cpu_count() or 1
    _say(f"expected: about {_minutes(estimate['total'])} on 2 CPU cores with nothing else running (training "
         f"{_minutes(estimate['train'])}, encoding the data set {_minutes(estimate['encode'])} beyond that, the metrics "
         f"{_minutes(estimate['metrics'])}, the rest {_minutes(estimate['other'])}); this machine has {cores} "
         f"core{'s' if cores != 1 else ''}, training with {_thread_count()} thread(s); the estimate is redone after "
         f"{CALIBRATION_STEPS + WARMUP_STEPS} training steps")
    sampler = get_sampler("dsprites")
    _say(f"procedural dSprites: {len(sampler.factor_sizes)} factors, sizes {list(sampler.factor_sizes)}")
    whole = _fills_whole(sizes)
    configs, tables, fills = {}, {}, {}
    # the control first (one step): its images are encoded while the beta-VAE trains
    for name in ("untrained", "beta_vae"):
        path = out / name
        spec = dict(runs[name])
        model, run_steps = spec.pop("model"), spec.pop("steps")
        to_train, message = plans[name]
        _say(message)
        callbacks = []
        if to_train >= 2 * (CALIBRATION_STEPS + WARMUP_STEPS):
            callbacks.append(_Calibration(run_steps, to_score, sizes))
        begun = time.perf_counter()
        config = configs[name] = _train(name, path, model, run_steps, seed, spec, sampler, progress, callbacks)
        recon = config.get("recon_error_heldout")
        recon_text = f"{recon:.1f}" if isinstance(recon, (int, float)) else "not recorded"
        _say(f"  {name} ready in {time.perf_counter() - begun:.0f} s; held-out reconstruction error {recon_text}")
        if _stored_scores(path, _scores_settings(config, sizes, seed)) is None:
            tables[name] = RepresentationTable(as_representation(path), sampler, progress=progress if name == "beta_vae"
                                               else False)
            if whole and name == "untrained" and plans["beta_vae"][0] > 0:
                _say(f"encoding the {DSPRITES_IMAGES:,} dSprites images with the untrained control while the beta-VAE "
                     "trains (on the core the training leaves free)")
                fills[name] = _BackgroundFill(tables[name], name)
    outcomes = []
    for name in runs:
        path = out / name
        config = configs[name]
        settings = _scores_settings(config, sizes, seed)
        frame = _stored_scores(path, settings)
        if frame is not None:
            _say(f"scores of {name} found in {path / 'quickstart_scores.csv'} (same model, sizes and seed): reusing them")
        else:
            table = tables[name]
            if name in fills:
                fills[name].wait()
                _say(f"  the control's images were encoded in {fills[name].seconds:.0f} s")
            elif whole:
                begun = time.perf_counter()
                _say(f"encoding the {DSPRITES_IMAGES:,} dSprites images with {name} (all cores)")
                with capped_threads(cores):
                    table.fill()
                _say(f"  encoded in {time.perf_counter() - begun:.0f} s")
            begun = time.perf_counter()
            _say(f"scoring {name}: every metric but {', '.join(sizes['exclude'])}, {sizes['repeats']} repeats, "
                 f"n = {sizes['n']:,} (+ {sizes['n_test']:,} test points)")
            frame = _score(table, sampler, sizes, seed, progress)
            atomic_write_text(path / "quickstart_scores.csv", frame.to_csv(index=False))
            atomic_write_text(path / SCORES_SETTINGS_FILE, json.dumps(settings, indent=1, sort_keys=True) + "\n")
            _say(f"  done in {time.perf_counter() - begun:.0f} s")
        frame["error"] = frame["error"].astype(object).where(frame["error"].notna(), "").astype(str)
        rows = frame[["metric", "value", "repeat", "seed", "seconds", "error"]].to_dict("records")
        outcomes.append(ScoreOutcome(str(path), "scored", rows, "", config))
    table = scores_table(outcomes)
    table_path = out / "scores.csv"
    atomic_write_text(table_path, table.to_csv(index=False))
    index = write_report([str(table_path)], out / "report")
    print(summary_text(table, width=100))
    _say(f"finished in {_minutes(time.perf_counter() - started)}; report: {index}")
    return index


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="dismetrics quickstart", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="dismetrics-quickstart", help="output folder (default dismetrics-quickstart)")
    parser.add_argument("--steps", type=int, default=2_000, help="beta-VAE training steps (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1; got {args.steps}")
    try:
        run_quickstart(args.out, steps=args.steps, seed=args.seed, progress=None)
    except KeyboardInterrupt:
        print(f"interrupted: run `dismetrics quickstart --out {args.out}` again to resume (training resumes from its "
              f"last checkpoint, every {CHECKPOINT_EVERY} steps; finished models and scores are reused)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Training throughput of every model, and of the input pipeline alone.

For each model: steps/s of the full training step (data + forward + backward + optimizer steps) at
batch 64, and the steps/s of the input pipeline alone (batches produced, nothing trained), both on the
rendering path (the sampler draws each batch) and on the fast path (one gather from an in-memory array
of the whole grid). The ratio pipeline / training says how many times faster the data comes than the
model consumes it (> 1: the model is the bottleneck, as it should be).

    PYTHONPATH=. python benchmarks/bench_train.py                    # CPU, all models
    PYTHONPATH=. python benchmarks/bench_train.py --device cuda      # and on a GPU, with --amp / --compile
    PYTHONPATH=. python benchmarks/bench_train.py --models beta_vae factor_vae --steps 30

The data set is procedural dSprites when ``dismetrics.data.get_sampler("dsprites")`` exists, else a
64x64 synthetic sampler of squares (4 x 32 x 32 x 6 grid) rendered by numpy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dismetrics.data import FactorGrid
from dismetrics_models.data import BatchSource
from dismetrics_models.engine import resolve_device, step_generator, train_step
from dismetrics_models.registry import MODELS, build_model


def draw_squares(factors):
    factors = np.asarray(factors)
    yy, xx = np.mgrid[0:64, 0:64]
    cx = 8 + factors[:, 1] * 1.5
    cy = 8 + factors[:, 2] * 1.5
    half = 2 + factors[:, 3]
    bright = 0.4 + 0.2 * factors[:, 0]
    inside = (np.abs(xx[None] - cx[:, None, None]) <= half[:, None, None]) & (
        np.abs(yy[None] - cy[:, None, None]) <= half[:, None, None]
    )
    return (inside * bright[:, None, None])[..., None].astype(np.float32)


class ArraySquares(FactorGrid):
    """The same grid with all images held in one uint8 array: the fast path."""

    def __init__(self, base):
        super().__init__(base.factor_sizes, observe=draw_squares)
        grid = np.stack(np.unravel_index(np.arange(int(np.prod(base.factor_sizes))), base.factor_sizes), axis=1)
        self._images = np.concatenate(
            [(base.sample_observations_from_factors(chunk, np.random.default_rng(0)) * 255).round().astype(np.uint8)
             for chunk in np.array_split(grid, max(1, len(grid) // 4096))]
        )

    def all_observations(self):
        return self._images


def make_sampler():
    try:
        from dismetrics.data import get_sampler  # type: ignore[attr-defined]

        return "dsprites", get_sampler("dsprites")
    except Exception:
        return "squares (synthetic)", FactorGrid([4, 32, 32, 6], observe=draw_squares)


def time_pipeline(source: BatchSource, steps: int) -> float:
    source.batch(0)
    if source.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x, _ = source.batch(step)
    if source.device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def time_training(name, sampler, steps, batch_size, device, amp, compile_, warmup=3) -> float:
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, latent_dim=10, dataset_size=int(np.prod(sampler.factor_sizes))).to(device)
    if compile_:
        model.encoder.compile()
        model.decoder.compile()
    optimizer = torch.optim.Adam(list(model.model_parameters()), lr=1e-4)
    auxiliary = model.make_auxiliary_optimizers()
    with BatchSource(sampler, batch_size, 0, device, second_batch=model.uses_second_batch, prefetch=2) as source:
        for step in range(warmup):
            x, x2 = source.batch(step)
            train_step(model, optimizer, auxiliary, x, x2, step, step_generator(0, step), amp=amp)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for step in range(warmup, warmup + steps):
            x, x2 = source.batch(step)
            terms = train_step(model, optimizer, auxiliary, x, x2, step, step_generator(0, step), amp=amp)
        float(terms["loss"])  # sync
        return steps / (time.perf_counter() - start)


def measure(models, *, steps: int = 20, pipeline_steps: int = 200, batch_size: int = 64, device="cpu", amp=False,
            compile_=False) -> dict:
    """Input-pipeline rates (batches/s, render and fast path) and training steps/s of each model.

    Returns ``{"data": name, "grid": sizes, "device": str, "render": rate, "fast": rate, "fast_on_device": bool,
    "models": {name: {"steps_per_s": rate, "batches_per_step": 1 or 2}}}``; a model that draws a second batch
    per step (FactorVAE's discriminator batch) needs twice the pipeline's work per step.
    """
    device = resolve_device(device)
    data_name, sampler = make_sampler()
    render = BatchSource(sampler, batch_size, 0, device, prefetch=0, fast_path=False)
    render_rate = time_pipeline(render, min(pipeline_steps, 50))
    fast_sampler = sampler if getattr(sampler, "all_observations", None) is not None else ArraySquares(sampler)
    fast = BatchSource(fast_sampler, batch_size, 0, device, prefetch=0)
    fast_rate = time_pipeline(fast, pipeline_steps)
    result = {"data": data_name, "grid": list(sampler.factor_sizes), "device": str(device), "render": render_rate,
              "fast": fast_rate, "fast_on_device": bool(fast.on_device), "models": {}}
    for name in models:
        rate = time_training(name, sampler, steps, batch_size, device, amp, compile_)
        per_step = 2 if build_model(name, in_channels=1, latent_dim=10, dataset_size=10**6).uses_second_batch else 1
        result["models"][name] = {"steps_per_s": rate, "batches_per_step": per_step}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--pipeline-steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure(args.models, steps=args.steps, pipeline_steps=args.pipeline_steps, batch_size=args.batch_size,
                     device=args.device, amp=args.amp, compile_=args.compile)
    print(f"device={result['device']} torch={torch.__version__} threads={torch.get_num_threads()} batch={args.batch_size} "
          f"data={result['data']} grid={result['grid']} amp={args.amp} compile={args.compile}")
    print(f"input pipeline alone: render path {result['render']:8.1f} batches/s | fast path {result['fast']:8.1f} batches/s"
          f"{' (on device)' if result['fast_on_device'] else ''}")
    print(f"{'model':<14}{'train steps/s':>14}{'render/train':>14}{'fast/train':>12}")
    for name, row in result["models"].items():
        rate, per_step = row["steps_per_s"], row["batches_per_step"]
        print(f"{name:<14}{rate:14.2f}{result['render'] / per_step / rate:14.1f}{result['fast'] / per_step / rate:12.1f}")
    if "beta_vae" in args.models:
        # the whole engine (logging, checkpoint at the end excluded from the rate, export, held-out error)
        import tempfile

        from dismetrics_models import train

        device = resolve_device(args.device)
        _, sampler = make_sampler()
        with tempfile.TemporaryDirectory() as out:
            config = train("beta_vae", sampler, steps=args.steps + 3, batch_size=args.batch_size, device=device,
                           out=out, heldout_size=64, progress=False, amp=args.amp, compile=args.compile,
                           checkpoint_every=10**9)
        print(f"train() end to end, beta_vae: {config['training']['steps_per_second']:.2f} steps/s "
              f"(includes {3} warm-up steps and the final checkpoint)")


if __name__ == "__main__":
    main()

"""Issue 18: `evaluate(encoder, dsprites, "all", repeats=3)` with the representation table against the path
without it, and against the least it could cost.

    python benchmarks/bench_score_table.py [--quick | --scale S] [--repeats 3] [--exclude dci_es ...]
                                           [--paths table direct ideal] [--cheap-encoder]

Three runs on the same data set, encoder, metrics, sizes and seed, back to back in one process:

* `table`: `evaluate(encoder, sampler, "all", repeats=3)` as a user calls it (`encoding="auto"`: one
  in-memory table, filled lazily, serves every metric and repeat);
* `direct`: the same with `encoding="direct"`, today's re-encoding path (every drawn image encoded, 15,000
  per repeat for the sample metrics, 1.92 million for the beta-VAE score, 0.97 million for the FactorVAE
  score at the reference sizes);
* `ideal`: one eager encode of the whole data set (`RepresentationTable(..., fill="eager")`) plus the same
  `evaluate` on that filled table (the metrics on precomputed codes; lookups only).

Goals (issue 18): table / direct >= 5x, table / ideal <= 1.3x. The values of `table` and `direct` must be
identical (printed: the largest |difference| of the values, and of the codes, table rows against the codes of
the direct path's batches).

The encoder is the quickstart's conv architecture (`dismetrics_models.architectures.Encoder(1, 10)`), with
fixed-seed untrained weights (training it is not needed to time encoding). Its dims vary less than the
FactorVAE score's 0.05 threshold, which would skip the votes, so the benchmark sets `active_threshold=0`
(the votes are then drawn and encoded as for a trained encoder).
`--cheap-encoder` swaps in a cheap torch encoder with the same outputs (8x8 average pool + linear), to
measure the peak memory of the reference sizes where the conv encoder takes too long.

`--scale S` divides the data set and every size by S: the dSprites renderer on a sub-grid (every 2nd, 4th,
... orientation and position value, S in {1, 4, 16, 64}) with n, n_test, the points and the votes divided by
S, so that the ratio of draws to distinct images, which decides the gain, is the reference's. `--quick` is
`--scale 64`. Peak RSS (`ru_maxrss`) of the process is printed after each path.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

GRIDS = {1: (1, 1, 1), 4: (1, 2, 2), 16: (4, 2, 2), 64: (4, 4, 4)}
"""scale -> subsampling steps of (orientation, posX, posY): the grid has 737,280 / scale images."""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_sampler(scale: int, cache_dir: str | None = None):
    from dismetrics.data import DSprites, FactorGrid

    dsprites = DSprites(cache_dir=cache_dir)
    if scale == 1:
        return dsprites
    steps = np.array([1, 1, *GRIDS[scale]])
    sizes = [s // step for s, step in zip(dsprites.factor_sizes, steps)]

    def observe(factors):
        return dsprites.sample_observations_from_factors(factors * steps)

    return FactorGrid(sizes, observe=observe, factor_names=list(dsprites.factor_names), observation_shape=(64, 64, 1))


def sizes_for(scale: int) -> dict:
    def div(x):
        return max(2, x // scale)

    return {"n": div(10_000), "n_test": div(5_000),
            "metric_params": {"beta_vae": {"n_train": div(10_000), "n_eval": div(5_000)},
                              # active_threshold 0: the untrained encoder's dims vary less than the reference's
                              # 0.05, so its FactorVAE score would stop before drawing any vote (a trained one
                              # does not); every dim active, the votes are drawn and encoded as for a trained one
                              "factor_vae": {"n_train": div(10_000), "n_eval": div(5_000), "n_variance": div(10_000),
                                             "active_threshold": 0.0}}}


def make_encoder(cheap: bool = False):
    import torch

    torch.manual_seed(0)
    if cheap:
        return torch.nn.Sequential(torch.nn.AvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(64, 20),
                                   torch.nn.Unflatten(1, (2, 10))).eval(), "cheap (8x8 average pool + linear)"
    from dismetrics_models.architectures import Encoder

    return Encoder(1, 10).eval(), "quickstart conv Encoder(1, 10), untrained, torch.manual_seed(0)"


def run(scale: int = 64, repeats: int = 3, exclude=(), paths=("table", "direct", "ideal"), cheap: bool = False,
        seed: int = 0, metrics="all", threads: int | None = None) -> dict:
    """Time the paths; returns the seconds, ratios, peak RSS and differences (see the module docstring)."""
    if threads is not None:
        from dismetrics._parallel import capped_threads

        with capped_threads(int(threads)):
            return run(scale, repeats, exclude, paths, cheap, seed, metrics, None)
    import torch

    from dismetrics.evaluate import evaluate
    from dismetrics.representation import as_representation
    from dismetrics.table import RepresentationTable

    module, description = make_encoder(cheap)
    if cheap:
        inner = module

        class TwoOutputs(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                out = self.inner(x)
                return out[:, 0], out[:, 1]

        module = TwoOutputs().eval()
    sampler = make_sampler(scale)
    if scale == 1:
        sampler.build_cache()  # rendering the images is not what is timed
    sizes = sizes_for(scale)
    kwargs = dict(exclude=list(exclude), repeats=repeats, random_state=seed, progress=False, **sizes)
    n_obs = int(np.prod(sampler.factor_sizes))
    print(f"data set: dSprites renderer, factor sizes {list(sampler.factor_sizes)} ({n_obs:,} images; scale 1/{scale}); "
          f"encoder: {description}; torch threads {torch.get_num_threads()}; load {os.getloadavg()[0]:.1f}")
    print(f"sizes: n {sizes['n']:,}, n_test {sizes['n_test']:,}, {sizes['metric_params']}, repeats {repeats}, "
          f"metrics {metrics}, exclude {list(exclude)}")
    out = {"scale": scale, "n_observations": n_obs, "encoder": description}
    started = time.perf_counter()
    warm_up(sizes["n"], sampler, module)
    print(f"warm-up (every metric once on random codes: compiles the numba kernels): {time.perf_counter() - started:.1f} s")
    frames = {}
    for path in paths:
        started = time.perf_counter()
        if path == "ideal":
            table = RepresentationTable(as_representation(module), sampler, fill="eager", progress=False)
            encode_s = time.perf_counter() - started
            frames[path] = evaluate(table, sampler, metrics, **kwargs)
            out["ideal_encode_s"] = encode_s
        else:
            frames[path] = evaluate(as_representation(module), sampler, metrics, encoding=path, **kwargs)
        out[f"{path}_s"] = time.perf_counter() - started
        out[f"{path}_rss_mb"] = peak_rss_mb()
        extra = f" (encode {out['ideal_encode_s']:.1f} s)" if path == "ideal" else ""
        table_info = frames[path].attrs.get("table", {})
        print(f"{path:>6}: {out[f'{path}_s']:8.1f} s{extra}; peak RSS so far {out[f'{path}_rss_mb']:.0f} MB; "
              f"encoding={frames[path].attrs.get('encoding')}; "
              f"{table_info.get('encoded', '-')} images encoded by the table, load {os.getloadavg()[0]:.1f}")
    if "table" in frames and "direct" in frames:
        a, b = frames["table"]["value"].to_numpy(), frames["direct"]["value"].to_numpy()
        same = np.array_equal(a, b, equal_nan=True)
        diff = float(np.nanmax(np.abs(a - b))) if a.size else 0.0
        out["values_identical"], out["max_value_diff"] = same, diff
        print(f"values: table vs direct identical: {same} (max |difference| {diff:.3g}; {a.size} values)")
        out["table_vs_direct"] = out["direct_s"] / out["table_s"]
        print(f"table vs direct: {out['table_vs_direct']:.2f}x faster (goal >= 5x)")
    if "table" in frames and "ideal" in frames:
        out["table_vs_ideal"] = out["table_s"] / out["ideal_s"]
        print(f"table / (one full encode + metrics on precomputed codes): {out['table_vs_ideal']:.2f} (goal <= 1.3)")
    out["codes_max_diff"] = codes_batch_effect(module, sampler)
    print(f"codes: largest |table row - the same image encoded in batches of 1, 3, 8 or 64| = {out['codes_max_diff']:.3g}"
          " (float32 rounding by batch size; the values of table and direct differ by what such codes move)")
    return out


def warm_up(n: int, sampler, module) -> None:
    """Run every metric once on random codes, and the encoder and the intervention scores once on a few
    images, so that compiling kernels, first imports and the encoder's first call are not timed in the first
    path."""
    from dismetrics.evaluate import evaluate, evaluate_codes
    from dismetrics.representation import as_representation

    rng = np.random.default_rng(0)
    factors = sampler.sample_factors(max(n, 50), rng)
    evaluate_codes(rng.standard_normal((len(factors), 10)), factors, "all", progress=False)
    tiny = {"beta_vae": {"n_train": 4, "n_eval": 2, "batch_size": 2},
            "factor_vae": {"n_train": 2, "n_eval": 2, "n_variance": 8, "batch_size": 2, "active_threshold": 0.0}}
    evaluate(as_representation(module), sampler, ["beta_vae", "factor_vae"], n=8, repeats=1, metric_params=tiny,
             encoding="direct", progress=False)


def codes_batch_effect(module, sampler, n: int = 512) -> float:
    """Largest |difference| between the codes a table stores (encoded in batches of 256) and the codes of the
    same `n` drawn images encoded in batches of 1, 3, 8 and 64 (a lazy table encodes the rows a chunk misses,
    however few; the reference encodes 64 at a time): float32 kernels round differently by batch size."""
    from dismetrics.representation import as_representation
    from dismetrics.table import RepresentationTable

    rep = as_representation(module)
    table = RepresentationTable(rep, sampler)
    factors = sampler.sample_factors(n, np.random.default_rng(1))
    mean, _ = table.encode_factors(factors, None)
    observations = sampler.sample_observations_from_factors(factors, None)
    largest = 0.0
    for batch in (1, 3, 8, 64):
        codes, _ = as_representation(module, batch_size=batch).encode(observations)
        largest = max(largest, float(np.abs(codes - mean).max()))
    return largest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="--scale 64")
    parser.add_argument("--scale", type=int, default=1, choices=sorted(GRIDS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--exclude", nargs="*", default=[])
    parser.add_argument("--paths", nargs="*", default=["table", "direct", "ideal"], choices=["table", "direct", "ideal"])
    parser.add_argument("--cheap-encoder", action="store_true")
    parser.add_argument("--metrics", nargs="*", default=["all"], help="metric names (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="cap every thread pool (default: leave them)")
    args = parser.parse_args(argv)
    scale = 64 if args.quick else args.scale
    metrics = "all" if args.metrics == ["all"] else args.metrics
    return run(scale, args.repeats, args.exclude, args.paths, args.cheap_encoder, metrics=metrics, threads=args.threads)


if __name__ == "__main__":
    main()

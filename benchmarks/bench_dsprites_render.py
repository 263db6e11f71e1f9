"""Procedural dSprites: time to render the full 737,280-image cache, and batch-64 serving rates
on the fly vs from the memory-mapped cache (what a trainer sees).

    PYTHONPATH=. python benchmarks/bench_dsprites_render.py [--cache-dir DIR] [--batches 300]

The cache goes to a fresh temporary directory unless --cache-dir is given (then a second run reuses it).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from dismetrics.data import DSprites


def serve_rate(sampler: DSprites, batches: int, batch_size: int = 64) -> float:
    rng = np.random.default_rng(0)
    sampler.sample(batch_size, rng)  # warm-up (numba compile / page-in)
    start = time.perf_counter()
    for _ in range(batches):
        sampler.sample(batch_size, rng)
    return batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.cache_dir or tmp
        DSprites(cache=False).sample(8, np.random.default_rng(0))  # compile the kernel outside the timing
        cached = DSprites(cache=True, cache_dir=directory)
        existed = cached.cache_path().exists()
        start = time.perf_counter()
        path = cached.build_cache()
        build_s = time.perf_counter() - start
        size_mb = path.stat().st_size / 1e6
        print(f"full cache: {'reused' if existed else 'rendered'} in {build_s:.1f} s ({size_mb:.0f} MB at {path})")
        start = time.perf_counter()
        again = DSprites(cache="auto", cache_dir=directory)
        again.all_observations()
        print(f"reopening the cache (memory map): {time.perf_counter() - start:.3f} s")
        fly = serve_rate(DSprites(cache=False), args.batches)
        from_cache = serve_rate(again, args.batches)
        print(f"batch-64 serving: on the fly {fly:.0f} batches/s, cached {from_cache:.0f} batches/s, "
              f"cached / on-the-fly = {from_cache / fly:.2f}x")
        view = again.all_observations()
        rng = np.random.default_rng(1)
        start = time.perf_counter()
        for _ in range(args.batches):
            view[again.factors_to_index(again.sample_factors(64, rng))]
        gather = args.batches / (time.perf_counter() - start)
        print(f"trainer fast path (all_observations()[index], bool): {gather:.0f} batches/s")


if __name__ == "__main__":
    main()

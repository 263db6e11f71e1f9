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


def measure(directory: str, batches: int = 300) -> dict:
    """Seconds to render (or reuse) the full cache in ``directory``, to reopen it, and batch-64 serving rates.

    Returns ``render_s``, ``rendered`` (False when the cache existed), ``size_mb``, ``path``, ``reopen_s``
    and the rates in batches/s: ``on_the_fly``, ``cached`` (``sample`` on the memory-mapped cache) and
    ``gather`` (the trainer's fast path, one fancy index into ``all_observations()``).
    """
    DSprites(cache=False).sample(8, np.random.default_rng(0))  # compile the kernel outside the timing
    cached = DSprites(cache=True, cache_dir=directory)
    existed = cached.cache_path().exists()
    start = time.perf_counter()
    path = cached.build_cache()
    render_s = time.perf_counter() - start
    start = time.perf_counter()
    again = DSprites(cache="auto", cache_dir=directory)
    view = again.all_observations()
    reopen_s = time.perf_counter() - start
    on_the_fly = serve_rate(DSprites(cache=False), batches)
    from_cache = serve_rate(again, batches)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(batches):
        view[again.factors_to_index(again.sample_factors(64, rng))]
    gather = batches / (time.perf_counter() - start)
    return {"render_s": render_s, "rendered": not existed, "size_mb": path.stat().st_size / 1e6, "path": str(path),
            "reopen_s": reopen_s, "on_the_fly": on_the_fly, "cached": from_cache, "gather": gather}


def report(result: dict) -> str:
    return "\n".join([
        f"full cache: {'rendered' if result['rendered'] else 'reused'} in {result['render_s']:.1f} s "
        f"({result['size_mb']:.0f} MB at {result['path']})",
        f"reopening the cache (memory map): {result['reopen_s']:.3f} s",
        f"batch-64 serving: on the fly {result['on_the_fly']:.0f} batches/s, cached {result['cached']:.0f} batches/s, "
        f"cached / on-the-fly = {result['cached'] / result['on_the_fly']:.2f}x",
        f"trainer fast path (all_observations()[index], bool): {result['gather']:.0f} batches/s",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(report(measure(args.cache_dir or tmp, args.batches)))


if __name__ == "__main__":
    main()

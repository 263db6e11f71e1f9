"""How far mixed precision moves the codes and the metrics: `as_representation(..., autocast=...)`.

    python benchmarks/autocast_codes.py MODEL_DIR [--dtype bfloat16] [--n 10000 --n-test 5000] [--seed 0]

Draws `n + n_test` dSprites points (seeded), encodes their images with the model dir's encoder in float32
and under `torch.autocast` with `--dtype` on the device the encoder runs on (the CPU here: bfloat16; on a
GPU, float16 too), and prints: the largest |difference| of the codes, absolute and relative to each dim's
standard deviation; the time of each encode; and every sample metric of `evaluate_codes` on both code sets
(the first `n` points to fit, the last `n_test` to test, 1 repeat, the same seed), with their difference.
The intervention scores (beta-VAE, FactorVAE) are left out: they draw their own images.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(model_dir: str, dtype: str = "bfloat16", n: int = 10_000, n_test: int = 5_000, seed: int = 0) -> dict:
    from dismetrics import as_representation
    from dismetrics.data import get_sampler
    from dismetrics.evaluate import evaluate_codes

    sampler = get_sampler("dsprites")
    rng = np.random.default_rng(seed)
    factors = sampler.sample_factors(n + n_test, rng)
    images = sampler.sample_observations_from_factors(factors, rng)
    codes, seconds = {}, {}
    for name, autocast in (("float32", None), (dtype, dtype)):
        rep = as_representation(model_dir, autocast=autocast)
        rep(images[:64])  # first call outside the timing
        started = time.perf_counter()
        codes[name] = rep(images)
        seconds[name] = time.perf_counter() - started
    exact, reduced = codes["float32"], codes[dtype]
    diff = np.abs(reduced - exact)
    spread = exact.std(axis=0)
    out = {"max_abs_diff": float(diff.max()), "max_rel_diff": float((diff / spread).max()),
           "seconds": seconds, "metrics": {}}
    print(f"{n + n_test:,} dSprites images, model dir {model_dir}; float32 encode {seconds['float32']:.1f} s, "
          f"{dtype} autocast {seconds[dtype]:.1f} s")
    print(f"codes: largest |{dtype} - float32| {out['max_abs_diff']:.3g}; relative to the dim's sd {out['max_rel_diff']:.3g}")
    frames = {name: evaluate_codes(c[:n], factors[:n], "all", codes_test=c[n:], factors_test=factors[n:],
                                   repeats=1, random_state=seed, exclude=["dci_es"], progress=False)
              for name, c in codes.items()}
    print(f"{'metric':<44} {'float32':>10} {dtype:>10} {'difference':>11}")
    for (metric, a), b in zip(frames["float32"][["metric", "value"]].itertuples(index=False),
                              frames[dtype]["value"]):
        out["metrics"][metric] = (float(a), float(b))
        print(f"{metric:<44} {a:>10.4f} {b:>10.4f} {b - a:>11.2e}")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16"])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.model_dir, args.dtype, args.n, args.n_test, args.seed)


if __name__ == "__main__":
    main()

"""The shell face: ``dismetrics <command>``."""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from typing import Callable, Sequence

import numpy as np

from . import __version__
from .metrics import SAMPLE_METRICS, UNSUPERVISED_METRICS

__all__ = ["main", "demo_representations", "run_demo"]

DSPRITES_SIZES = (3, 6, 40, 32, 32)
#: Metrics the demo leaves out unless asked for by name: minutes per representation at n = 10,000.
DEMO_SLOW_METRICS = ("dci_es",)


def demo_representations(factors: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthetic 10-dim representations of dSprites-shaped factors whose quality is known.

    - ``perfect``: each factor (scaled to [0, 1]) in its own dim, plus 5 small-noise dims;
    - ``rotated``: ``perfect`` with the first two factor dims rotated by 45 degrees;
    - ``duplicated``: each factor in two dims (10 dims, no noise);
    - ``noise``: standard normal codes, independent of the factors.
    """
    n, k = factors.shape
    scaled = factors / (np.asarray(DSPRITES_SIZES[:k]) - 1.0)
    perfect = np.hstack([scaled + 0.01 * rng.standard_normal((n, k)), 0.01 * rng.standard_normal((n, 10 - k))])
    rotated = perfect.copy()
    c = np.sqrt(0.5)
    rotated[:, 0], rotated[:, 1] = c * (perfect[:, 0] - perfect[:, 1]), c * (perfect[:, 0] + perfect[:, 1])
    duplicated = np.hstack([scaled, scaled]) + 0.01 * rng.standard_normal((n, 2 * k))
    noise = rng.standard_normal((n, 10))
    return {"perfect": perfect, "rotated": rotated, "duplicated": duplicated, "noise": noise}


def _call_metric(function: Callable, *args, random_state: int) -> float:
    accepted = inspect.signature(function).parameters
    kwargs = {"random_state": random_state} if "random_state" in accepted else {}
    return float(function(*args, **kwargs))


def run_demo(n: int = 10_000, seed: int = 0, metrics: Sequence[str] | None = None, out=sys.stdout) -> dict:
    """Score the :func:`demo_representations` with every available metric and print a table."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, DSPRITES_SIZES, size=(n, len(DSPRITES_SIZES)))
    representations = demo_representations(factors, rng)
    if metrics:
        names = list(metrics)
    else:
        names = [m for m in list(SAMPLE_METRICS) + list(UNSUPERVISED_METRICS) if m not in DEMO_SLOW_METRICS]
    unknown = [m for m in names if m not in SAMPLE_METRICS and m not in UNSUPERVISED_METRICS]
    if unknown:
        raise SystemExit(f"unknown metric(s) {unknown}; available: {sorted(SAMPLE_METRICS) + sorted(UNSUPERVISED_METRICS)}")
    table: dict[str, dict[str, float]] = {}
    print(f"dismetrics {__version__} demo: {n} points of dSprites-shaped factors {DSPRITES_SIZES}, seed {seed}", file=out)
    for name in names:
        started = time.perf_counter()
        row = {}
        for rep_name, codes in representations.items():
            if name in SAMPLE_METRICS:
                row[rep_name] = _call_metric(SAMPLE_METRICS[name], codes, factors, random_state=seed)
            else:
                row[rep_name] = _call_metric(UNSUPERVISED_METRICS[name], codes, random_state=seed)
        row["seconds"] = time.perf_counter() - started
        table[name] = row
    skipped = [m for m in DEMO_SLOW_METRICS if m not in names and (m in SAMPLE_METRICS or m in UNSUPERVISED_METRICS)]
    if skipped and not metrics:
        print(f"(left out as slow: {', '.join(skipped)}; name them with --metrics to include them)", file=out)
    width = max(len(n) for n in names) + 2
    header = "metric".ljust(width) + "".join(r.rjust(12) for r in representations) + "seconds".rjust(10)
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, row in table.items():
        cells = "".join(f"{row[r]:12.4f}" for r in representations)
        print(name.ljust(width) + cells + f"{row['seconds']:10.2f}", file=out)
    return table


def _cmd_metrics(args: argparse.Namespace) -> int:
    print("sample metrics (codes, factors):")
    for name, function in SAMPLE_METRICS.items():
        print(f"  {name:45s} {(function.__doc__ or '').strip().splitlines()[0]}")
    print("unsupervised scores (codes only):")
    for name, function in UNSUPERVISED_METRICS.items():
        print(f"  {name:45s} {(function.__doc__ or '').strip().splitlines()[0]}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    run_demo(n=args.n, seed=args.seed, metrics=args.metrics.split(",") if args.metrics else None)
    return 0


def _cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    try:
        from dismetrics_models.cli import main as train_main
    except ImportError as error:  # torch missing, most likely
        print(f"dismetrics train needs the [models] extra (PyTorch): {error}", file=sys.stderr)
        return 2
    return int(train_main(rest) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dismetrics", description="Disentanglement metrics, computed as the literature defines them.")
    parser.add_argument("--version", action="version", version=f"dismetrics {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("metrics", help="list the metrics").set_defaults(func=_cmd_metrics)
    demo = sub.add_parser("demo", help="score synthetic representations with every metric and print a table")
    demo.add_argument("--n", type=int, default=10_000, help="number of points (default 10000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--metrics", default=None, help="comma-separated metric names (default: all)")
    demo.set_defaults(func=_cmd_demo)
    sub.add_parser("train", help="train a reference model (needs the [models] extra); see dismetrics train --help", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return _cmd_train(argparse.Namespace(), argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

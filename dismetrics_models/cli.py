"""`dismetrics train`: the shell face of `dismetrics_models.train`.

    dismetrics train --model beta_vae --dataset dsprites --steps 2000 --out runs/b --set beta=4
    dismetrics train --out runs/b --resume            # continue a killed run from its checkpoint

`main(argv)` parses the arguments and returns an exit status (0 on success, 2 on a bad argument).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

__all__ = ["main", "build_parser", "parse_set"]


def _parse_value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """`["beta=4", "estimator=mss"]` -> `{"beta": 4, "estimator": "mss"}` (ints, floats, true/false, none)."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value; got {item!r}.")
        out[key.strip()] = _parse_value(value.strip())
    return out


def build_parser(prog: str = "dismetrics train") -> argparse.ArgumentParser:
    from .registry import model_names

    parser = argparse.ArgumentParser(prog=prog, description="Train a reference model and write a model dir.")
    parser.add_argument("--model", choices=model_names(), default=None, help="the objective (default beta_vae)")
    parser.add_argument("--dataset", default=None, help="a data-set name (e.g. dsprites)")
    parser.add_argument("--dataset-path", default=None, help="path of a data-set file (original dSprites npz, Shapes3D h5, ...)")
    parser.add_argument("--steps", type=int, default=None, help="total model-optimizer updates")
    parser.add_argument("--batch-size", type=int, default=None, help="default 64")
    parser.add_argument("--seed", type=int, default=None, help="default 0")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    parser.add_argument("--out", required=True, help="the model dir to write")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="start afresh in an --out that holds a run")
    parser.add_argument("--checkpoint-every", type=int, default=1000, help="checkpoint period in steps (default 1000)")
    parser.add_argument("--log-every", type=int, default=50, help="write log rows every N steps (default 50)")
    parser.add_argument("--latent-dim", type=int, default=None, help="default 10")
    parser.add_argument("--arch", choices=("paper", "dlib_released"), default=None, help="default paper (4x4 kernels)")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast (GPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoder and decoder")
    parser.add_argument("--heldout-size", type=int, default=1024, help="samples for the held-out reconstruction error")
    parser.add_argument("--tc-log-every", type=int, default=500, help="log the Gaussian TC of mean and sampled codes every N steps (0: never)")
    parser.add_argument("--codes-size", type=int, default=0, help="also write codes.npz for N fresh samples")
    parser.add_argument("--eval-every", type=int, default=0,
                        help="score the encoder every N steps and at the end (0: never); eval_<metric> columns in the train log")
    parser.add_argument("--eval-metrics", default="mig,dci", help="comma-separated metric names for --eval-every (default mig,dci)")
    parser.add_argument("--eval-n", type=int, default=2000, help="points encoded per evaluation (default 2000)")
    parser.add_argument("--eval-n-test", type=int, default=1000, help="test points for metrics with a test split (default 1000)")
    parser.add_argument(
        "--set", dest="set_", action="append", default=[], metavar="KEY=VALUE",
        help="a hyperparameter, e.g. --set beta=4 --set estimator=mss (repeatable)",
    )
    parser.add_argument("--progress", dest="progress", action="store_true", default=None, help="force the progress bar")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .engine import train

    try:
        hyperparameters = parse_set(args.set_)
        if not args.resume and args.dataset is None and args.dataset_path is None:
            parser.error("--dataset or --dataset-path is required (unless --resume).")
        config = train(
            model=args.model,
            dataset=args.dataset,
            steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            device=args.device,
            out=args.out,
            dataset_path=args.dataset_path,
            latent_dim=args.latent_dim,
            arch=args.arch,
            resume=args.resume,
            overwrite=args.overwrite,
            checkpoint_every=args.checkpoint_every,
            log_every=args.log_every,
            amp=args.amp,
            compile=args.compile,
            heldout_size=args.heldout_size,
            codes_size=args.codes_size,
            tc_log_every=args.tc_log_every,
            eval_every=args.eval_every,
            eval_metrics=args.eval_metrics,
            eval_n=args.eval_n,
            eval_n_test=args.eval_n_test,
            progress=args.progress,
            **hyperparameters,
        )
    except ValueError as error:
        print(f"dismetrics train: error: {error}", file=sys.stderr)
        return 2
    summary = {
        "out": args.out,
        "model": config["model"],
        "steps": config["steps"],
        "recon_error_heldout": config["recon_error_heldout"],
        "steps_per_second": config["training"]["steps_per_second"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The shell face: ``dismetrics <command>``."""

from __future__ import annotations

import argparse
import inspect
import json
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
#: Named non-default options the demo uses to stay fast (printed with the table).
DEMO_PARAMS: dict = {}


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


def _call_metric(function: Callable, *args, random_state: int, **options) -> float:
    accepted = inspect.signature(function).parameters
    kwargs = {"random_state": random_state} if "random_state" in accepted else {}
    return float(function(*args, **kwargs, **options))


def run_demo(n: int = 10_000, seed: int = 0, metrics: Sequence[str] | None = None, out=None) -> dict:
    """Score the :func:`demo_representations` with every available metric and print a table."""
    out = out or sys.stdout
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
                row[rep_name] = _call_metric(SAMPLE_METRICS[name], codes, factors, random_state=seed, **DEMO_PARAMS.get(name, {}))
            else:
                row[rep_name] = _call_metric(UNSUPERVISED_METRICS[name], codes, random_state=seed)
        row["seconds"] = time.perf_counter() - started
        table[name] = row
    skipped = [m for m in DEMO_SLOW_METRICS if m not in names and (m in SAMPLE_METRICS or m in UNSUPERVISED_METRICS)]
    if skipped and not metrics:
        print(f"(left out as slow: {', '.join(skipped)}; name them with --metrics to include them)", file=out)
    options = [f"{m}: {p}" for m, p in DEMO_PARAMS.items() if m in names]
    if options:
        print(f"(non-default options used for speed: {'; '.join(options)})", file=out)
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


def _print_summary(table, outcomes, out=None) -> None:
    """The mean of each metric per dir, and what was skipped or rescored and why (stdout; not errors)."""
    out = out or sys.stdout
    ok = table[(table["error"].fillna("") == "") & table["metric"].notna()]
    if not ok.empty:
        summary = ok.groupby(["model_dir", "metric"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
        wide = summary.pivot(index="metric", columns="model_dir", values="mean")
        print(wide.to_string(float_format=lambda v: f"{v:.4f}"), file=out)
    for outcome in outcomes:
        if outcome.status == "skipped":
            print(f"skipped {outcome.model_dir}: {outcome.reason} (--force to rescore)", file=out)
        for note in outcome.notes:
            print(f"rescored {outcome.model_dir}: {note}", file=out)


def _failure_lines(outcomes, wrote_out: bool) -> tuple[list[str], list[str]]:
    """``(failures, warnings)``: one line per failed dir, per metric that errored on a dir, per dir
    whose scores.json could not be written (failures: exit status 1); warnings do not change it."""
    failures, warnings = [], []
    for outcome in outcomes:
        if outcome.status == "failed":
            failures.append(f"FAILED {outcome.model_dir}: {outcome.reason}")
            continue
        for metric, failed, total, error in outcome.metric_errors():
            repeats = f" ({failed} of {total} repeats)" if total > 1 else ""
            failures.append(f"ERROR {outcome.model_dir}: metric {metric}{repeats}: {' '.join(error.split())}")
        if outcome.write_error:
            where = "they are in --out only" if wrote_out else "they were not saved anywhere (pass --out)"
            failures.append(f"NOT SAVED {outcome.model_dir}: {outcome.write_error}; its scores were computed and {where}")
        warnings += [f"warning: {outcome.model_dir}: {text}" for text in outcome.warnings]
    return failures, warnings


def _write_table(table, path: str) -> None:
    from .modeldir import atomic_write_text

    if path.endswith(".json"):
        atomic_write_text(path, table.to_json(orient="records", indent=1) + "\n")
    elif path.endswith(".csv"):
        atomic_write_text(path, table.to_csv(index=False))
    else:
        raise SystemExit(f"--out must end in .json or .csv; got {path!r}")


def parse_metric_params(text: str | None) -> dict | None:
    """``--metric-params``: a JSON object ``{metric: {parameter: value}}``, or ``@FILE`` holding one."""
    if not text:
        return None
    source = "--metric-params"
    if text.startswith("@"):
        source = text[1:]
        try:
            with open(source) as handle:
                text = handle.read()
        except OSError as error:
            raise ValueError(f"--metric-params: cannot read {source!r}: {error.strerror}") from None
    try:
        params = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not JSON ({error.msg} at character {error.pos}): {text[:80]!r}") from None
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise ValueError(f'{source} must be a JSON object {{metric: {{parameter: value}}}}, e.g. '
                         f'\'{{"factor_vae": {{"n_train": 1000}}}}\'; got {text[:80]!r}')
    return params


def _score_error(message: str) -> None:
    print(f"dismetrics score: {message}", file=sys.stderr)


def _cmd_score(args: argparse.Namespace) -> int:
    """Exit status: 0 every dir scored (or skipped) with every metric and saved; 1 a dir failed, a metric
    errored on a dir, or a file could not be written; 2 the command cannot run (bad arguments, unknown
    metric names, a --representation that cannot be loaded, an unreachable Dask scheduler). Failures are
    printed to stderr, one line each, also under --quiet; --out holds every computed row regardless."""
    from .scoring import SchedulerError, load_callable, score_model_dirs, scores_table

    if args.out and not (args.out.endswith(".json") or args.out.endswith(".csv")):
        _score_error(f"--out must end in .json or .csv; got {args.out!r}")
        return 2
    if args.jobs < 1:
        _score_error(f"--jobs must be at least 1; got {args.jobs}")
        return 2
    try:
        metric_params = parse_metric_params(args.metric_params)
    except ValueError as error:
        _score_error(str(error))
        return 2
    from .evaluate import available_metrics

    known = available_metrics()
    metrics = "all" if not args.metrics or args.metrics == "all" else [m.strip() for m in args.metrics.split(",") if m.strip()]
    exclude = [m.strip() for m in args.exclude.split(",") if m.strip()] if args.exclude else []
    for option, names in (("--metrics", [] if metrics == "all" else metrics), ("--exclude", exclude),
                          ("--metric-params", list(metric_params or {}))):
        stray = sorted(set(names) - set(known))
        if stray:
            _score_error(f"{option} names unknown metric(s) {stray}; `dismetrics metrics` lists them.")
            return 2
    if metrics != "all" and not metrics:
        _score_error("--metrics names no metric.")
        return 2
    if args.representation:
        try:
            load_callable(args.representation)
        except Exception as error:  # noqa: BLE001 - the user's module may raise anything on import
            _score_error(f"--representation: {' '.join(str(error).split())}")
            return 2
    try:
        outcomes = score_model_dirs(
            args.model_dir, jobs=args.jobs, dask_scheduler=args.dask_scheduler, force=args.force,
            progress=not args.quiet and sys.stderr.isatty(), metrics=metrics, exclude=exclude,
            repeats=args.repeats, seed=args.seed, n=args.n, n_test=args.n_test, dataset=args.dataset,
            dataset_path=args.dataset_path, representation=args.representation, metric_params=metric_params,
            trust_model_code=args.trust_model_code,
        )
    except (SchedulerError, ValueError) as error:
        _score_error(" ".join(str(error).split()))
        return 2
    table = scores_table(outcomes)
    status = 0
    wrote_out = False
    if args.out:
        try:
            _write_table(table, args.out)
            wrote_out = True
        except OSError as error:
            _score_error(f"cannot write --out {args.out!r} ({type(error).__name__}: {error})")
            status = 1
    failures, warnings = _failure_lines(outcomes, wrote_out)
    for line in failures + warnings:
        _score_error(line)
    if not args.quiet:
        _print_summary(table, outcomes)
        if wrote_out:
            print(f"wrote {args.out}")
    return 1 if failures else status


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    try:
        index = write_report(args.scores, args.out)
    except ValueError as error:
        print(f"dismetrics report: {error}", file=sys.stderr)
        return 2
    print(f"report written: {index}")
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
    score = sub.add_parser("score", help="score model dirs with every metric; writes DIR/scores.json and a combined table")
    score.add_argument("--model-dir", action="append", required=True, help="a model dir (repeat for many)")
    score.add_argument("--dataset", default=None, help="data-set name, overriding the model dir's config")
    score.add_argument("--dataset-path", default=None, help="data-set file, overriding the model dir's config")
    score.add_argument("--representation", default=None,
                       help="module:function or path/to/file.py:function, a numpy callable to score instead of the "
                            "encoder (modules are not looked up in the current directory)")
    score.add_argument("--metrics", default=None, help="comma-separated metric names (default: all)")
    score.add_argument("--exclude", default=None, help="comma-separated metric names to leave out")
    score.add_argument("--repeats", type=int, default=1, help="independent repeats (default 1)")
    score.add_argument("--seed", type=int, default=0, help="evaluation seed (default 0)")
    score.add_argument("--n", type=int, default=10_000, help="points encoded for the sample metrics (default 10000)")
    score.add_argument("--n-test", type=int, default=5_000, help="test points for the predictor metrics (default 5000)")
    score.add_argument("--metric-params", default=None,
                       help='extra arguments per metric, JSON or @FILE: \'{"factor_vae": {"n_train": 1000}}\'')
    score.add_argument("--out", default=None, help="combined table, .json or .csv")
    score.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    score.add_argument("--dask-scheduler", default=None, help="address of an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    score.add_argument("--force", action="store_true", help="rescore dirs already scored with the same settings and inputs")
    score.add_argument("--trust-model-code", action="store_true",
                       help="load model code that may execute arbitrary Python: only for model dirs you trust")
    score.add_argument("--quiet", action="store_true", help="no progress bars, no summary (failures are still printed to stderr)")
    score.set_defaults(func=_cmd_score)
    report = sub.add_parser("report", help="figures and an HTML page from score tables")
    report.add_argument("scores", nargs="+", help="score tables (.csv/.json from dismetrics score --out), scores.json files or model dirs")
    report.add_argument("--out", default="dismetrics-report", help="output folder (default dismetrics-report)")
    report.set_defaults(func=_cmd_report)
    datasets = sub.add_parser("datasets", help="list the data sets, their factors and whether your files were found")
    datasets.add_argument("action", nargs="?", choices=["list", "render"], default="list")
    datasets.add_argument("name", nargs="?", default="dsprites", help="with render: the data set to render (dsprites)")
    datasets.add_argument("--path", action="append", help="NAME=PATH of a data-set file to check (repeatable)")
    datasets.set_defaults(func=_cmd_datasets)
    sub.add_parser("quickstart", help="train a beta-VAE and a control on procedural dSprites, score, report (needs [models])",
                   add_help=False)
    sub.add_parser("reexport", help="convert model dirs' encoder.pt2 to the safe encoder graph encoder.npz (needs [models])",
                   add_help=False)
    sub.add_parser("train", help="train a reference model (needs the [models] extra); see dismetrics train --help", add_help=False)
    return parser


def _cmd_datasets(args: argparse.Namespace) -> int:
    from .data import get_sampler, list_datasets

    if args.action == "render":
        if args.name != "dsprites":
            print("only procedural dsprites is rendered; the other data sets are read from your files", file=sys.stderr)
            return 2
        import time

        started = time.perf_counter()
        sampler = get_sampler("dsprites", cache=True)
        images = sampler.all_observations()
        print(f"dsprites: {images.shape[0]} images cached in {time.perf_counter() - started:.1f} s")
        return 0
    paths = {}
    for item in args.path or ():
        name, sep, value = item.partition("=")
        if not sep:
            print(f"--path expects NAME=PATH; got {item!r}", file=sys.stderr)
            return 2
        paths[name] = value
    for row in list_datasets(paths):
        status = "found" if row["found"] else "not found"
        where = row["path"] or f"${row['env']} unset"
        print(f"{row['name']:10s} {status:9s} ({where}; expects {row['expects']})")
        sizes = ", ".join(f"{n}={s}" for n, s in zip(row["factor_names"], row["factor_sizes"]))
        print(f"{'':10s} factors: {sizes}; observations {tuple(row['observation_shape'])}")
    return 0


def _cmd_reexport(rest: list[str]) -> int:
    try:
        from dismetrics_models.reexport import main as reexport_main
    except ImportError as error:  # torch missing, most likely
        print(f"dismetrics reexport needs the [models] extra (PyTorch): {error}", file=sys.stderr)
        return 2
    return int(reexport_main(rest) or 0)


def _cmd_quickstart(rest: list[str]) -> int:
    try:
        from dismetrics_models.quickstart import main as quickstart_main
    except ImportError as error:  # torch missing, most likely
        print(f"dismetrics quickstart trains models and needs the [models] extra (PyTorch): {error}", file=sys.stderr)
        return 2
    return int(quickstart_main(rest) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return _cmd_train(argparse.Namespace(), argv[1:])
    if argv and argv[0] == "quickstart":
        return _cmd_quickstart(argv[1:])
    if argv and argv[0] == "reexport":
        return _cmd_reexport(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

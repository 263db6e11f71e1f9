"""The shell face: `dismetrics <command>`."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
from typing import Sequence

import numpy as np

from . import __version__
from ._parallel import capped_threads
from .metrics import metric_specs
from .metrics.presets import EVALUATE_SIZES
from .metrics.registry import PRESET_NAMES, canonical_name, get_metric

__all__ = ["main", "demo_representations", "run_demo"]

DSPRITES_SIZES = (3, 6, 40, 32, 32)
DEMO_N = 2_000
"""Points of the demo: 2,000 (the reference sizes of the metrics are 10,000 train / 5,000 test points;
the demo is a first look, in seconds: pass --n 10000 for the reference size)."""
DEMO_SLOW_METRICS = ("dci_es",)
"""Metrics the demo leaves out unless asked for by name: minutes per representation at n = 10,000."""
DEMO_PARAMS: dict = {"explicitness": {"logistic": "liblinear_ovr"}, "dci": {"n_estimators": 30}, "infoe": {"max_iter": 30}}
"""Named non-default options the demo uses to stay fast (printed with the table): the published study's
liblinear one-vs-rest probe for explicitness (docs/explicitness.md), 30 boosting stages for DCI
instead of 100, 30 lbfgs iterations for InfoE's probe instead of 100. Each moves the demo's values
by less than 0.07 (explicitness; DCI and InfoE by less than 0.015)."""
_INFOMEC = ("infom", "infoc", "infoe")
"""Computed together by `infomec` (one MI matrix for the three) when the demo runs two or more of them."""


def demo_representations(factors: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The demo's four 10-dim codes of dSprites-shaped factors (perfect, rotated, duplicated, noise):
    [`known_answer_codes`][dismetrics.data.synthetic.known_answer_codes] with the sizes `DSPRITES_SIZES`."""
    from .data.synthetic import known_answer_codes  # noqa: PLC0415

    return known_answer_codes(factors, DSPRITES_SIZES[: np.shape(factors)[1]], rng)


def _call_metric(name: str, codes, factors, *, random_state: int) -> float:
    """The value of the registered sample or unsupervised metric `name` on these codes, with the demo's
    options (`DEMO_PARAMS`) and the arguments its registry spec takes."""
    spec = get_metric(name)
    kwargs = spec.call_kwargs(random_state=random_state, params=DEMO_PARAMS.get(name))
    args = (codes,) if spec.kind == "unsupervised" else (codes, factors)
    return float(spec.func(*args, **kwargs))


def _known_names(kinds: Sequence[str] = ("sample", "unsupervised", "intervention")) -> list[str]:
    """Canonical names and aliases of the registered metrics of these kinds (for messages and checks)."""
    names: list[str] = []
    for spec in metric_specs():
        if spec.kind in kinds:
            names += [spec.name, *spec.aliases]
    return names


def _canonical_or_none(name: str, kinds: Sequence[str]) -> str | None:
    try:
        canonical = canonical_name(name)
    except ValueError:
        return None
    return canonical if get_metric(canonical).kind in kinds else None


def _normalized(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def suggest(name: str, known: Sequence[str]) -> list[str]:
    """The known names closest to `name` (case and `-`/`_` ignored): at most 3, best first."""
    by_key = {}
    for candidate in known:
        by_key.setdefault(_normalized(candidate), candidate)
    key = _normalized(name)
    if key in by_key:
        return [by_key[key]]
    close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
    if not close:  # a prefix: "gaussian" -> gaussian_total_correlation, ...
        close = [k for k in by_key if k.startswith(key)][:3] if len(key) >= 3 else []
    return [by_key[k] for k in close]


def unknown_names_message(what: str, names: Sequence[str], known: Sequence[str]) -> str:
    """`unknown metric(s) ['migg']; did you mean 'mig'?` (suggestions only where some are close)."""
    hints = []
    for name in names:
        close = suggest(name, known)
        if close:
            hints.append(f"{name!r}: did you mean {' or '.join(repr(c) for c in close)}?")
    text = f"unknown {what}(s) {list(names)}"
    return text + ("; " + "; ".join(hints) if hints else "")


def run_demo(n: int = DEMO_N, seed: int = 0, metrics: Sequence[str] | None = None, out=None,
             progress: bool | None = None, threads: int | None = None) -> dict:
    """Score the `demo_representations` with every available metric and print a table.

    `n` points (default `DEMO_N`); the non-default options of `DEMO_PARAMS` keep it
    fast and are printed. `progress`: a bar over the metrics on stderr (None: when stderr is a TTY).
    `threads`: of every thread pool while it runs (`capped_threads`; default one fewer than
    the cores, at least 1)."""
    with capped_threads(max(1, (os.cpu_count() or 1) - 1) if threads is None else threads):
        return _run_demo(n, seed, metrics, out, progress)


def _run_demo(n: int, seed: int, metrics: Sequence[str] | None, out, progress: bool | None) -> dict:
    from ._progress import progress_bar  # noqa: PLC0415

    out = out or sys.stdout
    started_all = time.perf_counter()
    kinds = ("sample", "unsupervised")
    known = [spec.name for spec in metric_specs() if spec.kind in kinds]
    if metrics:
        needs_encoder = [m for m in metrics if _canonical_or_none(m, ("intervention",))]
        if needs_encoder:
            raise SystemExit(f"dismetrics demo: {needs_encoder} need an encoder and a data set, and the demo has "
                             "codes only: score a model dir with `dismetrics score` (or run `dismetrics quickstart`)")
        unknown = [m for m in metrics if _canonical_or_none(m, kinds) is None]
        if unknown:
            raise SystemExit(f"dismetrics demo: {unknown_names_message('metric', unknown, _known_names(kinds))} "
                             "(`dismetrics metrics` lists them)")
        names = list(dict.fromkeys(_canonical_or_none(m, kinds) for m in metrics))
    else:
        names = [m for m in known if m not in DEMO_SLOW_METRICS]
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, DSPRITES_SIZES, size=(n, len(DSPRITES_SIZES)))
    representations = demo_representations(factors, rng)
    table: dict[str, dict[str, float]] = {}
    reference_n = EVALUATE_SIZES["disentanglement_lib"]["n"]
    reference = f" (the metrics' reference size is {reference_n:,}: --n {reference_n})" if n < reference_n else ""
    print(f"dismetrics {__version__} demo: n = {n:,} points{reference} of dSprites-shaped factors {DSPRITES_SIZES}, "
          f"seed {seed}", file=out)
    together = [m for m in names if m in _INFOMEC] if sum(m in _INFOMEC for m in names) >= 2 else []
    shared: dict[str, dict] = {}
    with progress_bar(total=len(names) * len(representations), desc="demo", progress=progress) as bar:
        for name in names:
            started = time.perf_counter()
            row = {}
            for rep_name, codes in representations.items():
                if hasattr(bar, "set_postfix_str"):
                    bar.set_postfix_str(f"{name} / {rep_name}", refresh=False)
                if name in together:
                    if rep_name not in shared:
                        from .metrics.infomec import infomec  # noqa: PLC0415

                        shared[rep_name] = infomec(codes, factors, random_state=seed, **DEMO_PARAMS.get("infoe", {}))
                    row[rep_name] = float(shared[rep_name][name])
                else:
                    row[rep_name] = _call_metric(name, codes, factors, random_state=seed)
                bar.update(1)
            row["seconds"] = time.perf_counter() - started
            table[name] = row
    skipped = [m for m in DEMO_SLOW_METRICS if m not in names and m in known]
    if skipped and not metrics:
        print(f"(left out as slow: {', '.join(skipped)}; name them with --metrics to include them)", file=out)
    options = [f"{m}: {', '.join(f'{k}={v!r}' for k, v in p.items())}" for m, p in DEMO_PARAMS.items() if m in names]
    if options:
        print(f"(non-default options, for speed: {'; '.join(options)})", file=out)
    if together:
        print(f"({', '.join(together)} computed together, by infomec: the time is on the first of them)", file=out)
    width = max(len(n) for n in names) + 2
    header = "metric".ljust(width) + "".join(r.rjust(11) for r in representations) + "seconds".rjust(9)
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, row in table.items():
        cells = "".join(f"{row[r]:11.4f}" for r in representations)
        print(name.ljust(width) + cells + f"{row['seconds']:9.2f}", file=out)
    print(f"total {time.perf_counter() - started_all:.1f} s", file=out)
    return table


_KIND_HEADINGS = {
    "sample": "sample metrics (codes, factors)",
    "unsupervised": "unsupervised scores (codes only)",
    "intervention": "intervention metrics (an encoder and a data set: a model dir with its encoder)",
    "traversal": "traversal scores (latents, attributes of traversals: call them from Python)",
    "sweep": "sweep scores (several models' codes: dismetrics score --udr)",
}
_NAME_WIDTH = 31


def metrics_listing(width: int = 100) -> str:
    """`dismetrics metrics`: every registered metric by kind — name, title, range and better direction, docs
    page, aliases; `*` marks the metrics `all` leaves out — within `width` columns."""
    lines = []
    for kind, heading in _KIND_HEADINGS.items():
        of_kind = [spec for spec in metric_specs() if spec.kind == kind]
        if not of_kind:
            continue
        lines.append(heading + ":")
        for spec in of_kind:
            low, high = spec.value_range
            scale = f"[{low:g}, {'inf' if high is None else f'{high:g}'}] {spec.direction}"
            star = "*" if kind in ("sample", "unsupervised", "intervention") and not spec.in_all else " "
            name = f"{spec.name}{star}"
            if len(name) > _NAME_WIDTH - 1:
                lines.append(f"  {name}")
                name = ""
            row = f"  {name.ljust(_NAME_WIDTH)}{spec.title[:28].ljust(29)}{scale.ljust(16)} {spec.docs.removesuffix('.md')}"
            lines.append(row[:width])
            if spec.aliases:
                lines.append(f"  {''.ljust(_NAME_WIDTH)}also: {', '.join(spec.aliases)}"[:width])
    lines.append("Columns: name, title, range of the value and which way is better, docs page (docs/PAGE.md).")
    lines.append("* minutes at the reference sizes: not in --metrics all, run when named.")
    lines.append("Names and aliases work alike in --metrics, --exclude, --metric-params and evaluate().")
    return "\n".join(lines)


def _cmd_metrics(args: argparse.Namespace) -> int:
    print(metrics_listing())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.n < 10:
        print(f"dismetrics demo: --n must be at least 10; got {args.n}", file=sys.stderr)
        return 2
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    run_demo(n=args.n, seed=args.random_state, metrics=metrics)
    return 0


def _print_summary(table, outcomes, out=None) -> None:
    """The mean ± sd of each metric per dir (metrics as rows, dirs as columns, within 100 columns),
    and what was skipped or rescored and why (stdout; not errors)."""
    from .report import summary_text  # noqa: PLC0415

    out = out or sys.stdout
    text = summary_text(table, width=100, stream=out)
    if text:
        print(text, file=out)
    for outcome in outcomes:
        if outcome.status == "skipped":
            print(f"skipped {outcome.model_dir}: {outcome.reason} (--force to rescore)", file=out)
        for note in outcome.notes:
            print(f"rescored {outcome.model_dir}: {note}", file=out)


def _outcome_lines(outcome) -> tuple[list[str], list[str]]:
    """`(failures, warnings)` of one dir, known as soon as it finishes: its FAILED line, or one ERROR
    line per metric that errored on it, and its warnings."""
    if outcome.status == "failed":
        return [f"FAILED {outcome.model_dir}: {outcome.reason}"], []
    failures = []
    for metric, failed, total, error in outcome.metric_errors():
        repeats = f" ({failed} of {total} repeats)" if total > 1 else ""
        failures.append(f"ERROR {outcome.model_dir}: metric {metric}{repeats}: {' '.join(error.split())}")
    return failures, [f"warning: {outcome.model_dir}: {text}" for text in outcome.warnings]


def _not_saved_lines(outcomes, wrote_out: bool) -> list[str]:
    """One line per dir whose scores.json could not be written (what it says depends on --out)."""
    where = "they are in --out only" if wrote_out else "they were not saved anywhere (pass --out)"
    return [f"NOT SAVED {o.model_dir}: {o.write_error}; its scores were computed and {where}"
            for o in outcomes if o.status != "failed" and o.write_error]


def _failure_lines(outcomes, wrote_out: bool) -> tuple[list[str], list[str]]:
    """`(failures, warnings)`: one line per failed dir, per metric that errored on a dir, per dir
    whose scores.json could not be written (failures: exit status 1); warnings do not change it."""
    failures, warnings = [], []
    for outcome in outcomes:
        lines, notes = _outcome_lines(outcome)
        failures += lines
        warnings += notes
    return failures + _not_saved_lines(outcomes, wrote_out), warnings


def _write_table(table, path: str) -> None:
    from .modeldir import atomic_write_text

    if path.endswith(".json"):
        atomic_write_text(path, table.to_json(orient="records", indent=1) + "\n")
    elif path.endswith(".csv"):
        atomic_write_text(path, table.to_csv(index=False))
    else:
        raise SystemExit(f"--out must end in .json or .csv; got {path!r}")


def parse_metric_params(text: str | None) -> dict | None:
    """`--metric-params`: a JSON object `{metric: {parameter: value}}`, or `@FILE` holding one."""
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


def _dataset_names() -> list[str]:
    from .data.registry import DATASETS  # noqa: PLC0415

    try:
        from .data.registry import _VARIANTS  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        _VARIANTS = {}
    return sorted(DATASETS) + sorted(_VARIANTS.values())


def _check_dataset(name: str | None) -> str | None:
    """None, or the message refusing a --dataset that names no data set (with the closest names)."""
    if not name:
        return None
    known = _dataset_names()
    key = str(name).lower().replace("-", "").replace("_", "")
    if key in {k.replace("_", "") for k in known}:
        return None
    return f"--dataset: {unknown_names_message('data set', [name], known)}; known: {', '.join(known)}."


def _interrupted(done: int, total: int) -> int:
    """Ctrl-C: one line, exit status 130 (128 + SIGINT, what a shell reports for it)."""
    print(f"interrupted: {done} of {total} dirs scored; their scores.json are intact", file=sys.stderr)
    return 130


def _cmd_score(args: argparse.Namespace) -> int:
    """Exit status: 0 every dir scored (or skipped) with every metric and saved; 1 a dir failed, a metric
    errored on a dir, or a file could not be written; 2 the command cannot run (bad arguments, unknown
    metric or data-set names, a --representation that cannot be loaded, an unreachable Dask scheduler);
    130 interrupted (Ctrl-C). Failures are printed to stderr, one line each, as each dir finishes (also
    under --quiet); --out holds every computed row regardless."""
    from .scoring import SchedulerError, ScoringInterrupted, load_callable, score_model_dirs, scores_table

    if args.out and not (args.out.endswith(".json") or args.out.endswith(".csv")):
        _score_error(f"--out must end in .json or .csv; got {args.out!r}")
        return 2
    if args.jobs < 1:
        _score_error(f"--jobs must be at least 1; got {args.jobs}")
        return 2
    if args.udr:
        return _score_udr(args)
    try:
        metric_params = parse_metric_params(args.metric_params)
    except ValueError as error:
        _score_error(str(error))
        return 2
    kinds = ("sample", "unsupervised", "intervention")
    metrics = "all" if not args.metrics or args.metrics == "all" else [m.strip() for m in args.metrics.split(",") if m.strip()]
    exclude = [m.strip() for m in args.exclude.split(",") if m.strip()] if args.exclude else []
    for option, names in (("--metrics", [] if metrics == "all" else metrics), ("--exclude", exclude),
                          ("--metric-params", list(metric_params or {}))):
        stray = [name for name in dict.fromkeys(names) if _canonical_or_none(name, kinds) is None]
        if stray:
            _score_error(f"{option} names {unknown_names_message('metric', stray, _known_names(kinds))}; "
                         "`dismetrics metrics` lists them.")
            return 2
    if metrics != "all" and not metrics:
        _score_error("--metrics names no metric.")
        return 2
    problem = _check_dataset(args.dataset)
    if problem:
        _score_error(problem)
        return 2
    if args.representation:
        try:
            load_callable(args.representation)
        except Exception as error:  # noqa: BLE001 - the user's module may raise anything on import
            _score_error(f"--representation: {' '.join(str(error).split())}")
            return 2
    failures: list[str] = []

    def report_now(outcome) -> None:  # a failed dir is reported when it fails, not only at the end
        lines, notes = _outcome_lines(outcome)
        failures.extend(lines)
        for line in lines + notes:
            _print_above_bar(f"dismetrics score: {line}")

    try:
        outcomes = score_model_dirs(
            args.model_dir, jobs=args.jobs, dask_scheduler=args.dask_scheduler, force=args.force,
            progress=not args.quiet and sys.stderr.isatty(), metrics=metrics, exclude=exclude,
            repeats=args.repeats, random_state=args.random_state, n=args.n, n_test=args.n_test, preset=args.preset,
            dataset=args.dataset,
            dataset_path=args.dataset_path, representation=args.representation, metric_params=metric_params,
            trust_model_code=args.trust_model_code, on_outcome=report_now,
        )
    except ScoringInterrupted as stop:
        return _interrupted(sum(o.status != "failed" for o in stop.outcomes), stop.total)
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
    not_saved = _not_saved_lines(outcomes, wrote_out)
    for line in not_saved:
        _score_error(line)
    if not args.quiet:
        _print_summary(table, outcomes)
        if wrote_out:
            print(f"wrote {args.out}")
    return 1 if failures or not_saved else status


def _score_udr(args: argparse.Namespace) -> int:
    """`dismetrics score --udr`: UDR (Duan et al. 2020) over the model dirs given, one sweep, from their
    `codes.npz` (the same inputs in every dir); one row per dir, printed and written to --out."""
    import pandas as pd  # noqa: PLC0415

    from .metrics.udr import udr_from_model_dirs  # noqa: PLC0415

    if len(args.model_dir) < 2:
        _score_error("--udr scores the models of one sweep against each other: give at least two --model-dir.")
        return 2
    try:
        params = (parse_metric_params(args.metric_params) or {}).get("udr", {})
        result = udr_from_model_dirs(args.model_dir, **params)
    except (ValueError, OSError, TypeError) as error:
        _score_error(f"--udr: {' '.join(str(error).split())}")
        return 1
    table = pd.DataFrame({"model_dir": [str(d) for d in args.model_dir], "metric": "udr",
                          "value": [float(v) for v in result.details["model_scores"]],
                          "correlation": result.params["correlation"]})
    if args.out:
        try:
            _write_table(table, args.out)
        except OSError as error:
            _score_error(f"cannot write --out {args.out!r} ({type(error).__name__}: {error})")
            return 1
    if not args.quiet:
        print(f"UDR ({result.params['correlation']}; higher: the model agrees more with the others of the sweep)")
        for row in table.itertuples():
            print(f"  {row.value:6.3f}  {row.model_dir}")
        if args.out:
            print(f"wrote {args.out}")
    return 0


def _print_above_bar(line: str) -> None:
    """A line on stderr that does not break a progress bar drawn there."""
    try:
        from tqdm.auto import tqdm  # noqa: PLC0415

        tqdm.write(line, file=sys.stderr)
    except ImportError:  # pragma: no cover
        print(line, file=sys.stderr, flush=True)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    try:
        index = write_report(args.scores, args.out)
    except ValueError as error:
        print(f"dismetrics report: {error}", file=sys.stderr)
        return 2
    print(f"report written: {index}")
    return 0


def _size(name: str) -> str:
    """The sizes of each preset for --help: `10000 (disentanglement_lib), 12800 (wtc_paper)`."""
    return ", ".join(f"{EVALUATE_SIZES[preset][name]} ({preset})" for preset in PRESET_NAMES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dismetrics", description="Disentanglement metrics, computed as the literature defines them.")
    parser.add_argument("--version", action="version", version=f"dismetrics {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("metrics", help="list the metrics").set_defaults(func=_cmd_metrics)
    demo = sub.add_parser("demo", help="score synthetic representations with every metric and print a table")
    demo.add_argument("--n", type=int, default=DEMO_N,
                      help=f"number of points (default {DEMO_N}; the metrics' reference size is 10000)")
    demo.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                      help="seed of the synthetic data (default 0; --seed is the old name)")
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
    score.add_argument("--preset", default="disentanglement_lib", choices=PRESET_NAMES,
                       help="named settings of every metric and the sizes below (default disentanglement_lib)")
    score.add_argument("--repeats", type=int, default=None,
                       help=f"independent repeats (default: the preset's, {_size('repeats')})")
    score.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                       help="evaluation seed (default 0; --seed is the old name)")
    score.add_argument("--n", type=int, default=None,
                       help=f"points encoded for the sample metrics (default: the preset's, {_size('n')})")
    score.add_argument("--n-test", type=int, default=None,
                       help=f"test points for the predictor metrics (default: the preset's, {_size('n_test')})")
    score.add_argument("--metric-params", default=None,
                       help='extra arguments per metric, JSON or @FILE: \'{"factor_vae": {"n_train": 1000}}\'')
    score.add_argument("--out", default=None, help="combined table, .json or .csv")
    score.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    score.add_argument("--dask-scheduler", default=None, help="address of an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    score.add_argument("--force", action="store_true", help="rescore dirs already scored with the same settings and inputs")
    score.add_argument("--udr", action="store_true",
                       help="UDR: score the model dirs of one sweep against each other from their codes.npz "
                            "(--metric-params '{\"udr\": {...}}' for its options)")
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
    datasets.add_argument("--download", metavar="NAME", default=None,
                          help="fetch a data set's files from its publisher into the data cache, verified: dsprites, shapes3d, "
                               "mpi3d_toy, mpi3d_realistic, mpi3d_real, smallnorb, cars3d or all")
    datasets.set_defaults(func=_cmd_datasets)
    sub.add_parser("quickstart", help="train a beta-VAE and a control on procedural dSprites, score, report (needs [models])",
                   add_help=False)
    sub.add_parser("reexport", help="convert model dirs' encoder.pt2 to the safe encoder graph encoder.npz (needs [models])",
                   add_help=False)
    sub.add_parser("train", help="train a reference model (needs the [models] extra); see dismetrics train --help", add_help=False)
    return parser


def _cmd_datasets(args: argparse.Namespace) -> int:
    from .data import get_sampler, list_datasets

    if args.download:
        from .data.download import download_command
        return download_command(args.download)
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


#: The commands run by dismetrics_models (needs the [models] extra): name -> (module, what it does).
DELEGATED_COMMANDS = {
    "train": ("dismetrics_models.cli", "trains models"),
    "quickstart": ("dismetrics_models.quickstart", "trains models"),
    "reexport": ("dismetrics_models.reexport", "rewrites encoders with torch"),
}


def _delegate(command: str, rest: list[str]) -> int:
    """Run `command` from `dismetrics_models`, imported only now: the core never imports it otherwise."""
    import importlib

    module_name, what = DELEGATED_COMMANDS[command]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:  # torch missing, most likely
        print(f"dismetrics {command} {what} and needs the [models] extra (PyTorch): {error}", file=sys.stderr)
        return 2
    return int(module.main(rest) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED_COMMANDS:
        try:
            return _delegate(argv[0], argv[1:])
        except KeyboardInterrupt:
            print(f"interrupted ({argv[0]})", file=sys.stderr)
            return 130
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback (dismetrics score says what it kept)
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Every speed benchmark of the project in one run: one table of (benchmark, ours, reference, ratio).

    python benchmarks/run_all.py [--quick] [--out benchmarks/RESULTS.md]

Each benchmark times our code and its reference computation in the same process, back to back, on
the same inputs (see each script's docstring for what the reference is): the information metrics,
WDG, the wider metrics, DCI and SAP, the intervention scores, ``dismetrics score --jobs``, the default
threads against one thread with a busy competitor (``bench_loaded``), dSprites serving (cache vs
rendering on the fly) and each model's training step against its input pipeline.
``--quick`` uses smaller sizes (for a smoke run); RESULTS.md is made without it. The markdown is
rewritten after each benchmark, so an interrupted run keeps the rows it has; it records the load
average, since timings on a busy machine understate the ratios of code that uses threads.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _timing import print_table  # noqa: E402


def _quiet(function, *args, **kwargs):
    """Run a benchmark function, keeping its own printout for the log."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = function(*args, **kwargs)
    return result, buffer.getvalue()


def info_metrics(quick):
    import bench_info_metrics

    return bench_info_metrics.run([10_000] if quick else [10_000, 1_000_000])


def wdg(quick):
    import bench_wdg

    sizes = [12_800] if quick else [12_800, 1_000_000]
    return [bench_wdg.run(n, repeats=3, reference_dims=None if n <= 100_000 else 1) for n in sizes]


def wider_metrics(quick):
    import bench_wider_metrics

    rows = bench_wider_metrics.speed_rows(2_000 if quick else 10_000, dci_es_trees=10)
    return [r for r in rows if np.isfinite(r["reference_s"])]


def score_jobs(quick):
    import tempfile

    import bench_score_jobs
    from dismetrics.scoring import score_model_dirs

    count, n = (4, 2_000) if quick else (20, 10_000)
    exclude = ["dci_es"]
    with tempfile.TemporaryDirectory() as root:
        paths = bench_score_jobs.make_dirs(root, count, n)
        score_model_dirs(paths[:1], exclude=exclude, force=True)
        times = {}
        for jobs in (1, 2):
            started = time.perf_counter()
            score_model_dirs(paths, jobs=jobs, exclude=exclude, force=True)
            times[jobs] = time.perf_counter() - started
    return [{"benchmark": f"score {count} codes-only dirs, --jobs 2 vs --jobs 1", "ours_s": times[2], "reference_s": times[1],
             "ratio": times[1] / times[2],
             "note": "reference = the same scoring with --jobs 1, whose DCI and SAP already use every core"}]


def predictor_metrics(quick):
    import bench_predictor_metrics

    n_train, n_test = (1_000, 500) if quick else (10_000, 5_000)
    rows = bench_predictor_metrics.run(n_train, n_test, sap_jobs=2)
    for row in rows:
        row["note"] = (f"|D diff| {row['abs_diff_D']:.3f}, |C diff| {row['abs_diff_C']:.3f}" if row["benchmark"].startswith("dci")
                       else "reference = the same SAP fits run serially")
    return rows


def intervention_metrics(quick):
    import bench_intervention_metrics

    return bench_intervention_metrics.main(["--repeats", "1" if quick else "3"])


def dsprites_render(quick):
    """Issue 5's choice: serve training batches from the rendered cache or render them on the fly."""
    import tempfile

    import bench_dsprites_render

    batches = 50 if quick else 300
    with tempfile.TemporaryDirectory() as directory:
        result = bench_dsprites_render.measure(directory, batches)
    print(bench_dsprites_render.report(result))
    note = f"full 737,280-image cache rendered in {result['render_s']:.0f} s, then memory-mapped"
    return [
        {"benchmark": "dSprites batch-64 serving: memory-mapped cache vs rendering on the fly", "ours_s": 1 / result["cached"],
         "reference_s": 1 / result["on_the_fly"], "ratio": result["cached"] / result["on_the_fly"], "note": note},
        {"benchmark": "dSprites batch-64 trainer fast path (one gather from the cache) vs on the fly",
         "ours_s": 1 / result["gather"], "reference_s": 1 / result["on_the_fly"], "ratio": result["gather"] / result["on_the_fly"],
         "note": "seconds per batch"},
    ]


def train(quick):
    """Issue 7's throughput: each model's CPU training step against the input pipeline that feeds it."""
    import bench_train
    from dismetrics_models.registry import MODELS

    models = ["beta_vae", "factor_vae"] if quick else list(MODELS)
    result = bench_train.measure(models, steps=5 if quick else 20, pipeline_steps=50 if quick else 200)
    rows = []
    for name, row in result["models"].items():
        pipeline_s = row["batches_per_step"] / result["fast"]
        rows.append({"benchmark": f"train {name}: input pipeline (fast path) vs one training step, batch 64, {result['device']}",
                     "ours_s": pipeline_s, "reference_s": 1 / row["steps_per_s"], "ratio": 1 / row["steps_per_s"] / pipeline_s,
                     "note": f"{row['steps_per_s']:.1f} steps/s; ratio > 1: the model, not the data, is the bottleneck"})
    print(f"input pipeline: render path {result['render']:.1f} batches/s, fast path {result['fast']:.1f} batches/s")
    return rows


def loaded(quick):
    """Issue 16's item 7: IRS, SAP, DCI and WDG with their default threads against n_jobs=1, while a busy
    process competes for the CPUs (ratio = serial / default; >= about 1: the parallel paths do not lose)."""
    import bench_loaded

    if quick:
        return bench_loaded.run(2_000, 1_000, busy=1, repeats=3, sap_repeats=1, dci_repeats=1, dci_trees=10)
    return bench_loaded.run(10_000, 5_000, busy=1, repeats=40, sap_repeats=3, dci_repeats=1, dci_trees=100)


def score_table(quick):
    """Issue 18: evaluate(encoder, dSprites, "all", repeats=3, exclude=["dci_es"]) with the representation
    table vs re-encoding, and vs one full encode + the metrics on precomputed codes (DCI-ES left out, as in
    the quickstart: its minutes on codes are the same in every path). The full run (scale 1) encodes 737,280
    images for the table and about 8.7 million for the re-encoding path (about 30 minutes on 2 cores);
    --quick runs the same at 1/64 of the data set and of every size (bench_score_table.py)."""
    import bench_score_table

    out = bench_score_table.run(64 if quick else 1, repeats=3, exclude=["dci_es"])
    scale = f"1/{out['scale']} scale" if out["scale"] > 1 else "reference sizes"
    same = "identical values" if out.get("values_identical") else \
        f"max |value diff| {out.get('max_value_diff', float('nan')):.2g} (codes {out['codes_max_diff']:.2g}: float32 by batch size)"
    return [
        {"benchmark": f"evaluate all but DCI-ES, 3 repeats, conv encoder, dSprites ({scale}): table vs re-encoding",
         "ours_s": out["table_s"], "reference_s": out["direct_s"], "ratio": out["table_vs_direct"],
         "note": f"{same}; goal >= 5x"},
        {"benchmark": f"evaluate all but DCI-ES, 3 repeats, conv encoder, dSprites ({scale}): one full encode + metrics vs table",
         "ours_s": out["ideal_s"], "reference_s": out["table_s"], "ratio": out["table_s"] / out["ideal_s"],
         "note": "ratio = table / ideal; goal <= 1.3"},
    ]


BENCHMARKS = {
    "info_metrics": info_metrics,
    "wdg": wdg,
    "wider_metrics": wider_metrics,
    "predictor_metrics": predictor_metrics,
    "intervention_metrics": intervention_metrics,
    "score_jobs": score_jobs,
    "loaded": loaded,
    "dsprites_render": dsprites_render,
    "train": train,
    "score_table": score_table,
}


def machine_description() -> str:
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(sorted({f"{i.get('internal_api')} {i.get('version')}" for i in threadpool_info()}))
    except ImportError:
        blas = "unknown"
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
            f"Python {platform.python_version()}, numpy {np.__version__}, thread pools: {blas}")


def markdown(rows: list[dict], logs: dict[str, str], command: str, load: str) -> str:
    """The RESULTS.md text: how it was made, the machine, one table row per result, each benchmark's printout."""
    lines = [
        "# Benchmark results",
        "",
        f"Made by `{command}` on {datetime.date.today().isoformat()}.",
        "",
        f"Machine: {machine_description()}.",
        "",
        f"Load average (1, 5, 15 min) {load}.",
        "",
        "`ours_s` and `reference_s` are seconds (best or median of a few runs, as each script says); "
        "`ratio` = reference / ours.",
        "",
        "| benchmark | ours (s) | reference (s) | ratio | note |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(f"| {row['benchmark']} | {row['ours_s']:.4g} | {row['reference_s']:.4g} | {row['ratio']:.1f} | {row['note']} |")
    printed = {name: log.rstrip() for name, log in logs.items() if log.strip()}
    if printed:
        lines += ["", "## What the benchmarks printed", ""]
        for name, log in printed.items():
            lines += [f"### {name}", "", "```text", log, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _load() -> str:
    try:
        return "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    except OSError:
        return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    parser.add_argument("--out", default=None, help="write a markdown report (e.g. benchmarks/RESULTS.md), "
                        "rewritten after each benchmark so that a long run keeps what it has")
    args = parser.parse_args(argv)
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
    if args.only != list(BENCHMARKS):
        command += " --only " + " ".join(args.only)
    command += f" --out {args.out}" if args.out else ""
    load_at_start = _load()
    rows, logs = [], {}
    for name in args.only:
        started = time.perf_counter()
        result, log = _quiet(BENCHMARKS[name], args.quick)
        logs[name] = log
        for row in result:
            row.setdefault("note", "")
            rows.append(row)
        print(f"[{name}: {time.perf_counter() - started:.0f} s]", file=sys.stderr)
        if args.out:
            with open(args.out, "w") as handle:
                handle.write(markdown(rows, logs, command, f"{load_at_start} at the start, {_load()} after {name}"))
    print_table(rows, ["benchmark", "ours_s", "reference_s", "ratio", "note"])
    return rows


if __name__ == "__main__":
    main()

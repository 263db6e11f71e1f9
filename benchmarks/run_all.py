"""Every speed benchmark of the project in one run: one table of (benchmark, ours, reference, ratio).

    python benchmarks/run_all.py [--quick] [--out benchmarks/RESULTS.md]

Each benchmark times our code and its reference computation in the same process, back to back, on
the same inputs (see each script's docstring for what the reference is). ``--quick`` uses smaller
sizes (for a smoke run); RESULTS.md is made without it.
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
             "ratio": times[1] / times[2], "note": "reference = the same scoring with --jobs 1"}]


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


BENCHMARKS = {
    "info_metrics": info_metrics,
    "wdg": wdg,
    "wider_metrics": wider_metrics,
    "predictor_metrics": predictor_metrics,
    "intervention_metrics": intervention_metrics,
    "score_jobs": score_jobs,
}


def machine_description() -> str:
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(sorted({f"{i.get('internal_api')} {i.get('version')}" for i in threadpool_info()}))
    except ImportError:
        blas = "unknown"
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
            f"Python {platform.python_version()}, numpy {np.__version__}, thread pools: {blas}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    parser.add_argument("--out", default=None, help="write a markdown report (e.g. benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    rows, logs = [], {}
    for name in args.only:
        started = time.perf_counter()
        result, log = _quiet(BENCHMARKS[name], args.quick)
        logs[name] = log
        for row in result:
            row.setdefault("note", "")
            rows.append(row)
        print(f"[{name}: {time.perf_counter() - started:.0f} s]", file=sys.stderr)
    columns = ["benchmark", "ours_s", "reference_s", "ratio", "note"]
    print_table(rows, columns)
    if args.out:
        lines = [
            "# Benchmark results",
            "",
            f"Made by `python benchmarks/run_all.py{' --quick' if args.quick else ''} --out {args.out}` on "
            f"{datetime.date.today().isoformat()}.",
            "",
            f"Machine: {machine_description()}.",
            "",
            "`ours_s` and `reference_s` are seconds (best or median of a few runs, as each script says); "
            "`ratio` = reference / ours.",
            "",
            "| benchmark | ours (s) | reference (s) | ratio | note |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            lines.append(f"| {row['benchmark']} | {row['ours_s']:.4g} | {row['reference_s']:.4g} | {row['ratio']:.1f} | {row['note']} |")
        lines += ["", "## Each benchmark's own output", ""]
        for name, log in logs.items():
            lines += [f"### {name}", "", "```text", log.rstrip(), "```", ""]
        with open(args.out, "w") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

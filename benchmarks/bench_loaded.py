"""Default threads against one thread, with a competing busy process on the machine (issue 16, item 7).

    python benchmarks/bench_loaded.py [--busy 1] [--repeats 40] [--sap-repeats 3] [--dci-repeats 1] [--quick]

IRS, SAP, DCI and WDG at the reference size (n = 10,000 points, d = 10 code dims, K = 5 factors; SAP
and DCI with their reference split, 10,000 training and 5,000 test points) are timed with their
default `n_jobs` (None: every allowed thread for SAP's fits and DCI's factors, the allowed threads
that have an idle CPU for IRS's numba kernel and WDG's rows; one thread below each metric's measured
work size) and with `n_jobs=1`, while `--busy` other processes each spin numpy on one CPU.
For comparison `n_jobs=-1` (every allowed thread, busy CPU or not: what the default did before) is
timed too. The settings alternate (each goes first in turn), so that all see the same load; each time
is the mean of `--repeats` calls (on a machine shared with other work a short call either runs through
or waits out a time slice of the scheduler, so the times are bimodal and their median jumps between the
modes; the mean counts both as they occur). `ratio` = serial / default: at least about 1 means the
parallel paths do not lose to serial on a loaded machine. The values are checked to be equal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _timing import print_table  # noqa: E402

BUSY_LOOP = "import numpy as np\na = np.random.rand(200, 200)\nwhile True:\n    a @ a\n"


def start_busy(count: int) -> list[subprocess.Popen]:
    """`count` processes that each keep one CPU busy (single-threaded BLAS) until killed."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP], env=env) for _ in range(count)]


def stop_busy(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()


def make_data(n: int, n_test: int, d: int = 10, seed: int = 0):
    """Codes (n + n_test, d) that carry 5 factors with noise, and the factors."""
    rng = np.random.default_rng(seed)
    sizes = (3, 6, 40, 32, 32)  # dSprites' shape, scale, orientation, x, y
    factors = rng.integers(0, sizes, size=(n + n_test, len(sizes)))
    scaled = factors / (np.array(sizes) - 1)
    codes = np.c_[scaled + 0.1 * rng.normal(size=scaled.shape), rng.normal(size=(n + n_test, d - len(sizes)))]
    return codes, factors


def calls(n: int, n_test: int, dci_trees: int):
    """metric -> function(n_jobs) running it at the given size."""
    import dismetrics as dm

    codes, factors = make_data(n, n_test)
    train, test = slice(0, n), slice(n, n + n_test)
    return {
        "irs": lambda jobs: dm.irs(codes[train], factors[train], n_jobs=jobs),
        "sap": lambda jobs: dm.sap(codes[train], factors[train], codes_test=codes[test], factors_test=factors[test],
                                   n_jobs=jobs),
        "dci": lambda jobs: dm.dci(codes[train], factors[train], codes_test=codes[test], factors_test=factors[test],
                                   n_estimators=dci_trees, n_jobs=jobs),
        "wdg": lambda jobs: dm.wdg(codes[train], factors[train], n_jobs=jobs),
    }


def measure(function, repeats: int) -> dict:
    """Mean seconds of `function(n_jobs)` for n_jobs None (default), 1 (serial) and -1 (every allowed
    thread, busy or not: the default before issue 16), the three alternating in rotating order; and the
    largest |value difference| from the serial value."""
    settings = (None, 1, -1)
    values = {jobs: float(function(jobs).value) for jobs in settings}  # warm-up (compilation, imports)
    times = {jobs: [] for jobs in settings}
    for repeat in range(repeats):
        order = settings[repeat % 3:] + settings[:repeat % 3]  # each setting goes first in turn
        for jobs in order:
            started = time.perf_counter()
            values[jobs] = float(function(jobs).value)
            times[jobs].append(time.perf_counter() - started)
    out = {jobs: float(np.mean(times[jobs])) for jobs in settings}
    out["difference"] = max(abs(values[jobs] - values[1]) for jobs in settings)
    return out


def _load() -> str:
    try:
        return "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    except OSError:
        return "unknown"


def run(n: int = 10_000, n_test: int = 5_000, busy: int = 1, repeats: int = 40, sap_repeats: int = 3,
        dci_repeats: int = 1, dci_trees: int = 100, metrics=("irs", "sap", "dci", "wdg")) -> list[dict]:
    """Rows (benchmark, ours_s = default, reference_s = serial, ratio = serial / default, note).

    `repeats` calls of each setting for IRS and WDG (a fraction of a second each), `sap_repeats` for SAP
    and `dci_repeats` for DCI (seconds each)."""
    functions = calls(n, n_test, dci_trees)
    print(f"n = {n:,} (SAP, DCI: + {n_test:,} test points), d = 10, K = 5; {busy} busy process(es) on "
          f"{os.cpu_count()} CPUs; load average before: {_load()}")
    processes = start_busy(busy)
    rows = []
    try:
        time.sleep(1.0)  # let the busy processes start spinning
        for name in metrics:
            count = {"dci": dci_repeats, "sap": sap_repeats}.get(name, repeats)
            times = measure(functions[name], count)
            default_s, serial_s, all_s = times[None], times[1], times[-1]
            print(f"  {name:4s}: default {default_s:8.4f} s, n_jobs=1 {serial_s:8.4f} s, n_jobs=-1 {all_s:8.4f} s; "
                  f"serial/default {serial_s / default_s:5.2f}, serial/all {serial_s / all_s:5.2f}  (mean of {count}; "
                  f"|value difference| {times['difference']:.1e}; load {_load()})", flush=True)
            rows.append({"benchmark": f"{name} under load ({busy} busy process), default n_jobs vs n_jobs=1, n={n}",
                         "ours_s": default_s, "reference_s": serial_s, "ratio": serial_s / default_s,
                         "note": f"reference = n_jobs=1; n_jobs=-1 (all threads) {all_s:.4g} s; mean of {count}; "
                                 f"same value: {times['difference'] == 0.0}"})
    finally:
        stop_busy(processes)
    return rows


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=1, help="competing busy processes (default 1)")
    parser.add_argument("--repeats", type=int, default=40, help="calls per setting for IRS and WDG")
    parser.add_argument("--sap-repeats", type=int, default=3)
    parser.add_argument("--dci-repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="n = 2,000 / 1,000 and 10 DCI trees (a smoke run)")
    parser.add_argument("--metrics", nargs="*", default=["irs", "sap", "dci", "wdg"])
    args = parser.parse_args(argv)
    n, n_test, trees = (2_000, 1_000, 10) if args.quick else (10_000, 5_000, 100)
    rows = run(n, n_test, busy=args.busy, repeats=args.repeats, sap_repeats=args.sap_repeats,
               dci_repeats=args.dci_repeats, dci_trees=trees, metrics=args.metrics)
    print_table(rows, ["benchmark", "ours_s", "reference_s", "ratio"])
    return rows


if __name__ == "__main__":
    main()

"""How many threads the metrics of this process may use, and a way to cap them.

Metrics that parallelize (DCI's factor threads, SAP's per-dim fits, WDG's per-dim rows, the numba
kernels of IRS and of the histogram metrics) take all allowed threads by default. A process that shares
the machine with others, such as a worker of `dismetrics score --jobs N`, caps them with `limit_threads`
so that N workers use about the cores there are instead of N times as many threads. Results never
depend on the thread count.

`n_jobs`, one meaning everywhere (scikit-learn's, under the process-wide cap)
---------------------------------------------------------------------------
`resolve_n_jobs` turns it into a thread count:

* `None` (the default): dismetrics chooses. A section whose extra threads pay even on a busy machine
  (SAP's independent LinearSVC fits, DCI's factors) uses every allowed thread; an *idle-only* section
  uses only the allowed threads that have an idle CPU now, the least of `available_threads()` and
  `idle_cpus()` (the CPUs minus the other runnable threads of the machine). Idle-only are numba's
  parallel loops (IRS, the histogram metrics), whose threads take fixed shares and wait for each
  other, and WDG's rows, whose Python-side work between the kernels holds the GIL;
* `-1`: every thread the process allows, `available_threads()`, i.e. `$DISMETRICS_NUM_THREADS` when
  it is set (`limit_threads`, `dismetrics score --jobs`), else the number of CPUs, busy or not;
* `k >= 1`: k threads (at most the cap when `$DISMETRICS_NUM_THREADS` is set: the cap is process-wide);
* `-m` for m >= 2: all allowed threads but m - 1 (scikit-learn's `n_jobs=-2`), at least 1;
* `0` or a non-integer: `ValueError`.

`n_jobs` is the most threads a metric uses: below a measured work size (the `*_PARALLEL_WORK`
constants beside each metric) a parallel section runs serially, because starting and joining threads
costs more than it saves there, and on a loaded machine a thread that waits for a descheduled partner
loses more (issue 16: IRS on a busy 2-core machine took 0.140 s with two threads, 0.053 s with one).
Above that size the busy-ness of the machine decides, measured on a shared 2-core machine with about
10 runnable threads and one more busy process (`benchmarks/bench_loaded.py`): numba's team stalls for
a whole scheduler time slice whenever one of its threads is preempted (IRS at n = 10,000, d = 10:
0.47 s on two threads, 0.10 s on one), and WDG's rows contend for the GIL (0.052 s against 0.038 s),
so these are idle-only; SAP's fits run without the GIL and more threads get the process a larger
share of the busy machine (its 50 fits at 2,000 training points: 1.06 s on two threads, 2.08 s on
one), so they keep every allowed thread.

Numba kernels run inside `numba_threads`, which sets numba's thread count for the calling thread only
and puts it back afterwards; it never changes torch's thread count (numba's OpenMP layer, when it first
starts its threads, sets the OpenMP thread count of the calling thread, which torch reads when it uses
the same OpenMP runtime: `numba_threads` restores it).
"""

from __future__ import annotations

import numbers
import os
import sys

__all__ = [
    "available_threads",
    "capped_threads",
    "limit_threads",
    "threads_per_worker",
    "resolve_n_jobs",
    "idle_cpus",
    "check_n_jobs",
    "numba_threads",
    "THREADS_ENV",
]

THREADS_ENV = "DISMETRICS_NUM_THREADS"
"""Environment variable holding the cap (inherited by child processes)."""


def available_threads() -> int:
    """The cap set by `limit_threads` (or `$DISMETRICS_NUM_THREADS`), else the number of CPUs."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            threads = int(value)
        except ValueError:
            raise ValueError(f"${THREADS_ENV} must be a positive integer; got {value!r}.") from None
        if threads < 1:
            raise ValueError(f"${THREADS_ENV} must be a positive integer; got {value!r}.")
        return threads
    return os.cpu_count() or 1


def check_n_jobs(n_jobs):
    """`n_jobs` validated (None, or a non-zero int); a clear `ValueError` otherwise."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None, a positive int (threads) or a negative int (-1: all allowed threads, "
                         f"-2: all but one, ...), as in scikit-learn; got {n_jobs!r}.")
    return int(n_jobs)


def resolve_n_jobs(n_jobs=None, *, work: float | None = None, parallel_work: float | None = None,
                   idle_only: bool = False) -> int:
    """The number of threads for `n_jobs` (module docstring), or 1 when `work < parallel_work`.

    Parameters
    ----------
    n_jobs : int or None, default None
        scikit-learn's meaning under the process-wide cap: None chooses (all allowed threads, or for an
        `idle_only` section those that have an idle CPU now, `min(available_threads(),
        idle_cpus())`), -1 all allowed threads (`available_threads()`), k >= 1 k threads (at most
        `$DISMETRICS_NUM_THREADS` when set), -m all allowed but m - 1.
    work : float, optional
        The size of the parallel section (each metric says what it counts).
    parallel_work : float, optional
        The measured size below which the section runs on one thread.
    idle_only : bool, default False
        Whether `None` counts only idle CPUs: for sections that lose on a busy machine, such as
        numba's parallel loops (fixed shares and a barrier: one preempted thread stalls all) or tasks
        that hold the GIL for part of their time.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> from dismetrics._parallel import resolve_n_jobs
    >>> resolve_n_jobs(1)
    1
    >>> resolve_n_jobs(4, work=100, parallel_work=10_000)
    1
    """
    n_jobs = check_n_jobs(n_jobs)
    if work is not None and parallel_work is not None and work < parallel_work:
        return 1
    allowed = available_threads()
    if n_jobs is None:
        return max(1, min(allowed, idle_cpus())) if idle_only else allowed
    if n_jobs == -1:
        return allowed
    if n_jobs > 0:
        return min(n_jobs, allowed) if os.environ.get(THREADS_ENV, "").strip() else n_jobs
    return max(1, allowed + 1 + n_jobs)


def idle_cpus() -> int:
    """CPUs not busy right now: the CPUs minus the other runnable threads of the machine.

    Linux: the run queue of `/proc/loadavg` (its fourth field, runnable / all, counts this thread
    too), read at the moment of the call; elsewhere the 1-minute load average (`os.getloadavg`)
    when there is one, else every CPU. At least 1.
    """
    cpus = os.cpu_count() or 1
    try:
        with open("/proc/loadavg") as handle:
            busy = int(handle.read().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        try:
            busy = int(round(os.getloadavg()[0]))
        except (AttributeError, OSError):
            return cpus
    return max(1, cpus - max(0, busy))


def _torch_threads():
    torch = sys.modules.get("torch")
    if torch is None:
        return None, None
    try:
        return torch, torch.get_num_threads()
    except Exception:  # noqa: BLE001 - a half-imported or stubbed torch: nothing to protect
        return None, None


class numba_threads:
    """`with numba_threads(n):` numba's parallel loops launched from this thread use `n` threads (at most
    `numba.config.NUMBA_NUM_THREADS`); afterwards numba's count is what it was, and torch's thread count
    is unchanged (starting numba's OpenMP pool sets the OpenMP thread count of the calling thread, which
    torch reads when both use one OpenMP runtime).

    Examples
    --------
    >>> import numba
    >>> from dismetrics._parallel import numba_threads
    >>> before = numba.get_num_threads()
    >>> with numba_threads(1):
    ...     numba.get_num_threads()
    1
    >>> numba.get_num_threads() == before
    True
    """

    def __init__(self, n: int):
        self.n = max(1, int(n))

    def __enter__(self):
        import numba  # noqa: PLC0415

        self.torch, self.torch_threads = _torch_threads()
        self.before = numba.get_num_threads()  # starts numba's pool the first time
        numba.set_num_threads(min(self.n, numba.config.NUMBA_NUM_THREADS))
        self._restore_torch()
        return self

    def _restore_torch(self) -> None:
        if self.torch is not None and self.torch.get_num_threads() != self.torch_threads:
            self.torch.set_num_threads(self.torch_threads)

    def __exit__(self, *exc) -> None:  # None: exceptions propagate (and mypy knows the block cannot swallow them)
        import numba  # noqa: PLC0415

        numba.set_num_threads(self.before)
        self._restore_torch()


def threads_per_worker(workers: int) -> int:
    """Threads each of `workers` processes may use so that together they fill the CPUs once."""
    return max(1, (os.cpu_count() or 1) // max(1, int(workers)))


def limit_threads(threads: int) -> None:
    """Cap every thread pool of this process at `threads`: the metrics' own pools (via
    `$DISMETRICS_NUM_THREADS`), numba's parallel loops (`numba.set_num_threads` of the calling
    thread), the BLAS/OpenMP libraries loaded so far (threadpoolctl), and torch's intra-op pool (now if
    torch is loaded, else through `$OMP_NUM_THREADS` when it is)."""
    threads = max(1, int(threads))
    os.environ[THREADS_ENV] = str(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import numba  # noqa: PLC0415

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:  # scikit-learn brings it; without it only BLAS keeps its default
        pass
    else:
        threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class capped_threads:
    """`with capped_threads(n):` every thread pool of this process at `n` threads
    (`dismetrics._parallel.limit_threads`: the metrics' pools, numba, BLAS/OpenMP, torch when it is
    loaded), then everything as it was. The demo and the quickstart run their small problems so: on 2
    cores, two threads spin-waiting for each other made the demo's InfoM/InfoC/InfoE 2.5 times slower
    (and 30 times under load); the numbers do not depend on it."""

    def __init__(self, n: int):
        self.n = max(1, int(n))

    def __enter__(self):
        import numba  # noqa: PLC0415

        self.env = {key: os.environ.get(key) for key in ("DISMETRICS_NUM_THREADS", "OMP_NUM_THREADS")}
        self.numba = numba.get_num_threads()
        torch = sys.modules.get("torch")
        self.torch = torch.get_num_threads() if torch is not None else None
        try:
            from threadpoolctl import threadpool_limits  # noqa: PLC0415

            self.limiter = threadpool_limits(limits=self.n)
        except ImportError:  # pragma: no cover - scikit-learn brings it
            self.limiter = None
        limit_threads(self.n)
        return self

    def __exit__(self, *exc) -> bool:
        import numba  # noqa: PLC0415

        for key, value in self.env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        numba.set_num_threads(self.numba)
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(self.torch if self.torch is not None else (os.cpu_count() or 1))
        if self.limiter is not None:
            self.limiter.restore_original_limits()
        return False

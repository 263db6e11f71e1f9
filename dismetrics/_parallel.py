"""How many threads the metrics of this process may use, and a way to cap them.

Metrics that parallelize (DCI's factor threads, SAP's per-dim fits, WDG's per-dim rows, the numba
kernels) take all cores by default. A process that shares the machine with others, such as a worker
of `dismetrics score --jobs N`, caps them with `limit_threads` so that N workers use about the
cores there are instead of N times as many threads. Results never depend on the thread count.
"""

from __future__ import annotations

import os
import sys

__all__ = ["available_threads", "capped_threads", "limit_threads", "threads_per_worker", "THREADS_ENV"]

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

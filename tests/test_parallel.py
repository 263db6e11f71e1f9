"""Thread caps: `dismetrics score --jobs N` workers share the cores instead of each taking all of them,
and no result depends on the number of threads."""

import os
import subprocess
import sys

import numpy as np
import pytest

import dismetrics as dm
from dismetrics._parallel import THREADS_ENV, available_threads, limit_threads, threads_per_worker
from dismetrics.scoring import score_model_dir


def test_available_threads_reads_the_cap(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert available_threads() == (os.cpu_count() or 1)
    monkeypatch.setenv(THREADS_ENV, "3")
    assert available_threads() == 3
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=THREADS_ENV):
            available_threads()


def test_threads_per_worker_divides_the_cpus(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert [threads_per_worker(j) for j in (1, 2, 3, 16, 32)] == [16, 8, 5, 1, 1]
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert threads_per_worker(4) == 1


@pytest.mark.parametrize("cap", [1, 0])  # 0 is floored at 1
def test_limit_threads_caps_numba_blas_torch_and_our_pools(cap):
    script = (
        "import numpy, torch, numba\n"
        "from threadpoolctl import threadpool_info\n"
        "from dismetrics._parallel import limit_threads, available_threads\n"
        f"limit_threads({cap})\n"
        "print(available_threads(), numba.get_num_threads(), torch.get_num_threads(),"
        " max(i['num_threads'] for i in threadpool_info()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in (THREADS_ENV, "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["1", "1", "1", "1"]


@pytest.mark.parametrize("metric", ["dci", "sap", "wdg"])
def test_results_do_not_depend_on_the_cap(monkeypatch, metric):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, (3, 5, 6), size=(600, 3))
    codes = np.c_[factors + 0.3 * rng.normal(size=(600, 3)), rng.normal(size=(600, 2))]
    kwargs = {"dci": {"n_estimators": 10}}.get(metric, {})
    monkeypatch.delenv(THREADS_ENV, raising=False)
    free = getattr(dm, metric)(codes, factors, **kwargs)
    monkeypatch.setenv(THREADS_ENV, "1")
    capped = getattr(dm, metric)(codes, factors, **kwargs)
    assert capped.value == free.value
    np.testing.assert_array_equal(np.asarray(list(capped.details.values())[0]), np.asarray(list(free.details.values())[0]))


def test_pool_workers_run_with_the_cap(tmp_path, monkeypatch):
    """The --jobs pool's workers see cpus / jobs threads, and score as a serial run does."""
    from dismetrics import modeldir
    from dismetrics.scoring import process_pool, score_model_dirs

    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # the parent's view: the cap it hands its 2 workers is 2
    with process_pool(2) as pool:
        assert pool.submit(available_threads).result() == 2
    paths = []
    for i in range(2):
        path = tmp_path / f"m{i}"
        rng = np.random.default_rng(i)
        factors = rng.integers(0, (3, 4), size=(300, 2))
        modeldir.write_codes(str(path), factors + 0.1 * rng.normal(size=(300, 2)), factors)
        modeldir.write_config(str(path), {"model": "beta_vae", "hyperparameters": {}, "dataset": {"name": "toy"},
                                          "seed": i, "steps": 0, "latent_dim": 2})
        paths.append(str(path))
    outcomes = score_model_dirs(paths, metrics=["dci"], jobs=2, metric_params={"dci": {"n_estimators": 5}})
    assert [o.status for o in outcomes] == ["scored", "scored"]
    serial = [score_model_dir(p, metrics=["dci"], force=True, metric_params={"dci": {"n_estimators": 5}}) for p in paths]
    assert [o.rows[0]["value"] for o in outcomes] == [o.rows[0]["value"] for o in serial]

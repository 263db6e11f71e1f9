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


# ---- n_jobs: one meaning, thresholds, torch's threads -------------------------------------------

import importlib  # noqa: E402
import warnings  # noqa: E402

import numba  # noqa: E402

from dismetrics import _parallel  # noqa: E402
from dismetrics._kernels import info as info_kernels  # noqa: E402
from dismetrics._parallel import check_n_jobs, idle_cpus, numba_threads, resolve_n_jobs  # noqa: E402
from dismetrics.metrics.registry import get_metric  # noqa: E402

irs_module = importlib.import_module("dismetrics.metrics.irs")
sap_module = importlib.import_module("dismetrics.metrics.sap")
wdg_module = importlib.import_module("dismetrics.metrics.wdg")


def test_resolve_n_jobs_has_scikit_learns_meaning_under_the_cap(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(_parallel, "idle_cpus", lambda: 3)
    assert resolve_n_jobs(None) == 8  # independent tasks: every allowed thread
    assert resolve_n_jobs(None, idle_only=True) == 3  # idle CPUs only
    assert resolve_n_jobs(-1) == 8 and resolve_n_jobs(-1, idle_only=True) == 8  # all allowed, busy or not
    assert resolve_n_jobs(-2) == 7 and resolve_n_jobs(-8) == 1 and resolve_n_jobs(-100) == 1
    assert resolve_n_jobs(5) == 5 and resolve_n_jobs(16) == 16  # k is k without a cap
    monkeypatch.setenv(THREADS_ENV, "2")  # the process-wide cap bounds every choice
    assert [resolve_n_jobs(j) for j in (None, -1, -2, 1, 5)] == [2, 2, 1, 1, 2]
    monkeypatch.setattr(_parallel, "idle_cpus", lambda: 1)
    assert resolve_n_jobs(None, idle_only=True) == 1 and resolve_n_jobs(None) == 2
    # below the work size every choice is one thread; at or above it n_jobs decides
    assert resolve_n_jobs(-1, work=99, parallel_work=100) == 1
    assert resolve_n_jobs(-1, work=100, parallel_work=100) == 2
    for bad in (0, 1.5, "2", True):
        with pytest.raises(ValueError, match="n_jobs"):
            check_n_jobs(bad)


def test_idle_cpus_counts_the_other_runnable_threads(monkeypatch):
    import builtins
    import io

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    real_open = open

    def fake_loadavg(text):
        def opener(path, *args, **kwargs):
            if path == "/proc/loadavg":
                return io.StringIO(text)
            return real_open(path, *args, **kwargs)
        return opener

    monkeypatch.setattr(builtins, "open", fake_loadavg("0.50 0.40 0.30 1/300 999\n"))
    assert idle_cpus() == 4  # only this thread runs
    monkeypatch.setattr(builtins, "open", fake_loadavg("2.00 1.00 1.00 3/300 999\n"))
    assert idle_cpus() == 2  # two other runnable threads
    monkeypatch.setattr(builtins, "open", fake_loadavg("9.00 9.00 9.00 12/300 999\n"))
    assert idle_cpus() == 1  # never below one
    monkeypatch.setattr(builtins, "open", fake_loadavg("garbled"))
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    assert idle_cpus() == 3  # the load average where the run queue cannot be read


def test_numba_threads_sets_and_restores_numba_only():
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_threads(10**6):  # more than numba has: all of numba's threads
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    assert numba.get_num_threads() == before


def test_kernels_leave_torchs_thread_count_alone():
    """Starting numba's OpenMP pool after torch's OpenMP team has run sets torch's count to numba's
    (observed with torch 2.13 CPU wheels and numba 0.68 on 2 CPUs: 1 -> 2 without the guard in
    `numba_threads`); the metrics must leave it alone."""
    torch = pytest.importorskip("torch")
    del torch
    script = (
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "import importlib, numpy as np, dismetrics as dm\n"
        # torch's OpenMP team has now run (a product this large is split across threads); numba's pool
        # starts after it, in the first metric below
        "torch.get_num_threads(); torch.ones(512, 512) @ torch.ones(512, 512)\n"
        "for name in ('irs', 'wdg'):\n"
        "    setattr(importlib.import_module('dismetrics.metrics.' + name), name.upper() + '_PARALLEL_WORK', 0)\n"
        "info = importlib.import_module('dismetrics._kernels.info')\n"
        "info.DIGITIZE_PARALLEL_WORK = info.TABLES_PARALLEL_WORK = info.PAIRWISE_PARALLEL_WORK = 0\n"
        "rng = np.random.default_rng(0)\n"
        "f = rng.integers(0, 4, size=(400, 2)); c = np.c_[f + 0.3 * rng.normal(size=(400, 2)), rng.normal(size=400)]\n"
        "counts = []\n"
        "for call in (lambda: dm.irs(c, f, n_jobs=2), lambda: dm.mig(c, f), lambda: dm.wdg(c, f, n_jobs=2)):\n"
        "    call(); counts.append(torch.get_num_threads())\n"
        "print(*counts)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in (THREADS_ENV, "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["1", "1", "1"]


@pytest.fixture
def parallel_everywhere(monkeypatch):
    """Every parallel section takes its parallel path, however small the input."""
    for module, name in ((irs_module, "IRS_PARALLEL_WORK"), (sap_module, "SAP_PARALLEL_WORK"),
                         (wdg_module, "WDG_PARALLEL_WORK"), (info_kernels, "DIGITIZE_PARALLEL_WORK"),
                         (info_kernels, "TABLES_PARALLEL_WORK"), (info_kernels, "PAIRWISE_PARALLEL_WORK")):
        monkeypatch.setattr(module, name, 0)
    monkeypatch.delenv(THREADS_ENV, raising=False)


@pytest.mark.parametrize("metric", ["irs", "sap", "wdg", "mig", "modularity"])
def test_parallel_paths_give_the_serial_numbers(parallel_everywhere, metric):
    rng = np.random.default_rng(3)
    factors = rng.integers(0, (3, 5, 6), size=(500, 3))
    codes = np.c_[factors + 0.3 * rng.normal(size=(500, 3)), rng.normal(size=(500, 2))]
    func = getattr(dm, metric)
    takes_jobs = metric in ("irs", "sap", "wdg")
    serial = func(codes, factors, **({"n_jobs": 1} if takes_jobs else {}))
    with numba_threads(2):
        parallel = func(codes, factors, **({"n_jobs": 2} if takes_jobs else {}))
    assert parallel == serial  # to_json equality: value, details and params bit for bit


def test_info_kernels_parallel_equals_serial(parallel_everywhere):
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(700, 6))
    labels, sizes = info_kernels.encode_factor_columns(rng.integers(0, (3, 7), size=(700, 2)))
    one = info_kernels.discretize(codes, 20, n_jobs=1)
    two = info_kernels.discretize(codes, 20, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    for a, b in zip(info_kernels.contingency_tables(one, labels, sizes, 20, n_jobs=1),
                    info_kernels.contingency_tables(one, labels, sizes, 20, n_jobs=2)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(info_kernels.pairwise_mutual_info(one, 20, n_jobs=1),
                                  info_kernels.pairwise_mutual_info(one, 20, n_jobs=-1))


@pytest.mark.parametrize("metric", ["irs", "sap", "wdg"])
def test_n_jobs_is_validated(metric):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 3, size=(60, 2))
    codes = factors + 0.1 * rng.normal(size=(60, 2))
    for bad in (0, 1.5, "all"):
        with pytest.raises(ValueError, match="n_jobs"):
            getattr(dm, metric)(codes, factors, n_jobs=bad)


# ---- the vocabulary of SAP and the registry entries of IRS, SAP, WDG ------------------------------

def _sap_sample(seed=0, n=240):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, (3, 4), size=(n, 2))
    codes = np.c_[factors + 0.2 * rng.normal(size=(n, 2)), rng.normal(size=n)]
    return codes, factors


@pytest.mark.parametrize("discrete, factor_types", [(True, "discrete"), (False, "continuous")])
def test_sap_discrete_is_deprecated_and_gives_the_factor_types_numbers(discrete, factor_types):
    codes, factors = _sap_sample()
    new = dm.sap(codes, factors, factor_types=factor_types, n_jobs=1)
    with pytest.warns(DeprecationWarning, match="factor_types"):
        old = dm.sap(codes, factors, discrete=discrete, n_jobs=1)
    assert old == new
    assert new.params["factor_types"] == factor_types
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling warns about nothing
        dm.sap(codes, factors, factor_types=[factor_types] * 2, n_jobs=1)


def test_sap_mixed_factor_types_score_each_column_by_its_type():
    codes, factors = _sap_sample(1)
    mixed = dm.sap(codes, factors, factor_types=["discrete", "continuous"], n_jobs=1)
    discrete = dm.sap(codes, factors, factor_types="discrete", n_jobs=1)
    continuous = dm.sap(codes, factors, factor_types="continuous", n_jobs=1)
    matrix = mixed.details["score_matrix"]
    np.testing.assert_array_equal(matrix[:, 0], discrete.details["score_matrix"][:, 0])
    np.testing.assert_array_equal(matrix[:, 1], continuous.details["score_matrix"][:, 1])
    # the continuous column, written out: squared Pearson correlations on the training split
    split_rng = np.random.default_rng(0)
    order = split_rng.permutation(len(codes))
    train = np.sort(order[round(len(codes) / 3):])
    expected = [np.corrcoef(codes[train, i], factors[train, 1])[0, 1] ** 2 for i in range(3)]
    np.testing.assert_allclose(matrix[:, 1], expected, rtol=1e-12)
    gaps = np.sort(matrix, axis=0)[-1] - np.sort(matrix, axis=0)[-2]
    assert mixed.value == pytest.approx(gaps.mean(), abs=1e-15)
    assert mixed.params["factor_types"] == ["discrete", "continuous"]
    for bad in ("both", ["discrete"], ["discrete", "ordinal"]):
        with pytest.raises(ValueError, match="factor_types"):
            dm.sap(codes, factors, factor_types=bad)
    with pytest.raises(ValueError, match="discrete"):
        dm.sap(codes, factors, discrete="yes")


def test_registry_entries_of_irs_sap_wdg():
    irs_spec, sap_spec, wdg_spec = (get_metric(name) for name in ("irs", "sap", "wdg"))
    assert (irs_spec.title, irs_spec.kind, irs_spec.random, irs_spec.takes_test) == ("IRS", "sample", False, False)
    assert (sap_spec.title, sap_spec.takes_test, sap_spec.random) == ("SAP", True, True)
    assert sap_spec.factor_types == ("discrete", "continuous")
    assert (wdg_spec.title, wdg_spec.random) == ("WDG", True)
    assert wdg_spec.preset_params("wtc_paper") == {"estimator": "paper_code"}
    assert wdg_spec.preset_params("disentanglement_lib") == {}
    for spec in (irs_spec, sap_spec, wdg_spec):
        doc = spec.func.__doc__
        assert all(section in doc for section in ("Parameters", "Returns", "References", "Examples"))
        assert "n_jobs" in doc


def test_wtc_paper_preset_reaches_wdg():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(500, 2))
    codes = factors + 0.3 * rng.normal(size=(500, 2))
    row = dm.evaluate_codes(codes, factors, ["wdg"], preset="wtc_paper").iloc[0]
    assert row["value"] == dm.wdg(codes, factors, estimator="paper_code", random_state=int(row["seed"])).value
    assert row["value"] != dm.wdg(codes, factors).value

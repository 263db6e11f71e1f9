"""`dismetrics score` as a trust boundary: scores keyed by a digest of what was scored, hand-edited or
stale scores.json entries never reused, concurrent runs merged under a lock, --representation never
imported from the current directory, the exit-status contract, Dask errors in one line, the umask, and a
dir that cannot be written keeping its rows in --out."""

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from dismetrics import modeldir
from dismetrics import scoring
from dismetrics.cli import main
from dismetrics.scoring import SchedulerError, load_callable, score_model_dir, score_model_dirs

SIZES = (3, 6, 10)


def make_dir(path, seed=0, noise=0.1, n=200, config=True, codes=None):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(n, 3))
    if codes is None:
        codes = factors / np.array(SIZES) + noise * rng.normal(size=(n, 3))
    os.makedirs(path, exist_ok=True)
    if config:
        modeldir.write_config(path, {"model": "beta_vae", "hyperparameters": {"beta": 4.0}, "dataset": {"name": "toy"},
                                     "seed": seed, "steps": 0, "latent_dim": 3})
    modeldir.write_codes(path, codes, factors)
    return str(path)


def document(path):
    return json.loads(open(os.path.join(path, "scores.json")).read())


# ---- content digest ------------------------------------------------------------------------------
def test_replaced_codes_are_rescored_not_skipped(tmp_path):
    path = make_dir(tmp_path / "m", seed=0, noise=0.05)
    first = score_model_dir(path, metrics=["mig"])
    assert first.status == "scored" and score_model_dir(path, metrics=["mig"]).status == "skipped"
    make_dir(tmp_path / "m", seed=0, noise=2.0, config=False)  # other codes, same settings
    again = score_model_dir(path, metrics=["mig"])
    assert again.status == "scored" and again.rows[0]["value"] != first.rows[0]["value"]
    assert any("codes.npz" in note for note in again.notes)
    assert score_model_dir(path, metrics=["mig"]).status == "skipped"


def test_a_changed_config_is_rescored(tmp_path):
    path = make_dir(tmp_path / "m")
    score_model_dir(path, metrics=["mig"])
    modeldir.write_config(path, {**modeldir.read_config(path), "steps": 5})
    again = score_model_dir(path, metrics=["mig"])
    assert again.status == "scored" and any("dismetrics.json" in note for note in again.notes)


def test_the_digest_covers_the_data_set_file_the_encoder_and_the_version(tmp_path):
    path = make_dir(tmp_path / "m")
    data = tmp_path / "m" / "data.npz"
    data.write_bytes(b"one")
    (tmp_path / "m" / "encoder.npz").write_bytes(b"weights")
    config = {**modeldir.read_config(path), "dataset": {"name": "dsprites", "path": "data.npz"}}
    settings = scoring.score_settings(metrics=["mig"])
    kind, encoder = scoring._plan(tmp_path / "m", config, settings)
    assert kind == "encoder" and encoder.name == "encoder.npz"
    inputs = scoring._inputs(tmp_path / "m", config, settings, kind, encoder)
    assert {"dismetrics_version", "dismetrics.json", "codes.npz", "encoder.npz", f"dataset {data}"} == set(inputs)
    assert inputs["dismetrics_version"] == scoring.__version__
    data.write_bytes(b"two")
    (tmp_path / "m" / "encoder.npz").write_bytes(b"other weights")
    changed = scoring._inputs(tmp_path / "m", config, settings, kind, encoder)
    assert changed[f"dataset {data}"] != inputs[f"dataset {data}"] and changed["encoder.npz"] != inputs["encoder.npz"]
    # codes-only scoring does not read the data set, so its file is not hashed
    assert not any(k.startswith("dataset") for k in scoring._inputs(tmp_path / "m", config, settings, "codes", None))


def test_relative_dataset_path_resolves_in_the_model_dir_first(tmp_path, monkeypatch):
    path = tmp_path / "m"
    make_dir(path)
    (path / "mine.npz").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    settings = scoring.score_settings()
    config = {"dataset": {"name": "dsprites", "path": "mine.npz", "params": {"sprite_size": 0.3}}}
    assert scoring._dataset_source(path, config, settings) == ("dsprites", path / "mine.npz", {"sprite_size": 0.3})
    config = {"dataset": {"name": "shapes3d", "path": None, "params": {"path": "elsewhere.h5"}}}
    assert scoring._dataset_source(path, config, settings) == ("shapes3d", scoring.Path("elsewhere.h5"), {})


def test_params_of_a_data_set_outside_the_allow_list_never_reach_the_sampler(tmp_path, monkeypatch):
    import dismetrics.data as data

    seen = []
    monkeypatch.setattr(data, "get_sampler", lambda name=None, path=None, **kw: seen.append((name, path, kw)) or 1 / 0)
    path = tmp_path / "m"
    make_dir(path)
    (path / "encoder.npz").write_bytes(b"x")
    config = {**modeldir.read_config(path), "dataset": {"name": "mpi3d_toy", "path": "/data/m.npz",
                                                         "params": {"noise": 1, "path": "/data/m.npz"}}}
    modeldir.validate_config(config)
    assert scoring._dataset_source(path, config, scoring.score_settings()) == ("mpi3d_toy", scoring.Path("/data/m.npz"), {})
    with pytest.raises(ZeroDivisionError):
        scoring._sampler_for(path, config, scoring.score_settings())
    assert seen == [("mpi3d_toy", "/data/m.npz", {})]


# ---- forged or stale scores.json -------------------------------------------------------------------
def test_a_hand_edited_entry_is_detected_and_rescored(tmp_path, capsys):
    path = make_dir(tmp_path / "m", noise=1.0)
    true_value = score_model_dir(path, metrics=["mig"]).rows[0]["value"]
    forged = document(path)
    for entry in forged["entries"].values():
        entry["rows"][0]["value"] = 1.0
    forged["rows"][0]["value"] = 1.0
    open(os.path.join(path, "scores.json"), "w").write(json.dumps(forged))
    out = tmp_path / "out.csv"
    assert main(["score", "--model-dir", path, "--metrics", "mig", "--out", str(out), "--quiet"]) == 0
    assert pd.read_csv(out)["value"].iloc[0] == pytest.approx(true_value, abs=1e-12) != 1.0
    err = capsys.readouterr().err
    assert "fails its checksum" in err and path in err
    assert score_model_dir(path, metrics=["mig"]).status == "skipped"  # the rewritten entry is intact


def test_a_format_1_scores_json_is_never_trusted(tmp_path):
    path = make_dir(tmp_path / "m", noise=1.0)
    settings = scoring.score_settings(metrics=["mig"])
    legacy = {"model_dir": path, "settings": settings, "settings_key": scoring._settings_key(settings), "config": None,
              "rows": [{"metric": "mig", "value": 1.0, "repeat": 0, "seed": 0, "seconds": 0.0, "error": ""}]}
    open(os.path.join(path, "scores.json"), "w").write(json.dumps(legacy))
    outcome = score_model_dir(path, metrics=["mig"])
    assert outcome.status == "scored" and outcome.rows[0]["value"] != 1.0
    assert any("older dismetrics" in note for note in outcome.notes)
    assert document(path)["format"] == scoring.SCORES_FORMAT


def test_entries_of_other_settings_are_kept(tmp_path):
    path = make_dir(tmp_path / "m")
    a = score_model_dir(path, metrics=["mig"], random_state=0)
    b = score_model_dir(path, metrics=["mig", "modularity"], random_state=1)
    assert len(document(path)["entries"]) == 2
    assert score_model_dir(path, metrics=["mig"], random_state=0).rows == a.rows
    assert score_model_dir(path, metrics=["mig", "modularity"], random_state=1).status == "skipped"
    assert document(path)["latest"] == scoring._settings_key(scoring.score_settings(metrics=["mig", "modularity"], random_state=1))
    assert document(path)["rows"] == b.rows  # format-1 readers (dismetrics report) see the latest entry


def _score_in_child(path, seed, barrier):
    barrier.wait()
    outcome = score_model_dir(path, metrics=["mig", "gaussian_total_correlation"], random_state=seed, repeats=2)
    return outcome.status


def _child(path, seed, barrier, queue):
    queue.put(_score_in_child(path, seed, barrier))


def test_concurrent_runs_with_different_settings_both_keep_their_results(tmp_path):
    path = make_dir(tmp_path / "m", n=300)
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    children = [context.Process(target=_child, args=(path, seed, barrier, queue)) for seed in (0, 1)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    assert sorted(queue.get(timeout=5) for _ in children) == ["scored", "scored"]
    assert len(document(path)["entries"]) == 2
    for seed in (0, 1):  # both entries intact: reused
        assert score_model_dir(path, metrics=["mig", "gaussian_total_correlation"], random_state=seed, repeats=2).status == "skipped"


def test_the_read_merge_write_waits_for_the_lock(tmp_path):
    import fcntl

    path = make_dir(tmp_path / "m")
    score_model_dir(path, metrics=["mig"], random_state=0)
    holder = os.open(os.path.join(path, scoring.LOCK_FILE), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (score_model_dir(path, metrics=["mig"], seed=1), done.set()))
    thread.start()
    try:
        assert not done.wait(1.0)  # scored, but the write waits for the lock
        assert len(document(path)["entries"]) == 1
    finally:
        os.close(holder)
    thread.join(30)
    assert done.is_set() and len(document(path)["entries"]) == 2


def test_a_lock_file_symlink_is_not_followed(tmp_path):
    path = make_dir(tmp_path / "m")
    target = tmp_path / "created_elsewhere"
    os.symlink(target, os.path.join(path, scoring.LOCK_FILE))
    outcome = score_model_dir(path, metrics=["mig"])
    assert outcome.status == "scored" and outcome.write_error and not target.exists()


# ---- --representation ------------------------------------------------------------------------------
TRAP = "import pathlib\npathlib.Path({marker!r}).write_text('imported')\ndef check(x):\n    return x\n"


def test_representation_modules_are_not_imported_from_the_current_directory(tmp_path, monkeypatch):
    marker = tmp_path / "trap_imported"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "tabnanny.py").write_text(TRAP.format(marker=str(marker)))  # shadows a stdlib module
    (cwd / "mine_only_here.py").write_text(TRAP.format(marker=str(marker)))
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "path", ["", str(cwd)] + sys.path)  # what python -m puts first
    monkeypatch.delitem(sys.modules, "tabnanny", raising=False)
    function = load_callable("tabnanny:check")
    assert sys.modules["tabnanny"].__file__ != str(cwd / "tabnanny.py")
    with pytest.raises(ValueError, match="current directory is not searched"):
        load_callable("mine_only_here:check")
    assert not marker.exists() and callable(function)
    assert sys.path[:2] == ["", str(cwd)]  # restored
    # named as a file, the user's own code is loaded
    assert load_callable("./mine_only_here.py:check")(3) == 3 and marker.exists()


def test_python_m_dismetrics_does_not_import_a_trap_from_cwd(tmp_path):
    marker = tmp_path / "trap_imported"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "tabnanny.py").write_text(TRAP.format(marker=str(marker)))
    path = make_dir(tmp_path / "m")
    completed = subprocess.run([sys.executable, "-m", "dismetrics", "score", "--model-dir", path, "--representation",
                                "tabnanny:nope", "--dataset", "dsprites", "--metrics", "mig", "--quiet"],
                               cwd=cwd, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "PYTHONPATH": ""})
    assert completed.returncode == 2, completed.stderr
    assert "has no attribute 'nope'" in completed.stderr and not marker.exists()
    assert "Traceback" not in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


def test_representation_as_a_file_scores_and_is_stored_with_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    code = tmp_path / "rep.py"
    code.write_text("import numpy as np\ndef encode(x):\n    x = np.asarray(x, float).reshape(len(x), 8, 8, 8, 8)\n"
                    "    return x.mean(axis=(2, 4)).reshape(len(x), -1)[:, :6]\n")
    path = make_dir(tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    outcome = score_model_dir(path, metrics=["mig"], representation="rep.py:encode", dataset="dsprites", n=200, n_test=100)
    assert outcome.status == "scored", outcome.reason
    entry = document(path)["entries"][document(path)["latest"]]
    assert entry["settings"]["representation"] == f"{code}:encode"
    assert f"representation {code}" in entry["inputs"]
    code.write_text(code.read_text() + "\n# changed\n")
    again = score_model_dir(path, metrics=["mig"], representation="rep.py:encode", dataset="dsprites", n=200, n_test=100)
    assert again.status == "scored" and any("rep.py" in note for note in again.notes)


def test_config_dataset_params_that_would_write_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "rep.py").write_text("import numpy as np\ndef encode(x):\n    return np.asarray(x, float).reshape(len(x), -1)[:, :4]\n")
    path = make_dir(tmp_path / "m")
    outside = tmp_path / "outside" / "cache"
    config = {**modeldir.read_config(path), "dataset": {"name": "dsprites", "params": {"cache_dir": str(outside)}}}
    (tmp_path / "m" / "dismetrics.json").write_text(json.dumps(config))
    outcome = score_model_dir(path, metrics=["mig"], representation=str(tmp_path / "rep.py:encode"), n=200, n_test=100)
    assert outcome.status == "failed" and "dataset.params.cache_dir" in outcome.reason
    assert not (tmp_path / "outside").exists()


# ---- trust_model_code plumbing -------------------------------------------------------------------
def test_trust_model_code_reaches_as_representation_and_is_not_a_setting(tmp_path, monkeypatch):
    import dismetrics.representation as representation

    path = make_dir(tmp_path / "m")
    (tmp_path / "m" / "encoder.npz").write_bytes(b"x")
    calls = []

    def fake(target, **kwargs):
        calls.append(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(representation, "as_representation", fake)
    for trust in (False, True):
        outcome = score_model_dir(path, metrics=["mig"], dataset="dsprites", trust_model_code=trust)
        assert outcome.status == "failed" and "stop here" in outcome.reason
    assert [c.get("trust_model_code", False) for c in calls] == [False, True]
    seen = {}
    monkeypatch.setattr(scoring, "score_model_dirs", lambda dirs, **kw: seen.update(kw) or [])
    assert main(["score", "--model-dir", path, "--trust-model-code", "--quiet"]) == 0
    assert seen["trust_model_code"] is True
    assert "trust_model_code" not in scoring.score_settings()


# ---- exit status and messages --------------------------------------------------------------------
def test_quiet_still_reports_failures_on_stderr(tmp_path, capsys):
    good = make_dir(tmp_path / "good")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dismetrics.json").write_text("{not json")
    assert main(["score", "--model-dir", good, "--model-dir", str(broken), "--metrics", "mig", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "FAILED" in lines[0] and str(broken) in lines[0] and "not valid JSON" in lines[0]
    assert main(["score", "--model-dir", good, "--metrics", "mig,nope", "--quiet"]) == 2
    assert "unknown metric(s) ['nope']" in capsys.readouterr().err
    assert main(["score", "--model-dir", good, "--exclude", "nope", "--quiet"]) == 2
    assert "--exclude" in capsys.readouterr().err


@pytest.mark.parametrize("codes", [np.full((200, 3), np.nan), np.ones((200, 3))])
def test_metric_errors_make_the_exit_status_non_zero(tmp_path, capsys, codes):
    bad = make_dir(tmp_path / "bad", codes=codes)
    out = tmp_path / "out.csv"
    assert main(["score", "--model-dir", bad, "--metrics", "mig,gaussian_total_correlation", "--repeats", "2",
                 "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("dismetrics score: ERROR") and bad in line for line in err)
    assert any("gaussian_total_correlation (2 of 2 repeats)" in line for line in err)
    table = pd.read_csv(out)
    assert (table.error.fillna("") != "").any()
    # a skipped dir with error rows fails the same way on the next run
    assert main(["score", "--model-dir", bad, "--metrics", "mig,gaussian_total_correlation", "--repeats", "2", "--quiet"]) == 1


@pytest.mark.parametrize("bad_config, key", [({"hyperparameters": [1]}, "hyperparameters"), ({"model": ["beta_vae"]}, "model")])
def test_a_bad_config_fails_its_dir_and_the_table_is_still_written(tmp_path, capsys, bad_config, key):
    good = make_dir(tmp_path / "good")
    bad = make_dir(tmp_path / "bad")
    (tmp_path / "bad" / "dismetrics.json").write_text(json.dumps({**modeldir.read_config(bad), **bad_config}))
    rows_string = make_dir(tmp_path / "rows_string")
    open(os.path.join(rows_string, "scores.json"), "w").write(json.dumps({"format": 2, "entries": {"x": {"rows": "mig"}}}))
    out = tmp_path / "out.json"
    assert main(["score", "--model-dir", good, "--model-dir", bad, "--model-dir", rows_string, "--metrics", "mig",
                 "--out", str(out)]) == 1
    table = pd.read_json(out)
    assert set(table.model_dir) == {good, bad, rows_string}
    failed = table[table.model_dir == bad]
    assert len(failed) == 1 and f"'{key}'" in failed.error.iloc[0] and failed.metric.isna().all()
    assert table[table.model_dir == good].value.notna().all() and table[table.model_dir == rows_string].value.notna().all()
    assert "FAILED" in capsys.readouterr().err


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_dask_connection_errors_are_one_line_and_quick(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(scoring, "DASK_CONNECT_TIMEOUT", 1.0)
    path = make_dir(tmp_path / "m")
    for address in (f"tcp://127.0.0.1:{_closed_port()}", "tcp://127.0.0.1:notaport", "not an address"):
        # (bounded by DASK_CONNECT_TIMEOUT rather than distributed's 30 s default; tests assert no wall-clock time)
        with pytest.raises(SchedulerError, match="cannot connect to the Dask scheduler"):
            score_model_dirs([path], metrics=["mig"], dask_scheduler=address)
        assert main(["score", "--model-dir", path, "--metrics", "mig", "--dask-scheduler", address, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "Dask scheduler" in err
    assert not os.path.exists(os.path.join(path, "scores.json"))


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
def test_scores_json_and_out_respect_the_umask(tmp_path):
    path = make_dir(tmp_path / "m")
    previous = os.umask(0o002)
    try:
        assert main(["score", "--model-dir", path, "--metrics", "mig", "--out", str(tmp_path / "o.csv"), "--quiet"]) == 0
    finally:
        os.umask(previous)
    for name in (os.path.join(path, "scores.json"), os.path.join(path, scoring.LOCK_FILE), str(tmp_path / "o.csv")):
        assert os.stat(name).st_mode & 0o777 == 0o664, name


def test_a_dir_that_cannot_be_written_keeps_its_rows_in_out(tmp_path, capsys, monkeypatch):
    good, locked = make_dir(tmp_path / "good"), make_dir(tmp_path / "locked")
    real = scoring.atomic_write_text

    def refuse(target, text):
        if str(target).startswith(locked):
            raise PermissionError(13, "Permission denied", str(target))
        return real(target, text)

    monkeypatch.setattr(scoring, "atomic_write_text", refuse)
    out = tmp_path / "out.csv"
    assert main(["score", "--model-dir", good, "--model-dir", locked, "--metrics", "mig", "--out", str(out), "--quiet"]) == 1
    table = pd.read_csv(out)
    assert table[table.model_dir == locked].value.notna().all() and set(table.model_dir) == {good, locked}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NOT SAVED" in err[0] and locked in err[0] and "in --out only" in err[0]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only dirs")
def test_a_read_only_dir_keeps_its_rows_in_out(tmp_path, capsys):
    locked = make_dir(tmp_path / "locked")
    os.chmod(locked, 0o555)
    try:
        out = tmp_path / "out.csv"
        assert main(["score", "--model-dir", locked, "--metrics", "mig", "--out", str(out), "--quiet"]) == 1
        assert pd.read_csv(out).value.notna().all() and "NOT SAVED" in capsys.readouterr().err
    finally:
        os.chmod(locked, 0o755)


def test_a_worker_that_dies_fails_its_dirs_instead_of_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "die.py").write_text("import multiprocessing, os\nif multiprocessing.current_process().name != 'MainProcess':\n"
                                     "    os._exit(3)\ndef encode(x):\n    return x\n")
    paths = [make_dir(tmp_path / f"m{i}", seed=i) for i in range(2)]
    outcomes = score_model_dirs(paths, jobs=2, metrics=["mig"], representation=str(tmp_path / "die.py:encode"),
                                dataset="dsprites", n=100, n_test=50)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert all("worker process" in o.reason for o in outcomes)
    table = scoring.scores_table(outcomes)
    assert list(table.model_dir) == paths and table.error.str.contains("worker process").all()

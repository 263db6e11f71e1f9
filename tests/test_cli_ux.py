"""The shell as a new user meets it: unknown names refused once, before any work, with the closest
names suggested; a failed dir reported when it fails, once; Ctrl-C stops the workers and exits 130 with
one line, leaving every finished scores.json intact; the demo's sizes, options and progress bar."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dismetrics import modeldir
from dismetrics.cli import DEMO_N, DEMO_PARAMS, main, run_demo, suggest
from dismetrics.scoring import score_model_dirs

SIZES = (3, 6, 10)


def make_dir(path, seed=0, n=200):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(n, 3))
    os.makedirs(path, exist_ok=True)
    modeldir.write_config(str(path), {"model": "beta_vae", "hyperparameters": {"beta": 4.0}, "dataset": {"name": "toy"},
                                      "seed": seed, "steps": 0, "latent_dim": 3})
    modeldir.write_codes(str(path), factors / np.array(SIZES) + 0.1 * rng.normal(size=(n, 3)), factors)
    return str(path)


def test_suggestions():
    known = ["mig", "dci", "factor_vae", "gaussian_total_correlation", "beta_vae"]
    assert suggest("migg", known) == ["mig"]
    assert suggest("FACTOR-VAE", known) == ["factor_vae"]
    assert suggest("gaussian", known) == ["gaussian_total_correlation"]
    assert suggest("zzz", known) == []


@pytest.mark.parametrize("option, value, expected", [
    ("--metrics", "mig,migg", "'migg': did you mean 'mig'"),
    ("--exclude", "dcii", "'dcii': did you mean 'dci'"),
    ("--metric-params", '{"factorvae": {"n_train": 10}}', "'factorvae': did you mean 'factor_vae'"),
    ("--dataset", "dsprite", "'dsprite': did you mean 'dsprites'"),
])
def test_unknown_names_are_refused_once_before_any_work_with_a_suggestion(tmp_path, capsys, option, value, expected):
    dirs = [make_dir(tmp_path / f"m{i}", seed=i) for i in range(2)]
    argv = ["score", "--model-dir", dirs[0], "--model-dir", dirs[1], option, value]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in captured.err, captured.err
    assert captured.out == ""
    assert not any(os.path.exists(os.path.join(d, "scores.json")) for d in dirs)  # nothing was scored


def test_demo_refuses_unknown_metrics_with_a_suggestion():
    with pytest.raises(SystemExit, match="did you mean 'mig'"):
        run_demo(n=100, metrics=["migg"], out=io.StringIO())


def test_a_failed_dir_is_reported_when_it_fails_and_only_once(tmp_path, capsys):
    missing, good = str(tmp_path / "missing"), make_dir(tmp_path / "good")
    seen = []

    def record(outcome):
        seen.append((outcome.model_dir, outcome.status, os.path.exists(os.path.join(good, "scores.json"))))

    outcomes = score_model_dirs([missing, good], metrics=["mig"], on_outcome=record)
    assert [o.status for o in outcomes] == ["failed", "scored"]
    assert seen[0] == (missing, "failed", False)  # reported before the next dir was scored
    assert main(["score", "--model-dir", missing, "--model-dir", good, "--metrics", "mig", "--force"]) == 1
    err = capsys.readouterr().err
    assert err.count("FAILED") == 1 and missing in err


SLOW_ENCODER = textwrap.dedent("""
    import glob, os, time
    import numpy as np

    def encode(x):
        # the first dirs finish; once any scores.json exists, every later dir hangs (until Ctrl-C)
        if glob.glob(os.path.join(os.environ["SLOW_ROOT"], "*", "scores.json")):
            time.sleep(300)
        x = np.asarray(x, dtype=float).reshape(len(x), -1)
        rng = np.random.default_rng(len(x))
        return np.c_[x.mean(axis=1), rng.normal(size=(len(x), 2))]
""")


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_stops_the_workers_and_exits_130_with_one_line(tmp_path, jobs):
    root = tmp_path / "runs"
    dirs = [make_dir(root / f"m{i}", seed=i) for i in range(4)]
    (tmp_path / "slow.py").write_text(SLOW_ENCODER)
    env = {**os.environ, "SLOW_ROOT": str(root), "DISMETRICS_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "dismetrics", "score", "--representation", f"{tmp_path / 'slow.py'}:encode",
            "--dataset", "dsprites", "--metrics", "mig", "--n", "60", "--n-test", "30", "--jobs", str(jobs)]
    for d in dirs:
        argv += ["--model-dir", d]
    # a session of its own: Ctrl-C in a terminal signals the whole process group, workers included
    # SIGINT at its default in the child, as under a terminal: a test run started in the background
    # (`cmd &` in a script) ignores SIGINT, and an ignored signal is inherited through exec
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 180
        while not any(os.path.exists(os.path.join(d, "scores.json")) for d in dirs):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no dir finished"
            time.sleep(0.1)
        time.sleep(0.5)  # let the next dir start (and hang)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "KeyboardInterrupt" not in err, err
    finished = [d for d in dirs if os.path.exists(os.path.join(d, "scores.json"))]
    assert lines[0] == f"interrupted: {len(finished)} of 4 dirs scored; their scores.json are intact"
    assert 1 <= len(finished) < 4
    for d in finished:
        document = json.loads(open(os.path.join(d, "scores.json")).read())
        assert document["rows"] and document["rows"][0]["metric"] == "mig"
    # no worker left behind: the whole session is gone
    for _ in range(100):
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("a worker outlived the interrupted run")


def test_demo_names_its_sizes_and_options_and_draws_a_bar_only_when_asked(capsys):
    buffer = io.StringIO()
    run_demo(n=300, metrics=["mig", "dci", "infom", "infoc"], out=buffer, progress=None)
    text = buffer.getvalue()
    assert "n = 300 points" in text and "--n 10000" in text and "dci: n_estimators=30" in text
    assert "computed together" in text and text.rstrip().splitlines()[-1].startswith("total ")
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no bar
    run_demo(n=300, metrics=["mig"], out=io.StringIO(), progress=True)
    assert "demo" in capsys.readouterr().err
    assert DEMO_N == 2_000 and set(DEMO_PARAMS) == {"explicitness", "dci", "infoe"}

"""Metrics during training: the monitor leaves training alone (bit-identical weights with and without
evaluation), returns a row per metric, and `dismetrics train --eval-every N` writes metric columns that
the training-curve figures draw."""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from toy_images import SIZES, tiny_sampler  # noqa: E402
from dismetrics.monitor import TrainingMonitor, preserve_training_state  # noqa: E402
from dismetrics.training_curves import plot_training_curves, read_metric_curves, report_figures  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(batch_size=8, heldout_size=16, log_every=2, progress=False, lr=1e-3, tc_log_every=0)
EVAL = dict(eval_metrics=["mig", "dci"], eval_n=64, eval_n_test=32)


class TinyEncoder(torch.nn.Module):
    """(n, 1, 64, 64) -> (mean, logvar) with a dropout and a batch norm (which eval mode changes)."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.AvgPool2d(16), torch.nn.Flatten(), torch.nn.Linear(16, 8),
                                       torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 6))

    def forward(self, x):
        out = self.net(x)
        return out[:, :3], out[:, 3:]


# ---- the bit-identical-weights test ------------------------------------------------------------------
def test_evaluation_every_n_steps_leaves_the_weights_bit_identical(tmp_path):
    from dismetrics_models import train

    n = 2
    train("factor_vae", tiny_sampler(), steps=2 * n, seed=3, out=tmp_path / "plain", **FAST)
    train("factor_vae", tiny_sampler(), steps=2 * n, seed=3, out=tmp_path / "eval", eval_every=n, **EVAL, **FAST)
    plain = torch.load(tmp_path / "plain" / "checkpoint.pt", weights_only=True)
    watched = torch.load(tmp_path / "eval" / "checkpoint.pt", weights_only=True)
    assert plain["model"].keys() == watched["model"].keys()
    for name, tensor in plain["model"].items():  # every weight tensor, bit for bit
        assert torch.equal(tensor, watched["model"][name]), name
    assert torch.equal(plain["rng"]["torch_cpu"], watched["rng"]["torch_cpu"])
    for a, b in zip(plain["optimizer"]["state"].values(), watched["optimizer"]["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in ("exp_avg", "exp_avg_sq"))
    assert torch.get_num_threads() == 1  # numba's OpenMP start-up did not leak into torch
    # the train log has the metric columns, values on steps N and 2N only
    with open(tmp_path / "eval" / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"]
    assert {"eval_mig", "eval_dci"} <= set(rows[0])
    assert [r["eval_mig"] == "nan" for r in rows] == [True, False, True, False]
    assert 0 <= float(rows[1]["eval_mig"]) <= 1 and 0 <= float(rows[3]["eval_dci"]) <= 1
    with open(tmp_path / "eval" / "eval_log.csv", newline="") as handle:
        logged = list(csv.DictReader(handle))
    assert [(r["step"], r["metric"]) for r in logged] == [("2", "mig"), ("2", "dci"), ("4", "mig"), ("4", "dci")]
    assert abs(float(logged[2]["value"]) - float(rows[3]["eval_mig"])) < 1e-6


# ---- the monitor itself ----------------------------------------------------------------------------------
def test_monitor_restores_modes_and_random_states_and_returns_a_row_per_metric():
    torch.manual_seed(0)
    encoder = TinyEncoder()
    encoder.net[3].eval()  # a submodule the user froze stays frozen
    monitor = TrainingMonitor(tiny_sampler(), ["mig", "modularity", "gaussian_total_correlation"], every=5, n=60, n_test=30)
    torch_state, numpy_state, python_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    running_mean = encoder.net[3].running_mean.clone()
    assert monitor(4, encoder) == []
    rows = monitor(5, encoder)
    assert [r["metric"] for r in rows] == ["mig", "modularity", "gaussian_total_correlation"]
    assert all(r["step"] == 5 and np.isfinite(r["value"]) and r["error"] == "" for r in rows)
    assert encoder.training and not encoder.net[3].training and encoder.net[4].training
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1]) and random.getstate() == python_state
    assert torch.equal(encoder.net[3].running_mean, running_mean)
    assert all(p.grad is None for p in encoder.parameters())
    # the same points every time: an unchanged encoder gives the same values at another step
    again = monitor.evaluate(encoder, step=10)
    assert [r["value"] for r in again] == [r["value"] for r in rows]
    frame = monitor.to_frame()
    assert list(frame.columns[:5]) == ["step", "metric", "value", "seconds", "error"] and len(frame) == 6
    assert monitor.latest()["mig"] == rows[0]["value"]


def test_monitor_reports_failing_metrics_and_bad_arguments():
    collapsed = lambda x: np.zeros((len(x), 3))  # noqa: E731 - a constant code: the metrics reject it or give 0
    monitor = TrainingMonitor(tiny_sampler(), ["mig_sup"], every=1, n=40, n_test=20)
    row = monitor(1, collapsed)[0]
    assert row["metric"] == "mig_sup" and (row["error"] or row["value"] == 0)
    with pytest.raises(ValueError, match="unknown metric"):
        TrainingMonitor(tiny_sampler(), ["nope"])
    with pytest.raises(ValueError, match="every"):
        TrainingMonitor(tiny_sampler(), every=0)
    with pytest.raises(ValueError, match="does not compute"):
        TrainingMonitor(tiny_sampler(), ["mig"], metric_params={"dci": {}})
    with pytest.raises(ValueError, match="sampler"):
        TrainingMonitor(object())


def test_preserve_training_state_restores_on_error():
    encoder = TinyEncoder()
    state = torch.get_rng_state()
    with pytest.raises(RuntimeError):
        with preserve_training_state(encoder):
            assert not encoder.training
            torch.rand(3)
            raise RuntimeError
    assert encoder.training and torch.equal(torch.get_rng_state(), state)


# ---- the command line and the curves -----------------------------------------------------------------
def test_cli_eval_every_writes_metric_columns_and_the_curves_are_drawn(tmp_path, monkeypatch):
    from dismetrics_models import cli

    monkeypatch.setattr("dismetrics_models.engine.resolve_dataset", lambda dataset, path=None: (tiny_sampler(), {
        "name": "squares", "path": None, "params": {}, "factor_names": ["x", "y", "size"], "factor_sizes": SIZES,
        "observation_shape": [64, 64, 1]}))
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"run{seed}"
        assert cli.main(["--dataset", "squares", "--steps", "3", "--batch-size", "8", "--seed", str(seed), "--out", str(out),
                         "--heldout-size", "8", "--log-every", "1", "--tc-log-every", "0", "--set", "lr=0.001",
                         "--eval-every", "2", "--eval-metrics", "mig,modularity", "--eval-n", "48", "--eval-n-test", "16",
                         "--no-progress"]) == 0
        runs.append(out)
    curves = read_metric_curves(runs)
    assert set(curves["metric"]) == {"mig", "modularity"}
    assert sorted(set(curves["step"])) == [2, 3]  # every 2 steps, and the last step
    path = plot_training_curves(runs, tmp_path / "figs")
    assert path.stat().st_size > 1000
    import pandas as pd

    table = pd.DataFrame({"model_dir": [str(r) for r in runs], "metric": "mig", "value": 0.5})
    figures = report_figures(table, tmp_path / "report")
    assert figures and figures[0][0] == "training_curves.png" and "mig" in figures[0][1]
    assert report_figures(pd.DataFrame({"model_dir": [str(tmp_path)]}), tmp_path / "none") == []


def test_report_draws_the_training_curves(tmp_path):
    """``dismetrics report`` on a score table of model dirs trained with --eval-every draws the curve."""
    from dismetrics import report

    run = tmp_path / "run"
    run.mkdir()
    (run / "train_log.csv").write_text("step,loss,eval_mig,steps_per_second\n1,3.0,nan,1.0\n2,2.0,0.1,1.0\n4,1.0,0.3,1.0\n")
    scores = tmp_path / "scores.csv"
    scores.write_text(f"model_dir,metric,value\n{run},mig,0.3\n")
    index = report.write_report([scores], tmp_path / "report")
    assert (tmp_path / "report" / "training_curves.png").exists() and "training_curves.png" in index.read_text()

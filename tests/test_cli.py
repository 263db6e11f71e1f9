"""The shell face: version, metric list, the demo table."""

import io
import subprocess
import sys

import pytest

from dismetrics import __version__
from dismetrics.cli import main, run_demo


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_metrics_lists_every_registered_metric(capsys):
    from dismetrics.metrics import SAMPLE_METRICS, UNSUPERVISED_METRICS

    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    for name in list(SAMPLE_METRICS) + list(UNSUPERVISED_METRICS):
        assert name in out


def test_demo_table_orders_the_synthetic_representations():
    buffer = io.StringIO()
    table = run_demo(n=3000, seed=1, metrics=["mig", "modularity", "gaussian_total_correlation"], out=buffer)
    assert table["mig"]["perfect"] > table["mig"]["rotated"] > table["mig"]["noise"]
    assert table["mig"]["duplicated"] < 0.05
    assert table["gaussian_total_correlation"]["duplicated"] > table["gaussian_total_correlation"]["perfect"]
    text = buffer.getvalue()
    assert "perfect" in text and "mig" in text and "seconds" in text


def test_demo_rejects_unknown_metric():
    with pytest.raises(SystemExit, match="unknown metric"):
        run_demo(n=100, metrics=["nope"], out=io.StringIO())


def test_module_entry_point_runs():
    completed = subprocess.run([sys.executable, "-m", "dismetrics", "demo", "--n", "500", "--metrics", "mig"],
                               capture_output=True, text=True, check=True)
    assert "mig" in completed.stdout


def test_datasets_lists_every_data_set_and_its_factors(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("dsprites", "shapes3d", "mpi3d", "smallnorb", "cars3d"):
        assert name in out
    assert "orientation=40" in out and "dsprites   found" in out


def test_datasets_path_is_checked(tmp_path, capsys):
    present = tmp_path / "3dshapes.h5"
    present.write_bytes(b"")
    assert main(["datasets", "--path", f"shapes3d={present}"]) == 0
    assert "shapes3d   found" in capsys.readouterr().out
    assert main(["datasets", "--path", "shapes3d"]) == 2
    assert main(["datasets", "render", "shapes3d"]) == 2

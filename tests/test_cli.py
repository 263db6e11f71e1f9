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


def test_score_usage_errors_exit_2_with_one_line(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("def encode(x:\n")
    cases = [(["--jobs", "0"], "--jobs"), (["--out", "x.txt"], "--out"), (["--metrics", "mig,nope"], "unknown metric"),
             (["--representation", "nocolon"], "--representation"),
             (["--representation", f"{tmp_path / 'broken.py'}:encode"], "SyntaxError"),
             (["--representation", f"{tmp_path / 'absent.py'}:encode"], "no file")]
    for extra, message in cases:
        assert main(["score", "--model-dir", str(tmp_path), "--quiet", *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (extra, err)


def test_score_has_the_trust_flag_and_documents_quiet():
    from dismetrics.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["score", "--model-dir", "d", "--trust-model-code"])
    assert args.trust_model_code is True
    assert parser.parse_args(["score", "--model-dir", "d"]).trust_model_code is False
    help_text = " ".join(parser._subparsers._group_actions[0].choices["score"].format_help().split())
    assert "arbitrary Python" in help_text and "failures are still printed" in help_text

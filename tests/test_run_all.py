"""benchmarks/run_all.py: the RESULTS.md it writes, and the rows it derives from each benchmark's measurements."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import run_all  # noqa: E402


def test_quick_run_writes_a_table_row_per_result(tmp_path):
    out = tmp_path / "RESULTS.md"
    rows = run_all.main(["--quick", "--only", "info_metrics", "--out", str(out)])
    assert {row["benchmark"] for row in rows} == {"mig n=10000", "modularity n=10000"}
    for row in rows:
        assert row["ours_s"] > 0 and row["reference_s"] > 0
        assert row["ratio"] == pytest.approx(row["reference_s"] / row["ours_s"])
    text = out.read_text()
    assert "`python benchmarks/run_all.py --quick --only info_metrics --out " in text
    assert "Load average (1, 5, 15 min)" in text and "after info_metrics" in text
    table = [line for line in text.splitlines() if line.startswith("| mig n=10000 |")]
    assert len(table) == 1 and f"{rows[0]['ratio']:.1f}" in table[0]


def test_markdown_leaves_out_benchmarks_that_printed_nothing():
    rows = [{"benchmark": "x", "ours_s": 0.5, "reference_s": 2.0, "ratio": 4.0, "note": "n"}]
    text = run_all.markdown(rows, {"silent": "  \n", "loud": "hello\n"}, "cmd", "0.1, 0.2, 0.3")
    assert "| x | 0.5 | 2 | 4.0 | n |" in text
    assert "### loud" in text and "hello" in text
    assert "### silent" not in text


def test_dsprites_rows_are_seconds_per_batch_and_rate_ratios(monkeypatch):
    import bench_dsprites_render

    fake = {"render_s": 80.0, "rendered": True, "size_mb": 377.0, "path": "p", "reopen_s": 0.01,
            "on_the_fly": 50.0, "cached": 400.0, "gather": 1000.0}
    monkeypatch.setattr(bench_dsprites_render, "measure", lambda directory, batches: fake)
    cached, gather = run_all.dsprites_render(quick=True)
    assert cached["ours_s"] == pytest.approx(1 / 400) and cached["reference_s"] == pytest.approx(1 / 50)
    assert cached["ratio"] == pytest.approx(8.0) and "80 s" in cached["note"]
    assert gather["ratio"] == pytest.approx(20.0)


def test_train_rows_count_a_second_batch_against_the_pipeline(monkeypatch):
    import bench_train

    fake = {"data": "dsprites", "grid": [3], "device": "cpu", "render": 10.0, "fast": 100.0, "fast_on_device": False,
            "models": {"beta_vae": {"steps_per_s": 5.0, "batches_per_step": 1},
                       "factor_vae": {"steps_per_s": 5.0, "batches_per_step": 2}}}
    monkeypatch.setattr(bench_train, "measure", lambda models, **kwargs: fake)
    beta, factor = run_all.train(quick=True)
    assert beta["ours_s"] == pytest.approx(0.01) and beta["reference_s"] == pytest.approx(0.2)
    assert beta["ratio"] == pytest.approx(20.0)
    assert factor["ours_s"] == pytest.approx(0.02) and factor["ratio"] == pytest.approx(10.0)

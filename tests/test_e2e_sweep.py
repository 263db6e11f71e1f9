"""benchmarks/e2e: the sweep trains, scores and reports, resumes without redoing work, and publish.py
turns a finished run into the committed table and figures (a tiny budget, a few training steps)."""

import sys
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "e2e"))
import publish  # noqa: E402
import sweep  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"models": ["beta_vae", "beta_tcvae"], "grid": "small", "seeds": [0], "steps": 2,
        "score": {"metrics": ["mig", "modularity", "gaussian_total_correlation"], "n": 300, "n_test": 150, "repeats": 2,
                  "metric_params": {"mig": {"bins": 10}}}}


def test_plan_follows_the_grids():
    small = sweep.plan(sweep.BUDGETS["small"])
    assert [r["name"] for r in small][:2] == ["beta_vae_beta=1_seed0", "beta_vae_beta=8_seed0"]
    assert len(small) == 6
    paper = sweep.plan(sweep.BUDGETS["paper"])
    assert len(paper) == sum(len(sweep.GRIDS[m][2]) for m in sweep.BUDGETS["paper"]["models"]) * 5


def test_sweep_trains_scores_reports_resumes_and_publishes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sweep.BUDGETS, "tiny", TINY)
    out = tmp_path / "sweep"
    assert sweep.main(["--budget", "tiny", "--out", str(out)]) == 0
    scores = pd.read_csv(out / "scores.csv")
    runs = sorted(set(scores["model_dir"].map(lambda p: Path(p).name)))
    assert runs == ["beta_tcvae_beta=1_seed0", "beta_tcvae_beta=8_seed0", "beta_vae_beta=1_seed0", "beta_vae_beta=8_seed0"]
    metrics = set(scores["metric"])
    assert {"mig", "modularity", "gaussian_total_correlation"} <= metrics  # (+ the TC of sampled codes)
    assert len(scores) == 4 * len(metrics) * 2  # runs x metrics x repeats
    assert (out / "report" / "index.html").is_file()
    first = capsys.readouterr().out
    assert first.count("trained 2 steps") == 4

    assert sweep.main(["--budget", "tiny", "--out", str(out)]) == 0  # resumed: nothing trained again
    again = capsys.readouterr().out
    assert again.count("done already") == 4 and "trained" not in again
    assert pd.read_csv(out / "scores.csv")["value"].equals(scores["value"])

    table_out, figures_out = tmp_path / "table", tmp_path / "figures"
    assert publish.main([str(out), "--table-out", str(table_out), "--figures-out", str(figures_out)]) == 0
    summary = (table_out / "summary.md").read_text().splitlines()
    assert summary[0].startswith("| run | recon error | ") and "| mig |" in summary[0]
    assert len(summary) == 2 + 4
    assert any(line.startswith("| beta_tcvae beta=8 |") for line in summary)
    assert (figures_out / "violin_mig.png").is_file()
    # 4 runs: no rank-correlation heatmap (it needs 5 model dirs); the report says so in its place
    assert not any(figures_out.glob("rank_correlation_*.png"))
    assert "No rank-correlation heatmap" in (out / "report" / "index.html").read_text()


def test_publish_without_a_finished_sweep_fails_clearly(tmp_path, capsys):
    assert publish.main([str(tmp_path)]) == 1
    assert "run sweep.py first" in capsys.readouterr().err

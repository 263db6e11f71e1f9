"""The report as a reader of a paper expects it: every metric's direction and natural range, readable
configuration labels in numeric order, axes on the natural range or saying they are zoomed, error bars,
legends, a warning instead of a rank-correlation heatmap that cannot mean anything, a terminal summary
within 100 columns."""

import re

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from dismetrics.evaluate import SAMPLED_SUFFIX, available_metrics  # noqa: E402
from dismetrics.report import (  # noqa: E402
    METRIC_DIRECTIONS,
    METRIC_NAMES,
    METRIC_RANGES,
    MIN_MODELS_FOR_RANK_CORRELATION,
    _levels_plot,
    _y_limits,
    metric_direction,
    metric_name,
    summary_text,
    write_report,
)
from dismetrics.scoring import TABLE_COLUMNS  # noqa: E402


def _table(configs, metrics, seeds=1, repeats=3, random_state=0):
    """A score table: ``configs`` is a list of (model dir, model, beta, steps, recon error, {metric: mean})."""
    rng = np.random.default_rng(random_state)
    rows = []
    for name, model, beta, steps, recon, means in configs:
        for seed in range(seeds):
            model_dir = f"runs/{name}" + (f"_seed{seed}" if seeds > 1 else "")
            for metric in metrics:
                base = means.get(metric, 0.5) + 0.01 * rng.standard_normal()
                for repeat in range(repeats):
                    rows.append({"model_dir": model_dir, "model": model, "dataset": "dsprites", "model_seed": seed,
                                 "regularization": "beta", "regularization_value": beta, "recon_error": recon,
                                 "steps": steps, "metric": metric, "value": base + 0.002 * rng.standard_normal(),
                                 "repeat": repeat, "seed": repeat, "seconds": 0.1, "error": ""})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


QUICKSTART_LIKE = [("beta_vae", "beta_vae", 4.0, 2000, 35.0, {"mig": 0.12, "gaussian_total_correlation": 0.3, "beta_vae": 0.8}),
                   ("untrained", "beta_vae", 4.0, 1, 3000.0, {"mig": 0.01, "gaussian_total_correlation": 0.01, "beta_vae": 0.4})]


def _draw(table, metric):
    fig, ax = plt.subplots()
    _levels_plot(ax, table, metric)
    result = {"labels": [t.get_text() for t in ax.get_xticklabels()], "title": ax.get_title(), "xlabel": ax.get_xlabel(),
              "ylabel": ax.get_ylabel(), "ylim": ax.get_ylim(),
              "bars": [c for c in ax.containers if isinstance(c, ErrorbarContainer)],
              "legend": [t.get_text() for t in ax.get_legend().get_texts()]}
    plt.close(fig)
    return result


def test_every_metric_has_a_direction_a_range_and_a_name():
    kinds = available_metrics()
    names = list(kinds) + [m + SAMPLED_SUFFIX for m, kind in kinds.items() if kind == "unsupervised"]
    for name in names:
        assert METRIC_DIRECTIONS.get(name) in ("higher", "lower"), name
        assert name in METRIC_RANGES and name in METRIC_NAMES, name
    for name in ("gaussian_total_correlation", "gaussian_wasserstein_correlation", "mutual_info_score",
                 "gaussian_total_correlation_sampled"):
        assert metric_direction(name) == "lower" and METRIC_RANGES[name] == (0.0, None)  # unbounded above
    for name in ("mig", "dci", "sap", "beta_vae", "factor_vae", "infoe", "jemmig"):
        assert metric_direction(name) == "higher" and METRIC_RANGES[name] == (0.0, 1.0)
    assert metric_name("beta_vae") == "beta-VAE score"  # the metric, never the model's name


def test_labels_say_model_regularization_and_untrained_in_numeric_order():
    configs = [("b100", "beta_vae", 4.0, 100, 40.0, {}), ("b50", "beta_vae", 4.0, 50, 50.0, {}),
               ("b16", "beta_vae", 16.0, 100, 60.0, {}), ("control", "beta_vae", 4.0, 1, 3000.0, {})]
    drawn = _draw(_table(configs, ["mig"]), "mig")
    assert drawn["labels"] == ["untrained\n(\u03b2-VAE)", "\u03b2-VAE\n\u03b2 = 4\n50 steps", "\u03b2-VAE\n\u03b2 = 4\n100 steps",
                               "\u03b2-VAE\n\u03b2 = 16\n100 steps"]
    assert drawn["xlabel"].startswith("configuration") and "higher is better" in drawn["title"]
    assert drawn["ylabel"] == "MIG \u2191" and len(drawn["bars"]) == 4
    assert any(text.startswith("untrained") for text in drawn["legend"])
    # the metric "beta_vae" is titled by its display name, the model by its own
    beta = _draw(_table(QUICKSTART_LIKE, ["beta_vae"]), "beta_vae")
    assert beta["title"].startswith("beta-VAE score") and beta["labels"][1].startswith("\u03b2-VAE")


def test_axes_use_the_natural_range_or_say_they_are_zoomed():
    assert _y_limits("mig", [0.2, 0.8])[:2] == pytest.approx((-0.03, 1.03))
    bottom, top, note = _y_limits("mig", [0.005, 0.011])
    assert note.startswith("y zoomed in") and bottom >= -0.03 and top < 0.05
    bottom, top, note = _y_limits("gaussian_total_correlation", [0.01, 0.3])  # lower-is-better, unbounded: from 0
    assert note == "" and bottom < 0 < 0.3 < top
    assert "zoomed" in _y_limits("gaussian_total_correlation", [15.0, 15.5])[2]
    configs = [("a", "beta_vae", 1.0, 10, 1.0, {"mig": 0.005}), ("b", "beta_vae", 2.0, 10, 1.0, {"mig": 0.011})]
    drawn = _draw(_table(configs, ["mig"]), "mig")
    assert "zoomed" in drawn["title"]


def test_report_figures_tables_and_the_rank_correlation_warning(tmp_path):
    metrics = ["mig", "gaussian_total_correlation", "beta_vae"]
    path = tmp_path / "quickstart.csv"
    _table(QUICKSTART_LIKE, metrics).to_csv(path, index=False)
    index = write_report([path], tmp_path / "qs")
    page = index.read_text()
    assert not list((tmp_path / "qs").glob("rank_correlation_*.png"))
    assert "class='warning'" in page and "No rank-correlation heatmap" in page and "only \u00b11" in page
    for heading in ("sd eval", "sd seeds", "95% interval", "better", "range"):
        assert f">{heading}<" in page, heading
    assert "\u2193 lower" in page and "\u2191 higher" in page and "0 and up" in page
    for name in ("violin_mig.png", "violin_beta_vae.png", "vs_recon_dsprites.png"):
        assert (tmp_path / "qs" / name).is_file() and f"src='{name}'" in page
    # the warning stands where the heatmap would be: between the per-metric figures and vs_recon
    assert page.index("violin_beta_vae.png") < page.index("No rank-correlation heatmap") < page.index("vs_recon_dsprites.png")

    configs = [(f"m{i}", "beta_vae", float(2 ** i), 1000, 30.0 + i, {"mig": 0.1 * i, "gaussian_total_correlation": 0.5 - 0.05 * i,
                                                                    "beta_vae": 0.5 + 0.05 * i})
               for i in range(MIN_MODELS_FOR_RANK_CORRELATION)]
    path = tmp_path / "sweep.csv"
    _table(configs, metrics).to_csv(path, index=False)
    page = write_report([path], tmp_path / "sweep").read_text()
    assert (tmp_path / "sweep" / "rank_correlation_dsprites.png").is_file() and "No rank-correlation" not in page
    assert "enter negated" in page


def test_metric_against_reconstruction_says_where_better_is(tmp_path, monkeypatch):
    from dismetrics import report

    captured = {}
    real = report._recon_figure

    def keep(*args, **kwargs):
        captured["fig"] = real(*args, **kwargs)
        return captured["fig"]

    monkeypatch.setattr(report, "_recon_figure", keep)
    path = tmp_path / "t.csv"
    _table(QUICKSTART_LIKE, ["mig", "gaussian_total_correlation"]).to_csv(path, index=False)
    write_report([path], tmp_path / "r")
    fig = captured["fig"]
    titles = {ax.get_title() for ax in fig.axes if ax.get_title()}
    assert any(t.startswith("MIG: better \u2196 upper left") for t in titles)
    assert any(t.startswith("Gaussian TC: better \u2199 lower left") for t in titles)
    assert all(len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 2 for ax in fig.axes if ax.get_title())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "untrained (\u03b2-VAE)" in legend and "\u03b2-VAE \u03b2 = 4" in legend
    assert fig.axes[0].get_xscale() == "log"  # 35 vs 3000: the control's error would squash the trained model
    plt.close(fig)


def test_terminal_summary_fits_100_columns():
    metrics = ["mig", "gaussian_wasserstein_correlation_normalized_sampled", "beta_vae", "gaussian_total_correlation"]
    configs = [(f"sweep/a_very_long_model_directory_name_{i:02d}", "beta_vae", float(i + 1), 1000, 30.0,
                {"mig": 0.1 * i, "beta_vae": 0.8}) for i in range(9)]
    table = _table(configs, metrics)
    table.loc[table["metric"] == "gaussian_total_correlation", "value"] *= 1e-5  # a row of tiny numbers
    text = summary_text(table)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].startswith("mean \u00b1 sd over 3 repeats")
    assert sum(line.strip() == "higher is better" for line in lines) == 3  # 9 dirs in blocks
    assert any(re.search(r"MIG\s+0\.\d{3} \u00b1 0\.\d{3}", line) for line in lines)
    assert any(re.search(r"Gaussian TC\s+\d\.\d\de-0\d", line) for line in lines)
    header = [line for line in lines if "_00" in line][0]
    assert "name_00" in header and "sweep/" not in header  # short names: the end of the path
    short = header.split()[0]
    assert f"{short}: runs/sweep/a_very_long_model_directory_name_00" in lines  # and a key to the full one

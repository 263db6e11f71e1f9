"""`dismetrics report` keeps the two noises apart: seeds are points (each with its evaluation interval),
configurations are a mean over seeds with the interval over seeds; the page and its CSVs have both."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from dismetrics.intervals import mean_interval  # noqa: E402
from dismetrics.report import _levels_plot, write_report  # noqa: E402
from dismetrics.scoring import TABLE_COLUMNS  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from make_levels_figure import synthetic_table  # noqa: E402


def _draw(table, metric="mig"):
    fig, ax = plt.subplots()
    _levels_plot(ax, table, metric)
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    bands = [p for p in ax.patches if isinstance(p, Rectangle)]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    return bars, bands, labels, legend


def test_report_of_two_configurations_x_two_seeds_x_two_repeats(tmp_path):
    table = synthetic_table(seeds=2, repeats=2)
    path = tmp_path / "scores.csv"
    table.to_csv(path, index=False)
    index = write_report([path], tmp_path / "report")
    page = index.read_text()
    assert "Per configuration: mean over training seeds" in page and "Per model dir: mean over repeats" in page
    assert "is this method better than that one?" in page and "is this model better than that one?" in page
    assert "violin_mig.png" in page and (index.parent / "violin_mig.png").read_bytes()[:4] == b"\x89PNG"

    models = pd.read_csv(index.parent / "levels_models.csv")
    configs = pd.read_csv(index.parent / "levels_configurations.csv")
    assert len(models) == 4 * 2 and len(configs) == 2 * 2  # (dirs x metrics), (configurations x metrics)
    ok = table[table.metric == "mig"]
    for model_dir, rows in ok.groupby("model_dir"):
        row = models[(models.model_dir == model_dir) & (models.metric == "mig")].iloc[0]
        expected = mean_interval(rows.value.to_numpy())
        assert row["mean"] == pytest.approx(expected.mean) and row["ci_low"] == pytest.approx(expected.low)
    tcvae = configs[(configs.model == "beta_tcvae") & (configs.metric == "mig")].iloc[0]
    seed_means = ok[ok.model == "beta_tcvae"].groupby("model_dir").value.mean().to_numpy()
    expected = mean_interval(seed_means)
    assert tcvae["n_seeds"] == 2 and tcvae["mean"] == pytest.approx(expected.mean)
    assert (tcvae["ci_low"], tcvae["ci_high"]) == pytest.approx((expected.low, expected.high))
    assert tcvae["seed_std"] == pytest.approx(np.std(seed_means, ddof=1)) and (configs.ci_method == "t").all()

    bars, bands, labels, legend = _draw(table)
    assert len(bars) == 4 and len(bands) == 2  # one evaluation interval per model dir, one band per configuration
    assert labels == ["\u03b2-TCVAE\n\u03b2 = 4", "\u03b2-VAE\n\u03b2 = 4"]
    assert any("evaluation interval" in text for text in legend) and any("interval over seeds" in text for text in legend)


def test_one_repeat_and_one_seed_draw_no_interval_and_say_so():
    table = synthetic_table(seeds=1, repeats=1)
    bars, bands, labels, legend = _draw(table)
    assert bars == [] and bands == []
    assert any("one repeat" in text for text in legend) and any("none with 1 seed" in text for text in legend)


def test_labels_name_the_data_set_when_the_table_mixes_them_and_dirs_without_config():
    table = synthetic_table(seeds=2, repeats=2)
    other = table.assign(dataset="shapes3d", model_dir=table.model_dir + "_shapes3d")
    bare = pd.DataFrame([{"model_dir": "runs/plain", "metric": "mig", "value": v, "repeat": i, "error": ""}
                         for i, v in enumerate([0.3, 0.32])]).reindex(columns=TABLE_COLUMNS)
    bare["error"] = ""
    _, bands, labels, _ = _draw(pd.concat([table, other, bare], ignore_index=True))
    assert labels == ["plain", "\u03b2-TCVAE\n\u03b2 = 4\ndsprites", "\u03b2-TCVAE\n\u03b2 = 4\nshapes3d",
                      "\u03b2-VAE\n\u03b2 = 4\ndsprites", "\u03b2-VAE\n\u03b2 = 4\nshapes3d"]
    assert len(bands) == 4  # the dir without a config is a configuration of one seed: no band


def test_report_options_reach_the_tables(tmp_path):
    path = tmp_path / "scores.csv"
    synthetic_table(seeds=3, repeats=3).to_csv(path, index=False)
    index = write_report([path], tmp_path / "report", method="percentile", confidence=0.9)
    assert "90% interval over seeds (percentile)" in index.read_text()
    assert (pd.read_csv(index.parent / "levels_configurations.csv").ci_method == "percentile").all()

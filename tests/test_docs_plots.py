"""docs/make_metric_plots.py writes one PNG per metric of the metric-properties summary."""

import csv
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("make_metric_plots", ROOT / "docs" / "make_metric_plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_summary(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["experiment", "metric", "level", "mean", "std", "count"])
        writer.writerows(rows)


def test_one_png_per_metric_of_the_committed_summary(tmp_path):
    pytest.importorskip("matplotlib")
    script = _load_script()
    with open(script.SUMMARY, newline="") as handle:
        metrics = {row["metric"] for row in csv.DictReader(handle)}
    written = script.main(["--out", str(tmp_path)])
    assert {p.name for p in written} == {f"{m}.png" for m in metrics}
    assert {p.name for p in tmp_path.iterdir()} == {f"{m}.png" for m in metrics}
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image  # matplotlib depends on pillow

    with Image.open(written[0]) as image:
        assert image.size == (script.WIDTH_PX, script.HEIGHT_PX)


def test_reads_levels_sorted_and_missing_std_as_zero(tmp_path):
    script = _load_script()
    summary = tmp_path / "summary.csv"
    _write_summary(summary, [["noise", "a", 1.0, 0.1, "", 1], ["noise", "a", 0.0, 0.9, 0.05, 5],
                             ["rotation", "b", 0.0, 0.5, 0.0, 5]])
    table = script.read_summary(summary)
    assert table == {"a": {"noise": [(0.0, 0.9, 0.05), (1.0, 0.1, 0.0)]}, "b": {"rotation": [(0.0, 0.5, 0.0)]}}
    written = script.main(["--summary", str(summary), "--out", str(tmp_path / "png")])
    assert sorted(p.name for p in written) == ["a.png", "b.png"]

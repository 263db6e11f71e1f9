"""`dismetrics score` / `report` on codes-only model dirs: tables, skipping, failures, atomicity, Dask."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from dismetrics import modeldir
from dismetrics.cli import main
from dismetrics.report import read_scores, write_report
from dismetrics.evaluate import evaluate_codes
from dismetrics.scoring import load_callable, score_model_dir, score_model_dirs, scores_table

FAST = ["mig", "modularity", "gaussian_total_correlation", "mutual_info_score"]
SIZES = (3, 6, 10)


def make_dir(path, seed, noise, model="beta_vae", beta=1.0, with_config=True, codes=None):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(600, 3))
    if codes is None:
        codes = np.c_[factors / np.array(SIZES), rng.normal(size=(600, 1))] + noise * rng.normal(size=(600, 4))
    os.makedirs(path, exist_ok=True)
    if with_config:
        modeldir.write_config(path, {"model": model, "hyperparameters": {"beta": beta}, "dataset": {"name": "toy"},
                                     "seed": seed, "steps": 0, "latent_dim": 4, "recon_error_heldout": 10 * noise})
    modeldir.write_codes(path, codes, factors)
    return path


@pytest.fixture
def dirs(tmp_path):
    return [str(make_dir(tmp_path / f"m{i}", i, noise, beta=b)) for i, (noise, b) in enumerate([(1.0, 1), (0.3, 4), (0.05, 8), (0.01, 16)])]


def test_evaluate_codes_equals_direct_calls_and_records_errors():
    import dismetrics as dm

    rng = np.random.default_rng(0)
    factors = rng.integers(0, SIZES, size=(400, 3))
    codes = np.c_[factors.astype(float), np.zeros(400)]
    frame = evaluate_codes(codes, factors, metrics=FAST, repeats=2, random_state=3)
    assert list(frame.columns) == ["metric", "value", "repeat", "seed", "seconds", "error"]
    assert len(frame) == 2 * len(FAST)
    mig_rows = frame[frame.metric == "mig"]
    assert (mig_rows.value == dm.mig(codes, factors).value).all()
    tc = frame[frame.metric == "gaussian_total_correlation"].iloc[0]
    assert np.isnan(tc.value) and "constant dimension" in tc.error
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate_codes(codes, factors, metrics=["nope"])


def test_score_writes_scores_json_and_skips_same_settings(dirs):
    first = score_model_dir(dirs[0], metrics=FAST)
    assert first.status == "scored" and len(first.rows) == len(FAST)
    document = json.loads(open(os.path.join(dirs[0], "scores.json")).read())
    (entry,) = document["entries"].values()
    assert entry["settings"]["metrics"] == sorted(FAST) and entry["config"]["model"] == "beta_vae"
    again = score_model_dir(dirs[0], metrics=FAST)
    assert again.status == "skipped" and again.rows == first.rows
    changed = score_model_dir(dirs[0], metrics=FAST, random_state=1)
    assert changed.status == "scored"
    forced = score_model_dir(dirs[0], metrics=FAST, random_state=1, force=True)
    assert forced.status == "scored"


def test_metric_params_reach_the_metrics_and_the_settings(dirs):
    import dismetrics as dm

    plain = score_model_dir(dirs[1], metrics=["mig"])
    binned = score_model_dir(dirs[1], metrics=["mig"], metric_params={"mig": {"bins": 5}})
    assert binned.status == "scored"
    arrays = modeldir.read_codes(dirs[1])
    assert binned.rows[0]["value"] == pytest.approx(dm.mig(arrays["codes"], arrays["factors"], bins=5).value, abs=1e-14)
    assert binned.rows[0]["value"] != plain.rows[0]["value"]
    document = json.loads(open(os.path.join(dirs[1], "scores.json")).read())
    assert document["entries"][document["latest"]]["settings"]["metric_params"] == {"mig": {"bins": 5}}
    score_model_dir(dirs[2], metrics=["mig"])
    document = json.loads(open(os.path.join(dirs[2], "scores.json")).read())
    assert "metric_params" not in document["entries"][document["latest"]]["settings"]
    with pytest.raises(ValueError, match="JSON"):
        score_model_dir(dirs[1], metrics=["mig"], metric_params={"mig": {"bins": object()}})


def test_failures_are_reported_and_the_others_finish(tmp_path, dirs):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "dismetrics.json").write_text("{not json")
    nan_dir = make_dir(tmp_path / "nan", 9, 0.1, codes=np.full((600, 4), np.nan))
    empty = tmp_path / "empty"
    empty.mkdir()
    outcomes = score_model_dirs([dirs[0], str(corrupt), str(nan_dir), str(empty), str(tmp_path / "missing")], metrics=FAST)
    status = [o.status for o in outcomes]
    assert status == ["scored", "failed", "scored", "failed", "failed"]
    assert "not valid JSON" in outcomes[1].reason
    assert "nothing to score" in outcomes[3].reason
    assert "does not exist" in outcomes[4].reason
    # NaN codes: every metric row carries the reason, none is a silent NaN.
    assert all("NaN" in row["error"] for row in outcomes[2].rows)


def test_atomic_write_leaves_old_scores_on_a_crash(dirs, monkeypatch):
    score_model_dir(dirs[1], metrics=["mig"])
    path = os.path.join(dirs[1], "scores.json")
    before = open(path).read()

    import dismetrics.scoring as scoring

    def crash_midway(target, text):
        def write(handle):
            handle.write(text[: len(text) // 2])
            raise KeyboardInterrupt("killed mid-write")

        return modeldir.atomic_write(target, write, mode="w")

    monkeypatch.setattr(scoring, "atomic_write_text", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        score_model_dir(dirs[1], metrics=["mig", "modularity"])
    assert open(path).read() == before
    # no temporary file left behind (the hidden lock file of the read-merge-write stays)
    assert sorted(os.listdir(dirs[1])) == [".scores.json.lock", "codes.npz", "dismetrics.json", "scores.json"]


def test_cli_score_then_report(tmp_path, dirs, capsys):
    out_csv = str(tmp_path / "all.csv")
    argv = ["score", "--metrics", ",".join(FAST), "--out", out_csv]
    for d in dirs:
        argv += ["--model-dir", d]
    assert main(argv) == 0
    table = pd.read_csv(out_csv)
    assert set(table.model_dir) == set(dirs) and set(table.metric) == set(FAST)
    assert set(table.regularization_value) == {1, 4, 8, 16} and (table.regularization == "beta").all()
    assert main(["report", out_csv, "--out", str(tmp_path / "rep")]) == 0
    html = open(tmp_path / "rep" / "index.html").read()
    pngs = sorted(p for p in os.listdir(tmp_path / "rep") if p.endswith(".png"))
    assert "vs_recon_toy.png" in pngs and "violin_mig.png" in pngs
    # 4 model dirs: a warning stands in place of the rank-correlation heatmap (it needs 5)
    assert "rank_correlation_toy.png" not in pngs and "needs at least 5 model dirs" in html
    for png in pngs:
        assert f"src='{png}'" in html
        with open(tmp_path / "rep" / png, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    # JSON output and exit code 1 when a dir fails.
    assert main(["score", "--model-dir", dirs[0], "--model-dir", str(tmp_path / "missing"), "--metrics", "mig",
                 "--out", str(tmp_path / "all.json")]) == 1
    assert "FAILED" in capsys.readouterr().err
    # the failed dir is a row of --out too, with its reason and no metric; the report leaves it out
    written = read_scores([str(tmp_path / "all.json")])
    assert set(written.model_dir) == {dirs[0], str(tmp_path / "missing")}
    failed = written[written.model_dir == str(tmp_path / "missing")]
    assert len(failed) == 1 and failed.metric.isna().all() and "does not exist" in failed.error.iloc[0]


def test_report_reads_model_dirs_and_rejects_bad_tables(tmp_path, dirs):
    score_model_dir(dirs[0], metrics=FAST)
    assert set(read_scores([dirs[0]]).metric) == set(FAST)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a dismetrics score table"):
        read_scores([bad])
    index = write_report([dirs[0]], tmp_path / "single")
    assert "needs at least 5 model dirs" in index.read_text()


def test_codes_only_dir_without_config_is_scored(tmp_path):
    path = make_dir(tmp_path / "plain", 0, 0.1, with_config=False)
    outcome = score_model_dir(path, metrics=["mig"])
    assert outcome.status == "scored" and scores_table([outcome]).model.isna().all()


def test_process_pool_gives_the_serial_results(dirs):
    serial = scores_table(score_model_dirs(dirs, metrics=FAST, force=True))
    pooled = scores_table(score_model_dirs(dirs, metrics=FAST, force=True, jobs=2))
    pd.testing.assert_frame_equal(serial.drop(columns="seconds"), pooled.drop(columns="seconds"))


def test_dask_cluster_gives_the_local_results(dirs):
    distributed = pytest.importorskip("distributed")
    local = scores_table(score_model_dirs(dirs, metrics=FAST, force=True))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = scores_table(score_model_dirs(dirs, metrics=FAST, force=True, dask_scheduler=cluster.scheduler_address))
    pd.testing.assert_frame_equal(local.drop(columns="seconds"), remote.drop(columns="seconds"))


def test_load_callable_errors():
    assert load_callable("numpy:asarray") is np.asarray
    for spec, message in [("numpy", "module:function"), ("no_such_module_x:f", "cannot import"), ("numpy:nope", "no attribute"),
                          ("numpy:pi", "not callable")]:
        with pytest.raises(ValueError, match=message):
            load_callable(spec)


def test_cli_metric_params_reach_the_metric_and_bad_ones_are_refused(tmp_path, dirs, capsys):
    import dismetrics as dm

    out = tmp_path / "binned.csv"
    assert main(["score", "--model-dir", dirs[1], "--metrics", "mig", "--metric-params", '{"mig": {"bins": 5}}',
                 "--out", str(out), "--quiet"]) == 0
    arrays = modeldir.read_codes(dirs[1])
    assert pd.read_csv(out)["value"].iloc[0] == pytest.approx(dm.mig(arrays["codes"], arrays["factors"], bins=5).value,
                                                              abs=1e-14)
    params_file = tmp_path / "params.json"
    params_file.write_text('{"mig": {"bins": 7}}')
    assert main(["score", "--model-dir", dirs[2], "--metrics", "mig", "--metric-params", f"@{params_file}", "--quiet"]) == 0
    document = json.loads(open(os.path.join(dirs[2], "scores.json")).read())
    assert document["entries"][document["latest"]]["settings"]["metric_params"] == {"mig": {"bins": 7}}
    capsys.readouterr()
    for bad, message in [("{mig: 5}", "not JSON"), ('{"mig": 5}', "JSON object"), ('[1]', "JSON object"),
                         ('{"nope": {}}', "unknown metric"), (f"@{tmp_path / 'absent.json'}", "cannot read")]:
        assert main(["score", "--model-dir", dirs[3], "--metric-params", bad, "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert not os.path.exists(os.path.join(dirs[3], "scores.json"))


def test_report_splits_violins_by_steps_only_when_budgets_differ(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dismetrics.report import _violin

    trained = make_dir(tmp_path / "trained", 0, 0.05, beta=4)
    control = make_dir(tmp_path / "control", 1, 1.0, beta=4)
    config = modeldir.read_config(control)
    modeldir.write_config(control, {**config, "steps": 1})
    table = scores_table(score_model_dirs([str(trained), str(control)], metrics=["mig"], repeats=2))
    assert sorted(table.drop_duplicates("model_dir")["steps"]) == [0, 1]

    def labels(frame):
        fig, ax = plt.subplots()
        _violin(ax, frame, "mig")
        names = [t.get_text() for t in ax.get_xticklabels()]
        plt.close(fig)
        return names

    # both at most 1 step: untrained controls, told apart by their full labels
    assert labels(table) == ["untrained\n(\u03b2-VAE)\n\u03b2 = 4\n0 steps\ntoy", "untrained\n(\u03b2-VAE)\n\u03b2 = 4\n1 step\ntoy"]
    same_budget = table.assign(steps=1)
    assert labels(same_budget) == ["untrained\n(\u03b2-VAE)"]  # seeds of one configuration are pooled
    trained = table.assign(steps=table["steps"].map({0: 100, 1: 50}))
    assert labels(trained) == ["\u03b2-VAE\n\u03b2 = 4\n50 steps", "\u03b2-VAE\n\u03b2 = 4\n100 steps"]  # numeric order
    assert labels(table.drop(columns="steps")) == ["\u03b2-VAE\n\u03b2 = 4"]  # tables written before the column existed
    written = tmp_path / "all.csv"
    table.to_csv(written, index=False)
    assert "steps" in read_scores([str(written)]).columns


def test_the_regularization_column_comes_from_the_config_not_from_model_names_in_the_core(tmp_path):
    from dismetrics.scoring import score_model_dir, scores_table

    mine = make_dir(tmp_path / "mine", 0, 0.1, model="my_model")
    config = modeldir.read_config(mine)
    modeldir.write_config(mine, {**config, "regularization": {"name": "lam", "value": 3.5}})
    legacy = make_dir(tmp_path / "legacy", 1, 0.1, model="beta_vae", beta=4.0)  # written before the entry
    unknown = make_dir(tmp_path / "unknown", 2, 0.1, model="my_model")  # neither says
    table = scores_table([score_model_dir(d, metrics=["mig"]) for d in (mine, legacy, unknown)])
    rows = table.set_index("model_dir")
    assert tuple(rows.loc[str(mine), ["regularization", "regularization_value"]]) == ("lam", 3.5)
    assert tuple(rows.loc[str(legacy), ["regularization", "regularization_value"]]) == ("beta", 4.0)
    assert rows.loc[str(unknown), ["regularization", "regularization_value"]].isna().all()

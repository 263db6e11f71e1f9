"""The quickstart end to end, at toy sizes (the real run is the README's main job): it says how long it
expects to take, resumes or restarts (and says which, and why), and reuses what is done."""

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_quickstart_trains_scores_and_reports(tmp_path, monkeypatch, capsys, one_thread):
    from dismetrics_models import quickstart

    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    sizes = {"n": 300, "n_test": 150, "repeats": 2, "exclude": ["dci_es", "infom", "infoc", "infoe"],
             "metric_params": {"beta_vae": {"n_train": 60, "n_eval": 30}, "factor_vae": {"n_train": 60, "n_eval": 30, "n_variance": 300},
                               "dci": {"n_estimators": 10}}}
    index = quickstart.run_quickstart(tmp_path / "qs", steps=3, progress=False, sizes=sizes)
    html = index.read_text()
    assert "violin_mig.png" in html and (index.parent / "violin_mig.png").is_file()
    assert (index.parent / "vs_recon_dsprites.png").is_file() and "No rank-correlation heatmap" in html
    table = (tmp_path / "qs" / "scores.csv").read_text()
    assert "beta_vae" in table and "factor_vae" in table and "untrained" in table
    out = capsys.readouterr().out
    assert "report:" in out and "expected: about" in out
    summary = out[out.index("mean \u00b1 sd"):out.index("model dirs in")]
    assert max(len(line) for line in summary.splitlines()) <= 100 and "beta-VAE score" in summary


def test_rerun_resumes_reuses_or_restarts_and_says_so(tmp_path, monkeypatch, capsys, one_thread):
    from dismetrics.evaluate import available_metrics
    from dismetrics_models import quickstart

    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(quickstart, "CALIBRATION_STEPS", 2)
    monkeypatch.setattr(quickstart, "WARMUP_STEPS", 1)
    sizes = {"n": 200, "n_test": 100, "repeats": 2, "exclude": [m for m in available_metrics() if m != "mig"],
             "metric_params": {}}
    out = tmp_path / "qs"

    def run(steps):
        quickstart.run_quickstart(out, steps=steps, progress=False, sizes=sizes)
        return [line for line in capsys.readouterr().out.splitlines() if line.startswith("[quickstart")]

    first = run(6)
    assert any("measured here:" in line and "steps/s" in line for line in first)  # the estimate redone
    assert any("training beta_vae (6 steps)" in line for line in first)
    again = run(6)
    assert any("beta_vae is already there (6 steps" in line for line in again)
    assert any("scores of beta_vae found" in line and "reusing them" in line for line in again)
    assert any("scores of untrained found" in line for line in again)
    longer = run(8)
    assert any("resuming beta_vae from its checkpoint at step 6 of 8" in line for line in longer)
    assert any("scoring beta_vae" in line for line in longer) and any("scores of untrained found" in line for line in longer)
    (out / "beta_vae" / "checkpoint.pt").unlink()
    restarted = run(8)
    assert any("restarting beta_vae from step 0" in line and "holds no checkpoint" in line for line in restarted)
    (out / "beta_vae" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert any("restarting beta_vae from step 0: its checkpoint cannot be read" in line for line in run(8))


def test_estimate():
    from dismetrics_models.quickstart import QUICKSTART_SIZES, REFERENCE_SECONDS, estimate_seconds

    reference = estimate_seconds({"beta_vae": 2000, "untrained": 1}, 2)
    assert reference["train"] == pytest.approx(2001 * REFERENCE_SECONDS["train_step"])
    # the control is encoded on one core during the training (what outlasts it counts), the beta-VAE on all cores
    assert reference["encode"] == pytest.approx(max(0.0, REFERENCE_SECONDS["encode_one_core"] - reference["train"])
                                                + REFERENCE_SECONDS["encode_all_cores"])
    assert reference["score"] == pytest.approx(reference["encode"] + 2 * REFERENCE_SECONDS["metrics_model"])
    assert reference["total"] < 10 * 60 - 70  # the promise: 10 minutes on 2 cores with the first install (about 66 s)
    slower = estimate_seconds({"beta_vae": 2000, "untrained": 1}, 2, seconds_per_step=2 * REFERENCE_SECONDS["calibration_step"],
                              sizes=QUICKSTART_SIZES)
    assert slower["score"] == pytest.approx(2 * reference["score"]) and slower["train"] == pytest.approx(2 * reference["train"])
    nothing_to_train = estimate_seconds({}, 1)
    assert nothing_to_train["encode"] == REFERENCE_SECONDS["encode_all_cores"]
    toy = estimate_seconds({}, 1, sizes={"n": 300, "n_test": 150, "repeats": 3, "exclude": [], "metric_params": {
        "beta_vae": {"n_train": 40, "n_eval": 20}, "factor_vae": {"n_train": 40, "n_eval": 20, "n_variance": 300}}})
    assert toy["encode"] == 0.0  # too few draws to fill the table whole: evaluate encodes what it draws
    assert estimate_seconds({}, 0)["total"] == REFERENCE_SECONDS["other"]


def test_scoring_dci_apart_gives_the_rows_of_one_evaluate_call():
    # The quickstart runs DCI in its own evaluate call (with all cores) and the rest on one thread: the same
    # samples (each repeat's seed), the same values, in evaluate's order.
    from dismetrics.data import get_sampler
    from dismetrics.evaluate import evaluate
    from dismetrics.table import RepresentationTable
    from dismetrics_models.quickstart import _score

    sampler = get_sampler("dsprites")

    def encoder(images):
        return images.reshape(len(images), -1)[:, ::400].astype(float)

    sizes = {"n": 300, "n_test": 150, "repeats": 2, "exclude": ["dci_es", "infom", "infoc", "infoe"],
             "metric_params": {"beta_vae": {"n_train": 40, "n_eval": 20}, "factor_vae": {"n_train": 40, "n_eval": 20,
                                                                                        "n_variance": 300},
                               "dci": {"n_estimators": 10}}}
    one = evaluate(RepresentationTable(encoder, sampler), sampler, "all", exclude=sizes["exclude"], n=300, n_test=150,
                   repeats=2, random_state=0, metric_params=sizes["metric_params"], progress=False)
    apart = _score(RepresentationTable(encoder, sampler), sampler, sizes, 0, False)
    columns = ["metric", "repeat", "seed", "value"]
    assert "dci" in set(one["metric"]) and one[columns].equals(apart[columns])


def test_background_fill_fills_the_table_and_reraises():
    import numpy as np

    from dismetrics.data import FactorGrid
    from dismetrics.table import RepresentationTable
    from dismetrics_models.quickstart import _BackgroundFill

    sampler = FactorGrid([4, 5])
    filled = _BackgroundFill(RepresentationTable(lambda x: 2.0 * x, sampler), "grid").wait()
    assert filled.n_filled == 20
    index = np.arange(20)
    assert np.array_equal(filled.lookup(index)[0], RepresentationTable(lambda x: 2.0 * x, sampler).fill().lookup(index)[0])

    def broken(x):
        raise RuntimeError("encoder failed")

    with pytest.raises(RuntimeError, match="encoder failed"):
        _BackgroundFill(RepresentationTable(broken, sampler), "broken").wait()

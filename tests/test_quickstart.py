"""The quickstart end to end, at toy sizes (the real run is the README's main job)."""

import pytest

torch = pytest.importorskip("torch")


def test_quickstart_trains_scores_and_reports(tmp_path, monkeypatch, capsys):
    from dismetrics_models import quickstart

    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sizes = {"n": 300, "n_test": 150, "repeats": 2, "exclude": ["dci_es", "infom", "infoc", "infoe"],
                 "metric_params": {"beta_vae": {"n_train": 60, "n_eval": 30}, "factor_vae": {"n_train": 60, "n_eval": 30, "n_variance": 300},
                                   "dci": {"n_estimators": 10}}}
        index = quickstart.run_quickstart(tmp_path / "qs", steps=3, progress=False, sizes=sizes)
    finally:
        torch.set_num_threads(previous)
    html = index.read_text()
    assert "violin_mig.png" in html and (index.parent / "violin_mig.png").is_file()
    table = (tmp_path / "qs" / "scores.csv").read_text()
    assert "beta_vae" in table and "factor_vae" in table and "untrained" in table
    assert "report:" in capsys.readouterr().out

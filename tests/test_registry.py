"""The metric registry and the one vocabulary (issue 16): every registered metric is reachable by its name
and aliases from evaluate and the CLI, takes `random_state` with the common default, returns a
MetricResult in its declared range, is documented with Parameters / Returns / Examples; presets reach the
metrics."""

from __future__ import annotations

import inspect
import json
import math
import warnings

import numpy as np
import pytest

import dismetrics as dm
from dismetrics import MetricResult, evaluate, evaluate_codes
from dismetrics.cli import main
from dismetrics.data import FactorGrid
from dismetrics.metrics.presets import EVALUATE_SIZES, preset_params, preset_table
from dismetrics.metrics.registry import (
    EVALUATED_KINDS,
    PRESET_NAMES,
    MetricSpec,
    canonical_name,
    get_metric,
    metric_specs,
    register_metric,
    unregister_metric,
)

SIZES = (3, 4, 5)
SMALL = {
    "beta_vae": {"n_train": 60, "n_eval": 30, "batch_size": 8},
    "factor_vae": {"n_train": 60, "n_eval": 30, "n_variance": 300, "batch_size": 8},
    "flatness": {"repeats": 8},
    "linearity": {"repeats": 8},
    "distances": {"repeats": 8, "num_samples": 16},
    "z_max_variance": {"n_train": 60, "n_eval": 60, "n_variance": 300, "batch_size": 20},
    "aam": {"n_samples": 50},
    "chen_mig": {"n_samples": 50},
    "fairness": {"n_train": 200, "n_test_points_per_class": 10},
    "sepin": {"n_points": 100, "n_samples": 100},
    "indin": {"n_points": 100, "n_samples": 100},
}
"""Small sizes of the metrics whose reference sizes take long; every other metric runs with its defaults."""
NEEDS_LOGVAR = ("aam", "chen_mig", "sepin", "indin")
"""Metrics of the encoder's posterior: they get an encoder that returns a log-variance too."""


def _sample(n=400, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(n, len(SIZES)))
    codes = np.hstack([factors / (np.asarray(SIZES) - 1.0), rng.normal(size=(n, 1))]) + 0.05 * rng.normal(size=(n, 4))
    return codes, factors


def _grid():
    return FactorGrid(SIZES, observe=lambda f, rng: np.hstack([f / (np.asarray(SIZES) - 1.0), np.zeros((len(f), 1))])
                      + rng.normal(0, 0.05, (len(f), len(SIZES) + 1)))


def _identity(x):
    return np.asarray(x, dtype=np.float64)


def _gaussian(x):
    mean = _identity(x)
    return mean, np.full(mean.shape, -3.0)


def _encoder_for(name):
    return _gaussian if name in NEEDS_LOGVAR else _identity


ALL_SPECS = list(metric_specs())
SPECS = [spec for spec in ALL_SPECS if spec.kind in EVALUATED_KINDS]
BY_NAME = {spec.name: spec for spec in ALL_SPECS}


def _value_of(name: str, label: str | None = None):
    """The value of metric `name` called by `label` (a name or alias) through evaluate / evaluate_codes."""
    label = label or name
    spec = get_metric(name)
    if spec.kind == "intervention":
        frame = evaluate(_encoder_for(name), _grid(), [label], n=300, n_test=100, sampled=False,
                         metric_params={name: SMALL.get(name, {})})
    else:
        codes, factors = _sample()
        frame = evaluate_codes(codes, factors, [label], metric_params={name: SMALL.get(name, {})})
    assert frame["metric"].tolist() == [name], (label, frame)
    assert frame["error"].iloc[0] == "", frame["error"].iloc[0]
    return float(frame["value"].iloc[0])


@pytest.mark.parametrize("name", [spec.name for spec in SPECS])
def test_every_metric_runs_by_name_and_alias_within_its_declared_range(name):
    spec = BY_NAME[name]
    value = _value_of(name)
    assert _in_range(spec, value), value
    for alias in spec.aliases:
        assert _value_of(name, alias) == value


@pytest.mark.parametrize("name", [spec.name for spec in ALL_SPECS])
def test_every_metric_speaks_the_vocabulary(name):
    spec = BY_NAME[name]
    parameters = inspect.signature(spec.func).parameters
    if spec.random:
        assert "random_state" in parameters and parameters["random_state"].default == 0, name
    else:
        assert "random_state" not in parameters, f"{name}: a deterministic metric takes no random_state"
    if spec.takes_test:
        assert parameters["codes_test"].default is None and parameters["factors_test"].default is None
    for old in ("seed", "model_seed", "discrete", "factor_kind"):
        param = parameters.get(old)
        assert param is None or param.default is not inspect.Parameter.empty and "deprecated" in (spec.func.__doc__ or "").lower(), (
            f"{name}: {old!r} is not the vocabulary (random_state / factor_types)")
    if "continuous" in spec.factor_types and spec.kind == "sample":
        assert "factor_types" in parameters, name
    if spec.takes_preset:
        assert "preset" in parameters
    if spec.kind == "intervention":
        assert {"chunk_size", "progress"} <= set(parameters), name


@pytest.mark.parametrize("name", [spec.name for spec in ALL_SPECS])
def test_every_metric_is_documented_with_parameters_returns_and_examples(name):
    doc = inspect.getdoc(BY_NAME[name].func) or ""
    for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------"):
        assert section in doc, f"{name}: its docstring has no {section.splitlines()[0]} section"
    assert ">>> " in doc


def test_every_metric_returns_a_metric_result():
    codes, factors = _sample()
    for spec in SPECS:
        params = {**spec.call_kwargs(random_state=0), **SMALL.get(spec.name, {})}
        if spec.kind == "sample":
            result = spec.func(codes, factors, **params)
        elif spec.kind == "unsupervised":
            result = spec.func(codes, **params)
        else:
            result = spec.func(_encoder_for(spec.name), _grid(), **params)
        assert isinstance(result, MetricResult), spec.name


def _in_range(spec, value):
    low, high = spec.value_range
    return math.isfinite(value) and low - 1e-12 <= value and (high is None or value <= high + 1e-12)


def test_the_scores_evaluate_does_not_run_return_results_in_their_range_and_are_refused_by_evaluate():
    steps = np.linspace(-2, 2, 9)
    latents = np.broadcast_to(steps, (4, 2, 9))
    attributes = np.stack([3 * latents[:, 0], np.exp(latents[:, 1])], axis=1)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 3))
    inputs = {"traversal": (latents, attributes), "sweep": ([z, -2.0 * z[:, [2, 0, 1]], z + 1.0],)}
    others = [spec for spec in ALL_SPECS if spec.kind not in EVALUATED_KINDS]
    assert {spec.kind for spec in others} == {"traversal", "sweep"} and not any(spec.in_all for spec in others)
    codes, factors = _sample()
    for spec in others:
        result = spec.func(*inputs[spec.kind])
        assert isinstance(result, MetricResult) and _in_range(spec, result.value), spec.name
        with pytest.raises(ValueError, match="not scores of one representation"):
            evaluate_codes(codes, factors, [spec.name])


def test_names_and_aliases_in_both_directions():
    assert canonical_name("factor_vae_score") == "factor_vae" and canonical_name("factor_vae") == "factor_vae"
    assert canonical_name("beta_vae_score") == "beta_vae"
    assert get_metric("factor_vae").func is dm.factor_vae_score
    for spec in SPECS:  # the Python function's own name is the metric's name or one of its aliases
        assert spec.func.__name__ in (spec.name, *spec.aliases), spec.name
    with pytest.raises(ValueError, match="unknown metric 'migg'"):
        canonical_name("migg")


def test_a_users_metric_registers_and_runs_through_evaluate_and_the_cli(tmp_path, capsys):
    def spread(codes, factors):
        """Spread of the codes."""
        return MetricResult(name="spread", value=float(np.std(codes)))

    spec = register_metric(MetricSpec(name="spread", func=spread, kind="sample", title="Spread", aliases=("sd",),
                                      value_range=(0.0, None), direction="lower"))
    try:
        codes, factors = _sample()
        frame = evaluate_codes(codes, factors, ["sd"])
        assert frame["metric"].tolist() == ["spread"] and frame["value"].iloc[0] == pytest.approx(np.std(codes))
        with pytest.raises(ValueError, match="already registered"):
            register_metric(spec)
        directory = tmp_path / "m"
        _codes_dir(directory)
        assert main(["score", "--model-dir", str(directory), "--metrics", "sd", "--quiet", "--out",
                     str(tmp_path / "out.json")]) == 0
        rows = json.loads((tmp_path / "out.json").read_text())
        assert [row["metric"] for row in rows] == ["spread"]
        main(["metrics"])
        assert "spread" in capsys.readouterr().out
    finally:
        unregister_metric("spread")
    with pytest.raises(ValueError, match="unknown metric"):
        canonical_name("sd")


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="kind"):
        MetricSpec(name="x", func=len, kind="other", title="x")
    with pytest.raises(ValueError, match="lower case"):
        MetricSpec(name="Bad Name", func=len, kind="sample", title="x")
    with pytest.raises(ValueError, match="unknown preset"):
        MetricSpec(name="x", func=len, kind="sample", title="x", presets={"mine": {}})
    with pytest.raises(ValueError, match="already registered"):
        register_metric(MetricSpec(name="x", func=len, kind="sample", title="x", aliases=("mig",)))


def test_a_deprecated_alias_warns():
    register_metric(MetricSpec(name="newname", func=lambda c, f: 0.0, kind="sample", title="n",
                               deprecated_aliases=("oldname",)))
    try:
        with pytest.warns(DeprecationWarning, match="'oldname' is deprecated; use 'newname'"):
            assert canonical_name("oldname") == "newname"
    finally:
        unregister_metric("newname")


def _codes_dir(directory, n=300):
    from dismetrics import modeldir

    codes, factors = _sample(n)
    directory.mkdir(parents=True, exist_ok=True)
    modeldir.write_config(str(directory), {"model": "beta_vae", "hyperparameters": {"beta": 4.0},
                                           "dataset": {"name": "toy"}, "seed": 0, "steps": 0, "latent_dim": 4})
    modeldir.write_codes(str(directory), codes, factors)
    return directory


ENCODER = """
import numpy as np

def encode(x):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    half = x.shape[1] // 2
    return np.stack([x[:, :half].mean(1), x[:, half:].mean(1), x.mean(1)], axis=1)
"""


@pytest.mark.parametrize("label", ["factor_vae_score", "factor_vae"])
def test_cli_accepts_the_python_name_and_the_table_name(tmp_path, label):
    directory = _codes_dir(tmp_path / "m")
    (tmp_path / "enc.py").write_text(ENCODER)
    params = json.dumps({label: {"n_train": 10, "n_eval": 5, "n_variance": 100, "batch_size": 4}})
    out = tmp_path / "out.json"
    status = main(["score", "--model-dir", str(directory), "--representation", f"{tmp_path / 'enc.py'}:encode",
                   "--dataset", "dsprites", "--metrics", label, "--metric-params", params, "--quiet", "--out", str(out)])
    rows = json.loads(out.read_text())
    assert status == 0 and [row["metric"] for row in rows] == ["factor_vae"], rows
    assert 0.0 <= rows[0]["value"] <= 1.0


def test_every_preset_entry_is_consumed_by_a_metric():
    for preset in PRESET_NAMES:
        table = preset_table(preset)
        assert set(table["evaluate"]) == {"n", "n_test", "repeats"}
        for name, params in table.items():
            if name == "evaluate":
                continue
            spec = get_metric(name)
            accepted = inspect.signature(spec.func).parameters
            assert set(params) <= set(accepted), (preset, name, set(params) - set(accepted))
    assert preset_params("wtc_paper", "evaluate") == {"n": 12_800, "n_test": 5_000, "repeats": 50}
    assert EVALUATE_SIZES["disentanglement_lib"]["n"] == 10_000


def test_the_wtc_paper_preset_reaches_wdg():
    grid = _grid()
    frames = {preset: evaluate(_identity, grid, ["wdg"], n=300, repeats=1, preset=preset) for preset in PRESET_NAMES}
    codes, factors = _sample()
    assert get_metric("wdg").preset_params("wtc_paper") == {"estimator": "paper_code"}
    exact = dm.wdg(codes, factors)
    paper = dm.wdg(codes, factors, **get_metric("wdg").preset_params("wtc_paper"))
    assert exact.params["estimator"] == "exact" and paper.params["estimator"] == "paper_code"
    # the same sample, scored under each preset: the estimators differ, so do the values
    assert frames["wtc_paper"]["value"].iloc[0] != frames["disentanglement_lib"]["value"].iloc[0]
    assert evaluate_codes(codes, factors, ["wdg"], preset="wtc_paper")["value"].iloc[0] == pytest.approx(
        dm.wdg(codes, factors, estimator="paper_code", random_state=evaluate_codes(codes, factors, ["wdg"])["seed"].iloc[0]).value)


def test_cli_preset_option_reaches_the_metrics(tmp_path):
    directory = _codes_dir(tmp_path / "m")
    values = {}
    for preset in PRESET_NAMES:
        out = tmp_path / f"{preset}.json"
        assert main(["score", "--model-dir", str(directory), "--metrics", "wdg", "--preset", preset, "--repeats", "1",
                     "--quiet", "--out", str(out)]) == 0
        values[preset] = json.loads(out.read_text())[0]["value"]
    assert values["wtc_paper"] != values["disentanglement_lib"]


def test_score_settings_speak_random_state_and_warn_on_seed():
    from dismetrics.scoring import score_settings

    settings = score_settings(metrics=["factor_vae_score", "mig"], random_state=3)
    assert settings["random_state"] == 3 and settings["metrics"] == ["factor_vae", "mig"]
    assert settings["n"] == 10_000 and settings["n_test"] == 5_000 and settings["repeats"] == 1
    with pytest.warns(DeprecationWarning, match="random_state"):
        assert score_settings(seed=3) == score_settings(random_state=3)
    assert score_settings(preset="wtc_paper")["n"] == 12_800
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_settings()


def test_score_udr_ranks_the_model_dirs_of_a_sweep(tmp_path, capsys):
    from dismetrics import modeldir
    from dismetrics.metrics.udr import udr

    rng = np.random.default_rng(0)
    factors = rng.integers(0, SIZES, size=(300, len(SIZES)))
    z = factors / (np.asarray(SIZES) - 1.0) + 0.05 * rng.normal(size=factors.shape)
    codes = [z, -2.0 * z[:, [2, 0, 1]], rng.normal(size=z.shape)]  # two agree up to permutation and scale
    dirs = []
    for i, c in enumerate(codes):
        directory = tmp_path / f"m{i}"
        directory.mkdir()
        modeldir.write_codes(str(directory), c, factors)
        dirs += ["--model-dir", str(directory)]
    out = tmp_path / "udr.csv"
    assert main(["score", "--udr", *dirs, "--out", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out)
    expected = udr(codes).details["model_scores"]
    np.testing.assert_allclose(table["value"], expected, rtol=0, atol=1e-12)
    assert table["value"][0] > table["value"][2] and table["value"][1] > table["value"][2]
    assert "UDR (lasso" in capsys.readouterr().out
    assert main(["score", "--udr", dirs[0], dirs[1]]) == 2  # one dir is not a sweep

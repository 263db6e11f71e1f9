"""The trainers' published defaults and hyperparameter vocabulary: disentanglement_lib's Glorot-uniform
initialization (PyTorch's as a named option), the auxiliary optimizers' Adam betas, WTC-WAE's gamma >= beta,
the torch-free `dismetrics_models.hyperparameters` (regularization keys, the sweep grids) and the config's
`regularization` entry."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dismetrics import modeldir
from dismetrics_models.hyperparameters import (
    CRITIC_BETAS,
    DISCRIMINATOR_BETAS,
    INIT_SCHEMES,
    REGULARIZATION_KEYS,
    regularization,
)

torch = pytest.importorskip("torch")

from dismetrics_models import train  # noqa: E402
from dismetrics_models.architectures import Critic, Decoder, Discriminator, Encoder  # noqa: E402
from dismetrics_models.registry import MODELS, build_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "e2e"))
import sweep  # noqa: E402

from toy_images import tiny_sampler  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LAYERS = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)
FAST = dict(batch_size=8, heldout_size=8, log_every=2, progress=False, tc_log_every=0)


def _layers(model):
    return [(name, layer) for name, layer in model.named_modules() if isinstance(layer, LAYERS)]


def _glorot_bound(layer) -> float:
    """sqrt(6 / (fan_in + fan_out)), the fans written out per layer type (TensorFlow's convention: channels
    times the kernel area)."""
    if isinstance(layer, torch.nn.Linear):
        fan_in, fan_out = layer.in_features, layer.out_features
    else:
        area = int(np.prod(layer.kernel_size))
        fan_in, fan_out = layer.in_channels * area, layer.out_channels * area
    return math.sqrt(6.0 / (fan_in + fan_out))


# ---- initialization ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_default_initialization_is_glorot_uniform_with_zero_biases(name):
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, latent_dim=4, dataset_size=48)
    assert model.hp["init"] == "glorot_uniform"
    layers = _layers(model)
    # the encoder, the decoder and every auxiliary network: 6 + 6 layers, + 4 per critic, + 7 for a discriminator
    auxiliary = {"factor_vae": 7, "rtc_vae": 7, "wae": 4, "wtc_vae": 4, "wtc_wae": 8}.get(name, 0)
    assert len(layers) == 12 + auxiliary
    for layer_name, layer in layers:
        bound = _glorot_bound(layer)
        largest = float(layer.weight.detach().abs().max())
        assert largest <= bound, layer_name
        assert largest > 0.9 * bound, layer_name  # the whole range is used (>= 256 draws per layer)
        assert torch.count_nonzero(layer.bias) == 0, layer_name


def test_glorot_weights_are_uniform_on_the_bound():
    from scipy import stats

    torch.manual_seed(1)
    layer = build_model("beta_vae", latent_dim=10).encoder.fc[1]  # Linear(1024, 256)
    bound = _glorot_bound(layer)
    weights = layer.weight.detach().double().numpy().ravel()
    assert stats.kstest(weights, stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > 1e-3


@pytest.mark.parametrize("name", ["beta_vae", "factor_vae", "wtc_wae"])
def test_torch_default_option_is_pytorchs_initialization(name):
    """`init="torch_default"`: the weights of the networks built by torch alone, in the same order, from the
    same seed (what this package did before the option), with PyTorch's non-zero biases."""
    torch.manual_seed(5)
    model = build_model(name, in_channels=1, latent_dim=3, init="torch_default")
    torch.manual_seed(5)
    expected = [Encoder(1, 3), Decoder(1, 3)]
    expected += {"factor_vae": lambda: [Discriminator(3)], "wtc_wae": lambda: [Critic(3), Critic(3)]}.get(name, list)()
    got = [layer for _, layer in _layers(model)]
    want = [layer for net in expected for _, layer in _layers(net)]
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
        assert torch.count_nonzero(a.bias) > 0
    glorot = build_model(name, in_channels=1, latent_dim=3)
    assert any(float(layer.weight.detach().abs().max()) > _glorot_bound(layer) for _, layer in _layers(model))
    assert all(torch.count_nonzero(layer.bias) == 0 for _, layer in _layers(glorot))


def test_bad_init_is_refused():
    assert INIT_SCHEMES == ("glorot_uniform", "torch_default")
    with pytest.raises(ValueError, match="init must be one of"):
        build_model("beta_vae", init="he_normal")


# ---- auxiliary optimizers ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, networks", [("wae", ["critic_prior"]), ("wtc_vae", ["critic_tc"]),
                                            ("wtc_wae", ["critic_prior", "critic_tc"])])
def test_critic_betas_default_to_the_wtc_papers_and_wgan_gp_is_an_option(name, networks):
    optimizers = build_model(name, latent_dim=3).make_auxiliary_optimizers()
    assert sorted(optimizers) == sorted(networks)
    assert all(opt.param_groups[0]["betas"] == (0.9, 0.999) for opt in optimizers.values())
    assert CRITIC_BETAS["wtc_paper"] == (0.9, 0.999)
    beta1, beta2 = CRITIC_BETAS["wgan_gp"]
    optimizers = build_model(name, latent_dim=3, critic_beta1=beta1, critic_beta2=beta2).make_auxiliary_optimizers()
    assert all(opt.param_groups[0]["betas"] == (0.5, 0.9) for opt in optimizers.values())


@pytest.mark.parametrize("name", ["factor_vae", "rtc_vae"])
def test_discriminator_betas_are_kim_and_mnihs(name):
    optimizer = build_model(name, latent_dim=3).make_auxiliary_optimizers()["discriminator"]
    assert optimizer.param_groups[0]["betas"] == DISCRIMINATOR_BETAS["factor_vae_paper"] == (0.5, 0.9)
    optimizer = build_model(name, latent_dim=3, disc_beta1=0.9, disc_beta2=0.999).make_auxiliary_optimizers()["discriminator"]
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)


@pytest.mark.parametrize("name, key", [("wtc_vae", "critic_beta1"), ("wae", "critic_beta2"), ("factor_vae", "disc_beta2"),
                                       ("rtc_vae", "disc_beta1")])
def test_adam_betas_outside_0_1_are_refused(name, key):
    with pytest.raises(ValueError, match=rf"{key} must be in \[0, 1\)"):
        build_model(name, **{key: 1.0})


def test_infinite_weights_are_refused():
    with pytest.raises(ValueError, match="beta must be a finite non-negative number"):
        build_model("beta_vae", beta=float("inf"))


# ---- WTC-WAE ----------------------------------------------------------------------------------------
def test_wtc_wae_needs_gamma_at_least_beta():
    with pytest.raises(ValueError, match=r"gamma >= beta.*gamma=2\.0 < beta=5\.0"):
        build_model("wtc_wae", latent_dim=3, beta=5, gamma=2)
    with pytest.raises(ValueError, match=r"gamma=10\.0 < beta=12\.0"):
        build_model("wtc_wae", latent_dim=3, beta=12)  # against the default gamma (10)
    assert build_model("wtc_wae", latent_dim=3, beta=4, gamma=4).hp["gamma"] == 4.0


# ---- the hyperparameter vocabulary -------------------------------------------------------------------
def test_hyperparameters_module_does_not_import_torch():
    code = ("import sys, dismetrics_models.hyperparameters as h; "
            "assert 'torch' not in sys.modules, 'torch imported'; print(len(h.REGULARIZATION_KEYS))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(MODELS))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_has_its_regularization_key_and_a_grid(name):
    key = REGULARIZATION_KEYS[name]
    model = build_model(name, latent_dim=3, dataset_size=48)
    assert key in model.hp
    assert sweep.GRIDS[name][0] == key
    small, paper = sweep.GRIDS[name][1], sweep.GRIDS[name][2]
    assert set(small) <= set(paper) and len(paper) >= 4
    assert name in sweep.BUDGETS["paper"]["models"]


def test_the_wae_mmd_grids():
    assert sweep.GRIDS["wae_mmd"] == ("lambda", [10, 100], [1, 10, 100, 1000])
    assert sweep.GRIDS["wae_mmd_random"][2] == [0, 0.1, 0.5, 1, 2, 3, 5, 8, 12]  # Rubenstein et al.'s
    names = [run["name"] for run in sweep.plan(sweep.BUDGETS["paper"]) if run["model"].startswith("wae_mmd")]
    assert "wae_mmd_lambda=1000_seed4" in names and "wae_mmd_random_lambda_1=0.1_seed0" in names


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted(REGULARIZATION_KEYS)), st.floats(allow_nan=True, allow_infinity=True))
def test_regularization_entry_is_valid_exactly_for_finite_values(name, value):
    entry = regularization(name, {REGULARIZATION_KEYS[name]: value})
    if math.isfinite(value):
        assert entry == {"name": REGULARIZATION_KEYS[name], "value": value}
        modeldir.validate_config({"model": name, "regularization": entry})
    else:
        assert entry is None
        with pytest.raises(modeldir.ModelDirError, match="finite number"):
            modeldir.validate_config({"model": name, "regularization": {"name": "beta", "value": value}})


@pytest.mark.parametrize("entry", [{"name": "be ta", "value": 1.0}, {"name": "beta"}, {"name": 3, "value": 1.0},
                                   {"name": "beta", "value": "4"}, {"name": "beta", "value": True},
                                   {"name": "beta", "value": 1.0, "extra": 1}, "beta=4", [1, 2]])
def test_malformed_regularization_entries_are_refused(entry):
    with pytest.raises(modeldir.ModelDirError, match="regularization"):
        modeldir.validate_config({"model": "beta_vae", "regularization": entry})


def test_trainer_writes_the_regularization_entry(tmp_path):
    config = train("wae_mmd_random", tiny_sampler(), steps=1, out=tmp_path / "w", lambda_1=0.5, **FAST)
    on_disk = json.loads((tmp_path / "w" / modeldir.CONFIG_FILE).read_text())
    assert config["regularization"] == on_disk["regularization"] == {"name": "lambda_1", "value": 0.5}
    assert on_disk["hyperparameters"]["init"] == "glorot_uniform"
    assert modeldir.read_config(tmp_path / "w")["regularization"]["value"] == 0.5


def test_resuming_a_checkpoint_from_before_the_init_option_records_torch_default(tmp_path):
    out = tmp_path / "old"
    train("beta_vae", tiny_sampler(), steps=2, checkpoint_every=1, out=out, init="torch_default", **FAST)
    path = out / modeldir.CHECKPOINT_FILE
    state = torch.load(path, map_location="cpu", weights_only=True)
    del state["run"]["hyperparameters"]["init"]  # as written before the option existed
    torch.save(state, path)
    config = train(dataset=tiny_sampler(), out=out, resume=True, steps=3, progress=False)
    assert config["hyperparameters"]["init"] == "torch_default"
    with pytest.raises(ValueError, match="hyperparameter init='glorot_uniform' differs"):
        train(dataset=tiny_sampler(), out=out, resume=True, steps=4, progress=False, init="glorot_uniform")


def test_a_fresh_start_drops_the_tc_rows_of_a_run_killed_before_its_first_checkpoint(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "tc_log.csv").write_text("step,tc_mean,tc_sampled\n1,9.0,9.0\n2,9.0,9.0\n")
    train("beta_vae", tiny_sampler(), steps=2, out=out, resume=True, **{**FAST, "tc_log_every": 2, "tc_log_size": 8})
    lines = (out / "tc_log.csv").read_text().splitlines()
    assert lines[0] == "step,tc_mean,tc_sampled" and [line.split(",")[0] for line in lines[1:]] == ["2"]
    assert "9.0" not in lines[1]

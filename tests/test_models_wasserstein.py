"""WAE-MMD, WAE, WTC-VAE, WTC-WAE and RTC-VAE (issue 8): the MMD and the gradient penalty against hand
computations, critic and model losses on a toy problem, the training-loop rules for critic models,
exact resume with critics, the TC log, and every new model's dir read by ``dismetrics score``."""

import copy
import csv

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dismetrics import as_representation, modeldir  # noqa: E402
from dismetrics.scoring import score_model_dir  # noqa: E402
from dismetrics_models import train  # noqa: E402
from dismetrics_models.base import LossOutput  # noqa: E402
from dismetrics_models.data import BatchSource  # noqa: E402
from dismetrics_models.engine import step_generator, train_step  # noqa: E402
from dismetrics_models.registry import build_model  # noqa: E402
from dismetrics_models.wasserstein import (  # noqa: E402
    IMQ_SCALES,
    WTCVAE,
    gradient_penalty,
    imq_kernel,
    mmd_unbiased,
    prior_sample,
)

from test_models_training import FAST, SIZES, draw_squares, tiny_sampler  # noqa: E402

NEW_MODELS = ["wae_mmd", "wae_mmd_random", "wae", "wtc_vae", "wtc_wae", "rtc_vae"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---- MMD -------------------------------------------------------------------------------------------------
def _mmd_double_sum(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, d = x.shape

    def k(a, b):
        sq = float(np.sum((a - b) ** 2))
        return sum(2 * d * s / (2 * d * s + sq) for s in IMQ_SCALES)

    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n))
    return (xx + yy) / (n * (n - 1)) - 2 * xy / n**2


def test_mmd_matches_a_direct_double_sum():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = torch.randn(7, 3, generator=g, dtype=torch.float64) * 0.5 + 1.0
    assert float(mmd_unbiased(x, y)) == pytest.approx(_mmd_double_sum(x, y), rel=1e-12)
    # the kernel by hand for one pair
    d2 = float(((x[0] - y[1]) ** 2).sum())
    assert float(imq_kernel(x, y)[0, 1]) == pytest.approx(sum(6 * s / (6 * s + d2) for s in IMQ_SCALES), rel=1e-12)


def test_mmd_is_unbiased_near_zero_for_equal_distributions_and_positive_otherwise():
    g = torch.Generator().manual_seed(1)
    same = [float(mmd_unbiased(torch.randn(32, 4, generator=g), torch.randn(32, 4, generator=g))) for _ in range(200)]
    shifted = float(mmd_unbiased(torch.randn(256, 4, generator=g) + 1.0, torch.randn(256, 4, generator=g)))
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))  # mean zero: the minus sign is right
    assert min(same) < 0  # an unbiased estimate does go negative
    assert shifted > 10 * np.std(same)
    with pytest.raises(ValueError, match="same size"):
        mmd_unbiased(torch.zeros(3, 2), torch.zeros(4, 2))


# ---- gradient penalty -------------------------------------------------------------------------------
def test_gradient_penalty_against_a_hand_computation():
    a = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    b = torch.tensor([[0.0, 0.0], [2.0, 1.0], [-1.0, 0.5]])
    u = torch.tensor([0.25, 0.5, 1.0])
    # linear critic: the gradient is w everywhere
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    gp = gradient_penalty(lambda z: z @ w, a, b, u)
    assert float(gp.detach()) == pytest.approx((5.0 - 1.0) ** 2)
    # quadratic critic 0.5 |z|^2: the gradient at x_hat is x_hat
    x_hat = u[:, None] * a + (1 - u[:, None]) * b
    expected = ((x_hat.norm(dim=1) - 1) ** 2).mean()
    gp = gradient_penalty(lambda z: 0.5 * (z**2).sum(1), a, b, u)
    assert float(gp.detach()) == pytest.approx(float(expected), rel=1e-6)
    # and it is differentiable in the critic's parameters: d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    gp = gradient_penalty(lambda z: z @ w, a, b, u)
    (grad,) = torch.autograd.grad(gp, w)
    torch.testing.assert_close(grad, 2 * 4.0 * torch.tensor([3.0, 4.0]) / 5.0)


# ---- toy problem: WTC training decorrelates two Gaussian dims ------------------------------------------------
def test_wtc_critic_and_model_losses_move_the_right_way_on_correlated_gaussians():
    torch.manual_seed(0)
    model = WTCVAE(latent_dim=2, gamma=5.0, critic_lr=1e-3)
    critic_opt = model.make_auxiliary_optimizers()
    mixing = torch.nn.Parameter(torch.eye(2))  # the "encoder": z = x A
    model_opt = torch.optim.Adam([mixing], lr=1e-2)
    cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]])
    chol = torch.linalg.cholesky(cov)
    g = torch.Generator().manual_seed(0)

    def correlation(z):
        return float(torch.corrcoef(z.T)[0, 1])

    x_eval = torch.randn(4096, 2, generator=g) @ chol.T
    start_corr = correlation(x_eval @ mixing.detach())
    gaps = []
    for step in range(200):
        x = torch.randn(64, 2, generator=g) @ chol.T
        z = x @ mixing
        for p in model.critic_tc.parameters():
            p.requires_grad_(False)
        reg, terms = model.regularizer(z, torch.zeros_like(z), z, torch.zeros(()), step, {"generator": g})
        scale = ((z.var(0) - 1.0) ** 2).sum()  # keeps the scale, so that only the correlation can go
        model_opt.zero_grad()
        (reg + scale).backward()
        model_opt.step()
        for p in model.critic_tc.parameters():
            p.requires_grad_(True)
        out = model.auxiliary_step(LossOutput(reg, {}, {"z": z, "generator": g}), critic_opt)
        gaps.append(float(out["critic_tc_gap"]))
    end_corr = correlation(x_eval @ mixing.detach())
    assert start_corr == pytest.approx(0.8, abs=0.03)
    assert abs(end_corr) < 0.3  # the model lowered the correlation
    assert max(gaps[:50]) > 0.01  # the critic found the dependence (positive gap) early on


def test_wae_critic_gap_grows_when_q_differs_from_the_prior():
    torch.manual_seed(0)
    model = build_model("wae", latent_dim=2, critic_lr=1e-3)
    opt = model.make_auxiliary_optimizers()
    g = torch.Generator().manual_seed(0)
    gaps = []
    for _ in range(100):
        z = torch.randn(128, 2, generator=g) * 0.3 + 1.5  # q(z) far from N(0, I)
        gaps.append(float(model.auxiliary_step(LossOutput(torch.zeros(()), {}, {"z": z, "generator": g}), opt)["critic_prior_gap"]))
    assert np.mean(gaps[-10:]) > np.mean(gaps[:3]) + 0.5  # the critic's W1 estimate rises towards W1 ~ 2.2


# ---- objectives ---------------------------------------------------------------------------------------------
def _batch(n=8):
    return torch.as_tensor(draw_squares(np.stack(np.unravel_index(np.arange(n), SIZES), 1))).permute(0, 3, 1, 2)


def test_deterministic_wae_codes_are_the_means_and_tanh_bounds_them():
    torch.manual_seed(0)
    model = build_model("wae_mmd", latent_dim=3)
    out = model.compute_loss(_batch(), 0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.cache["z"], out.cache["mean"])
    g = torch.Generator().manual_seed(0)
    expected = 10.0 * mmd_unbiased(out.cache["mean"], prior_sample((8, 3), g, out.cache["mean"]))
    torch.testing.assert_close(out.terms["lambda_mmd"], expected.detach())
    bounded = build_model("wae_mmd_random", latent_dim=3, tanh_means=True, lambda_1=2.0)
    out = bounded.compute_loss(_batch(), 0, torch.Generator().manual_seed(0))
    raw_mean, logvar = bounded.encoder(_batch())
    torch.testing.assert_close(out.cache["mean"], torch.tanh(raw_mean))
    assert not torch.equal(out.cache["z"], out.cache["mean"])
    torch.testing.assert_close(out.terms["l1_logvar"], (logvar.abs().sum() / 8).detach())
    torch.testing.assert_close(out.terms["regularizer"], (out.terms["lambda_mmd"] + 2.0 * out.terms["l1_logvar"]))


def test_rtc_vae_objective_by_hand():
    torch.manual_seed(0)
    model = build_model("rtc_vae", latent_dim=3, beta=4.0, eta=10.0)
    mean, logvar = torch.randn(8, 3), torch.randn(8, 3)
    z = torch.randn(8, 3)
    kl = torch.tensor(2.5)
    reg, terms = model.regularizer(mean, logvar, z, kl, 0, {})
    logits = model.discriminator(z)
    tc = (logits[:, 0] - logits[:, 1]).mean()
    expected = kl + 4.0 * tc + 10.0 * logvar.exp().sum(1).mean()
    torch.testing.assert_close(reg, expected)


def test_wtc_wae_objective_by_hand():
    torch.manual_seed(0)
    model = build_model("wtc_wae", latent_dim=3, beta=2.0, gamma=5.0)
    z = torch.randn(8, 3)
    reg, terms = model.regularizer(z, z, z, torch.tensor(0.0), 0, {"generator": torch.Generator().manual_seed(3)})
    from dismetrics_models.base import permute_dims

    g = torch.Generator().manual_seed(3)
    z_bar = permute_dims(z, g)
    z_prior = prior_sample(z.shape, g, z)
    expected = 2.0 * (model.critic_prior(z_bar).mean() - model.critic_prior(z_prior).mean()) + 5.0 * (
        model.critic_tc(z).mean() - model.critic_tc(z_bar).mean()
    )
    torch.testing.assert_close(reg, expected)


def test_hyperparameter_errors():
    with pytest.raises(ValueError, match="critic_steps"):
        build_model("wtc_vae", critic_steps=0)
    with pytest.raises(ValueError, match="tanh_means"):
        build_model("wae_mmd", tanh_means="yes")
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        build_model("wae_mmd", gamma=1.0)
    with pytest.raises(ValueError, match="eta"):
        build_model("rtc_vae", eta=-1.0)


# ---- training-loop rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["wtc_vae", "wtc_wae"])
def test_gradients_are_those_of_each_loss_alone(name):
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, latent_dim=3, dataset_size=48)
    optimizer = torch.optim.Adam(list(model.model_parameters()), lr=1e-3)
    auxiliary = model.make_auxiliary_optimizers()
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert not any(id(p) in held for c in model.critic_names for p in getattr(model, c).parameters())
    source = BatchSource(tiny_sampler(), 8, seed=0, prefetch=0)
    x, _ = source.batch(0)
    train_step(model, optimizer, auxiliary, x, None, 0, step_generator(0, 0))
    x, _ = source.batch(1)
    before = copy.deepcopy(model)
    train_step(model, optimizer, auxiliary, x, None, 1, step_generator(0, 1))

    generator = step_generator(0, 1)
    output = before.compute_loss(x, 1, generator)
    expected = torch.autograd.grad(output.loss, list(before.encoder.parameters()), retain_graph=True)
    for param, grad in zip(model.encoder.parameters(), expected):
        torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-6)
    # each critic's gradient is that of its own loss on detached codes (same random draws, same order)
    z = output.cache["z"].detach()
    pairs = before.critic_pairs(z, generator)
    for critic_name, (a, b) in pairs.items():
        critic = getattr(before, critic_name)
        u = torch.rand((a.shape[0],), generator=generator)
        loss = -(critic(a).mean() - critic(b).mean()) + 10.0 * gradient_penalty(critic, a, b, u)
        for param, grad in zip(getattr(model, critic_name).parameters(), torch.autograd.grad(loss, list(critic.parameters()))):
            torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-6)


def _state(path):
    return torch.load(path / modeldir.CHECKPOINT_FILE, map_location="cpu", weights_only=True)


class Crash(RuntimeError):
    pass


def test_resume_of_a_two_critic_model_is_exact(tmp_path):
    kwargs = dict(steps=5, seed=2, checkpoint_every=2, critic_steps=2, **FAST)
    train("wtc_wae", tiny_sampler(), out=tmp_path / "whole", **kwargs)

    def crash(step, model):
        if step == 3:
            raise Crash

    with pytest.raises(Crash):
        train("wtc_wae", tiny_sampler(), out=tmp_path / "killed", callbacks=[crash], **kwargs)
    train(dataset=tiny_sampler(), out=tmp_path / "killed", resume=True, progress=False)
    whole, resumed = _state(tmp_path / "whole"), _state(tmp_path / "killed")
    assert whole["step"] == resumed["step"] == 5
    for key in whole["model"]:
        assert torch.equal(whole["model"][key], resumed["model"][key]), key
    for critic in ("critic_prior", "critic_tc"):
        a = whole["auxiliary_optimizers"][critic]["state"]
        b = resumed["auxiliary_optimizers"][critic]["state"]
        assert float(a[0]["step"]) == 10  # critic_steps=2 updates per model step
        for index in a:
            for key in a[index]:
                assert torch.equal(a[index][key], b[index][key])


# ---- TC of mean and sampled codes ------------------------------------------------------------------------
def test_tc_log_of_mean_and_sampled_codes(tmp_path):
    train("wae_mmd", tiny_sampler(), steps=4, seed=0, out=tmp_path / "det", tc_log_every=2, tc_log_size=32, **FAST)
    train("wtc_vae", tiny_sampler(), steps=4, seed=0, out=tmp_path / "vae", tc_log_every=2, tc_log_size=32, **FAST)
    for name in ("det", "vae"):
        with open(tmp_path / name / "tc_log.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [int(r["step"]) for r in rows] == [2, 4]
        for r in rows:
            assert float(r["tc_mean"]) >= 0 and float(r["tc_sampled"]) >= 0
        if name == "det":  # a deterministic encoder: the sampled codes are the means
            assert all(r["tc_mean"] == r["tc_sampled"] for r in rows)
        else:  # encoder noise at initialisation dominates: the sampled codes are far less correlated
            assert all(float(r["tc_sampled"]) < float(r["tc_mean"]) for r in rows)


# ---- every model trains and its dir is scored -----------------------------------------------------------
@pytest.mark.parametrize("name", NEW_MODELS)
def test_every_new_model_dir_is_scored(name, tmp_path):
    options = {"tanh_means": True} if name == "wae_mmd_random" else {}
    config = train(name, tiny_sampler(), steps=3, seed=0, out=tmp_path, codes_size=48, **FAST, **options)
    assert config["model"] == name and config["complete"]
    if name in ("wae_mmd_random", "wtc_wae"):  # the export is the same code for all (loading it takes seconds)
        observations = tiny_sampler().sample_observations_from_factors(np.array([[0, 0, 0], [3, 3, 2]]), np.random.default_rng(0))
        codes = as_representation(tmp_path)(observations)
        assert codes.shape == (2, 10) and np.isfinite(codes).all()
        if name == "wae_mmd_random":  # the exported encoder outputs the tanh-bounded means the model uses
            assert np.abs(codes).max() < 1.0
    # scored through codes.npz (the encoder route needs dismetrics.data.get_sampler for the data set by name)
    (tmp_path / modeldir.ENCODER_FILE).unlink()
    outcome = score_model_dir(tmp_path, metrics=["mig", "gaussian_total_correlation"])
    assert outcome.status == "scored", outcome.reason
    assert {row["metric"] for row in outcome.rows} >= {"mig", "gaussian_total_correlation"}


def test_cli_trains_a_critic_model_with_lambda_and_tc_log(tmp_path, monkeypatch, capsys):
    import json

    import dismetrics.data as data
    from dismetrics_models.cli import main as cli_main

    monkeypatch.setattr(data, "get_sampler", lambda name, path=None: tiny_sampler(), raising=False)
    out = tmp_path / "run"
    args = ["--model", "wae_mmd_random", "--dataset", "tiny", "--steps", "2", "--batch-size", "4", "--out", str(out),
            "--set", "lambda=5", "--set", "lambda_1=0.5", "--set", "tanh_means=true", "--heldout-size", "8",
            "--no-progress", "--latent-dim", "3", "--tc-log-every", "1"]
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"] == "wae_mmd_random"
    config = modeldir.read_config(out)
    assert config["hyperparameters"]["lambda"] == 5 and config["hyperparameters"]["lambda_1"] == 0.5
    assert config["hyperparameters"]["tanh_means"] is True
    assert len((out / "tc_log.csv").read_text().splitlines()) == 3

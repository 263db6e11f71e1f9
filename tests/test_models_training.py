"""The training engine: every model trains, resume is exact, the export reproduces the module,
CPU determinism, the training-loop rules of MODELS.md, the data feed and the CLI."""

import copy
import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dismetrics import modeldir  # noqa: E402
from dismetrics.data import FactorGrid  # noqa: E402
from dismetrics_models import train  # noqa: E402
from dismetrics_models.base import permute_dims, reparameterize  # noqa: E402
from dismetrics_models.cli import main as cli_main, parse_set  # noqa: E402
from dismetrics_models.data import BatchSource  # noqa: E402
from dismetrics_models.engine import step_generator, train_step  # noqa: E402
from dismetrics_models.factor_vae import discriminator_loss  # noqa: E402
from dismetrics_models.registry import MODELS, build_model  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")

from toy_images import SIZES, draw_squares, tiny_sampler  # noqa: E402


class ArraySampler(FactorGrid):
    """The same data, with every image of the grid held in one uint8 array (the fast path)."""

    def __init__(self):
        super().__init__(SIZES, observe=draw_squares)
        grid = np.stack(np.unravel_index(np.arange(int(np.prod(SIZES))), SIZES), axis=1)
        self._images = (draw_squares(grid) * 255).astype(np.uint8)

    def all_observations(self):
        return self._images


FAST = dict(batch_size=8, heldout_size=16, log_every=2, progress=False, lr=1e-3)


def _read_log(path):
    with open(path / modeldir.TRAIN_LOG_FILE, newline="") as handle:
        return list(csv.DictReader(handle))


def _weights(path):
    state = torch.load(path / modeldir.CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    return state


def _assert_same_state(a, b):
    assert a["step"] == b["step"]
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key


# ---- every model trains ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_trains_and_its_loss_falls(name, tmp_path):
    config = train(name, tiny_sampler(), steps=12, seed=0, out=tmp_path / name, **FAST)
    rows = _read_log(tmp_path / name)
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    losses = np.array([float(r["loss"]) for r in rows])
    recon = np.array([float(r["recon"]) for r in rows])
    assert np.isfinite(losses).all()
    assert recon[-3:].mean() < recon[:3].mean()
    if name != "annealed_vae":  # its |KL - C| term starts near 0 and may rise while C is 0
        assert losses[-3:].mean() < losses[:3].mean()
    for column in ("recon", "kl", "tc_mws", "steps_per_second"):
        assert column in rows[0]
    if name == "factor_vae":
        assert {"tc_discriminator", "disc_loss", "disc_accuracy"} <= set(rows[0])
    read = modeldir.read_config(tmp_path / name)
    assert read == json.loads(json.dumps(config))
    assert read["model"] == name and read["steps"] == 12 and read["complete"] is True
    assert read["dataset"]["factor_sizes"] == SIZES and read["dataset_size"] == 48
    assert np.isfinite(read["recon_error_heldout"]) and read["recon_error_heldout"] > 0
    assert read["channels_first"] is False and read["input_shape"] == [64, 64, 1]


# ---- export -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["paper", "dlib_released"])
def test_exported_encoder_reproduces_the_module(arch, tmp_path):
    train("beta_vae", tiny_sampler(), steps=2, seed=1, out=tmp_path, arch=arch, latent_dim=4, codes_size=20, **FAST)
    model = build_model("beta_vae", in_channels=1, latent_dim=4, arch=arch)
    model.load_state_dict(_weights(tmp_path)["model"])
    model.eval()
    encoder = modeldir.load_encoder(tmp_path)
    for n in (1, 5):
        x = torch.from_numpy(draw_squares(np.random.default_rng(n).integers(0, 3, size=(n, 3))))
        mean, logvar = encoder(x)
        with torch.no_grad():
            ref_mean, ref_logvar = model.encoder(x.permute(0, 3, 1, 2))
        assert mean.shape == (n, 4)
        torch.testing.assert_close(mean, ref_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(logvar, ref_logvar, rtol=1e-5, atol=1e-6)
    # codes.npz: the encoder means of fresh samples, with their factors; the core scores them
    arrays = modeldir.read_codes(tmp_path)
    assert arrays["codes"].shape == (20, 4) and arrays["factors"].shape == (20, 3)
    with torch.no_grad():
        expected = encoder(torch.from_numpy(draw_squares(arrays["factors"])))[0].numpy()
    np.testing.assert_allclose(arrays["codes"], expected, rtol=1e-4, atol=1e-5)
    from dismetrics import mig

    assert 0.0 <= float(mig(arrays["codes"], arrays["factors"])) <= 1.0


# ---- determinism and resume ---------------------------------------------------------------------------
def test_cpu_determinism(tmp_path):
    train("beta_tcvae", tiny_sampler(), steps=3, seed=7, out=tmp_path / "a", **FAST)
    train("beta_tcvae", tiny_sampler(), steps=3, seed=7, out=tmp_path / "b", **FAST)
    train("beta_tcvae", tiny_sampler(), steps=3, seed=8, out=tmp_path / "c", **FAST)
    _assert_same_state(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    rows_a, rows_b = _read_log(tmp_path / "a"), _read_log(tmp_path / "b")
    for ra, rb in zip(rows_a, rows_b):
        ra.pop("steps_per_second"), rb.pop("steps_per_second")
        assert ra == rb
    different = _weights(tmp_path / "c")["model"]
    assert not torch.equal(different["encoder.fc.3.weight"], _weights(tmp_path / "a")["model"]["encoder.fc.3.weight"])
    a, b = modeldir.read_config(tmp_path / "a"), modeldir.read_config(tmp_path / "b")
    assert a["recon_error_heldout"] == b["recon_error_heldout"]


class Crash(Exception):
    pass


def _crash_after(step_to_crash):
    def callback(step, model):
        if step == step_to_crash:
            raise Crash(f"killed after step {step}")

    return callback


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    kwargs = dict(steps=6, seed=3, checkpoint_every=2, **FAST)
    train("factor_vae", tiny_sampler(), out=tmp_path / "whole", **kwargs)
    with pytest.raises(Crash):
        train("factor_vae", tiny_sampler(), out=tmp_path / "killed", callbacks=[_crash_after(5)], **kwargs)
    assert _weights(tmp_path / "killed")["step"] == 4  # the last good checkpoint
    assert not (tmp_path / "killed" / modeldir.ENCODER_FILE).exists()
    assert modeldir.read_config(tmp_path / "killed")["complete"] is False
    with pytest.raises(ValueError, match="already holds a run"):
        train("factor_vae", tiny_sampler(), out=tmp_path / "killed", **kwargs)
    with pytest.raises(ValueError, match="seed"):
        train("factor_vae", tiny_sampler(), out=tmp_path / "killed", resume=True, steps=6, seed=4)
    train(dataset=tiny_sampler(), out=tmp_path / "killed", resume=True, progress=False)
    whole, resumed = _weights(tmp_path / "whole"), _weights(tmp_path / "killed")
    _assert_same_state(whole, resumed)
    for name in whole["optimizer"]["state"]:
        for key, value in whole["optimizer"]["state"][name].items():
            assert torch.equal(value, resumed["optimizer"]["state"][name][key])
    disc_whole = whole["auxiliary_optimizers"]["discriminator"]["state"]
    disc_resumed = resumed["auxiliary_optimizers"]["discriminator"]["state"]
    assert torch.equal(disc_whole[0]["exp_avg"], disc_resumed[0]["exp_avg"])
    rows = _read_log(tmp_path / "killed")
    assert [int(r["step"]) for r in rows] == list(range(1, 7))  # rows after the checkpoint were replaced
    assert [r["loss"] for r in rows] == [r["loss"] for r in _read_log(tmp_path / "whole")]
    config = modeldir.read_config(tmp_path / "killed")
    assert config["complete"] and config["training"]["resumed_from_step"] == 4
    # extend a finished run
    train(dataset=tiny_sampler(), out=tmp_path / "killed", resume=True, steps=7, progress=False)
    assert _weights(tmp_path / "killed")["step"] == 7


def test_a_crash_while_checkpointing_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    train("beta_vae", tiny_sampler(), steps=2, seed=0, out=tmp_path, checkpoint_every=1, **FAST)
    good = _weights(tmp_path)
    real_save = torch.save

    def torn_save(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise Crash("power cut")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(Crash):
        train(dataset=tiny_sampler(), out=tmp_path, resume=True, steps=4, progress=False)
    monkeypatch.setattr(torch, "save", real_save)
    _assert_same_state(good, _weights(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


# ---- training-loop rules -----------------------------------------------------------------------------
@pytest.mark.parametrize("name, options", [("factor_vae", {}), ("factor_vae", {"same_batch": True}), ("beta_tcvae", {"estimator": "mss"})])
def test_encoder_gradient_is_the_model_loss_gradient_alone(name, options):
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, latent_dim=3, dataset_size=48, **options)
    optimizer = torch.optim.Adam(list(model.model_parameters()), lr=1e-3)
    auxiliary = model.make_auxiliary_optimizers()
    source = BatchSource(tiny_sampler(), 8, seed=0, second_batch=model.uses_second_batch, prefetch=0)
    for step in range(2):  # a first step so that the discriminator is no longer at its initialisation
        x, x2 = source.batch(step)
        train_step(model, optimizer, auxiliary, x, x2, step, step_generator(0, step))
    x, x2 = source.batch(2)
    before = copy.deepcopy(model)
    train_step(model, optimizer, auxiliary, x, x2, 2, step_generator(0, 2))

    generator = step_generator(0, 2)
    output = before.compute_loss(x, 2, generator, x2)
    encoder_params = list(before.encoder.parameters())
    expected = torch.autograd.grad(output.loss, encoder_params, retain_graph=True)
    for param, grad in zip(model.encoder.parameters(), expected):
        torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-6)
    for param, grad in zip(model.decoder.parameters(), torch.autograd.grad(output.loss, list(before.decoder.parameters()))):
        torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-6)

    if name == "factor_vae":
        # the model optimizer does not hold the discriminator
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        assert not any(id(p) in held for p in model.discriminator.parameters())
        # the discriminator's gradient is that of its own loss on detached codes, nothing from the model loss
        z = output.cache["z"].detach()
        if output.cache["second"] is not None:
            z_other = reparameterize(*output.cache["second"], generator)
        else:
            z_other = z
        permuted = permute_dims(z_other, generator)
        logits = before.discriminator(torch.cat([z, permuted]))
        d_loss = discriminator_loss(logits[:8], logits[8:])
        expected_d = torch.autograd.grad(d_loss, list(before.discriminator.parameters()))
        for param, grad in zip(model.discriminator.parameters(), expected_d):
            torch.testing.assert_close(param.grad, grad, rtol=1e-4, atol=1e-7)
        # and the discriminator parameters were updated only by their own optimizer step
        assert all(p.requires_grad for p in model.discriminator.parameters())


def test_steps_count_model_updates_and_checkpoint_holds_optimizer_steps(tmp_path):
    train("factor_vae", tiny_sampler(), steps=3, seed=0, out=tmp_path, **FAST)
    state = _weights(tmp_path)
    assert state["step"] == 3
    first = next(iter(state["optimizer"]["state"].values()))
    assert float(first["step"]) == 3
    disc = next(iter(state["auxiliary_optimizers"]["discriminator"]["state"].values()))
    assert float(disc["step"]) == 3


# ---- data feed ------------------------------------------------------------------------------------------
def test_fast_path_gives_the_same_batches_as_rendering():
    slow = BatchSource(tiny_sampler(), 8, seed=5, prefetch=0)
    fast = BatchSource(ArraySampler(), 8, seed=5, prefetch=3, second_batch=False)
    prefetched = BatchSource(tiny_sampler(), 8, seed=5, prefetch=2)
    assert fast.uses_fast_path and not slow.uses_fast_path
    for step in (0, 1, 2, 7, 3):
        a, _ = slow.batch(step)
        b, _ = fast.batch(step)
        c, _ = prefetched.batch(step)
        assert a.shape == (8, 1, 64, 64) and a.dtype == torch.float32
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a, c)
    fast.close(), prefetched.close()
    two = BatchSource(tiny_sampler(), 8, seed=5, second_batch=True, prefetch=0)
    x1, x2 = two.batch(0)
    assert x1.shape == x2.shape == (8, 1, 64, 64)
    assert not torch.equal(x1, x2)


def test_training_on_the_fast_path_matches_rendering(tmp_path):
    train("beta_vae", tiny_sampler(), steps=2, seed=2, out=tmp_path / "slow", **FAST)
    train("beta_vae", ArraySampler(), steps=2, seed=2, out=tmp_path / "fast", **FAST)
    _assert_same_state(_weights(tmp_path / "slow"), _weights(tmp_path / "fast"))


# ---- errors and the CLI ------------------------------------------------------------------------------
def test_train_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        train("nope", tiny_sampler(), steps=1, out=tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="64x64"):
        train("beta_vae", FactorGrid([2, 3]), steps=1, out=tmp_path / "b", progress=False)
    with pytest.raises(ValueError, match="steps"):
        train("beta_vae", tiny_sampler(), steps=0, out=tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match="out"):
        train("beta_vae", tiny_sampler(), steps=1)
    with pytest.raises(ValueError, match="sampler"):
        train("beta_vae", 42, steps=1, out=tmp_path / "d")
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        train("beta_vae", tiny_sampler(), steps=1, out=tmp_path / "e", gamma=4, progress=False)
    with pytest.raises(ValueError, match="device"):
        train("beta_vae", tiny_sampler(), steps=1, out=tmp_path / "f", device="tpu", progress=False)


def test_parse_set():
    assert parse_set(["beta=4", "lr=1e-3", "estimator=mss", "same_batch=true", "lambda_d=none"]) == {
        "beta": 4, "lr": 1e-3, "estimator": "mss", "same_batch": True, "lambda_d": None,
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["beta"])


def test_cli_trains_and_resumes(tmp_path, monkeypatch, capsys):
    import dismetrics.data as data

    def get_sampler(name, path=None):
        if name != "tiny":
            raise ValueError(f"unknown data set {name!r}")
        return tiny_sampler()

    monkeypatch.setattr(data, "get_sampler", get_sampler, raising=False)
    out = tmp_path / "run"
    args = ["--model", "dip_vae_ii", "--dataset", "tiny", "--steps", "2", "--batch-size", "4", "--out", str(out),
            "--set", "lambda_od=5", "--set", "lr=1e-3", "--heldout-size", "8", "--no-progress", "--latent-dim", "3"]
    assert cli_main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["model"] == "dip_vae_ii"
    config = modeldir.read_config(out)
    assert config["hyperparameters"]["lambda_od"] == 5 and config["hyperparameters"]["lambda_d"] == 5
    assert config["optimizer"]["lr"] == 1e-3 and config["dataset"]["name"] == "tiny" and config["latent_dim"] == 3
    assert cli_main(["--out", str(out), "--resume", "--steps", "3", "--no-progress"]) == 0
    assert modeldir.read_config(out)["steps"] == 3
    assert cli_main(["--dataset", "nope", "--steps", "1", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "unknown data set" in capsys.readouterr().err
    assert cli_main(args) == 2  # the dir already holds a run
    with pytest.raises(SystemExit):
        cli_main(["--steps", "1", "--out", str(tmp_path / "y")])  # no data set


def test_unknown_dataset_name_without_get_sampler(tmp_path, monkeypatch):
    import dismetrics.data as data

    monkeypatch.delattr(data, "get_sampler", raising=False)
    with pytest.raises(ValueError, match="get_sampler|unknown"):
        train("beta_vae", "dsprites", steps=1, out=tmp_path, progress=False)


def test_amp_option_runs(tmp_path):
    config = train("factor_vae", tiny_sampler(), steps=2, seed=0, out=tmp_path, amp=True, **FAST)
    assert config["trainer"]["amp"] is True and np.isfinite(config["recon_error_heldout"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to compare CPU and GPU runs")
def test_cuda_run_matches_cpu_run_up_to_rounding(tmp_path):
    train("factor_vae", tiny_sampler(), steps=3, seed=0, out=tmp_path / "cpu", device="cpu", **FAST)
    train("factor_vae", ArraySampler(), steps=3, seed=0, out=tmp_path / "gpu", device="cuda", **FAST)
    cpu, gpu = _weights(tmp_path / "cpu")["model"], _weights(tmp_path / "gpu")["model"]
    for key in cpu:  # Adam amplifies rounding on near-zero gradients, so compare tensors as a whole
        difference = (cpu[key].double() - gpu[key].double()).norm().item()
        assert difference <= 1e-2 * cpu[key].double().norm().item() + 1e-3, key
    rows_cpu, rows_gpu = _read_log(tmp_path / "cpu"), _read_log(tmp_path / "gpu")
    for a, b in zip(rows_cpu, rows_gpu):
        assert float(a["recon"]) == pytest.approx(float(b["recon"]), rel=1e-3)


def test_exported_encoder_loads_without_dismetrics_models_or_pickle(tmp_path):
    import subprocess
    import sys

    train("beta_vae", tiny_sampler(), steps=1, seed=0, out=tmp_path, latent_dim=3, **FAST)
    x = draw_squares(np.array([[0, 1, 2], [3, 3, 0]]))
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np, torch\n"
        "from dismetrics.modeldir import load_encoder\n"
        f"m = load_encoder({str(tmp_path)!r})\n"
        f"mean, logvar = m(torch.from_numpy(np.load({str(tmp_path / 'x.npy')!r})))\n"
        "assert 'dismetrics_models' not in sys.modules\n"
        # the file is plain arrays: numpy reads it without unpickling anything
        f"arrays = np.load({str(tmp_path / modeldir.ENCODER_FILE)!r}, allow_pickle=False)\n"
        "assert 'graph' in arrays.files\n"
        "print(mean.shape[0], mean.shape[1], logvar.shape[1])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "3", "3"]

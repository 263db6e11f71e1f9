"""A model dir's exported encoder as a representation (torch alone, no dismetrics_models at load time)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dismetrics import as_representation, modeldir  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_model_dir_representation_reproduces_the_encoder(tmp_path):
    from dismetrics_models.engine import export_encoder
    from dismetrics_models.registry import build_model

    torch.manual_seed(0)
    model = build_model("beta_vae", in_channels=1, latent_dim=4)
    export_encoder(model, tmp_path / modeldir.ENCODER_FILE)
    modeldir.write_config(tmp_path, {"model": "beta_vae", "hyperparameters": {"beta": 4}, "dataset": {"name": "toy"},
                                     "seed": 0, "steps": 0, "latent_dim": 4, "channels_first": False})
    observations = np.random.default_rng(0).random((5, 64, 64, 1)).astype(np.float32)
    with torch.no_grad():
        expected_mean, expected_logvar = model.encoder(torch.from_numpy(observations).permute(0, 3, 1, 2))
    rep = as_representation(str(tmp_path))
    mean, logvar = rep.encode(observations)
    np.testing.assert_allclose(mean, expected_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logvar, expected_logvar.numpy(), rtol=1e-5, atol=1e-6)
    sampled = as_representation(tmp_path, mode="sampled", random_state=0)(observations)
    assert sampled.shape == (5, 4) and not np.allclose(sampled, mean)


def test_a_dir_without_encoder_is_a_clear_error(tmp_path):
    modeldir.write_config(tmp_path, {"model": "beta_vae", "hyperparameters": {}, "dataset": {"name": "toy"},
                                     "seed": 0, "steps": 0, "latent_dim": 4})
    with pytest.raises(ValueError, match="no exported encoder"):
        as_representation(tmp_path)

"""The Lightning callback logs metric values through ``self.log`` (a tiny LightningModule on CPU), and
the core never imports Lightning."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch", reason="the [lightning] extra is not installed")

from dismetrics.data import FactorGrid  # noqa: E402
from dismetrics.integrations.lightning import DisentanglementCallback  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZES = (3, 4)


def observe(factors):
    """Observations: the two factors scaled, and a third, noise-free mixture (a 3-vector)."""
    f = np.asarray(factors, dtype=np.float32)
    return np.stack([f[:, 0] / 2, f[:, 1] / 3, (f[:, 0] + f[:, 1]) / 5], axis=1)


class TinyModule(pl.LightningModule):
    """An autoencoder of 3-vectors with a 2-d code; ``encoder`` is what the callback scores."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(3, 2)
        self.decoder = torch.nn.Linear(2, 3)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        loss = torch.nn.functional.mse_loss(self.decoder(self.encoder(x)), x)
        self.log("loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader():
    factors = np.stack(np.unravel_index(np.arange(12), SIZES), axis=1)
    x = torch.tensor(observe(factors))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=4, shuffle=False)


def test_callback_logs_metrics_through_the_loggers(tmp_path):
    sampler = FactorGrid(SIZES, observe=observe)
    callback = DisentanglementCallback(sampler, ["mig", "modularity"], every_n_steps=2, encoder="encoder", n=60, n_test=20,
                                       channels_first=False, on_train_end=True)
    trainer = pl.Trainer(max_steps=5, accelerator="cpu", devices=1, logger=pl.loggers.CSVLogger(tmp_path), callbacks=[callback],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1)
    module = TinyModule()
    trainer.fit(module, loader())
    steps = [row["step"] for row in callback.monitor.history]
    assert steps == [2, 2, 4, 4, 5, 5]  # every 2 steps, then the end (history only)
    assert {"disentanglement/mig", "disentanglement/modularity"} <= set(trainer.logged_metrics)
    with open(trainer.logger.experiment.metrics_file_path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("disentanglement/mig")]
    # Lightning writes the value from the update that logged it on, holding it until the next evaluation
    assert int(rows[0]["step"]) == 1  # the CSV's 0-based step of the 2nd update
    logged = sorted({float(r["disentanglement/mig"]) for r in rows})
    expected = sorted(row["value"] for row in callback.monitor.history if row["metric"] == "mig" and row["step"] in (2, 4))
    assert np.allclose(logged, expected, rtol=1e-6, atol=1e-7)
    assert callback.state_dict()["last_step"] == 5


def test_the_core_never_imports_lightning_or_torchmetrics():
    code = ("import sys, dismetrics, dismetrics.monitor, dismetrics.streaming, dismetrics.data.download, "
            "dismetrics.training_curves; from dismetrics.data import get_sampler; "
            "print(sorted(m for m in ('lightning', 'pytorch_lightning', 'torchmetrics', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"

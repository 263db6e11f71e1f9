"""The trust boundary of a model dir's encoder: nothing in a model dir runs code unless the user says so.

- the project's own model dirs (encoder graph, ``encoder.npz``) load and score with no flag;
- a pickle-based encoder (a crafted ``encoder.pt2``) is refused before it is opened, with the flag named;
- legacy ``torch.export`` dirs load only with ``trust_model_code=True`` and convert with ``reexport``;
- the encoder-graph reader refuses truncated, corrupted, wrong-typed and oversized files with a
  ``ValueError`` (never another exception), and round-trips every supported layer exactly.
"""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from dismetrics import as_representation, encoder_graph, modeldir  # noqa: E402
from dismetrics.data import FactorGrid  # noqa: E402
from dismetrics.encoder_graph import EncoderGraphError  # noqa: E402
from dismetrics.scoring import score_model_dir  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONFIG = {"model": "beta_vae", "hyperparameters": {"beta": 4.0}, "dataset": {"name": "dsprites"}, "seed": 0,
          "steps": 1, "latent_dim": 4, "arch": "paper", "channels": 1, "input_shape": [64, 64, 1],
          "channels_first": False}


class _Payload:
    """Unpickling this writes a marker file: the stand-in for arbitrary code in a crafted archive."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious_dir(tmp_path, name="encoder.pt2"):
    directory = tmp_path / "evil"
    directory.mkdir()
    marker = tmp_path / "PWNED"
    buffer = io.BytesIO()
    torch.save({"weights": _Payload(marker)}, buffer)  # a torch zip archive whose data.pkl runs code
    (directory / name).write_bytes(buffer.getvalue())
    modeldir.write_config(directory, {**CONFIG, "encoder_file": name})
    return directory, marker, buffer.getvalue()


def _encoder(latent_dim=4, channels=1, seed=0):
    from dismetrics_models.architectures import Encoder

    torch.manual_seed(seed)
    return Encoder(channels, latent_dim).eval()


def _own_dir(tmp_path, name="own"):
    directory = tmp_path / name
    directory.mkdir()
    encoder = _encoder()
    modeldir.save_encoder(directory, [encoder.convs, encoder.fc], input_shape=(64, 64, 1), latent_dim=4)
    modeldir.write_config(directory, {**CONFIG, "encoder_file": modeldir.ENCODER_FILE})
    return directory, encoder


def _observations(n=6, seed=0):
    return np.random.default_rng(seed).random((n, 64, 64, 1)).astype(np.float32)


# ---- the malicious archive -------------------------------------------------------------------------
def test_the_payload_is_live(tmp_path):
    """The check below means something: unpickling this file really does run the payload."""
    _, marker, data = _malicious_dir(tmp_path)
    torch.load(io.BytesIO(data), weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("name", ["encoder.pt2", "encoder.pt", "encoder.bin"])
def test_a_crafted_archive_is_refused_before_it_is_opened(tmp_path, name):
    directory, marker, _ = _malicious_dir(tmp_path, name)
    with pytest.raises(modeldir.UntrustedModelCodeError, match="trust_model_code=True") as caught:
        modeldir.load_encoder(directory)
    assert "--trust-model-code" in str(caught.value)
    with pytest.raises(ValueError, match="trust_model_code"):
        as_representation(directory)
    assert not marker.exists()


def test_a_crafted_archive_named_npz_is_not_unpickled(tmp_path):
    directory, marker, _ = _malicious_dir(tmp_path, "encoder.npz")
    with pytest.raises(modeldir.ModelDirError, match="not an encoder graph|no 'graph'"):
        modeldir.load_encoder(directory, trust_model_code=False)
    assert not marker.exists()


def test_dismetrics_score_refuses_it_and_names_the_flag(tmp_path):
    directory, marker, _ = _malicious_dir(tmp_path)
    outcome = score_model_dir(directory, metrics=["mig"], n=200, n_test=100)
    assert outcome.status == "failed" and "--trust-model-code" in outcome.reason
    result = subprocess.run([sys.executable, "-m", "dismetrics", "score", "--model-dir", str(directory), "--metrics",
                             "mig", "--n", "200", "--quiet"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "--trust-model-code" in result.stderr
    assert not marker.exists()


# ---- the project's own dirs ------------------------------------------------------------------------
def test_own_model_dir_loads_without_the_flag_and_reproduces_the_encoder(tmp_path):
    directory, encoder = _own_dir(tmp_path)
    x = _observations()
    with torch.no_grad():
        expected_mean, expected_logvar = encoder(torch.from_numpy(x).permute(0, 3, 1, 2))
    module = modeldir.load_encoder(directory)
    mean, logvar = module(torch.from_numpy(x))
    torch.testing.assert_close(mean, expected_mean, rtol=0, atol=0)
    torch.testing.assert_close(logvar, expected_logvar, rtol=0, atol=0)
    rep_mean, rep_logvar = as_representation(directory).encode(x)
    np.testing.assert_array_equal(rep_mean, expected_mean.numpy().astype(np.float64))


def test_a_trained_model_dir_scores_without_the_flag(tmp_path):
    from dismetrics_models.engine import train

    sampler = FactorGrid([3, 3], observe=lambda f: np.zeros((len(f), 64, 64, 1), np.float32) + f[:, :1, None, None] / 3)
    train("beta_vae", sampler, steps=1, seed=0, out=tmp_path / "run", latent_dim=3, batch_size=8, heldout_size=8,
          log_every=1, progress=False)
    config = modeldir.read_config(tmp_path / "run")
    assert config["encoder_file"] == "encoder.npz" and not (tmp_path / "run" / "encoder.pt2").exists()
    # numpy reads the file without pickle: it is data only
    with np.load(tmp_path / "run" / "encoder.npz", allow_pickle=False) as arrays:
        graph = json.loads(arrays["graph"].tobytes())
    assert graph["format"] == encoder_graph.GRAPH_FORMAT
    rep = as_representation(tmp_path / "run")
    codes = rep(sampler.sample_observations_from_factors(np.array([[0, 0], [2, 1]]), np.random.default_rng(0)))
    assert codes.shape == (2, 3) and np.isfinite(codes).all()


# ---- legacy torch.export dirs ----------------------------------------------------------------------
def _legacy_dir(tmp_path, with_checkpoint=True):
    """A model dir as the trainer wrote it before the encoder-graph format: encoder.pt2 and a checkpoint."""
    from dismetrics_models.architectures import ChannelsLastEncoder
    from dismetrics_models.registry import build_model

    directory = tmp_path / "legacy"
    directory.mkdir()
    torch.manual_seed(3)
    model = build_model("beta_vae", in_channels=1, latent_dim=4, arch="paper")
    model.eval()
    wrapped = ChannelsLastEncoder(model.encoder).eval()
    with torch.no_grad():
        program = torch.export.export(wrapped, (torch.rand(2, 64, 64, 1),),
                                      dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    torch.export.save(program, str(directory / "encoder.pt2"))
    if with_checkpoint:
        torch.save({"format": 1, "step": 1, "model": model.state_dict()}, directory / modeldir.CHECKPOINT_FILE)
    modeldir.write_config(directory, {**CONFIG, "encoder_file": "encoder.pt2",
                                      "hyperparameters": dict(model.hyperparameters)})
    return directory, model


def test_legacy_archive_needs_the_flag_and_then_loads(tmp_path):
    directory, model = _legacy_dir(tmp_path)
    with pytest.raises(modeldir.UntrustedModelCodeError, match="dismetrics reexport"):
        modeldir.load_encoder(directory)
    x = _observations(5)
    trusted = as_representation(directory, trust_model_code=True).encode(x)[0]
    with torch.no_grad():
        expected = model.encoder(torch.from_numpy(x).permute(0, 3, 1, 2))[0].numpy()
    np.testing.assert_allclose(trusted, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("with_checkpoint", [True, False])
def test_reexport_converts_a_legacy_dir(tmp_path, with_checkpoint):
    from dismetrics_models.reexport import main as reexport_main
    from dismetrics_models.reexport import reexport_encoder

    directory, model = _legacy_dir(tmp_path, with_checkpoint=with_checkpoint)
    if not with_checkpoint:  # only the archive: converting it unpickles, so the flag is needed
        with pytest.raises(modeldir.UntrustedModelCodeError, match="--trust-model-code"):
            reexport_encoder(directory)
        assert reexport_main([str(directory)]) == 1
    assert reexport_main([str(directory), "--trust-model-code"] if not with_checkpoint else [str(directory)]) == 0
    assert modeldir.read_config(directory)["encoder_file"] == "encoder.npz"
    x = _observations(5, seed=1)
    with torch.no_grad():
        expected = model.encoder(torch.from_numpy(x).permute(0, 3, 1, 2))[0].numpy()
    converted = as_representation(directory).encode(x)[0]  # no flag
    np.testing.assert_allclose(converted, expected, rtol=1e-6, atol=1e-6)


# ---- the graph format ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["conv_tanh", "mlp_means", "channels_first"])
def test_graph_round_trip_of_every_layer(tmp_path, case):
    from torch import nn

    torch.manual_seed(0)
    if case == "conv_tanh":
        layers = [nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(8, 4, 2, bias=False), nn.ELU(0.5),
                  nn.Flatten(), nn.Linear(4 * 7 * 7, 6), nn.Tanh()]
        options = dict(input_shape=(16, 16, 3), input_layout="channels_last", latent_dim=3, mean_transform="tanh")
        x = np.random.default_rng(0).random((5, 16, 16, 3)).astype(np.float32)
        reference_input = torch.from_numpy(x).permute(0, 3, 1, 2)
    elif case == "mlp_means":
        layers = [nn.Sequential(nn.Linear(7, 16), nn.Sigmoid()), nn.ReLU(), nn.Linear(16, 2)]
        options = dict(input_shape=(7,), input_layout="flat", latent_dim=2, outputs="mean")
        x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
        reference_input = torch.from_numpy(x)
    else:
        layers = [nn.Conv2d(1, 2, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 4)]
        options = dict(input_shape=(1, 8, 8), input_layout="channels_first", latent_dim=2)
        x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
        reference_input = torch.from_numpy(x)
    path = modeldir.save_encoder(tmp_path / "enc.npz", layers, **options)
    module = encoder_graph.build_torch_module(*encoder_graph.read_encoder(path))
    with torch.no_grad():
        h = nn.Sequential(*layers)(reference_input)
        out = module(torch.from_numpy(x))
    d = options["latent_dim"]
    mean = torch.tanh(h[:, :d]) if options.get("mean_transform") == "tanh" else h[:, :d]
    if options.get("outputs") == "mean":
        torch.testing.assert_close(out, mean, rtol=0, atol=0)
    else:
        torch.testing.assert_close(out[0], mean, rtol=0, atol=0)
        torch.testing.assert_close(out[1], h[:, d:], rtol=0, atol=0)


def test_unsupported_layers_are_refused_when_saving(tmp_path):
    from torch import nn

    with pytest.raises(EncoderGraphError, match="BatchNorm2d"):
        modeldir.save_encoder(tmp_path / "e.npz", [nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)], input_shape=(8, 8, 1), latent_dim=1)
    with pytest.raises(EncoderGraphError, match="dilation"):
        modeldir.save_encoder(tmp_path / "e.npz", [nn.Conv2d(1, 2, 3, dilation=2)], input_shape=(8, 8, 1), latent_dim=1)


def _valid_file(tmp_path):
    directory, _ = _own_dir(tmp_path, "valid")
    return directory / modeldir.ENCODER_FILE


def _rewrite(path, graph=None, arrays=None, extra=None):
    with np.load(path, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    if graph is not None:
        members["graph"] = np.frombuffer(json.dumps(graph).encode(), dtype=np.uint8)
    members.update(arrays or {})
    with open(path, "wb") as handle:
        np.savez(handle, **members)
    if extra:
        with zipfile.ZipFile(path, "a") as archive:
            for name, data in extra.items():
                archive.writestr(name, data)


def _graph(path):
    with np.load(path, allow_pickle=False) as data:
        return json.loads(data["graph"].tobytes())


BAD_GRAPHS = {
    "unknown op": (lambda g: g["layers"].insert(1, {"op": "eval", "code": "os.system('x')"}), "unknown op"),
    "extra key": (lambda g: g["layers"][1].update(hook="x"), "unknown key"),
    "huge channels": (lambda g: g["layers"][1].update(out_channels=10**12), "between 1 and"),
    "bool size": (lambda g: g["layers"][1].update(kernel_size=True), "must be an integer"),
    "wrong chain": (lambda g: g["layers"][1].update(in_channels=3), r"takes \(n, 3"),
    "bad permute": (lambda g: g["layers"][0].update(dims=[1, 0, 2, 3]), "dims"),
    "wrong width": (lambda g: g["outputs"].update(latent_dim=5), "needs"),
    "newer version": (lambda g: g.update(version=99), "newer"),
    "not a format": (lambda g: g.update(format="pickle"), "format"),
    "duplicate names": (lambda g: g["layers"][3].update(name=g["layers"][1]["name"]), "unique"),
    "too many weights": (lambda g: g.update(input={"layout": "flat", "shape": [65536]}, layers=[
        {"op": "linear", "name": f"l{i}", "in_features": 65536, "out_features": 65536} for i in range(2)]), "more than"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_invalid_graphs_are_refused_with_the_key(tmp_path, case):
    path = _valid_file(tmp_path)
    graph = _graph(path)
    mutate, message = BAD_GRAPHS[case]
    mutate(graph)
    _rewrite(path, graph=graph)
    with pytest.raises(EncoderGraphError, match=message):
        encoder_graph.read_encoder(path)
    with pytest.raises(modeldir.ModelDirError, match=message):
        modeldir.load_encoder(path.parent)


BAD_ARRAYS = {
    "object array": ({"conv0.bias": np.array([object()] * 32, dtype=object)}, None, "cannot be read|Object arrays"),
    "wrong shape": ({"conv0.bias": np.zeros(31, np.float32)}, None, "shape"),
    "integer weights": ({"conv0.bias": np.zeros(32, np.int64)}, None, "dtype"),
    "nan weights": ({"conv0.bias": np.full(32, np.nan, np.float32)}, None, "NaN"),
    "unexpected array": ({"extra.weight": np.zeros(2, np.float32)}, None, "unexpected"),
    "pickle member": (None, {"data.pkl": pickle.dumps(_Payload("/nonexistent/x"))}, "unexpected"),
    "oversized member": ({"conv0.bias": np.zeros(32 * 100, np.float32)}, None, "larger than|shape"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARRAYS))
def test_invalid_arrays_are_refused(tmp_path, case):
    path = _valid_file(tmp_path)
    arrays, extra, message = BAD_ARRAYS[case]
    if case == "object array":  # np.savez would pickle it: write the member by hand
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, arrays["conv0.bias"], allow_pickle=True)
        _rewrite(path)
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        members["conv0.bias.npy"] = buffer.getvalue()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    else:
        _rewrite(path, arrays=arrays, extra=extra)
    with pytest.raises(EncoderGraphError, match=message):
        encoder_graph.read_encoder(path)


def test_encoder_file_name_must_stay_inside_the_dir(tmp_path):
    directory, _ = _own_dir(tmp_path)
    outside = tmp_path / "outside.npz"
    outside.write_bytes((directory / "encoder.npz").read_bytes())
    for name in ["../outside.npz", str(outside), "sub/encoder.npz", ".."]:
        config = modeldir.read_config(directory)
        with pytest.raises(modeldir.ModelDirError, match="encoder_file|plain file name"):
            modeldir.encoder_path(directory, {**config, "encoder_file": name})


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_truncated_or_corrupted_encoder_files_give_a_value_error(tmp_path_factory, data):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    path = _valid_file(tmp_path)
    original = path.read_bytes()
    kind = data.draw(st.sampled_from(["truncate", "flip", "garbage"]))
    if kind == "truncate":
        corrupted = original[: data.draw(st.integers(0, len(original) - 1))]
    elif kind == "flip":
        at = data.draw(st.integers(0, len(original) - 1))
        corrupted = original[:at] + bytes([original[at] ^ data.draw(st.integers(1, 255))]) + original[at + 1:]
    else:
        corrupted = data.draw(st.binary(max_size=2000))
    path.write_bytes(corrupted)
    try:
        module = modeldir.load_encoder(path.parent)
    except ValueError:
        return  # refused with a ModelDirError / EncoderGraphError
    # a change that leaves a valid file (bytes outside any checked field): it still loads as an encoder
    mean, logvar = module(torch.from_numpy(_observations(2)))
    assert mean.shape == (2, 4) and logvar.shape == (2, 4)


def test_no_file_is_written_when_loading(tmp_path):
    directory, _ = _own_dir(tmp_path)
    before = sorted(os.listdir(directory))
    modeldir.load_encoder(directory)
    assert sorted(os.listdir(directory)) == before

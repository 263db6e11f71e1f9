"""Model dirs: config and codes round trips, atomic writes, clear errors on corrupt or missing files."""

import json
import os

import numpy as np
import pytest

from dismetrics import modeldir
from dismetrics.modeldir import ModelDirError


def _config(**extra):
    config = {
        "model": "beta_vae",
        "hyperparameters": {"beta": 4.0},
        "dataset": {"name": "dsprites", "params": {}},
        "seed": 3,
        "steps": 100,
        "latent_dim": 10,
        "arch": "paper",
        "channels_first": False,
        "recon_error_heldout": 12.5,
    }
    config.update(extra)
    return config


def test_config_round_trip(tmp_path):
    config = _config(hyperparameters={"beta": np.float64(4.0), "n": np.int64(3)}, shape=np.array([64, 64, 1]))
    path = modeldir.write_config(tmp_path / "run", config)
    assert path.name == modeldir.CONFIG_FILE
    read = modeldir.read_config(tmp_path / "run")
    assert read["format_version"] == modeldir.FORMAT_VERSION
    assert read["hyperparameters"] == {"beta": 4.0, "n": 3}
    assert read["shape"] == [64, 64, 1]
    for key in ("model", "seed", "steps", "latent_dim", "arch", "channels_first", "recon_error_heldout"):
        assert read[key] == _config()[key]


def test_write_config_requires_keys(tmp_path):
    config = _config()
    del config["seed"]
    with pytest.raises(ModelDirError, match="seed"):
        modeldir.write_config(tmp_path, config)
    assert not (tmp_path / modeldir.CONFIG_FILE).exists()


def test_read_config_errors(tmp_path):
    with pytest.raises(ModelDirError, match="does not exist"):
        modeldir.read_config(tmp_path / "nope")
    with pytest.raises(ModelDirError, match="no dismetrics.json"):
        modeldir.read_config(tmp_path)
    (tmp_path / modeldir.CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelDirError, match="not valid JSON"):
        modeldir.read_config(tmp_path)
    (tmp_path / modeldir.CONFIG_FILE).write_text("[1, 2]")
    with pytest.raises(ModelDirError, match="JSON object"):
        modeldir.read_config(tmp_path)
    (tmp_path / modeldir.CONFIG_FILE).write_text(json.dumps({"model": "x"}))
    with pytest.raises(ModelDirError, match="format_version"):
        modeldir.read_config(tmp_path)
    (tmp_path / modeldir.CONFIG_FILE).write_text(json.dumps({**_config(), "format_version": 99}))
    with pytest.raises(ModelDirError, match="newer"):
        modeldir.read_config(tmp_path)
    (tmp_path / modeldir.CONFIG_FILE).write_text(json.dumps({**_config(), "format_version": "1"}))
    with pytest.raises(ModelDirError, match="invalid format_version"):
        modeldir.read_config(tmp_path)
    broken = _config()
    del broken["latent_dim"]
    (tmp_path / modeldir.CONFIG_FILE).write_text(json.dumps({**broken, "format_version": 1}))
    with pytest.raises(ModelDirError, match="latent_dim"):
        modeldir.read_config(tmp_path)


def test_codes_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    codes, factors = rng.normal(size=(20, 4)), rng.integers(0, 3, size=(20, 2))
    codes_test, factors_test = rng.normal(size=(5, 4)), rng.integers(0, 3, size=(5, 2))
    modeldir.write_codes(tmp_path, codes, factors)
    read = modeldir.read_codes(tmp_path)
    assert set(read) == {"codes", "factors"}
    np.testing.assert_array_equal(read["codes"], codes)
    np.testing.assert_array_equal(read["factors"], factors)
    modeldir.write_codes(tmp_path, codes, factors, codes_test, factors_test)
    read = modeldir.read_codes(tmp_path / modeldir.CODES_FILE)
    np.testing.assert_array_equal(read["codes_test"], codes_test)
    np.testing.assert_array_equal(read["factors_test"], factors_test)


def test_codes_errors(tmp_path):
    codes, factors = np.zeros((4, 2)), np.zeros((4, 1), dtype=int)
    with pytest.raises(ModelDirError, match="together"):
        modeldir.write_codes(tmp_path, codes, factors, codes_test=codes)
    with pytest.raises(ModelDirError, match="rows"):
        modeldir.write_codes(tmp_path, codes, factors[:3])
    with pytest.raises(ModelDirError, match="2-D"):
        modeldir.write_codes(tmp_path, codes[:, 0], factors)
    with pytest.raises(ModelDirError, match="columns"):
        modeldir.write_codes(tmp_path, codes, factors, np.zeros((2, 3)), np.zeros((2, 1)))
    with pytest.raises(ModelDirError, match="no codes file"):
        modeldir.read_codes(tmp_path)
    (tmp_path / modeldir.CODES_FILE).write_bytes(b"garbage")
    with pytest.raises(ModelDirError, match="not a readable"):
        modeldir.read_codes(tmp_path)
    np.savez(tmp_path / modeldir.CODES_FILE, codes=codes)
    with pytest.raises(ModelDirError, match="'factors'"):
        modeldir.read_codes(tmp_path)
    np.savez(tmp_path / modeldir.CODES_FILE, codes=codes, factors=factors, codes_test=codes)
    with pytest.raises(ModelDirError, match="both"):
        modeldir.read_codes(tmp_path)
    np.savez(tmp_path / modeldir.CODES_FILE, codes=codes, factors=factors[:2])
    with pytest.raises(ModelDirError, match="same rows"):
        modeldir.read_codes(tmp_path)


def test_atomic_write_keeps_old_file_on_crash(tmp_path):
    path = tmp_path / "file.bin"
    modeldir.atomic_write_bytes(path, b"good")

    def crash(handle):
        handle.write(b"half-writ")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        modeldir.atomic_write(path, crash)
    assert path.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["file.bin"]  # no temporary file left behind


def test_modeldir_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, dismetrics.modeldir; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_encoder_missing_file(tmp_path):
    pytest.importorskip("torch")
    modeldir.write_config(tmp_path, _config())
    with pytest.raises(ModelDirError, match="no exported encoder"):
        modeldir.load_encoder(tmp_path)
    (tmp_path / modeldir.ENCODER_FILE).write_bytes(b"not a program")
    with pytest.raises(ModelDirError, match="could not load"):
        modeldir.load_encoder(tmp_path)

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


# ---- the config schema ---------------------------------------------------------------------------
def _trainer_config():
    """Every key dismetrics_models' trainer writes (engine._config and what train() adds at the end)."""
    return {
        "format_version": 1, "model": "beta_vae", "hyperparameters": {"beta": 4.0}, "optimizer": {"name": "adam", "lr": 1e-4},
        "dataset": {"name": "dsprites", "path": None, "params": {"sprite_size": 0.28, "margin": 0.2},
                    "factor_names": ["shape", "scale"], "factor_sizes": [3, 6], "observation_shape": [64, 64, 1]},
        "dataset_size": 737280, "seed": 0, "steps": 10, "steps_requested": 10, "batch_size": 64, "latent_dim": 10,
        "arch": "paper", "input_shape": [64, 64, 1], "channels": 1, "channels_first": False, "encoder_file": "encoder.npz",
        "encoder_outputs": ["mean", "logvar"], "representation": "mean", "complete": True, "recon_error_heldout": 12.5,
        "heldout_size": 1000, "codes_size": 0,
        "training": {"seconds_this_session": 1.0, "steps_this_session": 10, "steps_per_second": 10.0, "resumed_from_step": None},
        "trainer": {"package": "dismetrics_models", "torch": "2.0", "python": "3.11", "device": "cpu", "amp": False, "compile": False},
    }


def test_every_key_the_trainer_writes_passes_the_schema(tmp_path):
    config = _trainer_config()
    assert set(config) <= set(modeldir.CONFIG_SCHEMA)
    modeldir.write_config(tmp_path, config)
    assert modeldir.read_config(tmp_path) == config
    for encoder_file in ("encoder.npz", "encoder.pt2"):
        modeldir.validate_config({**config, "encoder_file": encoder_file})
    # a config written by hand, with keys of its own (kept and ignored) and a data set given by name
    modeldir.validate_config({**_config(), "dataset": "dsprites", "notes": ["mine"], "_private": 1})
    modeldir.validate_config({**_config(), "dataset": None})


@pytest.mark.parametrize("key, value", [
    ("hyperparameters", [1]), ("model", ["beta_vae"]), ("seed", "3"), ("seed", True), ("seed", -1), ("steps", 1.5),
    ("latent_dim", 0), ("dataset", 5), ("channels_first", "no"), ("recon_error_heldout", "low"), ("input_shape", [64, "x"]),
    ("encoder_outputs", "mean"), ("trainer", "me"),
])
def test_config_of_the_wrong_type_is_refused_naming_the_key(tmp_path, key, value):
    config = {**_config(), "format_version": 1, key: value}
    with pytest.raises(ModelDirError, match=f"'{key}'"):
        modeldir.validate_config(config)
    (tmp_path / modeldir.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match=f"'{key}'"):
        modeldir.read_config(tmp_path)
    with pytest.raises(ModelDirError, match=f"'{key}'"):
        modeldir.write_config(tmp_path / "new", config)
    assert not (tmp_path / "new" / modeldir.CONFIG_FILE).exists()


@pytest.mark.parametrize("name", ["../encoder.npz", "/etc/passwd", "sub/encoder.npz", "", "..", ".", "a\\b", "x\0y", 5])
def test_encoder_file_must_be_a_plain_name_inside_the_dir(name):
    with pytest.raises(ModelDirError, match="encoder_file"):
        modeldir.validate_config({**_config(), "format_version": 1, "encoder_file": name})


@pytest.mark.parametrize("dataset, key", [
    ({"name": "dsprites", "params": {"cache_dir": "/tmp/x"}}, "cache_dir"),
    ({"name": "dsprites", "params": {"cache": True}}, "cache"),
    ({"name": "d-Sprites", "params": {"cache": True}}, "cache"),  # get_sampler's spelling rules
    ({"name": "mpi3d", "path": "m.npz", "params": {"cache_dir": "/tmp/x"}}, "cache_dir"),
    ({"name": "shapes3d", "path": "s.h5", "params": {"_factor_sizes": [2, 2]}}, "_factor_sizes"),
    ({"name": "cars3d", "params": {"cache_dir": "/tmp/x"}}, "cache_dir"),
    ({"name": None, "path": "d.npz", "params": {"sprite_size": 0.3}}, "sprite_size"),
    ({"name": "my_sampler", "params": {"cache_dir": "/tmp/x"}}, "cache_dir"),
    ({"name": "my_sampler", "params": {"_secret": 1}}, "_secret"),
    ({"name": "dsprites", "params": {"download": True}}, "download"),
    ({"name": "mpi3d_toy", "params": {"download": True}}, "download"),  # a variant name the allow-list does not list
    ({"name": "dsprites", "params": {"margin": "wide"}}, "margin"),
    ({"name": "dsprites", "params": [1]}, "params"),
    ({"name": 3}, "name"),
    ({"name": "dsprites", "path": ""}, "path"),
])
def test_dataset_params_come_from_an_allow_list(dataset, key):
    with pytest.raises(ModelDirError, match=key):
        modeldir.validate_config({**_config(), "format_version": 1, "dataset": dataset})


def test_allowed_dataset_params_pass():
    for dataset in ({"name": "dsprites", "params": {"sprite_size": 0.3, "margin": 0.1}},
                    {"name": "shapes3d", "path": "/data/3dshapes.h5", "params": {"path": "/data/3dshapes.h5"}},
                    {"name": None, "path": "d.npz", "params": {"path": "d.npz"}},
                    {"name": "FactorGrid", "params": {}}, {"name": "my_sampler", "params": {"noise": 0.1}}):
        modeldir.validate_config({**_config(), "format_version": 1, "dataset": dataset})


def test_dataset_allow_list_matches_the_samplers():
    """Every registered data set has an allow-list, and every allowed parameter is a constructor argument."""
    import inspect

    from dismetrics.data.registry import DATASETS

    assert set(modeldir.DATASET_PARAMS) == set(DATASETS)
    for name, (cls, _, _) in DATASETS.items():
        accepted = inspect.signature(cls.__init__).parameters
        for param in modeldir.DATASET_PARAMS[name]:
            assert param in accepted, (name, param)
            assert not param.startswith("_") and "cache" not in param


def test_oversized_or_deeply_nested_config_is_refused(tmp_path):
    (tmp_path / modeldir.CONFIG_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelDirError, match="nested|JSON"):
        modeldir.read_config(tmp_path)
    (tmp_path / modeldir.CONFIG_FILE).write_text(json.dumps({**_config(), "format_version": 1,
                                                             "pad": "x" * (modeldir.MAX_CONFIG_BYTES + 1)}))
    with pytest.raises(ModelDirError, match="larger than"):
        modeldir.read_config(tmp_path)


# ---- codes.npz headers ----------------------------------------------------------------------------
def test_codes_of_the_wrong_kind_are_refused_before_loading(tmp_path, monkeypatch):
    factors = np.zeros((4, 1), dtype=int)
    path = tmp_path / modeldir.CODES_FILE
    cases = [
        (dict(codes=np.array([["a", "b"]] * 4), factors=factors), "dtype"),
        (dict(codes=np.zeros((4, 2), dtype=complex), factors=factors), "dtype"),
        (dict(codes=np.zeros((0, 2)), factors=np.zeros((0, 1), dtype=int)), "empty"),
        (dict(codes=np.zeros((4, 0)), factors=factors), "empty"),
        (dict(codes=np.zeros((4, 2, 2)), factors=factors), "2-D"),
        (dict(codes=np.zeros(4), factors=factors), "2-D"),
        (dict(codes=np.zeros((4, 2)), factors=np.zeros((4, 1), dtype=[("a", int)])), "dtype"),
    ]
    for arrays, message in cases:
        np.savez(path, **arrays)
        with pytest.raises(ModelDirError, match=message):
            modeldir.read_codes(tmp_path)
    np.savez(path, codes=np.array([object(), None] * 2, dtype=object).reshape(2, 2), factors=factors[:2])
    with pytest.raises(ModelDirError, match="dtype object"):
        modeldir.read_codes(tmp_path)


def test_forged_header_and_zip_bomb_are_refused(tmp_path, monkeypatch):
    import io
    import zipfile

    path = tmp_path / modeldir.CODES_FILE
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("codes.npy", header.getvalue() + b"\0" * 64)
        archive.writestr("factors.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ModelDirError, match="truncated or forged"):
        modeldir.read_codes(tmp_path)
    monkeypatch.setattr(modeldir, "MAX_CODES_INFLATED_BYTES", 1 << 20)
    np.savez_compressed(path, codes=np.zeros((300_000, 1)), factors=np.zeros((300_000, 1), dtype=int))
    with pytest.raises(ModelDirError, match="zip bomb"):
        modeldir.read_codes(tmp_path)


# ---- file modes ----------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        assert modeldir.current_umask() == umask
        modeldir.atomic_write_text(tmp_path / "a.txt", "x")
        modeldir.write_codes(tmp_path, np.zeros((3, 2)), np.zeros((3, 1), dtype=int))
        modeldir.write_config(tmp_path, _config())
    finally:
        os.umask(previous)
    for name in ("a.txt", modeldir.CODES_FILE, modeldir.CONFIG_FILE):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, name


def test_atomic_write_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "scores.json").symlink_to(outside)
    modeldir.atomic_write_text(tmp_path / "dir" / "scores.json", "new")
    assert outside.read_text() == "keep" and not (tmp_path / "dir" / "scores.json").is_symlink()

"""Data-set loaders on small files written in exactly the publishers' formats; bad inputs."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dismetrics.data import MPI3D, Cars3D, Shapes3D, SmallNORB, get_sampler, list_datasets

h5py = pytest.importorskip("h5py", reason="h5py is needed to write Shapes3D test files")


def check_protocol(sampler, n=9, seed=4):
    f1, x1 = sampler.sample(n, np.random.default_rng(seed))
    f2, x2 = sampler.sample(n, np.random.default_rng(seed))
    assert np.array_equal(f1, f2) and np.array_equal(x1, x2)
    assert f1.shape == (n, len(sampler.factor_sizes)) and np.all(f1 < np.asarray(sampler.factor_sizes))
    assert x1.shape == (n, *sampler.observation_shape) and x1.dtype == np.float32
    assert x1.min() >= 0 and x1.max() <= 1
    return f1, x1


def coded_images(n):
    """Images whose pixels encode their row index (so every gather can be checked)."""
    idx = np.arange(n)
    img = np.zeros((n, 64, 64, 3), dtype=np.uint8)
    img[..., 0] = (idx % 251)[:, None, None]
    img[..., 1] = (idx // 251 % 251)[:, None, None]
    img[..., 2] = (idx // 251 // 251)[:, None, None]
    return img


def decode(x):
    v = np.rint(x[:, 0, 0] * 255).astype(np.int64)
    return v[:, 0] + 251 * v[:, 1] + 251 * 251 * v[:, 2]


# ---- Shapes3D -----------------------------------------------------------------------------------------
def test_shapes3d_full_size_file(tmp_path):
    path = tmp_path / "3dshapes.h5"
    marked = np.array([0, 1, 15, 479_999, 123_456])
    with h5py.File(path, "w") as f:  # full size; unwritten chunks take no space
        images = f.create_dataset("images", shape=(480000, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3))
        for m in marked:
            images[m] = coded_images(m + 1)[m] if m < 1000 else np.full((64, 64, 3), 7, np.uint8)
        f.create_dataset("labels", shape=(480000, 6), dtype=np.float64, chunks=(4096, 6))
    s = get_sampler(None, path=path)
    assert isinstance(s, Shapes3D) and tuple(s.factor_sizes) == (10, 10, 10, 8, 4, 15)
    # The last factor (orientation, 15 values) is fastest.
    grid = np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0], [9, 9, 9, 7, 3, 14]])
    assert list(s.factors_to_index(grid)) == [0, 1, 15, 479_999]
    x = s.sample_observations_from_factors(grid, None)
    assert list(decode(x[:3])) == [0, 1, 15] and np.allclose(x[3], 7 / 255)
    view = s.all_observations()  # lazy; takes unsorted indices with repeats (the trainers' gather)
    assert len(view) == 480000 and view.nbytes == 480000 * 64 * 64 * 3
    assert list(decode(view[np.array([15, 0, 15, 1])] / 255.0)) == [15, 0, 15, 1]
    check_protocol(s)


def test_shapes3d_small_grid_and_errors(tmp_path):
    path = tmp_path / "3dshapes.h5"
    sizes = (2, 2, 2, 2, 2, 3)
    with h5py.File(path, "w") as f:
        f["images"] = coded_images(96)
        f["labels"] = np.zeros((96, 6))
    s = Shapes3D(path, _factor_sizes=sizes)
    f, x = check_protocol(s)
    assert np.array_equal(decode(x), np.ravel_multi_index(tuple(f.T), sizes))
    with pytest.raises(ValueError, match="480000"):
        Shapes3D(path)
    with pytest.raises(ValueError, match="does not exist"):
        Shapes3D(tmp_path / "missing.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match="not an HDF5"):
        Shapes3D(bad)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="no 'images'"):
        Shapes3D(tmp_path / "other.h5")


# ---- MPI3D ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("compressed", [False, True])
def test_mpi3d_small_grid(tmp_path, compressed):
    sizes = (2, 2, 2, 1 + 1, 2, 3, 4)
    n = int(np.prod(sizes))
    path = tmp_path / "mpi3d_toy.npz"
    (np.savez_compressed if compressed else np.savez)(path, images=coded_images(n))
    s = get_sampler(None, path=path, cache_dir=tmp_path / "cache", _factor_sizes=sizes)
    assert isinstance(s, MPI3D) and isinstance(s.all_observations(), np.memmap)
    assert list((tmp_path / "cache").glob("*.npy")) if compressed else not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
    f, x = check_protocol(s)
    assert np.array_equal(decode(x), np.ravel_multi_index(tuple(f.T), sizes))
    assert s.factors_to_index(np.array([[0, 0, 0, 0, 0, 0, 1]]))[0] == 1  # vertical_axis fastest


def test_mpi3d_layout_and_errors(tmp_path):
    assert tuple(MPI3D.factor_sizes) == (6, 6, 2, 3, 3, 40, 40) and int(np.prod(MPI3D.factor_sizes)) == 1_036_800
    path = tmp_path / "mpi3d_real.npz"
    np.savez(path, images=coded_images(10))
    with pytest.raises(ValueError, match="1,036,800"):
        MPI3D(path)
    np.savez(path, imgs=np.zeros(3))
    with pytest.raises(ValueError, match="no 'images'"):
        MPI3D(path)
    (tmp_path / "x.npz").write_text("nope")
    with pytest.raises(ValueError, match="not an .npz"):
        MPI3D(tmp_path / "x.npz")


# ---- SmallNORB -----------------------------------------------------------------------------------------
def write_norb(path, magic, array, sparse=False):
    array = np.asarray(array)
    dims = list(array.shape) + [1] * (3 - array.ndim)
    header = struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims)
    with open(path, "wb") as fp:
        fp.write(header)
        if sparse:
            fp.truncate(len(header) + array.nbytes)
        else:
            fp.write(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())


def test_smallnorb_full_grid(tmp_path):
    grid = np.stack(np.unravel_index(np.arange(4860), (5, 9, 18, 6)), axis=1)
    for split, instance in (("training", 4), ("testing", 0)):
        prefix = tmp_path / f"smallnorb-5x46789x9x18x6x2x96x96-{split}"
        n = len(grid)
        write_norb(f"{prefix}-dat.mat", 0x1E3D4C55, np.zeros((n, 2, 96, 96), np.uint8), sparse=True)
        write_norb(f"{prefix}-cat.mat", 0x1E3D4C54, grid[:, 0].astype(np.int32))
        info = np.stack([np.full(n, instance), grid[:, 1], grid[:, 2] * 2, grid[:, 3]], axis=1).astype(np.int32)
        write_norb(f"{prefix}-info.mat", 0x1E3D4C54, info)
        # combination (1, 2, 3, 4) gets a recognisable left image: 60 (training) / 200 (testing); right camera 255
        row = np.ravel_multi_index((1, 2, 3, 4), (5, 9, 18, 6))
        with open(f"{prefix}-dat.mat", "r+b") as fp:
            fp.seek(4 * 5 + row * 2 * 96 * 96)
            fp.write(bytes([60 if split == "training" else 200]) * (96 * 96) + bytes([255]) * (96 * 96))
    s = get_sampler(None, path=tmp_path)
    assert isinstance(s, SmallNORB) and tuple(s.factor_sizes) == (5, 9, 18, 6)
    check_protocol(s)
    x = s.sample_observations_from_factors(np.tile([1, 2, 3, 4], (200, 1)), np.random.default_rng(0))
    assert x.shape == (200, 64, 64, 1)
    values = set(np.round(x[:, 10, 10, 0] * 255).astype(int))
    assert values == {60, 200}  # both instances appear, the right camera never
    assert not hasattr(s, "all_observations")


def test_smallnorb_errors(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        SmallNORB(tmp_path / "x")
    with pytest.raises(ValueError, match="no smallnorb"):
        SmallNORB(tmp_path)
    prefix = tmp_path / "smallnorb-5x46789x9x18x6x2x96x96-training"
    write_norb(f"{prefix}-dat.mat", 0x1E3D4C55, np.zeros((3, 2, 96, 96), np.uint8))
    with pytest.raises(ValueError, match="lacks"):
        SmallNORB(tmp_path)
    write_norb(f"{prefix}-cat.mat", 0x1E3D4C54, np.zeros(3, np.int32))
    write_norb(f"{prefix}-info.mat", 0x1E3D4C54, np.zeros((3, 4), np.int32))
    with pytest.raises(ValueError, match="no image"):
        SmallNORB(tmp_path)
    with open(f"{prefix}-cat.mat", "wb") as fp:
        fp.write(b"garbage!garbage!")
    with pytest.raises(ValueError, match="not a NORB"):
        SmallNORB(tmp_path)


# ---- Cars3D --------------------------------------------------------------------------------------------
def test_cars3d_two_cars(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    ims = []
    for car in (7, 2):  # written out of order: objects follow the sorted file names
        im = rng.integers(0, 256, size=(128, 128, 3, 24, 4), dtype=np.uint8)
        savemat(tmp_path / f"car_{car:03d}_mesh.mat", {"im": im})
        ims.append((car, im))
    s = get_sampler(None, path=tmp_path, cache_dir=tmp_path / "cache")
    assert isinstance(s, Cars3D) and tuple(s.factor_sizes) == (4, 24, 2)
    assert [p.split("/")[-1] for p in s.files] == ["car_002_mesh.mat", "car_007_mesh.mat"]
    f, x = check_protocol(s)
    by_object = {0: ims[1][1], 1: ims[0][1]}
    for (elev, az, obj), obs in zip(f, x):
        full = by_object[obj][:, :, :, az, elev].astype(np.float64)
        expected = full.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3)) / 255
        assert np.abs(obs - expected).max() <= 0.5 / 255 + 1e-6
    assert isinstance(s.all_observations(), np.memmap) and len(s.all_observations()) == 4 * 24 * 2
    cached = list((tmp_path / "cache").glob("cars3d_*.npy"))
    mtime = cached[0].stat().st_mtime_ns
    Cars3D(tmp_path, cache_dir=tmp_path / "cache")  # reused
    assert cached[0].stat().st_mtime_ns == mtime


def test_cars3d_errors(tmp_path):
    from scipy.io import savemat

    with pytest.raises(ValueError, match="not a directory"):
        Cars3D(tmp_path / "missing")
    with pytest.raises(ValueError, match="at least 2"):
        Cars3D(tmp_path)
    savemat(tmp_path / "car_001_mesh.mat", {"im": np.zeros((128, 128, 3, 24, 4), np.uint8)})
    savemat(tmp_path / "car_002_mesh.mat", {"im": np.zeros((64, 64, 3, 24, 4), np.uint8)})
    with pytest.raises(ValueError, match="expected \\(128, 128, 3, 24, 4\\)"):
        Cars3D(tmp_path, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.npy"))


# ---- registry ------------------------------------------------------------------------------------------
def test_get_sampler_and_list_datasets(tmp_path, monkeypatch):
    assert get_sampler("dsprites", cache=False).num_factors == 5
    with pytest.raises(ValueError, match="unknown data set"):
        get_sampler("mnist")
    monkeypatch.delenv("DISMETRICS_SHAPES3D", raising=False)
    with pytest.raises(ValueError, match="DISMETRICS_SHAPES3D"):
        get_sampler("shapes3d")
    with pytest.raises(ValueError, match="give a data-set name"):
        get_sampler()
    odd = tmp_path / "weights.bin"
    odd.write_bytes(b"x")
    with pytest.raises(ValueError, match="cannot tell"):
        get_sampler(None, path=odd)
    monkeypatch.setenv("DISMETRICS_MPI3D", str(tmp_path / "mpi3d_toy.npz"))
    rows = {r["name"]: r for r in list_datasets()}
    assert set(rows) == {"dsprites", "shapes3d", "mpi3d", "smallnorb", "cars3d"}
    assert rows["dsprites"]["found"] and rows["mpi3d"]["factor_sizes"] == [6, 6, 2, 3, 3, 40, 40]
    assert rows["mpi3d"]["path"].endswith("mpi3d_toy.npz") and not rows["mpi3d"]["found"]
    assert rows["cars3d"]["factor_sizes"] == [4, 24, 183]
    assert list_datasets({"cars3d": tmp_path})[4]["found"]

"""Samplers and data-set loaders: protocol conformance, the dSprites grid, loaders on format-exact files."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dismetrics.data import (
    MPI3D,
    Cars3D,
    DSprites,
    FactorGrid,
    LinearMixing,
    NoiseDims,
    Rotation,
    Shapes3D,
    SmallNORB,
    get_sampler,
    list_datasets,
    render_dsprites,
)
from dismetrics.data._common import PackedBinaryImages, area_resize_matrix, resize_images, write_npy_atomic
from dismetrics.data.dsprites import ORIENTATIONS, POSITIONS, SCALES


# ---- helpers -------------------------------------------------------------------------------------------
def check_protocol(sampler, n=7, seed=3):
    sizes = np.asarray(sampler.factor_sizes)
    assert len(sampler.factor_names) == len(sizes)
    factors = sampler.sample_factors(n, np.random.default_rng(seed))
    assert factors.shape == (n, len(sizes)) and factors.dtype == np.int64
    assert np.all(factors >= 0) and np.all(factors < sizes)
    f1, x1 = sampler.sample(n, np.random.default_rng(seed))
    f2, x2 = sampler.sample(n, np.random.default_rng(seed))
    assert np.array_equal(f1, f2) and np.array_equal(x1, x2)  # same seed, same data
    assert x1.shape == (n, *sampler.observation_shape)
    return f1, x1


def centroid(image):
    ys, xs = np.nonzero(image)
    return xs.mean(), ys.mean()


def render_one(shape, scale, angle, px, py, **kw):
    return render_dsprites(np.array([shape]), scale, angle, px, py, **kw)[0]


# ---- synthetic ----------------------------------------------------------------------------------------
def test_synthetic_known_answers():
    sizes = [3, 5, 4]
    f, x = check_protocol(Rotation(sizes, angle=0.0))
    assert np.allclose(x, f / (np.array(sizes) - 1.0))
    f, x = check_protocol(Rotation(sizes, angle=np.pi / 2))
    z = f / (np.array(sizes) - 1.0)
    assert np.allclose(x[:, 0], -z[:, 1]) and np.allclose(x[:, 1], z[:, 0]) and np.allclose(x[:, 2], z[:, 2])
    a = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
    f, x = check_protocol(LinearMixing(sizes, a))
    assert x.shape == (7, 2) and np.allclose(x, z_of(f, sizes) @ a.T)
    f, x = check_protocol(NoiseDims(sizes, n_noise=3, noise_scale=2.0))
    assert np.allclose(x[:, :3], z_of(f, sizes)) and x.shape == (7, 6)
    _, big = NoiseDims(sizes, n_noise=2).sample(4000, np.random.default_rng(0))
    assert abs(big[:, 3].std() - 1.0) < 0.05 and abs(np.corrcoef(big[:, 0], big[:, 3])[0, 1]) < 0.05
    check_protocol(FactorGrid([2, 3]))


def z_of(f, sizes):
    return f / (np.array(sizes) - 1.0)


def test_synthetic_bad_inputs():
    with pytest.raises(ValueError, match="matrix"):
        LinearMixing([3, 3], np.ones((2, 3)))
    with pytest.raises(ValueError, match="axes"):
        Rotation([3, 3], axes=(0, 0))
    with pytest.raises(ValueError, match="n_noise"):
        NoiseDims([3, 3], n_noise=-1)


# ---- dSprites grid ---------------------------------------------------------------------------------------
def test_dsprites_grid_layout():
    d = DSprites(cache=False)
    assert tuple(d.factor_names) == ("shape", "scale", "orientation", "posX", "posY")
    assert tuple(d.factor_sizes) == (3, 6, 40, 32, 32) and int(np.prod(d.factor_sizes)) == 737280
    assert np.allclose(SCALES, np.linspace(0.5, 1, 6)) and ORIENTATIONS[0] == 0 and np.isclose(ORIENTATIONS[-1], 2 * np.pi)
    # Row-major, posY fastest, as the original file.
    assert d.factors_to_index(np.array([[0, 0, 0, 0, 1]]))[0] == 1
    assert d.factors_to_index(np.array([[0, 0, 0, 1, 0]]))[0] == 32
    assert d.factors_to_index(np.array([[1, 0, 0, 0, 0]]))[0] == 6 * 40 * 32 * 32
    f, x = check_protocol(d)
    assert x.dtype == np.float32 and set(np.unique(x)) <= {0.0, 1.0}


def test_dsprites_orientation_ends_are_the_same_rotation():
    d = DSprites(cache=False)
    for shape in range(3):
        a, b = d.images_from_factors(np.array([[shape, 5, 0, 10, 20], [shape, 5, 39, 10, 20]]))
        assert np.array_equal(a, b)


def test_dsprites_position_moves_centroid():
    d = DSprites(cache=False)
    for shape in range(3):
        xs = [centroid(img)[0] for img in d.images_from_factors(np.array([[shape, 3, 0, p, 16] for p in range(32)]))]
        ys = [centroid(img)[1] for img in d.images_from_factors(np.array([[shape, 3, 0, 16, p] for p in range(32)]))]
        slope_x = np.polyfit(POSITIONS, xs, 1)[0]
        slope_y = np.polyfit(POSITIONS, ys, 1)[0]
        expected = 64 * (1 - 2 * d.margin)
        assert abs(slope_x - expected) < 0.05 * expected and abs(slope_y - expected) < 0.05 * expected
        assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)


def test_dsprites_scale_changes_area_monotonically():
    d = DSprites(cache=False)
    for shape in range(3):
        areas = d.images_from_factors(np.array([[shape, s, 7, 16, 16] for s in range(6)])).sum(axis=(1, 2))
        assert np.all(np.diff(areas) > 0)
    # Areas of the shapes at scale 1 follow their geometry: square side s, ellipse pi s^2 / 8.
    side = 0.28 * 64
    areas = d.images_from_factors(np.array([[k, 5, 0, 16, 16] for k in range(3)])).sum(axis=(1, 2))
    assert abs(areas[0] - side**2) < 0.1 * side**2 and abs(areas[1] - np.pi * side**2 / 8) < 0.12 * side**2


def test_square_repeats_every_quarter_turn_and_heart_does_not():
    for angle in (0.3, 1.1, 2.0):
        a = render_one(0, 1.0, angle, 0.5, 0.5)
        b = render_one(0, 1.0, angle + np.pi / 2, 0.5, 0.5)
        assert (a != b).sum() <= 0.03 * a.sum()
        h1 = render_one(2, 1.0, angle, 0.5, 0.5)
        h2 = render_one(2, 1.0, angle + np.pi / 2, 0.5, 0.5)
        assert (h1 != h2).sum() > 0.1 * h1.sum()
    e1, e2 = render_one(1, 1.0, 0.0, 0.5, 0.5), render_one(1, 1.0, np.pi, 0.5, 0.5)
    assert (e1 != e2).sum() <= 0.03 * e1.sum()  # an ellipse repeats every half turn


def test_heart_looks_like_a_heart():
    heart = render_one(2, 1.0, 0.0, 0.5, 0.5)
    assert np.array_equal(heart, heart[:, ::-1]) or (heart != heart[:, ::-1]).sum() <= 4  # left-right symmetric
    rows = np.flatnonzero(heart.any(axis=1))
    top, bottom = heart[rows[0]], heart[rows[-1]]
    # two lobes at the top (a gap in the middle), one point at the bottom
    runs_top = np.count_nonzero(np.diff(np.r_[0, top, 0]) == 1)
    assert runs_top == 2 and bottom.sum() <= 0.25 * heart.sum(axis=1).max()


def test_sprites_stay_inside_the_frame():
    corners = [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]
    for shape in range(3):
        for angle in np.linspace(0, 2 * np.pi, 17):
            for px, py in corners:
                # a sprite at a corner is not clipped: it has (up to pixel rounding) its area at the centre
                img = render_one(shape, 1.0, angle, px, py)
                centre = render_one(shape, 1.0, angle, 0.5, 0.5)
                assert abs(int(img.sum()) - int(centre.sum())) <= 0.08 * centre.sum()
    with pytest.raises(ValueError, match="leave the frame"):
        DSprites(sprite_size=0.4, margin=0.2)
    with pytest.raises(ValueError, match="sprite_size"):
        DSprites(sprite_size=1.5)
    with pytest.raises(ValueError, match="margin"):
        DSprites(margin=0.6)
    with pytest.raises(ValueError, match="cache"):
        DSprites(cache="yes")
    with pytest.raises(ValueError, match="out of range"):
        DSprites(cache=False).images_from_factors(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="shape"):
        DSprites(cache=False).images_from_factors(np.zeros((2, 4), dtype=int))


def test_dsprites_parameters_change_geometry():
    small = DSprites(sprite_size=0.2, margin=0.15, cache=False)
    img = small.images_from_factors(np.array([[0, 5, 0, 0, 0]]))[0]
    assert abs(img.sum() - (0.2 * 64) ** 2) < 0.15 * (0.2 * 64) ** 2
    assert abs(centroid(img)[0] - 0.15 * 64) < 1.0


def test_dsprites_cache_on_a_small_grid(tmp_path, monkeypatch):
    d = DSprites(cache=True, cache_dir=tmp_path)
    d.factor_sizes = (3, 2, 3, 2, 2)  # a reduced grid: the same machinery, 72 images
    path = d.build_cache()
    assert path.exists() and path.parent == tmp_path and not list(tmp_path.glob(".*tmp"))
    packed = np.load(path, mmap_mode="r")
    assert packed.shape == (72, 64, 8) and packed.dtype == np.uint8
    all_obs = d.all_observations()
    assert isinstance(all_obs, PackedBinaryImages) and all_obs.shape == (72, 64, 64) and len(all_obs) == 72
    grid = np.stack(np.unravel_index(np.arange(72), d.factor_sizes), axis=1)
    rendered = DSprites(cache=False)._render_indices(grid).astype(bool)
    assert np.array_equal(np.asarray(all_obs), rendered)
    assert np.array_equal(all_obs[np.array([5, 5, 0])], rendered[[5, 5, 0]])
    mtime = path.stat().st_mtime_ns
    again = DSprites(cache="auto", cache_dir=tmp_path)
    again.factor_sizes = d.factor_sizes
    assert again._load_or_build(build=False) is not None  # reused, not rebuilt
    assert isinstance(again._packed, np.memmap) and path.stat().st_mtime_ns == mtime
    f, x = check_protocol(again)
    assert np.array_equal(x[..., 0], rendered[again.factors_to_index(f)])
    # Other geometry -> another cache file.
    other = DSprites(sprite_size=0.2, cache_dir=tmp_path)
    other.factor_sizes = d.factor_sizes
    assert other.cache_path() != path
    # The environment variable is honoured.
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "env"))
    assert DSprites().cache_path().parent == tmp_path / "env"
    assert DSprites(cache=False).all_observations() is None


def test_write_npy_atomic_leaves_nothing_on_failure(tmp_path):
    def fail(out):
        out[:] = 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_npy_atomic(tmp_path / "x.npy", (4, 2), np.uint8, fail)
    assert list(tmp_path.iterdir()) == []


def test_area_resize():
    w = area_resize_matrix(96, 64)
    assert np.allclose(w.sum(axis=1), 1.0) and np.allclose(w.sum(axis=0), 64 / 96)
    img = np.random.default_rng(0).integers(0, 255, size=(2, 128, 128, 3)).astype(np.float32)
    assert np.allclose(resize_images(img, 64), img.reshape(2, 64, 2, 64, 2, 3).mean(axis=(2, 4)), atol=1e-3)


# ---- the official dSprites file ---------------------------------------------------------------------------
def _write_npz_streamed(path, arrays):
    """An npz written the way np.savez_compressed does, without building the big arrays in memory:
    ``arrays`` maps key -> (shape, dtype, fill(start, stop) -> rows)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, (shape, dtype, rows) in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as fp:
                np.lib.format.write_array_header_1_0(fp, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
                for start in range(0, shape[0], 65536):
                    fp.write(np.ascontiguousarray(rows(start, min(shape[0], start + 65536)), dtype=dtype).tobytes())


def test_dsprites_official_format(tmp_path):
    # A file in the official format whose images are our rendering of a few indices (all others blank).
    marked = np.array([0, 1, 33, 400_000, 737_279])
    grid = np.stack(np.unravel_index(marked, (3, 6, 40, 32, 32)), axis=1)
    images = DSprites(cache=False)._render_indices(grid)

    def imgs(start, stop):
        out = np.zeros((stop - start, 64, 64), dtype=np.uint8)
        hit = (marked >= start) & (marked < stop)
        out[marked[hit] - start] = images[hit]
        return out

    def classes(start, stop):
        idx = np.unravel_index(np.arange(start, stop), (3, 6, 40, 32, 32))
        return np.stack([np.zeros(stop - start, dtype=np.int64), *idx], axis=1)

    path = tmp_path / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    _write_npz_streamed(path, {"imgs": ((737280, 64, 64), np.uint8, imgs), "latents_classes": ((737280, 6), np.int64, classes)})
    d = get_sampler(None, path=path, cache_dir=tmp_path / "cache")
    assert isinstance(d, DSprites)
    assert np.array_equal(d.images_from_factors(grid), images)
    assert d.all_observations()[12345].sum() == 0
    check_protocol(d)


def test_dsprites_official_bad_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        DSprites(path=tmp_path / "nope.npz")
    bad = tmp_path / "not.npz"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not an .npz"):
        DSprites(path=bad)
    small = tmp_path / "small.npz"
    np.savez(small, imgs=np.zeros((5, 64, 64), np.uint8))
    with pytest.raises(ValueError, match="737280"):
        DSprites(path=small)
    np.savez(small, other=np.zeros(3))
    with pytest.raises(ValueError, match="no 'imgs'"):
        DSprites(path=small)


OFFICIAL = os.environ.get("DISMETRICS_DSPRITES", str(Path.home() / "data" / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"))


@pytest.mark.skipif(not Path(OFFICIAL).is_file(), reason="the official dSprites npz is absent (set DISMETRICS_DSPRITES to run)")
def test_procedural_resembles_the_official_dsprites(tmp_path):
    official = DSprites(path=OFFICIAL, cache_dir=tmp_path)
    ours = DSprites(cache=False)
    for shape in range(3):
        for scale in range(6):
            f = np.array([[shape, scale, o, 16, 16] for o in range(0, 40, 4)])
            a_off = official.images_from_factors(f).sum(axis=(1, 2)).mean()
            a_our = ours.images_from_factors(f).sum(axis=(1, 2)).mean()
            assert 0.6 < a_our / a_off < 1.6, (shape, scale, a_our, a_off)
        for axis in (3, 4):
            f = np.tile(np.array([shape, 5, 0, 16, 16]), (32, 1))
            f[:, axis] = np.arange(32)
            pos = [centroid(i)[axis - 3] for i in official.images_from_factors(f)]
            ours_pos = [centroid(i)[axis - 3] for i in ours.images_from_factors(f)]
            ratio = np.polyfit(POSITIONS, ours_pos, 1)[0] / np.polyfit(POSITIONS, pos, 1)[0]
            assert 0.8 < ratio < 1.25, (shape, axis, ratio)


def test_trainer_fast_path_uses_the_cache(tmp_path):
    torch = pytest.importorskip("torch", reason="the trainers' BatchSource needs torch")
    torch.set_num_threads(1)
    from dismetrics_models.data import BatchSource

    d = DSprites(cache=True, cache_dir=tmp_path)
    d.factor_sizes = (3, 2, 3, 2, 2)
    with BatchSource(d, batch_size=5, seed=1, prefetch=0) as source:
        assert source.uses_fast_path
        x, _ = source.batch(3)
        factors = source.factors(3)
    assert tuple(x.shape) == (5, 1, 64, 64) and x.dtype == torch.float32
    expected = d.sample_observations_from_factors(factors, None)
    assert np.array_equal(x.numpy(), expected.transpose(0, 3, 1, 2))

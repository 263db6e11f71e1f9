"""The representation table (issue 18): every observation encoded at most once, the same numbers as encoding
the drawn observations, a cache on disk that is never trusted when it does not match."""

from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest

import dismetrics.metrics  # noqa: F401  (registers every built-in metric)
from dismetrics.data import DSprites, FactorGrid, LinearMixing, NoiseDims, SmallNORB
from dismetrics.evaluate import evaluate
from dismetrics.metrics.beta_vae import beta_vae_score
from dismetrics.metrics.factor_vae import factor_vae_score
from dismetrics.metrics.registry import metric_specs
from dismetrics.representation import as_representation
from dismetrics.table import RepresentationTable, indexed_data, resolve_encoding

SMALL = {"beta_vae": {"n_train": 60, "n_eval": 30, "batch_size": 8},
         "factor_vae": {"n_train": 60, "n_eval": 30, "n_variance": 200, "batch_size": 8},
         "flatness": {"repeats": 8}, "linearity": {"repeats": 8}, "distances": {"repeats": 8, "num_samples": 16},
         "z_max_variance": {"n_train": 60, "n_eval": 60, "n_variance": 300, "batch_size": 20},
         "aam": {"n_samples": 50}, "chen_mig": {"n_samples": 50},
         "fairness": {"n_train": 200, "n_test_points_per_class": 10},
         "sepin": {"n_points": 100, "n_samples": 100}, "indin": {"n_points": 100, "n_samples": 100},
         "downstream_logistic_regression": {"train_sizes": (10, 100)},
         "downstream_boosted_trees": {"train_sizes": (10, 100)}}
"""Small sizes of the metrics whose reference sizes take long (the draws and the chunking are the same at
any size)."""


class CountingEncoder:
    """A deterministic numpy encoder mapping each observation on its own, counting what it encodes."""

    def __init__(self, dims: int = 4, logvar: bool = True, seed: int = 0):
        self.logvar = logvar
        self.dims = dims
        self.seed = seed
        self.count = 0

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        self.count += len(x)
        weights = np.random.default_rng(self.seed).standard_normal((x.shape[1], self.dims))
        # a sum over axis 1 of (n, D, d), not x @ weights: BLAS gives a one-row batch other last bits (gemv)
        mixed = (x[:, :, None] * weights[None]).sum(axis=1)
        mean = np.tanh(mixed / np.sqrt(x.shape[1]) + 0.1 * np.sin(7 * x[:, :1]))
        if not self.logvar:
            return mean
        return mean, -2.0 + 0.5 * np.cos(mixed[:, ::-1])


def _grid():
    return FactorGrid([3, 4, 5, 6], observe=lambda f: np.concatenate([f, (f ** 2) % 7], axis=1).astype(np.float64))


def _drop_time(frame):
    return frame.drop(columns=["seconds"]).reset_index(drop=True)


# ---- same numbers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["mean", "sampled"])
def test_every_registered_metric_is_bit_identical_with_and_without_the_table(mode):
    """evaluate over every registered metric it runs (named, so the ones "all" leaves out for their time run
    too): the table path gives exactly today's re-encoding path's table, draws included (the same seeds, the
    same rng stream), for both representation modes."""
    sampler = _grid()
    names = [spec.name for spec in metric_specs() if spec.kind in ("sample", "unsupervised", "intervention")]
    frames = {}
    for encoding in ("table", "direct"):
        rep = as_representation(CountingEncoder(), mode=mode, random_state=3)
        frames[encoding] = evaluate(rep, sampler, names, n=240, n_test=120, repeats=2 if mode == "mean" else 1,
                                    random_state=5,
                                    metric_params=SMALL, encoding=encoding, progress=False)
        assert frames[encoding].attrs["encoding"] == encoding
    table, direct = _drop_time(frames["table"]), _drop_time(frames["direct"])
    ran = set(table["metric"])
    assert set(names) <= {m.removesuffix("_sampled") for m in ran}  # every metric evaluate runs (others: no encoder)
    if mode == "mean":
        assert any(m.endswith("_sampled") for m in ran)  # the sampled unsupervised scores ran too
    pd.testing.assert_frame_equal(table, direct, check_exact=True)
    assert np.isfinite(table["value"]).sum() >= len(names)


def test_intervention_metrics_are_bit_identical_and_say_which_path_ran():
    sampler = _grid()
    for func, params in ((beta_vae_score, SMALL["beta_vae"]), (factor_vae_score, SMALL["factor_vae"])):
        results = {enc: func(CountingEncoder(), sampler, random_state=11, encoding=enc, **params)
                   for enc in ("auto", "direct")}
        assert results["auto"].params["encoding"] == "table" and results["direct"].params["encoding"] == "direct"
        assert results["auto"].value == results["direct"].value
        for key, value in results["auto"].details.items():
            np.testing.assert_array_equal(value, results["direct"].details[key], err_msg=key)


def _write_norb(directory, instances=(0, 3)):
    """A tiny SmallNORB in the publisher's format: two instances (one per split) per combination, each image
    a distinct grey level, so the instance drawn shows in the codes."""
    grid = np.stack(np.unravel_index(np.arange(4860), (5, 9, 18, 6)), axis=1)
    for split, instance in zip(("training", "testing"), instances):
        prefix = directory / f"smallnorb-5x46789x9x18x6x2x96x96-{split}"
        n = len(grid)
        images = np.zeros((n, 2, 96, 96), np.uint8)
        images[:, 0] = ((np.arange(n) * 7 + 50 * instance) % 251)[:, None, None]
        for name, magic, array in (("dat", 0x1E3D4C55, images), ("cat", 0x1E3D4C54, grid[:, 0].astype(np.int32)),
                                   ("info", 0x1E3D4C54, np.stack([np.full(n, instance), grid[:, 1], grid[:, 2] * 2,
                                                                  grid[:, 3]], axis=1).astype(np.int32))):
            dims = list(array.shape) + [1] * (3 - array.ndim)
            with open(f"{prefix}-{name}.mat", "wb") as fp:
                fp.write(struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims))
                fp.write(np.ascontiguousarray(array).tobytes())


def test_a_data_set_with_several_images_per_combination_keeps_them_apart(tmp_path):
    """SmallNORB draws one of several instances with the rng: the table indexes images, not factor vectors,
    draws the same instance from the same rng stream, and the metrics agree bit for bit."""
    _write_norb(tmp_path)
    sampler = SmallNORB(tmp_path)
    data = indexed_data(sampler)
    assert data.n_observations == 2 * 4860 and data.identity is not None
    factors = np.tile([[1, 2, 3, 4]], (50, 1))
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    direct = sampler.sample_observations_from_factors(factors, rng_a)
    index = data.indices(factors, rng_b)
    np.testing.assert_array_equal(data.observations(index), direct)
    assert np.unique(index).size == 2 and rng_a.random() == rng_b.random()  # the same stream consumed
    encoder = lambda x: x.reshape(len(x), -1)[:, :: 64 * 16].astype(np.float64)  # noqa: E731
    for func, params in ((beta_vae_score, SMALL["beta_vae"]), (factor_vae_score, SMALL["factor_vae"])):
        a = func(encoder, sampler, random_state=2, encoding="table", **params)
        b = func(encoder, sampler, random_state=2, encoding="direct", **params)
        assert a.value == b.value and a.params["encoding"] == "table"


def test_a_file_data_set_is_indexed_by_row_and_identified_by_its_file(tmp_path):
    from dismetrics.data import MPI3D

    sizes = (2, 2, 2, 2, 2, 2, 3)
    images = (np.arange(192)[:, None, None, None] * 7 + np.zeros((1, 64, 64, 3), int)) % 256
    np.savez(tmp_path / "mpi3d_toy.npz", images=images.astype(np.uint8))
    sampler = MPI3D(tmp_path / "mpi3d_toy.npz", _factor_sizes=sizes)
    data = indexed_data(sampler)
    assert data.n_observations == 192 and '"mpi3d"' in data.identity and "mpi3d_toy.npz" in data.identity
    factors = sampler.sample_factors(40, np.random.default_rng(0))
    np.testing.assert_array_equal(data.indices(factors, None), np.ravel_multi_index(tuple(factors.T), sizes))
    encoder = lambda x: x[:, 0, 0, :].astype(np.float64)  # noqa: E731
    mean, _ = RepresentationTable(encoder, sampler).encode_factors(factors, None)
    np.testing.assert_array_equal(mean, encoder(sampler.sample_observations_from_factors(factors)))
    with pytest.raises(ValueError, match="out of range"):
        data.indices(np.array([[0, 0, 0, 0, 0, 0, 3]]), None)


def test_dsprites_lookups_equal_encoding_the_rendered_images():
    sampler = DSprites(cache=False)
    encoder = CountingEncoder(dims=3, logvar=False)
    table = RepresentationTable(encoder, sampler)
    factors = sampler.sample_factors(300, np.random.default_rng(0))
    mean, logvar = table.encode_factors(np.concatenate([factors, factors]), None)
    assert logvar is None and encoder.count == np.unique(sampler.factors_to_index(factors)).size
    np.testing.assert_array_equal(mean[:300], encoder(sampler.sample_observations_from_factors(factors)))
    np.testing.assert_array_equal(mean[300:], mean[:300])


# ---- each observation once ----------------------------------------------------------------------------
def test_lazy_fill_encodes_each_distinct_observation_once_across_metrics_and_repeats():
    sampler = FactorGrid([3, 4, 5])  # 60 observations, drawn thousands of times
    encoder = CountingEncoder(logvar=False)
    table = RepresentationTable(encoder, sampler)
    frame = evaluate(table, sampler, ["mig", "beta_vae", "factor_vae"], n=500, n_test=100, repeats=3,
                     metric_params=SMALL, progress=False)
    assert frame.attrs["encoding"] == "table" and encoder.count == 60 == table.encoded
    assert table.looked_up > 3 * (500 + 2 * 90 * 8)
    assert frame.attrs["table"]["encoded"] == 60 and frame.attrs["table"]["path"] is None


def test_evaluate_direct_encodes_every_draw_in_every_metric():
    """encoding="direct" reaches the intervention metrics: every drawn image is encoded, as before tables."""
    from dismetrics.table import planned_observations

    encoder = CountingEncoder(logvar=False)
    names = ["mig", "beta_vae", "factor_vae"]
    evaluate(encoder, FactorGrid([3, 4, 5]), names, n=200, n_test=50, repeats=2, metric_params=SMALL,
             encoding="direct", progress=False)
    assert encoder.count == planned_observations(names, n=200, n_test=50, repeats=2, metric_params=SMALL)


def test_eager_fill_encodes_everything_once_and_then_nothing():
    sampler = LinearMixing([4, 6, 5])
    encoder = CountingEncoder(logvar=False)
    table = RepresentationTable(encoder, sampler, fill="eager", chunk_size=7, progress=False)
    assert encoder.count == table.n_filled == 120
    beta_vae_score(table, sampler, **SMALL["beta_vae"])
    assert encoder.count == 120
    index = np.arange(120)
    factors = np.stack(np.unravel_index(index, (4, 6, 5)), axis=1)
    np.testing.assert_array_equal(table.lookup(index)[0], encoder(sampler.sample_observations_from_factors(factors, None)))


def test_a_sampler_without_an_index_keeps_the_direct_path():
    sampler = NoiseDims([3, 4], n_noise=2)  # every observation carries fresh noise: no finite index
    assert indexed_data(sampler) is None
    result = beta_vae_score(CountingEncoder(logvar=False), sampler, **SMALL["beta_vae"])
    assert result.params["encoding"] == "direct"
    assert evaluate(CountingEncoder(), sampler, ["mig"], n=100, progress=False).attrs["encoding"] == "direct"
    with pytest.raises(ValueError, match="encoding='table' needs a finite indexed data set"):
        beta_vae_score(CountingEncoder(), sampler, encoding="table", **SMALL["beta_vae"])
    with pytest.raises(ValueError, match="not a finite indexed data set"):
        RepresentationTable(CountingEncoder(), sampler)
    stochastic = FactorGrid([3, 4], observe=lambda f, rng: f + rng.random(f.shape))
    assert indexed_data(stochastic) is None


def test_a_users_intervention_metric_still_gets_a_representation():
    """evaluate hands its encoding to every intervention metric; one that knows no tables wraps it with
    as_representation and gets the encoder itself."""
    from dismetrics.metrics.registry import MetricSpec, register_metric, unregister_metric
    from dismetrics.result import MetricResult

    def spread(representation, sampler, *, random_state=0, chunk_size=8192, progress=None):
        rep = as_representation(representation)
        codes = rep(sampler.sample_observations_from_factors(sampler.sample_factors(50, np.random.default_rng(0)), None))
        return MetricResult(name="spread_test", value=float(codes.std()), details={}, params={})

    register_metric(MetricSpec(name="spread_test", func=spread, kind="intervention", title="spread",
                               value_range=(0.0, None)))
    try:
        frame = evaluate(CountingEncoder(logvar=False), _grid(), ["spread_test", "mig"], n=100, progress=False)
    finally:
        unregister_metric("spread_test")
    row = frame[frame["metric"] == "spread_test"].iloc[0]
    assert row["error"] == "" and row["value"] > 0 and frame.attrs["encoding"] == "table"


def test_a_table_of_another_data_set_is_refused():
    table = RepresentationTable(CountingEncoder(), FactorGrid([3, 4]))
    with pytest.raises(ValueError, match="another data set"):
        beta_vae_score(table, FactorGrid([3, 5]), **SMALL["beta_vae"])
    with pytest.raises(ValueError, match="encoding must be one of"):
        resolve_encoding(CountingEncoder(), FactorGrid([3, 4]), "cached")


def test_an_encoder_whose_outputs_change_shape_is_refused():
    calls = []

    def fickle(x):
        calls.append(len(x))
        return np.ones((len(x), 2)) if len(calls) == 1 else (np.ones((len(x), 2)), np.zeros((len(x), 2)))

    table = RepresentationTable(fickle, FactorGrid([3, 4]))
    table.lookup(np.array([0, 1]))
    with pytest.raises(ValueError, match="same outputs"):
        table.lookup(np.array([2]))


# ---- on disk --------------------------------------------------------------------------------------------
torch = pytest.importorskip("torch")


def _torch_encoder(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4)).eval()


class TwoHeads(torch.nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.body = torch.nn.Linear(3, 6)

    def forward(self, x):
        out = self.body(x)
        return out[:, :3], out[:, 3:]


def test_torch_digest_follows_the_weights_and_architecture():
    a, b = as_representation(_torch_encoder(0)), as_representation(_torch_encoder(0))
    assert a.digest() == b.digest() and len(a.digest()) == 64
    assert as_representation(_torch_encoder(1)).digest() != a.digest()
    assert as_representation(_torch_encoder(0), channels_first=False).digest() != a.digest()
    assert as_representation(lambda x: x).digest() is None
    assert a.with_mode("sampled", random_state=1).digest() == a.digest()


def sampler_index(factors):
    return np.ravel_multi_index(tuple(np.asarray(factors).T), (4, 5, 6))


def test_a_table_on_disk_is_reused_and_never_trusted_when_it_does_not_match(tmp_path):
    sampler = FactorGrid([4, 5, 6])
    module = TwoHeads()
    first = RepresentationTable(module, sampler, cache_dir=tmp_path)
    factors = sampler.sample_factors(50, np.random.default_rng(0))
    mean, logvar = first.encode_factors(factors, None)
    assert first.representation.output_dtype == np.float32 and logvar is not None
    path = first.save()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["encoder_digest"] == first.representation.digest() and meta["rows_filled"] == first.n_filled
    stored = np.load(path, allow_pickle=False)  # one plain array: rows never encoded are NaN
    assert stored.shape == (120, 2, 3) and stored.dtype == np.float32
    assert np.isfinite(stored[:, 0, 0]).sum() == first.n_filled == np.unique(sampler_index(factors)).size

    second = RepresentationTable(module, sampler, cache_dir=tmp_path)
    assert second.loaded_rows == first.n_filled and not second.notes
    again, again_logvar = second.encode_factors(factors, None)
    assert second.encoded == 0
    np.testing.assert_array_equal(again, mean)
    np.testing.assert_array_equal(again_logvar, logvar)
    with torch.no_grad():  # the stored float32 rows are the module's outputs, exactly
        direct = module(torch.as_tensor(factors, dtype=torch.float32))
    np.testing.assert_array_equal(mean, direct[0].numpy().astype(np.float64))

    other = RepresentationTable(TwoHeads(seed=1), sampler, cache_dir=tmp_path)  # another encoder: another file
    assert other.path != path and other.loaded_rows == 0

    values = np.load(path, allow_pickle=False)
    values[np.isfinite(values[:, 0, 0])] += 1.0  # altered rows: the checksum no longer matches
    np.save(path, values)
    tampered = RepresentationTable(module, sampler, cache_dir=tmp_path)
    assert tampered.loaded_rows == 0 and "checksum" in tampered.notes[0]
    again, _ = tampered.encode_factors(factors, None)
    np.testing.assert_array_equal(again, mean)
    tampered.save()
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["encoder_digest"] = "0" * 64
    path.with_suffix(".json").write_text(json.dumps(meta))
    assert RepresentationTable(module, sampler, cache_dir=tmp_path).loaded_rows == 0
    path.with_suffix(".json").write_text("{not json")
    assert RepresentationTable(module, sampler, cache_dir=tmp_path).loaded_rows == 0


def test_a_pickled_file_is_never_loaded(tmp_path):
    sampler = FactorGrid([4, 5, 6])
    table = RepresentationTable(_torch_encoder(), sampler, cache_dir=tmp_path)
    table.lookup(np.arange(10))
    path = table.save()
    np.save(path, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    fresh = RepresentationTable(_torch_encoder(), sampler, cache_dir=tmp_path)
    assert fresh.loaded_rows == 0 and "ignored and replaced" in fresh.notes[0]  # never unpickled
    assert fresh.lookup(np.arange(3))[0].shape == (3, 4)


def test_a_plain_callable_or_an_unidentified_data_set_stays_in_memory(tmp_path):
    with pytest.raises(ValueError, match="no digest"):
        RepresentationTable(CountingEncoder(), FactorGrid([3, 4]), cache_dir=tmp_path)
    grid = FactorGrid([3, 4], observe=lambda f: f * 2.0)  # a user's map: nothing identifies it
    with pytest.raises(ValueError, match="no stable identity"):
        RepresentationTable(_torch_encoder(), grid, cache_dir=tmp_path)


def test_the_scoring_table_is_whole_or_absent(tmp_path, monkeypatch):
    """`dismetrics score` keeps a table on disk only filled whole: a small run on a large data set gets none
    (no file), a run that draws as many images as the data set has fills it, and later runs reuse it."""
    from dismetrics.table import EAGER_ROWS, scoring_table

    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path))
    sampler = FactorGrid([300, 200])  # 60,000 observations, more than EAGER_ROWS
    assert sampler.factor_sizes[0] * sampler.factor_sizes[1] > EAGER_ROWS
    module = torch.nn.Linear(2, 3)
    assert scoring_table(module, sampler, planned=1_000) is None
    assert scoring_table(lambda x: x, sampler, planned=10**6) is None  # no digest: memory only
    assert not list(tmp_path.glob("tables/*.npy"))
    full = scoring_table(module, sampler, planned=60_000)
    assert full.n_filled == 60_000 == full.encoded and full.path.exists()
    again = scoring_table(module, sampler, planned=1_000)
    assert again.encoded == 0 and again.loaded_rows == 60_000
    assert scoring_table(module, FactorGrid([3, 4]), planned=1).n_filled == 12  # small data sets: whole


# ---- dismetrics score -----------------------------------------------------------------------------------
def _model_dir(tmp_path, dataset):
    from dismetrics import modeldir

    torch.manual_seed(0)
    layers = [torch.nn.Conv2d(1, 2, 8, stride=8), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(128, 8)]
    directory = tmp_path / "model"
    directory.mkdir()
    modeldir.save_encoder(directory, layers, input_shape=(64, 64, 1), latent_dim=4)
    modeldir.write_config(directory, {"model": "beta_vae", "hyperparameters": {"beta": 4.0}, "seed": 0, "steps": 1,
                                      "latent_dim": 4, "dataset": dataset, "encoder_file": modeldir.ENCODER_FILE})
    return directory


def test_score_twice_encodes_nothing_the_second_time(tmp_path, monkeypatch, capsys):
    """`dismetrics score` on one model dir with other metrics and another seed: every code comes from the
    table the first run left on disk, and its log says so."""
    from dismetrics.cli import main

    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "norb").mkdir()
    _write_norb(tmp_path / "norb")
    directory = _model_dir(tmp_path, {"name": "smallnorb", "path": str(tmp_path / "norb")})
    sizes = ["--n", "300", "--n-test", "100", "--repeats", "1"]
    assert main(["score", "--model-dir", str(directory), "--metrics", "mig,beta_vae", *sizes, "--random-state", "0",
                 "--metric-params", json.dumps({"beta_vae": SMALL["beta_vae"]})]) == 0
    first = capsys.readouterr().out
    assert ": 9,720 observations encoded, 0 rows read from disk" in first, first
    assert main(["score", "--model-dir", str(directory), "--metrics", "mig_sup,factor_vae", *sizes, "--random-state", "1",
                 "--metric-params", json.dumps({"factor_vae": SMALL["factor_vae"]})]) == 0
    second = capsys.readouterr().out
    assert ": 0 observations encoded, 9,720 rows read from disk" in second, second
    assert len(list((tmp_path / "cache" / "tables").glob("table-*.npy"))) == 1

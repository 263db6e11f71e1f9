"""Streaming metrics: ``update`` / ``compute`` equals the one-shot function on the concatenated
batches, exactly, for every sample metric (and as torchmetrics Metrics); the bounded-memory histogram
variant equals it when its edges are the sample's, and stays close otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from dismetrics.metrics import SAMPLE_METRICS
from dismetrics.streaming import BOUNDED_METRICS, StreamingMetric

N, BATCH = 150, 32


def sample(seed=0, n=N, dtype=np.float64):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, [3, 4, 5], size=(n, 3))
    codes = (factors / np.array([3.0, 4.0, 5.0])) @ rng.normal(size=(3, 4)) + 0.1 * rng.normal(size=(n, 4))
    return codes.astype(dtype), factors


def params_of(name):
    import inspect

    names = inspect.signature(SAMPLE_METRICS[name]).parameters
    return {"random_state": 0} if "random_state" in names else {}


def same_result(a, b):
    """Equal values and bit-identical details (their JSON, which writes every float exactly and NaN
    as NaN)."""
    import json

    left, right = json.loads(a.to_json()), json.loads(b.to_json())
    return left["value"] == right["value"] and left["details"] == right["details"]


@pytest.mark.parametrize("name", list(SAMPLE_METRICS))
def test_streaming_equals_one_shot_for_every_sample_metric(name):
    codes, factors = sample()
    params = params_of(name)
    metric = StreamingMetric(name, **params)
    for start in range(0, N, BATCH):  # uneven batches: 32, ..., 22
        metric.update(codes[start:start + BATCH], factors[start:start + BATCH])
    assert metric.n_samples == N
    streamed = metric.compute()
    one_shot = SAMPLE_METRICS[name](codes, factors, **params)
    assert same_result(streamed, one_shot), name
    assert streamed.to_json() == one_shot.to_json()  # parameters and seed included


def test_test_split_batches_and_torch_tensors():
    torch = pytest.importorskip("torch")
    codes, factors = sample(1)
    codes_test, factors_test = sample(2, n=60)
    metric = StreamingMetric("dci", random_state=0)
    for start in range(0, N, BATCH):
        metric.update(torch.from_numpy(codes[start:start + BATCH]), torch.from_numpy(factors[start:start + BATCH]))
    for start in range(0, 60, 25):
        metric.update(codes_test[start:start + 25], factors_test[start:start + 25], test=True)
    one_shot = SAMPLE_METRICS["dci"](codes, factors, codes_test=codes_test, factors_test=factors_test, random_state=0)
    assert same_result(metric.compute(), one_shot)
    metric.reset()
    with pytest.raises(ValueError, match="no batch yet"):
        metric.compute()


def test_bad_batches_are_refused():
    metric = StreamingMetric("mig")
    with pytest.raises(ValueError, match="2-D"):
        metric.update(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="rows"):
        metric.update(np.zeros((5, 3)), np.zeros((4, 2)))
    metric.update(np.random.rand(5, 3), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="earlier batches had 3"):
        metric.update(np.zeros((5, 4)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="unknown sample metric"):
        StreamingMetric("nope")
    with pytest.raises(ValueError, match="memory='exact'"):
        StreamingMetric("dci", memory="bounded")
    with pytest.raises(ValueError, match="bounded"):
        StreamingMetric("mig", ranges=(0, 1))


# ---- bounded memory -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BOUNDED_METRICS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bounded_equals_one_shot_when_the_edges_are_the_samples(name, dtype):
    codes, factors = sample(3, n=400, dtype=dtype)
    one_shot = SAMPLE_METRICS[name](codes, factors)
    ranged = StreamingMetric(name, memory="bounded", ranges=(codes.min(axis=0), codes.max(axis=0)))
    warm = StreamingMetric(name, memory="bounded", warmup=400)
    for start in range(0, 400, 64):
        ranged.update(codes[start:start + 64], factors[start:start + 64])
        warm.update(codes[start:start + 64], factors[start:start + 64])
    assert same_result(ranged.compute(), one_shot)
    assert same_result(warm.compute(), one_shot)
    assert ranged.compute().params["memory"] == "bounded"


def test_bounded_keeps_counts_not_codes_and_stays_close():
    rng = np.random.default_rng(4)
    factors = rng.integers(0, [3, 6, 40, 32, 32], size=(4000, 5))
    codes = np.tanh((factors / np.array([3, 6, 40, 32, 32.0]) - 0.5) @ rng.normal(size=(5, 6))) + 0.05 * rng.normal(size=(4000, 6))
    metric = StreamingMetric("mig", memory="bounded", warmup=500)
    for start in range(0, 4000, 100):
        metric.update(codes[start:start + 100], factors[start:start + 100])
        assert not metric._codes  # nothing kept once the edges are fixed
    tables = metric._histogram.tables
    assert sum(t.size for t in tables) == 6 * 20 * (3 + 6 + 40 + 32 + 32)
    streamed, one_shot = metric.compute().value, SAMPLE_METRICS["mig"](codes, factors).value
    assert abs(streamed - one_shot) < 0.02  # docs/streaming.md measures the distance
    # factor values unseen in the warm-up and codes outside its range are counted (edge bins)
    late = StreamingMetric("mig", memory="bounded")
    late.update(codes[:10], factors[:10])
    late.update(codes[10:] * 3, factors[10:])
    assert late.compute().params["n_samples"] == 4000


def test_torchmetrics_subclasses_equal_one_shot():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchmetrics", reason="the [torchmetrics] extra is not installed")
    from dismetrics.integrations.torchmetrics import METRIC_CLASSES, DisentanglementMetric

    codes, factors = sample(5)
    for name in SAMPLE_METRICS:
        params = params_of(name)
        metric = METRIC_CLASSES[name](metric_params=params)
        assert isinstance(metric, DisentanglementMetric)
        for start in range(0, N, BATCH):
            metric.update(torch.from_numpy(codes[start:start + BATCH]), torch.from_numpy(factors[start:start + BATCH]))
        value = metric.compute()
        one_shot = SAMPLE_METRICS[name](codes, factors, **params)
        assert value.dtype == torch.float64
        assert float(value) == one_shot.value or (np.isnan(float(value)) and np.isnan(one_shot.value)), name
        assert same_result(metric.result, one_shot), name
        metric.reset()
        assert metric.codes == []

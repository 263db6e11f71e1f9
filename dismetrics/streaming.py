"""The sample metrics as streaming objects: `update(codes_batch, factors_batch)`, then `compute()`.

```python
from dismetrics.streaming import StreamingMetric

metric = StreamingMetric("mig")
for x, factors in loader:
    metric.update(encoder(x), factors)
result = metric.compute()          # a MetricResult, as mig(all_codes, all_factors)
```

**Default: exact.** The batches are kept, and
[`StreamingMetric.compute`][dismetrics.streaming.StreamingMetric.compute] calls the one-shot function on their
concatenation, so the result is *equal* to the one-shot result on the concatenated arrays (bit for bit: same
value, same details), for every metric of `dismetrics.metrics.SAMPLE_METRICS` (tested). Memory grows with the
number of points, as the one-shot call's would.

**Bounded memory (`memory="bounded"`)**, for the histogram metrics (MIG, Modularity, MIG-sup,
DCIMIG): once the bin edges of every code dim are fixed, only the counts of the (code bin, factor
value) pairs are needed, not the codes. The edges come from `ranges=` (the value range of every
dim, e.g. `(-1, 1)` for tanh codes) or from the first `warmup` points (default: the first batch;
those points are kept until the edges are fixed). Values outside the edges fall into the first or
the last bin, as they would in the one-shot binning at its own min and max. With the ranges equal to
the min and max of the whole sample the result equals the one-shot one exactly; otherwise it moves by
the amounts measured in docs/streaming.md. Memory: `d * bins * (number of factor values)` counts.

Codes and factors may be numpy arrays or torch tensors (moved to the CPU). Metrics with a test split
(DCI, SAP, explicitness, ...) take the test batches with `update(codes, factors, test=True)`;
without them they split the sample themselves, as their one-shot functions do.

With `torchmetrics` installed, `dismetrics.integrations.torchmetrics` has the same metrics as
`torchmetrics.Metric` subclasses.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validation import check_choice, check_positive_int
from .metrics.registry import get_metric, metric_names
from .result import MetricResult

__all__ = ["StreamingMetric", "BOUNDED_METRICS", "to_numpy"]

BOUNDED_METRICS = ("mig", "modularity", "mig_sup", "dcimig")
"""Metrics with a bounded-memory variant (`memory="bounded"`): functions of the histogram MI matrix."""


def to_numpy(array: Any) -> np.ndarray:
    """A batch (numpy array, torch tensor on any device, array-like) as a numpy array, dtype kept."""
    if type(array).__module__.startswith("torch"):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def _resolve(metric: Any) -> tuple[str, Callable[..., Any]]:
    """(canonical name, function) of a registered sample metric (name or alias), or of a function."""
    if isinstance(metric, str):
        sample = metric_names("sample")
        try:
            spec = get_metric(metric)
        except ValueError:
            spec = None
        if spec is None or spec.kind != "sample":
            raise ValueError(f"metric: unknown sample metric {metric!r}; known: {sorted(sample)}.")
        return spec.name, spec.func
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise ValueError(f"metric must be the name of a registered sample metric or a function; got {type(metric).__name__}.")


def _check_batch(codes: np.ndarray, factors: np.ndarray, d: int | None, k: int | None, what: str) -> None:
    if codes.ndim != 2:
        raise ValueError(f"{what}codes batch must be 2-D (batch, n_dims); got shape {codes.shape}.")
    if factors.ndim != 2:
        raise ValueError(f"{what}factors batch must be 2-D (batch, n_factors); got shape {factors.shape}.")
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(f"{what}factors batch has {factors.shape[0]} rows but the codes batch has {codes.shape[0]}.")
    if d is not None and codes.shape[1] != d:
        raise ValueError(f"{what}codes batch has {codes.shape[1]} dims; earlier batches had {d}.")
    if k is not None and factors.shape[1] != k:
        raise ValueError(f"{what}factors batch has {factors.shape[1]} factors; earlier batches had {k}.")


class StreamingMetric:
    """A sample metric fed batch by batch.

    Parameters
    ----------
    metric : str or callable
        A name of `dismetrics.metrics.SAMPLE_METRICS` (`"mig"`, `"dci"`, ...) or a function
        `f(codes, factors, **params)`.
    memory : {"exact", "bounded"}
        `"exact"` (default): keep every batch, `compute()` equals the one-shot function on the
        concatenation. `"bounded"`: keep histogram counts only (metrics in
        [`BOUNDED_METRICS`][dismetrics.streaming.BOUNDED_METRICS]).
    ranges : None, (low, high), or arrays (d,) of lows and highs
        `memory="bounded"`: the value range binned for every code dim. None: from the warm-up points.
    warmup : int or None
        `memory="bounded"` without `ranges`: the number of first points whose min and max fix
        the edges (they are kept until then). None: the first batch.
    **params :
        Keyword arguments of the metric (`bins=`, `random_state=`, ...).
    """

    def __init__(self, metric, *, memory: str = "exact", ranges=None, warmup: int | None = None, **params: Any) -> None:
        self.name, self.function = _resolve(metric)
        self.memory = check_choice(memory, name="memory", choices=("exact", "bounded"))
        self.params = dict(params)
        if self.memory == "bounded":
            if self.name not in BOUNDED_METRICS or not isinstance(metric, str):
                raise ValueError(
                    f"memory='bounded' is available for {list(BOUNDED_METRICS)} (histogram metrics); "
                    f"{self.name!r} needs every code: use memory='exact'."
                )
            self._histogram = _BoundedHistogram(self.name, ranges=ranges, warmup=warmup, **params)
        elif ranges is not None or warmup is not None:
            raise ValueError("ranges and warmup apply to memory='bounded' only.")
        self.reset()

    def __repr__(self) -> str:
        return f"StreamingMetric({self.name!r}, memory={self.memory!r}, n_samples={self.n_samples})"

    def reset(self) -> None:
        """Forget every batch seen."""
        self._codes: list[np.ndarray] = []
        self._factors: list[np.ndarray] = []
        self._codes_test: list[np.ndarray] = []
        self._factors_test: list[np.ndarray] = []
        self.n_samples = 0
        self.n_test_samples = 0
        if self.memory == "bounded":
            self._histogram.reset()

    def update(self, codes, factors, *, test: bool = False) -> "StreamingMetric":
        """Add a batch: `codes` (b, d) and `factors` (b, K), numpy arrays or torch tensors.
        `test=True`: a batch of the test split (metrics with `codes_test`/`factors_test`)."""
        codes, factors = to_numpy(codes), to_numpy(factors)
        if test:
            if self.memory == "bounded":
                raise ValueError(f"{self.name} has no test split.")
            d = self._codes_test[0].shape[1] if self._codes_test else None
            k = self._factors_test[0].shape[1] if self._factors_test else None
            _check_batch(codes, factors, d, k, "test ")
            self._codes_test.append(codes)
            self._factors_test.append(factors)
            self.n_test_samples += codes.shape[0]
            return self
        if self.memory == "bounded":
            self._histogram.update(codes, factors)
        else:
            d = self._codes[0].shape[1] if self._codes else None
            k = self._factors[0].shape[1] if self._factors else None
            _check_batch(codes, factors, d, k, "")
            self._codes.append(codes)
            self._factors.append(factors)
        self.n_samples += codes.shape[0]
        return self

    def compute(self) -> MetricResult:
        """The metric of every batch seen so far (the batches are kept: update can go on)."""
        if self.memory == "bounded":
            return self._histogram.compute()
        if not self._codes:
            raise ValueError(f"{self.name}: no batch yet; call update(codes, factors) first.")
        kwargs = dict(self.params)
        if self._codes_test:
            kwargs["codes_test"] = np.concatenate(self._codes_test) if len(self._codes_test) > 1 else self._codes_test[0]
            kwargs["factors_test"] = np.concatenate(self._factors_test) if len(self._factors_test) > 1 else self._factors_test[0]
        codes = np.concatenate(self._codes) if len(self._codes) > 1 else self._codes[0]
        factors = np.concatenate(self._factors) if len(self._factors) > 1 else self._factors[0]
        return self.function(codes, factors, **kwargs)


# ---- the bounded-memory histogram variant ------------------------------------------------------------
def _gap_result(name: str, matrix: np.ndarray, entropy: np.ndarray) -> tuple[float, dict]:
    """Value and details of the histogram metrics from the MI matrix and the factor entropies, as
    their one-shot functions compute them (dismetrics.metrics.mig, modularity, mig_sup, dcimig)."""
    if name == "mig":
        order = np.argsort(-matrix, axis=0, kind="stable")
        columns = np.arange(matrix.shape[1])
        gaps = (matrix[order[0], columns] - matrix[order[1], columns]) / entropy
        return float(np.mean(gaps)), {"mi_matrix": matrix, "factor_entropy": entropy, "gap_per_factor": gaps,
                                      "top_dim_per_factor": order[0], "second_dim_per_factor": order[1]}
    if name == "modularity":
        from .metrics.modularity import modularity_from_mi

        per_dim = modularity_from_mi(matrix)
        return float(np.mean(per_dim)), {"per_dim": per_dim, "mi_matrix": matrix, "top_factor_per_dim": np.argmax(matrix, axis=1)}
    if name == "mig_sup":
        normalized = matrix / entropy
        order = np.argsort(-normalized, axis=1, kind="stable")
        rows = np.arange(normalized.shape[0])
        gaps = normalized[rows, order[:, 0]] - normalized[rows, order[:, 1]]
        return float(np.mean(gaps)), {"mi_matrix": matrix, "factor_entropy": entropy, "normalized_mi": normalized,
                                      "gap_per_dim": gaps, "top_factor_per_dim": order[:, 0],
                                      "second_factor_per_dim": order[:, 1], "active_dims": rows}
    from .metrics.dcimig import dcimig_from_mi

    scores = dcimig_from_mi(matrix, entropy)
    return scores["score"], {"mi_matrix": matrix, "factor_entropy": entropy, "gap_per_dim": scores["gap_per_dim"],
                             "factor_of_dim": scores["factor_of_dim"], "gap_per_factor": scores["gap_per_factor"],
                             "dim_per_factor": scores["dim_per_factor"]}


class _BoundedHistogram:
    """Counts of (code dim, bin, factor, factor value) with bin edges fixed early."""

    def __init__(self, name: str, *, ranges=None, warmup: int | None = None, bins: int = 20, **params: Any) -> None:
        self.name = name
        self.bins = check_positive_int(bins, name="bins", minimum=2)
        if name == "mig_sup" and params.get("active_variance") is not None:
            raise ValueError("mig_sup with active_variance needs the variance of every code: use memory='exact'.")
        params.pop("active_variance", None)
        if params:
            raise ValueError(f"{name} (memory='bounded') takes bins=, ranges= and warmup=; got {sorted(params)}.")
        if ranges is not None and warmup is not None:
            raise ValueError("give ranges= or warmup=, not both: the edges come from one of them.")
        self.ranges = None if ranges is None else self._check_ranges(ranges)
        self.warmup = None if warmup is None else check_positive_int(warmup, name="warmup", minimum=2)
        self.reset()

    @staticmethod
    def _check_ranges(ranges):
        if isinstance(ranges, tuple) and len(ranges) == 2:
            low, high = (np.asarray(r, dtype=np.float64) for r in ranges)
        else:
            raise ValueError("ranges must be a pair (low, high): numbers or arrays of one value per code dim.")
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
            raise ValueError("ranges: low and high must be finite with high > low in every dim.")
        return low, high

    def reset(self) -> None:
        self.edges: np.ndarray | None = None
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.pending_n = 0
        self.values: list[dict] = []          # per factor: raw value -> row of its table
        self.tables: list[np.ndarray] = []    # per factor: (d, m_k, bins) int64 counts
        self.dtype: np.dtype | None = None  # set by the first batch, with d and k
        self.n = 0
        self.d = 0
        self.k = 0

    def _fix_edges(self, codes: np.ndarray) -> None:
        from ._kernels.info import histogram_left_edges

        if self.ranges is None:
            self.edges = histogram_left_edges(codes, self.bins)
            return
        assert self.ranges is not None
        low = np.broadcast_to(self.ranges[0], (self.d,))
        high = np.broadcast_to(self.ranges[1], (self.d,))
        dtype = codes.dtype
        self.edges = np.stack([np.linspace(dtype.type(lo), dtype.type(hi), self.bins + 1, dtype=dtype)[:-1]
                               for lo, hi in zip(low, high)])

    def update(self, codes: np.ndarray, factors: np.ndarray) -> None:
        started = self.dtype is not None
        _check_batch(codes, factors, self.d if started else None, self.k if started else None, "")
        if codes.shape[0] == 0:
            return
        if not np.issubdtype(codes.dtype, np.floating) and not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"codes must be real numbers; got dtype {codes.dtype}.")
        if not np.all(np.isfinite(codes)):
            raise ValueError("codes contains NaN or infinite values; the histogram metrics need finite codes.")
        factors_int = np.asarray(factors)
        if not np.issubdtype(factors_int.dtype, np.integer):
            if not np.all(np.isfinite(factors_int)) or np.any(factors_int != np.round(factors_int)):
                raise ValueError("factors must hold integer factor indices.")
            factors_int = factors_int.astype(np.int64)
        codes = codes.astype(np.float32 if codes.dtype == np.float32 else np.float64, copy=False)
        if self.dtype is None:
            self.dtype, self.d, self.k = codes.dtype, codes.shape[1], factors.shape[1]
            self.values = [dict() for _ in range(self.k)]
            self.tables = [np.zeros((self.d, 0, self.bins), dtype=np.int64) for _ in range(self.k)]
        elif codes.dtype != self.dtype:
            codes = codes.astype(self.dtype)
        if self.edges is None:
            self.pending.append((codes, factors_int))
            self.pending_n += codes.shape[0]
            if self.ranges is None and self.pending_n < (self.warmup or 1):
                return
            warm = np.concatenate([c for c, _ in self.pending])
            warm_factors = np.concatenate([f for _, f in self.pending])
            self.pending, self.pending_n = [], 0
            self._fix_edges(warm)
            self._count(warm, warm_factors)
            return
        self._count(codes, factors_int)

    def _count(self, codes: np.ndarray, factors: np.ndarray) -> None:
        from ._kernels.info import _digitize_columns, contingency_tables

        disc = _digitize_columns(np.ascontiguousarray(codes), self.edges)
        labels = np.empty((self.k, codes.shape[0]), dtype=np.int32)
        sizes = np.empty(self.k, dtype=np.int64)
        for k in range(self.k):
            seen = self.values[k]
            unique, inverse = np.unique(factors[:, k], return_inverse=True)
            for value in unique.tolist():
                if value not in seen:
                    seen[value] = len(seen)
            rows = np.array([seen[value] for value in unique.tolist()], dtype=np.int32)
            labels[k] = rows[inverse.reshape(-1)]
            sizes[k] = len(seen)
        batch_tables = contingency_tables(disc, labels, sizes, self.bins)
        for k, table in enumerate(batch_tables):
            grown = self.tables[k]
            if grown.shape[1] < table.shape[1]:
                grown = np.concatenate([grown, np.zeros((self.d, table.shape[1] - grown.shape[1], self.bins), np.int64)], axis=1)
            grown += table
            self.tables[k] = grown
        self.n += codes.shape[0]

    def compute(self) -> MetricResult:
        from ._kernels.info import mutual_info_from_tables

        if self.edges is None and self.pending:  # fewer points than the warm-up: fix the edges now
            warm = np.concatenate([c for c, _ in self.pending])
            warm_factors = np.concatenate([f for _, f in self.pending])
            self.pending, self.pending_n = [], 0
            self._fix_edges(warm)
            self._count(warm, warm_factors)
        if self.n < 2:
            raise ValueError(f"{self.name}: codes needs at least 2 samples; update() has seen {self.n}.")
        min_dims = 2 if self.name == "mig" else 1
        if self.d < min_dims:
            raise ValueError(f"codes needs at least {min_dims} dimension(s) for {self.name}.")
        if self.name in ("modularity", "mig_sup", "dcimig") and self.k < 2:
            raise ValueError(f"factors needs at least two factors (columns) for {self.name}.")
        tables, counts = [], []
        for k in range(self.k):
            order = np.argsort(np.array(list(self.values[k].keys())), kind="stable")  # sorted factor values
            table = self.tables[k][:, order, :]
            tables.append(np.ascontiguousarray(table))
            counts.append(table[0].sum(axis=1))
            if len(order) < 2:
                value = next(iter(self.values[k]))
                raise ValueError(f"factors[:, {k}] takes a single value ({value}) in this sample; a factor needs at least two values.")
        matrix = mutual_info_from_tables(tables)
        # H(v_k) = MI(v_k, v_k): the diagonal table of the value counts, as the one-shot functions do.
        entropy = np.array([mutual_info_from_tables([np.diag(c).astype(np.int64)[None]])[0, 0] for c in counts])
        value, details = _gap_result(self.name, matrix, entropy)
        params = {"bins": self.bins, "n_samples": int(self.n), "discretization": "histogram_fixed_edges",
                  "edges_from": "ranges" if self.ranges is not None else f"first {self.warmup or 'batch'} points",
                  "memory": "bounded"}
        return MetricResult(name=self.name, value=value, details=details, params=params)

"""Feeding training batches from a ground-truth sampler.

Batches are drawn uniformly with replacement from the factor grid (as the reference does). The random
stream of step `s` is `numpy.random.default_rng([seed, 0xDA7A, s])`: the batch of a step depends on
the seed and the step alone, so a resumed run sees exactly the batches of an uninterrupted one, and
batches can be prepared ahead of time in a background thread without changing them.

Fast path. A sampler that holds every observation of its grid in an array (in memory or memory-mapped)
can expose it as `sampler.all_observations()`, an array of shape `(prod(factor_sizes), *observation_shape)`
in row-major factor order (the index of factor vector `f` is `numpy.ravel_multi_index(f.T, factor_sizes)`),
or provide its own `sampler.factors_to_index(factors)`. Its dtype is `bool`, `uint8` (0..255) or a float
in [0, 1]. A batch is then a single fancy-indexing gather, with no per-sample Python; on a GPU, an
array that fits (`max_device_bytes`) is copied to the device once and gathered there.
Otherwise `sampler.sample_observations_from_factors(factors, rng)` renders each batch, in a background
thread that stays `prefetch` batches ahead of the training loop.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

__all__ = ["BatchSource", "step_rng", "observations_to_tensor"]

_DATA_STREAM = 0xDA7A


def step_rng(seed: int, stream: int, step: int) -> np.random.Generator:
    """The numpy generator of one step of one stream."""
    return np.random.default_rng([int(seed), int(stream), int(step)])


def _as_float_array(obs: np.ndarray) -> np.ndarray:
    obs = np.asarray(obs)
    if obs.dtype == np.bool_:
        return obs.astype(np.float32)
    if obs.dtype == np.uint8:
        return obs.astype(np.float32) * np.float32(1.0 / 255.0)
    return obs.astype(np.float32, copy=False)


def observations_to_tensor(obs: np.ndarray) -> torch.Tensor:
    """`(n, H, W, C)` observations in [0, 1] (or `(n, H, W)`) -> float32 `(n, C, H, W)` tensor."""
    obs = _as_float_array(obs)
    if obs.ndim == 3:
        obs = obs[..., None]
    if obs.ndim != 4:
        raise ValueError(f"observations must have shape (n, H, W, C) or (n, H, W); got {obs.shape}.")
    return torch.from_numpy(np.ascontiguousarray(obs.transpose(0, 3, 1, 2)))


def _tensor_to_float(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.bool:
        return x.float()
    if x.dtype == torch.uint8:
        return x.float().mul_(1.0 / 255.0)
    return x.float()


class BatchSource:
    """Deterministic per-step training batches from a sampler, on `device`.

    `batch(step)` returns `(x, x_second)`: float32 `(B, C, 64, 64)` tensors; `x_second` is an
    independent second batch when `second_batch` is true, else `None`. Calls must come in increasing
    step order for prefetching to help; any order gives the same batches.
    """

    def __init__(
        self,
        sampler: Any,
        batch_size: int,
        seed: int,
        device: torch.device | str = "cpu",
        *,
        second_batch: bool = False,
        prefetch: int = 2,
        fast_path: bool = True,
        max_device_bytes: int = 8 << 30,
        stream: int = _DATA_STREAM,
    ) -> None:
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.second_batch = bool(second_batch)
        self.factor_sizes = np.asarray(sampler.factor_sizes, dtype=np.int64)
        self.prefetch = int(prefetch)
        self.stream = int(stream)
        self._all = None
        self._all_device = None
        self._to_index = None
        if fast_path:
            self._setup_fast_path(max_device_bytes)
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque = deque()

    # ---- fast path ---------------------------------------------------------------------------------
    def _setup_fast_path(self, max_device_bytes: int) -> None:
        getter = getattr(self.sampler, "all_observations", None)
        if getter is None:
            return
        array = getter() if callable(getter) else getter
        if array is None:
            return
        self._all = array
        custom = getattr(self.sampler, "factors_to_index", None)
        if callable(custom):
            self._to_index = custom
        else:
            sizes = tuple(int(s) for s in self.factor_sizes)
            if int(np.prod(sizes)) != len(array):
                raise ValueError(
                    f"sampler.all_observations() has {len(array)} rows but the factor grid has {int(np.prod(sizes))} points."
                )
            self._to_index = lambda factors: np.ravel_multi_index(tuple(np.asarray(factors).T), sizes)
        if self.device.type != "cpu" and getattr(array, "nbytes", max_device_bytes + 1) <= max_device_bytes:
            host = torch.from_numpy(np.ascontiguousarray(np.asarray(array)))
            self._all_device = host.to(self.device)

    @property
    def uses_fast_path(self) -> bool:
        return self._all is not None

    @property
    def on_device(self) -> bool:
        return self._all_device is not None

    # ---- batches -----------------------------------------------------------------------------------
    def factors(self, step: int) -> np.ndarray:
        n = self.batch_size * (2 if self.second_batch else 1)
        return self.sampler.sample_factors(n, step_rng(self.seed, self.stream, step))

    def _host_batch(self, step: int):
        """Everything that can run off the training thread: factors and (host) observations."""
        rng = step_rng(self.seed, self.stream, step)
        n = self.batch_size * (2 if self.second_batch else 1)
        factors = np.asarray(self.sampler.sample_factors(n, rng))
        if self._all is not None:
            index = np.asarray(self._to_index(factors), dtype=np.int64)
            if self._all_device is not None:
                return torch.from_numpy(index)
            obs = observations_to_tensor(np.asarray(self._all[index]))
        else:
            obs = observations_to_tensor(self.sampler.sample_observations_from_factors(factors, rng))
        if self.device.type == "cuda":
            obs = obs.pin_memory()
        return obs

    def _finish(self, host) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._all_device is not None:
            x = _tensor_to_float(self._all_device[host.to(self.device)])
            if x.ndim == 3:
                x = x.unsqueeze(-1)
            x = x.permute(0, 3, 1, 2).contiguous()
        else:
            x = host.to(self.device, non_blocking=True)
        if self.second_batch:
            return x[: self.batch_size], x[self.batch_size :]
        return x, None

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.prefetch <= 0:
            return self._finish(self._host_batch(step))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dismetrics-data")
        while self._pending and self._pending[0][0] != step:
            self._pending.popleft()[1].cancel()
        if not self._pending:
            self._pending.append((step, self._executor.submit(self._host_batch, step)))
        last = self._pending[-1][0]
        while len(self._pending) < self.prefetch + 1:
            last += 1
            self._pending.append((last, self._executor.submit(self._host_batch, last)))
        _, future = self._pending.popleft()
        return self._finish(future.result())

    def close(self) -> None:
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

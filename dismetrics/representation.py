"""Representation functions: anything that maps a batch of observations to an (n, d) code array.

[`as_representation`][dismetrics.representation.as_representation] turns what the user has into a
[`Representation`][dismetrics.representation.Representation], a callable
`observations (n, *obs_shape) -> codes (n, d) float64` that

- accepts a plain numpy callable returning codes, or a `(mean, logvar)` tuple;
- accepts a `torch.nn.Module` (run in eval mode, under `torch.no_grad()`, on the module's device,
  in batches; output a tensor of means or a `(mean, logvar, ...)` tuple; on a CUDA device in batches of
  4,096 through pinned host memory; with `autocast="bfloat16"` or `"float16"` in mixed precision, off by
  default);
- in `mode="sampled"` returns `z = mean + exp(logvar / 2) * eps`, `eps ~ N(0, I)` drawn from its
  own `random_state`, instead of the mean;
- checks every output: 2-D, one row per observation, the same number of dims on every call, finite.

Torch is imported only when a torch object is handed in (detected through `sys.modules`), so the
metrics core never imports it by itself.

A path is read as a model dir (see [`dismetrics.modeldir`][dismetrics.modeldir]): its encoder graph is loaded
with torch alone, running no code from the dir, and wrapped like any torch module, with the input layout it
records.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any, Callable

import numpy as np

from ._validation import check_choice, check_positive_int, check_random_state

__all__ = ["Representation", "as_representation", "sampled_codes"]

DEFAULT_TORCH_BATCH_SIZE = 256
"""Observations per torch forward pass when `batch_size` is not given (a module on the CPU)."""
DEFAULT_CUDA_BATCH_SIZE = 4096
"""Observations per forward pass of a module on a CUDA device when `batch_size` is not given: large
batches keep the device busy (a conv encoder of 64 x 64 images holds about 16 MB of input per batch)."""
AUTOCAST_DTYPES = ("bfloat16", "float16")
"""The reduced precisions `as_representation(..., autocast=...)` accepts (`torch.autocast`'s dtypes)."""


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    if torch is None:  # torch was never imported, so obj cannot be a torch module
        return False
    return isinstance(obj, torch.nn.Module)


def _to_numpy(array: Any) -> np.ndarray:
    """Torch tensors (any device) and array-likes -> numpy arrays."""
    if type(array).__module__.startswith("torch"):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def _split_output(output: Any) -> tuple[Any, Any | None]:
    """`codes` or `(mean, logvar, ...)` -> `(mean, logvar or None)`."""
    if isinstance(output, (tuple, list)):
        if len(output) == 0:
            raise ValueError("returned an empty tuple; expected codes or (mean, logvar)")
        if len(output) == 1:
            return output[0], None
        return output[0], output[1]
    return output, None



def sampled_codes(mean: np.ndarray, logvar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Codes drawn from the encoder's posterior, `z = mean + exp(logvar / 2) * e` with `e ~ N(0, I)` from
    `rng` (the one place sampled codes are drawn: a sampled representation, and `evaluate`'s `<metric>_sampled`
    scores)."""
    return mean + np.exp(0.5 * logvar) * rng.standard_normal(mean.shape)

class Representation:
    """A validated representation function `observations -> codes` (float64, shape (n, d)).

    Build it with [`as_representation`][dismetrics.representation.as_representation]. `rep(observations)`
    returns the codes of the chosen `mode`; [`encode`][dismetrics.representation.Representation.encode]
    returns `(mean, logvar)` (`logvar` is None when the encoder gives none). Inputs are processed in batches
    of `batch_size` observations (all at once when None). `digest` (a function returning a str, or None)
    identifies the encoder for a representation table on disk ([`dismetrics.table`][dismetrics.table]);
    [`as_representation`][dismetrics.representation.as_representation] sets it for torch modules and model
    dirs.
    """

    def __init__(
        self,
        encode_fn: Callable[[np.ndarray], Any],
        *,
        mode: str = "mean",
        batch_size: int | None = None,
        random_state=None,
        name: str | None = None,
        digest: Callable[[], str] | None = None,
    ) -> None:
        self._encode_fn = encode_fn
        self._digest_fn = digest
        self._digest: str | None = None
        self.mode = check_choice(mode, name="mode", choices=("mean", "sampled"))
        self.batch_size = None if batch_size is None else check_positive_int(batch_size, name="batch_size")
        self.random_state = random_state
        self._rng = check_random_state(random_state)
        self.name = name or getattr(encode_fn, "__name__", None) or type(encode_fn).__name__
        self.n_dims: int | None = None
        self.output_dtype: np.dtype | None = None
        """The narrowest float dtype that holds every value the encoder returned so far exactly
        (float32 for a float32 encoder, float64 otherwise); a table stores the codes in it."""

    def digest(self) -> str | None:
        """A digest of the encoder (weights and architecture of a torch module, the encoder file of a model
        dir), or None for a plain callable, whose outputs nothing identifies. Computed on the first call and
        kept: a module trained further afterwards needs a new `as_representation`."""
        if self._digest is None and self._digest_fn is not None:
            self._digest = self._digest_fn()
        return self._digest

    def __repr__(self) -> str:
        return f"Representation({self.name!r}, mode={self.mode!r}, batch_size={self.batch_size})"

    # ---- encoding ---------------------------------------------------------------------------
    def _encode_batch(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        try:
            raw = self._encode_fn(observations)
            mean, logvar = _split_output(raw)
        except ValueError as error:
            if str(error).startswith("returned an empty tuple"):
                raise ValueError(f"representation {self.name!r} {error}.") from None
            raise
        mean = _to_numpy(mean)
        raw_dtypes = [mean.dtype]
        mean = self._check_array(mean, observations.shape[0], "codes")
        if logvar is not None:
            logvar = _to_numpy(logvar)
            raw_dtypes.append(logvar.dtype)
            logvar = self._check_array(logvar, observations.shape[0], "log-variances")
            if logvar.shape != mean.shape:
                raise ValueError(
                    f"representation {self.name!r} returned log-variances of shape {logvar.shape} "
                    f"for means of shape {mean.shape}; they must have the same shape."
                )
        self._note_dtype(raw_dtypes)
        if self.n_dims is None:
            self.n_dims = mean.shape[1]
        elif mean.shape[1] != self.n_dims:
            raise ValueError(
                f"representation {self.name!r} returned {mean.shape[1]} dims, but {self.n_dims} on an earlier "
                "call; a representation must always give the same number of dims."
            )
        return mean, logvar

    def _note_dtype(self, dtypes) -> None:
        exact32 = all(dtype.kind == "f" and dtype.itemsize <= 4 for dtype in dtypes)
        dtype = np.dtype(np.float32 if exact32 else np.float64)
        if self.output_dtype is None or dtype.itemsize > self.output_dtype.itemsize:
            self.output_dtype = dtype

    def _check_array(self, array: np.ndarray, n: int, what: str) -> np.ndarray:
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise ValueError(f"representation {self.name!r} returned {what} of non-numeric dtype {array.dtype}.")
        if array.ndim != 2 or array.shape[0] != n:
            hint = " Return codes[:, None] for a one-dimensional representation." if array.ndim == 1 else ""
            raise ValueError(
                f"representation {self.name!r} returned {what} of shape {array.shape} for {n} observations; "
                f"expected a 2-D array of shape ({n}, n_dims).{hint}"
            )
        array = np.asarray(array, dtype=np.float64)
        finite = np.isfinite(array)
        if not finite.all():
            bad = np.flatnonzero(~finite.all(axis=1))
            raise ValueError(
                f"representation {self.name!r} returned NaN or infinite {what} for {bad.size} of {n} "
                f"observations (first at row {bad[0]}); check the encoder and its inputs."
            )
        return array

    def encode(self, observations) -> tuple[np.ndarray, np.ndarray | None]:
        """`(mean, logvar)` of `observations`, float64 (n, d); `logvar` is None if not given."""
        observations = np.asarray(observations)
        if observations.ndim < 1 or observations.shape[0] == 0:
            raise ValueError(f"observations must be a non-empty batch (n, *obs_shape); got shape {observations.shape}.")
        n = observations.shape[0]
        step = n if self.batch_size is None else self.batch_size
        means, logvars = [], []
        for start in range(0, n, step):
            mean, logvar = self._encode_batch(observations[start : start + step])
            means.append(mean)
            logvars.append(logvar)
        mean = means[0] if len(means) == 1 else np.concatenate(means)
        if any(lv is None for lv in logvars):
            return mean, None
        logvar = logvars[0] if len(logvars) == 1 else np.concatenate(logvars)
        return mean, logvar

    def __call__(self, observations) -> np.ndarray:
        return self.codes_from(*self.encode(observations))

    def codes_from(self, mean: np.ndarray, logvar: np.ndarray | None) -> np.ndarray:
        """The codes of this mode from encoder outputs (draws the noise in `mode="sampled"`)."""
        if self.mode == "mean":
            return mean
        if logvar is None:
            raise ValueError(
                f"representation {self.name!r} is in mode='sampled' but returns no log-variance; sampled "
                "codes need an encoder that returns (mean, logvar). Use mode='mean'."
            )
        return sampled_codes(mean, logvar, self._rng)

    def with_mode(self, mode: str, random_state=None) -> "Representation":
        """The same encoder in another mode (and with another `random_state` for sampling)."""
        rep = Representation(
            self._encode_fn, mode=mode, batch_size=self.batch_size, random_state=random_state, name=self.name,
            digest=self._digest_fn,
        )
        rep._digest = self._digest
        return rep


def _module_device(module):
    import torch  # already imported by the caller: module is a torch module

    params = list(module.parameters())
    return params[0].device if params else torch.device("cpu")


def _torch_encode_fn(module, *, channels_first: bool, autocast: str | None = None) -> Callable[[np.ndarray], Any]:
    """A numpy -> numpy encode function running `module` in eval mode under `torch.no_grad()` on its device.

    On a CUDA device each batch goes through pinned host memory with a non-blocking copy (the transfer
    overlaps the previous batch's kernels). `autocast` ("bfloat16" / "float16" or None) runs the forward
    pass under `torch.autocast` of the module's device type; the outputs are returned as float32."""
    import torch  # already imported by the caller: obj is a torch module

    params = list(module.parameters())
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params and params[0].is_floating_point() else torch.float32
    cuda = device.type == "cuda"
    try:
        module.train(module.training)
        switchable = True
    except NotImplementedError:
        switchable = False

    def forward(tensor):
        if autocast is None:
            return module(tensor)
        with torch.autocast(device_type=device.type, dtype=getattr(torch, autocast)):
            output = module(tensor)
        if isinstance(output, (tuple, list)):
            return tuple(o.float() if torch.is_tensor(o) and o.is_floating_point() else o for o in output)
        return output.float() if torch.is_tensor(output) and output.is_floating_point() else output

    def encode(observations: np.ndarray):
        batch = np.asarray(observations)
        if channels_first and batch.ndim == 4:
            batch = np.moveaxis(batch, -1, 1)  # (n, H, W, C) -> (n, C, H, W)
        if cuda:
            host = torch.as_tensor(np.ascontiguousarray(batch), dtype=dtype).pin_memory()
            tensor = host.to(device, non_blocking=True)
        else:
            tensor = torch.as_tensor(np.ascontiguousarray(batch), dtype=dtype, device=device)
        if not switchable:  # a torch.export program: exported in eval mode, it has no train/eval switch
            with torch.no_grad():
                output = forward(tensor)
        else:
            was_training = module.training
            module.eval()
            try:
                with torch.no_grad():
                    output = forward(tensor)
            finally:
                module.train(was_training)
        if isinstance(output, (tuple, list)):
            return tuple(_to_numpy(o) for o in output[:2])
        return _to_numpy(output)

    return encode


def _torch_batch_size(module) -> int:
    return DEFAULT_CUDA_BATCH_SIZE if _module_device(module).type == "cuda" else DEFAULT_TORCH_BATCH_SIZE


def _torch_digest(module, *, channels_first: bool, autocast: str | None = None) -> Callable[[], str]:
    """A digest of a torch module: its class, its architecture (`repr`), the input layout, the autocast
    precision (when set: its codes differ) and every entry of its `state_dict` (name, dtype, shape and
    bytes)."""

    def digest() -> str:
        import torch  # already imported: module is a torch module

        hasher = hashlib.sha256()
        kind = type(module)
        hasher.update(f"torch:{kind.__module__}.{kind.__qualname__}\n{module!r}\nchannels_first={channels_first}\n".encode())
        if autocast is not None:
            hasher.update(f"autocast={autocast}\n".encode())
        with torch.no_grad():
            for key, tensor in module.state_dict().items():
                if not isinstance(tensor, torch.Tensor):
                    hasher.update(f"{key}={tensor!r}\n".encode())
                    continue
                flat = tensor.detach().to("cpu").contiguous().reshape(-1)
                hasher.update(f"{key}:{flat.dtype}:{tuple(tensor.shape)}\n".encode())
                hasher.update(flat.view(torch.uint8).numpy().tobytes())
        return hasher.hexdigest()

    return digest


def _file_digest(path, *, channels_first: bool, autocast: str | None = None) -> Callable[[], str]:
    """A digest of a model dir's encoder: its file's bytes, the input layout and the autocast precision
    (when set)."""

    def digest() -> str:
        header = f"encoder file\nchannels_first={channels_first}\n" + ("" if autocast is None else f"autocast={autocast}\n")
        hasher = hashlib.sha256(header.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        return hasher.hexdigest()

    return digest


def as_representation(
    obj,
    *,
    mode: str = "mean",
    batch_size: int | None = None,
    random_state=None,
    channels_first: bool = True,
    name: str | None = None,
    trust_model_code: bool = False,
    autocast: str | None = None,
) -> Representation:
    """Wrap `obj` as a [`Representation`][dismetrics.representation.Representation].

    Parameters
    ----------
    obj : callable, torch.nn.Module, path, Representation or RepresentationTable
        A numpy callable `observations -> codes` or `-> (mean, logvar)`; a `torch.nn.Module`
        whose forward returns a tensor of means or a `(mean, logvar, ...)` tuple; a model dir (str or
        `os.PathLike`) with an exported encoder (its config's `channels_first` is used); or a
        [`Representation`][dismetrics.representation.Representation] (returned as is when nothing is changed,
        re-wrapped otherwise); a [`RepresentationTable`][dismetrics.table.RepresentationTable] gives its
        representation.
    mode : {"mean", "sampled"}
        `"mean"`: the codes are the means. `"sampled"`: `z = mean + exp(logvar / 2) * eps` with
        `eps ~ N(0, I)` from `random_state` (needs an encoder that returns a log-variance).
    batch_size : int or None
        Observations per call of the encoder. None: all at once for a numpy callable, 256 for a
        torch module on the CPU, 4,096 for one on a CUDA device (whose batches go through pinned host
        memory, copied without blocking).
    random_state : int, None or numpy Generator
        Seed of the sampling noise in `mode="sampled"`.
    channels_first : bool
        Torch modules only. True (default): the module takes channels-first images (n, C, H, W), the
        PyTorch convention, so 4-D observation batches, which every dismetrics sampler gives
        channels-last (n, H, W, C), are transposed before the call. False: observations are passed
        unchanged. Batches of another rank are never transposed.
    name : str, optional
        Name used in error messages (default: the callable's or module's name).
    trust_model_code : bool, default False
        Model dirs only. An encoder stored as an encoder graph (`encoder.npz`) loads without running any
        code from the dir. Any other encoder file (a `torch.export` archive `encoder.pt2`), whose
        loading unpickles data and so can run arbitrary code, is refused unless this is True: set it
        only for model dirs whose source you trust (see the "Security and trust" docs page).
    autocast : {None, "bfloat16", "float16"}, default None
        Torch modules and model dirs only. Run the forward pass under `torch.autocast` with this dtype on
        the module's device (mixed precision: faster on GPUs with tensor cores; the codes are returned as
        float32). Off by default: it moves the codes, and the metrics see it (the quickstart's beta-VAE in
        bfloat16 on the CPU: codes up to 6% of a dim's standard deviation, InfoC by 0.03, DCI by 1e-3;
        `benchmarks/autocast_codes.py`, the docs' "Encoders and evaluate" page). The digest that keys a
        representation table on disk includes it.
    """
    if autocast is not None:
        autocast = check_choice(autocast, name="autocast", choices=AUTOCAST_DTYPES)
    inner = getattr(obj, "_dismetrics_representation", None)  # a representation table, or evaluate's encoding
    if isinstance(inner, Representation):
        obj = inner
    if isinstance(obj, Representation):
        if autocast is not None:
            raise ValueError("autocast is set when a torch module or a model dir is wrapped; this is already a "
                             "Representation (wrap the module again with autocast=...).")
        if mode == obj.mode and batch_size is None and random_state is None and name is None:
            return obj
        rep = obj.with_mode(mode, random_state=obj.random_state if random_state is None else random_state)
        if batch_size is not None:
            rep.batch_size = check_positive_int(batch_size, name="batch_size")
        if name is not None:
            rep.name = name
        return rep
    if isinstance(obj, (str, os.PathLike)):
        from . import modeldir  # noqa: PLC0415

        path = os.fspath(obj)
        config = modeldir.read_config(path)  # a clear ModelDirError (a ValueError) for anything else
        module = modeldir.load_encoder(path, trust_model_code=trust_model_code)
        # an encoder graph says its input layout; a legacy (trusted) archive relies on the config
        layout = getattr(module, "input_layout", None)
        dir_channels_first = layout == "channels_first" if layout else bool(config.get("channels_first", False))
        encoder_file = modeldir.encoder_path(path, config)
        return Representation(
            _torch_encode_fn(module, channels_first=dir_channels_first, autocast=autocast),
            mode=mode,
            batch_size=_torch_batch_size(module) if batch_size is None else batch_size,
            random_state=random_state,
            name=name or f"model dir {path}",
            digest=None if encoder_file is None else _file_digest(encoder_file, channels_first=dir_channels_first,
                                                                  autocast=autocast),
        )
    if _is_torch_module(obj):
        return Representation(
            _torch_encode_fn(obj, channels_first=bool(channels_first), autocast=autocast),
            mode=mode,
            batch_size=_torch_batch_size(obj) if batch_size is None else batch_size,
            random_state=random_state,
            name=name or type(obj).__name__,
            digest=_torch_digest(obj, channels_first=bool(channels_first), autocast=autocast),
        )
    if autocast is not None:
        raise ValueError(f"autocast applies to torch modules and model dirs; got {type(obj).__name__}.")
    if callable(obj):
        return Representation(obj, mode=mode, batch_size=batch_size, random_state=random_state, name=name)
    raise ValueError(
        f"representation must be a callable observations -> codes, a torch.nn.Module or a Representation; "
        f"got {type(obj).__name__}."
    )

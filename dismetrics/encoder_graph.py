"""An encoder stored as data: a layer graph (JSON) and its weights (plain arrays), in one `.npz` file.

A model dir is untrusted input: loading its encoder must never run code. `torch.save` files and
`torch.export` archives (`.pt`, `.pt2`) unpickle Python objects when they are loaded, and a
crafted pickle executes arbitrary Python. This module defines the format that model dirs use instead:

`encoder.npz`, a NumPy `.npz` archive holding

- `graph`: a `uint8` array, the UTF-8 bytes of a JSON object:

    ```text
    {"format": "dismetrics-encoder-graph", "version": 1,
     "input": {"layout": "channels_last", "shape": [64, 64, 1]},
     "layers": [{"op": "permute", "dims": [0, 3, 1, 2]},
                {"op": "conv2d", "name": "conv0", "in_channels": 1, "out_channels": 32,
                 "kernel_size": 4, "stride": 2, "padding": 1, "bias": true},
                {"op": "relu"}, ..., {"op": "flatten"},
                {"op": "linear", "name": "fc1", "in_features": 256, "out_features": 20, "bias": true}],
     "outputs": {"kind": "mean_logvar", "latent_dim": 10, "mean_transform": "identity"}}
    ```

- one float array per weight, named `<layer name>.weight` and `<layer name>.bias`, with the
  shapes of `torch.nn.Conv2d` / `torch.nn.Linear`.

The graph is a straight sequence of operations from an allow-list ([`OPS`][dismetrics.encoder_graph.OPS]);
`outputs` says how the last activation `h` of shape `(n, F)` becomes the representation: `"mean_logvar"`
splits it into `mean = h[:, :latent_dim]` and `logvar = h[:, latent_dim:]` (`F = 2 latent_dim`);
`"mean"` takes `h` as the means (`F = latent_dim`). `mean_transform: "tanh"` bounds the means
(WAE's `tanh_means`).

Reading ([`read_encoder`][dismetrics.encoder_graph.read_encoder]) checks the archive before it loads anything
from it: the member names (exactly `graph` and the weights the graph names), the uncompressed sizes against
the limits below, the graph against its schema, every shape through the whole graph, and then loads the arrays
with `np.load(allow_pickle=False)` (an object array is refused). Nothing in the file is executed:
[`build_torch_module`][dismetrics.encoder_graph.build_torch_module] builds the network from the allow-listed
torch layers.

This module imports no torch at import time.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "GRAPH_FORMAT",
    "GRAPH_VERSION",
    "OPS",
    "EncoderGraphError",
    "check_graph",
    "expected_weight_shapes",
    "encoder_bytes",
    "read_encoder",
    "is_encoder_graph_file",
    "graph_from_torch",
    "build_torch_module",
]

GRAPH_FORMAT = "dismetrics-encoder-graph"
GRAPH_VERSION = 1

OPS: dict[str, dict[str, Any]] = {
    "permute": {"params": {"dims": list}, "weights": False},
    "conv2d": {"params": {"in_channels": int, "out_channels": int, "kernel_size": int, "stride": int,
                          "padding": int, "bias": bool}, "weights": True},
    "linear": {"params": {"in_features": int, "out_features": int, "bias": bool}, "weights": True},
    "flatten": {"params": {}, "weights": False},
    "relu": {"params": {}, "weights": False},
    "leaky_relu": {"params": {"negative_slope": float}, "weights": False},
    "elu": {"params": {"alpha": float}, "weights": False},
    "tanh": {"params": {}, "weights": False},
    "sigmoid": {"params": {}, "weights": False},
}
"""The operations a graph may use, with their parameters (name -> type) and whether they carry weights."""
OPTIONAL_PARAMS = {"bias": True, "negative_slope": 0.01, "alpha": 1.0, "padding": 0, "stride": 1}
"""Parameters that may be left out, with their defaults."""

# Limits, checked before anything is allocated: generous for any encoder of images, small enough that a
# crafted file cannot make the reader allocate without bound.
MAX_GRAPH_BYTES = 1 << 20
"""Bytes of the graph's JSON."""
MAX_LAYERS = 512
"""Layers in a graph."""
MAX_SIZE = 1 << 20
"""Any one size (channels, features, kernel, stride, padding, an input dimension)."""
MAX_INPUT_VALUES = 1 << 26
"""Values of one observation (the product of the input shape)."""
MAX_WEIGHTS = 1 << 28
"""Weights in the whole graph (1 GiB in float32)."""
MAX_INPUT_RANK = 4
"""Tensor rank of the input."""

_LAYOUTS = ("channels_last", "channels_first", "flat")
_OUTPUT_KINDS = ("mean_logvar", "mean")
_MEAN_TRANSFORMS = ("identity", "tanh")
_WEIGHT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16))


class EncoderGraphError(ValueError):
    """An encoder file is not a valid encoder graph (what is wrong is in the message)."""


# ---- the schema ---------------------------------------------------------------------------------------
def _int(value, what: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncoderGraphError(f"{what} must be an integer; got {value!r}.")
    if not minimum <= value <= MAX_SIZE:
        raise EncoderGraphError(f"{what} must be between {minimum} and {MAX_SIZE}; got {value}.")
    return value


def _float(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EncoderGraphError(f"{what} must be a finite number; got {value!r}.")
    return float(value)


def _layer(index: int, spec: Any) -> dict[str, Any]:
    """One layer, checked against its op's parameters, with the optional parameters filled in."""
    where = f"layers[{index}]"
    if not isinstance(spec, Mapping):
        raise EncoderGraphError(f"{where} must be an object; got {type(spec).__name__}.")
    op = spec.get("op")
    if op not in OPS:
        raise EncoderGraphError(f"{where}: unknown op {op!r}; allowed ops are {sorted(OPS)}.")
    params = OPS[op]["params"]
    allowed = {"op", *params} | ({"name"} if OPS[op]["weights"] else set())
    stray = sorted(set(spec) - allowed)
    if stray:
        raise EncoderGraphError(f"{where} ({op}): unknown key(s) {stray}; allowed: {sorted(allowed)}.")
    layer: dict[str, Any] = {"op": op}
    if OPS[op]["weights"]:
        name = spec.get("name")
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 64:
            raise EncoderGraphError(f"{where} ({op}) needs a 'name': an identifier of at most 64 characters; got {name!r}.")
        layer["name"] = name
    for key, kind in params.items():
        if key not in spec:
            if key not in OPTIONAL_PARAMS:
                raise EncoderGraphError(f"{where} ({op}) is missing the parameter {key!r}.")
            value = OPTIONAL_PARAMS[key]
        else:
            value = spec[key]
        what = f"{where} ({op}) {key}"
        if kind is int:
            value = _int(value, what, minimum=0 if key == "padding" else 1)
        elif kind is float:
            value = _float(value, what)
        elif kind is bool:
            if not isinstance(value, bool):
                raise EncoderGraphError(f"{what} must be true or false; got {value!r}.")
        elif kind is list:
            if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise EncoderGraphError(f"{what} must be a list of integers; got {value!r}.")
        layer[key] = value
    return layer


def check_graph(graph: Any) -> dict[str, Any]:
    """Validate a graph (the decoded JSON object) and return it normalized (optional parameters filled in).

    Checks the format and version, every layer against [`OPS`][dismetrics.encoder_graph.OPS], unique weight
    names, and the shapes through the whole graph: each layer's input must fit it (channels, features, a
    kernel no larger than the padded input), and the last activation must have the width `outputs` asks for.
    Raises [`EncoderGraphError`][dismetrics.encoder_graph.EncoderGraphError] naming the key at fault.
    """
    if not isinstance(graph, Mapping):
        raise EncoderGraphError(f"the encoder graph must be a JSON object; got {type(graph).__name__}.")
    stray = sorted(set(graph) - {"format", "version", "input", "layers", "outputs"})
    if stray:
        raise EncoderGraphError(f"the encoder graph has unknown key(s) {stray}.")
    if graph.get("format") != GRAPH_FORMAT:
        raise EncoderGraphError(f"the encoder graph's 'format' must be {GRAPH_FORMAT!r}; got {graph.get('format')!r}.")
    version = graph.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise EncoderGraphError(f"the encoder graph's 'version' must be a positive integer; got {version!r}.")
    if version > GRAPH_VERSION:
        raise EncoderGraphError(f"the encoder graph has version {version}, newer than this dismetrics reads "
                                f"({GRAPH_VERSION}); upgrade dismetrics.")
    source = graph.get("input")
    if not isinstance(source, Mapping) or set(source) != {"layout", "shape"}:
        raise EncoderGraphError("the encoder graph's 'input' must be an object with exactly 'layout' and 'shape'.")
    layout = source["layout"]
    if layout not in _LAYOUTS:
        raise EncoderGraphError(f"input.layout must be one of {_LAYOUTS}; got {layout!r}.")
    shape = source["shape"]
    if not isinstance(shape, list) or not 1 <= len(shape) <= MAX_INPUT_RANK - 1:
        raise EncoderGraphError(f"input.shape must be a list of 1 to {MAX_INPUT_RANK - 1} sizes (without the batch); got {shape!r}.")
    shape = [_int(s, f"input.shape[{i}]") for i, s in enumerate(shape)]
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise EncoderGraphError(f"input.shape {shape} has more than {MAX_INPUT_VALUES} values per observation.")
    layers = graph.get("layers")
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise EncoderGraphError(f"the encoder graph's 'layers' must be a list of 1 to {MAX_LAYERS} layers.")
    layers = [_layer(i, spec) for i, spec in enumerate(layers)]
    names = [layer["name"] for layer in layers if "name" in layer]
    if len(set(names)) != len(names):
        raise EncoderGraphError(f"layer names must be unique; got {names}.")
    outputs = graph.get("outputs")
    if not isinstance(outputs, Mapping) or not {"kind", "latent_dim"} <= set(outputs) <= {"kind", "latent_dim", "mean_transform"}:
        raise EncoderGraphError("the encoder graph's 'outputs' must be an object with 'kind', 'latent_dim' and "
                                "optionally 'mean_transform'.")
    if outputs["kind"] not in _OUTPUT_KINDS:
        raise EncoderGraphError(f"outputs.kind must be one of {_OUTPUT_KINDS}; got {outputs['kind']!r}.")
    latent_dim = _int(outputs["latent_dim"], "outputs.latent_dim")
    mean_transform = outputs.get("mean_transform", "identity")
    if mean_transform not in _MEAN_TRANSFORMS:
        raise EncoderGraphError(f"outputs.mean_transform must be one of {_MEAN_TRANSFORMS}; got {mean_transform!r}.")
    normalized = {
        "format": GRAPH_FORMAT,
        "version": version,
        "input": {"layout": layout, "shape": shape},
        "layers": layers,
        "outputs": {"kind": outputs["kind"], "latent_dim": latent_dim, "mean_transform": mean_transform},
    }
    final = _propagate_shapes(normalized)
    width = 2 * latent_dim if outputs["kind"] == "mean_logvar" else latent_dim
    if len(final) != 1 or final[0] != width:
        raise EncoderGraphError(f"the last layer gives activations of shape (n, {', '.join(map(str, final))}); "
                                f"outputs {outputs['kind']!r} with latent_dim {latent_dim} needs (n, {width}).")
    return normalized


def _propagate_shapes(graph: Mapping[str, Any]) -> list[int]:
    """The shape (without the batch) after every layer; the last one is returned."""
    shape = list(graph["input"]["shape"])
    total_weights = 0
    for index, layer in enumerate(graph["layers"]):
        op, where = layer["op"], f"layers[{index}] ({layer['op']})"
        if op == "permute":
            dims = layer["dims"]
            if sorted(dims) != list(range(len(shape) + 1)) or dims[0] != 0:
                raise EncoderGraphError(f"{where}: dims {dims} must permute the {len(shape) + 1} axes of its input "
                                        f"(batch first, kept in place: dims[0] == 0).")
            full = [0, *shape]
            shape = [full[d] for d in dims[1:]]
        elif op == "conv2d":
            if len(shape) != 3 or shape[0] != layer["in_channels"]:
                raise EncoderGraphError(f"{where} takes (n, {layer['in_channels']}, H, W); its input is (n, {', '.join(map(str, shape))}).")
            k, s, p = layer["kernel_size"], layer["stride"], layer["padding"]
            spatial = [(size + 2 * p - k) // s + 1 for size in shape[1:]]
            if min(spatial) < 1:
                raise EncoderGraphError(f"{where}: kernel {k} is larger than its padded input {shape[1:]}.")
            shape = [layer["out_channels"], *spatial]
            total_weights += layer["out_channels"] * layer["in_channels"] * k * k + layer["out_channels"]
        elif op == "linear":
            if len(shape) != 1 or shape[0] != layer["in_features"]:
                raise EncoderGraphError(f"{where} takes (n, {layer['in_features']}); its input is (n, {', '.join(map(str, shape))}).")
            shape = [layer["out_features"]]
            total_weights += layer["out_features"] * (layer["in_features"] + 1)
        elif op == "flatten":
            shape = [math.prod(shape)]
        if total_weights > MAX_WEIGHTS:
            raise EncoderGraphError(f"the encoder graph has more than {MAX_WEIGHTS} weights (at {where}).")
    return shape


def expected_weight_shapes(graph: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """`{array name: shape}` of every weight a (checked) graph needs, in torch's layout."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in graph["layers"]:
        if layer["op"] == "conv2d":
            k = layer["kernel_size"]
            shapes[f"{layer['name']}.weight"] = (layer["out_channels"], layer["in_channels"], k, k)
            if layer["bias"]:
                shapes[f"{layer['name']}.bias"] = (layer["out_channels"],)
        elif layer["op"] == "linear":
            shapes[f"{layer['name']}.weight"] = (layer["out_features"], layer["in_features"])
            if layer["bias"]:
                shapes[f"{layer['name']}.bias"] = (layer["out_features"],)
    return shapes


# ---- writing ------------------------------------------------------------------------------------------
def encoder_bytes(graph: Mapping[str, Any], weights: Mapping[str, Any]) -> bytes:
    """The `.npz` file of an encoder: `graph` (checked) and `weights` (numpy arrays or tensors,
    exactly the names and shapes [`expected_weight_shapes`][dismetrics.encoder_graph.expected_weight_shapes]
    gives), stored as float32."""
    graph = check_graph(graph)
    expected = expected_weight_shapes(graph)
    arrays: dict[str, np.ndarray] = {}
    if set(weights) != set(expected):
        raise EncoderGraphError(f"weights {sorted(weights)} do not match the graph's {sorted(expected)}.")
    for name, shape in expected.items():
        value = weights[name]
        if type(value).__module__.startswith("torch"):
            value = value.detach().cpu().numpy()
        array = np.asarray(value, dtype=np.float32)
        if array.shape != shape:
            raise EncoderGraphError(f"weight {name!r} has shape {array.shape}; the graph needs {shape}.")
        if not np.isfinite(array).all():
            raise EncoderGraphError(f"weight {name!r} holds NaN or infinite values.")
        arrays[name] = array
    text = json.dumps(graph, sort_keys=True).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, graph=np.frombuffer(text, dtype=np.uint8), **arrays)
    return buffer.getvalue()


# ---- reading ------------------------------------------------------------------------------------------
def is_encoder_graph_file(path) -> bool:
    """Whether `path` is a zip archive with a `graph.npy` member (an encoder graph file, valid or not)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "graph.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _npy_bytes(shape: Sequence[int], itemsize: int) -> int:
    return math.prod(shape) * itemsize


def read_encoder(path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check an encoder file: `(graph, weights)`, nothing executed, nothing unpickled.

    The archive is checked before it is loaded (member names, uncompressed sizes against the graph's
    and the limits), then every array is loaded with `allow_pickle=False` and compared with the shape
    the graph gives it. Raises [`EncoderGraphError`][dismetrics.encoder_graph.EncoderGraphError] naming what
    is wrong.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as error:
        raise EncoderGraphError(f"{str(path)!r} is not an encoder file (.npz archive): {error}.") from None
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        if "graph.npy" not in infos:
            raise EncoderGraphError(f"{str(path)!r} has no 'graph' array: it is not an encoder graph file.")
        if infos["graph.npy"].file_size > MAX_GRAPH_BYTES + 256:
            raise EncoderGraphError(f"{str(path)!r}: the graph is larger than {MAX_GRAPH_BYTES} bytes.")
        graph_array = _load_member(archive, "graph.npy", path)
        if graph_array.dtype != np.uint8 or graph_array.ndim != 1:
            raise EncoderGraphError(f"{str(path)!r}: 'graph' must be a 1-D uint8 array of JSON bytes.")
        try:
            decoded = json.loads(graph_array.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise EncoderGraphError(f"{str(path)!r}: 'graph' is not UTF-8 JSON ({error}).") from None
        try:
            graph = check_graph(decoded)
        except EncoderGraphError as error:
            raise EncoderGraphError(f"{str(path)!r}: {error}") from None
        expected = expected_weight_shapes(graph)
        members = {name[: -len(".npy")] for name in infos if name != "graph.npy" and name.endswith(".npy")}
        others = sorted(name for name in infos if name != "graph.npy" and not name.endswith(".npy"))
        if others or members != set(expected):
            missing, extra = sorted(set(expected) - members), sorted(members - set(expected)) + others
            raise EncoderGraphError(f"{str(path)!r}: the archive's arrays do not match the graph "
                                    f"(missing {missing}, unexpected {extra}).")
        weights: dict[str, np.ndarray] = {}
        for name, shape in expected.items():
            # a header of at most a few hundred bytes plus the data in the widest allowed dtype
            if infos[f"{name}.npy"].file_size > _npy_bytes(shape, 8) + 4096:
                raise EncoderGraphError(f"{str(path)!r}: array {name!r} is larger than a {shape} array can be.")
            array = _load_member(archive, f"{name}.npy", path)
            if array.dtype not in _WEIGHT_DTYPES:
                raise EncoderGraphError(f"{str(path)!r}: array {name!r} has dtype {array.dtype}; weights must be float.")
            if array.shape != shape:
                raise EncoderGraphError(f"{str(path)!r}: array {name!r} has shape {array.shape}; the graph needs {shape}.")
            if not np.isfinite(array).all():
                raise EncoderGraphError(f"{str(path)!r}: array {name!r} holds NaN or infinite values.")
            weights[name] = np.ascontiguousarray(array, dtype=np.float32)
    return graph, weights


def _load_member(archive: zipfile.ZipFile, member: str, path: Path) -> np.ndarray:
    try:
        with archive.open(member) as handle:
            return np.lib.format.read_array(handle, allow_pickle=False)
    except Exception as error:  # zlib.error, ValueError (object arrays), EOFError, ...
        raise EncoderGraphError(f"{str(path)!r}: array {member[:-4]!r} cannot be read ({type(error).__name__}: {error}).") from None


# ---- torch --------------------------------------------------------------------------------------------
def graph_from_torch(modules, *, input_shape: Sequence[int], input_layout: str = "channels_last",
                     outputs: str = "mean_logvar", latent_dim: int, mean_transform: str = "identity"
                     ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Describe a feed-forward torch encoder as a graph and its weights.

    `modules` is a `torch.nn.Module` or a sequence of them, run one after the other (nested
    `nn.Sequential` are walked); each must be one of `Conv2d` (square kernel, equal strides and
    padding, no dilation or groups), `Linear`, `Flatten` (from dim 1), `ReLU`, `LeakyReLU`,
    `ELU`, `Tanh`, `Sigmoid`. `input_layout="channels_last"` puts a permute to channels-first
    first, so the stored encoder takes observations `(n, H, W, C)` as the samplers give them.
    """
    import torch  # noqa: PLC0415 - torch only when a torch module is handed in
    from torch import nn  # noqa: PLC0415

    if isinstance(modules, nn.Module):
        modules = [modules]

    def leaves(items):
        for module in items:
            if isinstance(module, nn.Sequential):
                yield from leaves(list(module))
            else:
                yield module

    layers: list[dict[str, Any]] = []
    weights: dict[str, np.ndarray] = {}
    if input_layout == "channels_last":
        if len(input_shape) != 3:
            raise EncoderGraphError(f"input_layout 'channels_last' needs input_shape (H, W, C); got {tuple(input_shape)}.")
        layers.append({"op": "permute", "dims": [0, 3, 1, 2]})
    counts = {"conv2d": 0, "linear": 0}
    for module in leaves(list(modules)):
        if isinstance(module, nn.Conv2d):
            k, s, p = module.kernel_size, module.stride, module.padding
            if (len(set(k)) != 1 or len(set(s)) != 1 or isinstance(p, str) or len(set(p)) != 1
                    or set(module.dilation) != {1} or module.groups != 1 or module.padding_mode != "zeros"):
                raise EncoderGraphError(f"{module} is not supported: square kernels, equal strides and padding, "
                                        "no dilation, groups or non-zero padding modes.")
            name = f"conv{counts['conv2d']}"
            layers.append({"op": "conv2d", "name": name, "in_channels": module.in_channels,
                           "out_channels": module.out_channels, "kernel_size": k[0], "stride": s[0],
                           "padding": p[0], "bias": module.bias is not None})
        elif isinstance(module, nn.Linear):
            name = f"fc{counts['linear']}"
            layers.append({"op": "linear", "name": name, "in_features": module.in_features,
                           "out_features": module.out_features, "bias": module.bias is not None})
        elif isinstance(module, nn.Flatten):
            if module.start_dim != 1 or module.end_dim != -1:
                raise EncoderGraphError(f"{module} is not supported: only Flatten(start_dim=1, end_dim=-1).")
            layers.append({"op": "flatten"})
            continue
        elif isinstance(module, nn.LeakyReLU):
            layers.append({"op": "leaky_relu", "negative_slope": float(module.negative_slope)})
            continue
        elif isinstance(module, nn.ELU):
            layers.append({"op": "elu", "alpha": float(module.alpha)})
            continue
        elif isinstance(module, (nn.ReLU, nn.Tanh, nn.Sigmoid)):
            layers.append({"op": {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}[type(module)]})
            continue
        else:
            raise EncoderGraphError(f"cannot store a {type(module).__name__} as an encoder graph; supported: Conv2d, "
                                    "Linear, Flatten, ReLU, LeakyReLU, ELU, Tanh, Sigmoid.")
        counts[layers[-1]["op"]] += 1
        with torch.no_grad():
            weights[f"{name}.weight"] = module.weight.detach().float().cpu().numpy().copy()
            if module.bias is not None:
                weights[f"{name}.bias"] = module.bias.detach().float().cpu().numpy().copy()
    graph = {
        "format": GRAPH_FORMAT,
        "version": GRAPH_VERSION,
        "input": {"layout": input_layout, "shape": [int(s) for s in input_shape]},
        "layers": layers,
        "outputs": {"kind": outputs, "latent_dim": int(latent_dim), "mean_transform": mean_transform},
    }
    return check_graph(graph), weights


def build_torch_module(graph: Mapping[str, Any], weights: Mapping[str, np.ndarray], *, device: str = "cpu"):
    """A `torch.nn.Module` (eval mode) computing a checked graph with its weights: `forward(x)` returns
    `(mean, logvar)` for `outputs.kind == "mean_logvar"`, the means otherwise."""
    import torch  # noqa: PLC0415
    from torch import nn  # noqa: PLC0415

    class Permute(nn.Module):
        def __init__(self, dims: Sequence[int]) -> None:
            super().__init__()
            self.dims = tuple(dims)

        def forward(self, x):
            return x.permute(*self.dims)

    class GraphEncoder(nn.Module):
        """An encoder built from a dismetrics encoder graph (allow-listed layers only)."""

        def __init__(self, body: nn.Sequential, kind: str, latent_dim: int, mean_transform: str,
                     input_layout: str) -> None:
            super().__init__()
            self.body = body
            self.input_layout = input_layout
            self.kind = kind
            self.latent_dim = latent_dim
            self.mean_transform = mean_transform

        def forward(self, x):
            h = self.body(x)
            mean = h[:, : self.latent_dim]
            if self.mean_transform == "tanh":
                mean = torch.tanh(mean)
            if self.kind == "mean":
                return mean
            return mean, h[:, self.latent_dim :]

    graph = check_graph(graph)
    body = []
    for layer in graph["layers"]:
        op = layer["op"]
        if op == "permute":
            body.append(Permute(layer["dims"]))
        elif op == "conv2d":
            module = nn.Conv2d(layer["in_channels"], layer["out_channels"], layer["kernel_size"], stride=layer["stride"],
                               padding=layer["padding"], bias=layer["bias"])
            _assign(module, layer, weights, torch)
            body.append(module)
        elif op == "linear":
            module = nn.Linear(layer["in_features"], layer["out_features"], bias=layer["bias"])
            _assign(module, layer, weights, torch)
            body.append(module)
        elif op == "flatten":
            body.append(nn.Flatten())
        elif op == "relu":
            body.append(nn.ReLU())
        elif op == "leaky_relu":
            body.append(nn.LeakyReLU(layer["negative_slope"]))
        elif op == "elu":
            body.append(nn.ELU(layer["alpha"]))
        elif op == "tanh":
            body.append(nn.Tanh())
        elif op == "sigmoid":
            body.append(nn.Sigmoid())
    encoder = GraphEncoder(nn.Sequential(*body), graph["outputs"]["kind"], graph["outputs"]["latent_dim"],
                           graph["outputs"]["mean_transform"], graph["input"]["layout"])
    encoder.eval()
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    return encoder.to(device) if device != "cpu" else encoder


def _assign(module, layer: Mapping[str, Any], weights: Mapping[str, np.ndarray], torch) -> None:
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.asarray(weights[f"{layer['name']}.weight"], dtype=np.float32)))
        if layer["bias"]:
            module.bias.copy_(torch.from_numpy(np.asarray(weights[f"{layer['name']}.bias"], dtype=np.float32)))

"""`dismetrics reexport DIR`: convert a model dir's encoder to the safe encoder-graph format.

Model dirs written before the encoder-graph format hold `encoder.pt2`, a `torch.export` archive whose
loading unpickles data (and so could run code). This rewrites the encoder as `encoder.npz`
([`dismetrics.encoder_graph`][dismetrics.encoder_graph]), which loads with no pickle at all, and points the
config at it.

The weights come from `checkpoint.pt`, read with `torch.load(weights_only=True)` (PyTorch's
restricted loader: tensors and plain containers only, no arbitrary objects), so no flag is needed. A dir
without a checkpoint can be converted from its `encoder.pt2` only with `--trust-model-code`, since
that reads the archive with `torch.export.load`. The old file is left in place.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import torch

from dismetrics import modeldir

from .architectures import IMAGE_SIZE
from .engine import export_encoder
from .registry import get_model_class

__all__ = ["reexport_encoder", "main"]

_ENCODER_KEYS = ("convs.", "fc.")


def _model_from_config(config: dict, *, tanh_means: bool | None = None):
    channels = config.get("channels") or (config.get("input_shape") or [IMAGE_SIZE, IMAGE_SIZE, 1])[-1]
    hyperparameters = dict(config.get("hyperparameters") or {})
    if tanh_means is not None:
        hyperparameters["tanh_means"] = tanh_means
    model_cls = get_model_class(config["model"])
    return model_cls(in_channels=int(channels), latent_dim=int(config["latent_dim"]), arch=config.get("arch", "paper"),
                     dataset_size=config.get("dataset_size"), **hyperparameters)


def _encoder_state_from_archive(path: Path) -> dict[str, torch.Tensor]:
    """The encoder weights of a legacy `torch.export` archive (unpickles: trusted dirs only)."""
    program = torch.export.load(str(path))
    state = {}
    for key, value in program.state_dict.items():
        for marker in _ENCODER_KEYS:
            at = key.find(marker)
            if at >= 0 and (at == 0 or key[at - 1] == "."):
                state[key[at:]] = value
                break
    return state


def reexport_encoder(directory, *, trust_model_code: bool = False) -> Path:
    """Write `DIR/encoder.npz` from the dir's checkpoint (or, trusted, its legacy archive) and point
    `dismetrics.json` at it. Returns the new file's path."""
    directory = Path(directory)
    config = modeldir.read_config(directory)
    checkpoint_path = directory / modeldir.CHECKPOINT_FILE
    if checkpoint_path.is_file():
        try:
            checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        except Exception as error:  # the restricted loader refuses anything but tensors and containers
            raise modeldir.ModelDirError(f"{str(checkpoint_path)!r} cannot be read with torch's weights-only loader "
                                         f"({type(error).__name__}: {error}).") from None
        if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
            raise modeldir.ModelDirError(f"{str(checkpoint_path)!r} is not a dismetrics_models checkpoint (no 'model' state).")
        model = _model_from_config(config)
        model.load_state_dict(checkpoint["model"])
    else:
        legacy = directory / config.get("encoder_file", modeldir.LEGACY_ENCODER_FILE)
        if not legacy.is_file():
            raise modeldir.ModelDirError(f"{str(directory)!r} has neither {modeldir.CHECKPOINT_FILE} nor an encoder to convert.")
        if not trust_model_code:
            raise modeldir.UntrustedModelCodeError(
                f"{str(directory)!r} has no {modeldir.CHECKPOINT_FILE}; converting its {legacy.name} means loading it "
                "with torch.export.load, which unpickles data and can run code. Pass --trust-model-code "
                "(trust_model_code=True) only if you trust where the dir came from."
            )
        model = _model_from_config(config)
        model.encoder.load_state_dict(_encoder_state_from_archive(legacy))
    model.eval()
    path = export_encoder(model, directory / modeldir.ENCODER_FILE)
    config["encoder_file"] = modeldir.ENCODER_FILE
    modeldir.write_config(directory, config)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dismetrics reexport",
                                     description="Convert model dirs' encoders to the safe encoder-graph format (encoder.npz).")
    parser.add_argument("model_dir", nargs="+", help="model dirs written by dismetrics train")
    parser.add_argument("--trust-model-code", action="store_true",
                        help="for a dir without checkpoint.pt: read its encoder.pt2 (unpickles; only for dirs you trust)")
    args = parser.parse_args(argv)
    status = 0
    for directory in args.model_dir:
        try:
            path = reexport_encoder(directory, trust_model_code=args.trust_model_code)
        except (ValueError, RuntimeError, KeyError) as error:
            print(f"dismetrics reexport: {directory}: {error}", file=sys.stderr)
            status = 1
            continue
        print(f"wrote {path}")
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

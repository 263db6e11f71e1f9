"""The shared networks (Table 3 of the Wasserstein-TC paper; Locatello et al.'s study).

Every model uses the same encoder and decoder so that models differ only in their objective.

- Encoder: four stride-2 convolutions with 32, 32, 64, 64 channels and ReLU, FC 256 ReLU, FC 2d
  (mean and log-variance). `arch="paper"`: 4x4 kernels everywhere (the papers' tables).
  `arch="dlib_released"`: 2x2 kernels in convolutions 3 and 4, as in the models disentanglement_lib
  released (its issue #23). Padding reproduces TensorFlow's `"same"` at 64x64: 4x4 stride 2 pads 1,
  2x2 stride 2 pads 0, so the spatial size goes 64, 32, 16, 8, 4 in both.
- Decoder: FC 256 ReLU, FC 4x4x64 ReLU, transposed 4x4 stride-2 convolutions with 64, 32, 32 channels
  (ReLU) and C channels (logits of a Bernoulli likelihood).
- Critic (WTC-VAE/WAE): MLP on z, three hidden layers of 256, ReLU, a scalar.
- Discriminator (FactorVAE/RTC-VAE): MLP on z, six hidden layers of 1000, LeakyReLU(0.2), two logits.

Initialization (`initialize_weights`): disentanglement_lib's by default -- Glorot-uniform weights and zero
biases in every convolution, transposed convolution and dense layer (TensorFlow's layer defaults) -- or
PyTorch's own layer initialization as the named option `"torch_default"`.

The networks work channels-first (`(n, C, 64, 64)`), as torch convolutions do;
`ChannelsLastEncoder` wraps an encoder for observations laid out as samplers return them.
"""

from __future__ import annotations

import torch
from torch import nn

from .hyperparameters import DEFAULT_INIT, INIT_SCHEMES

__all__ = [
    "ARCHS",
    "IMAGE_SIZE",
    "Encoder",
    "Decoder",
    "Critic",
    "Discriminator",
    "ChannelsLastEncoder",
    "initialize_weights",
]

ARCHS = ("paper", "dlib_released")
IMAGE_SIZE = 64
_INITIALIZED_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}; got {arch!r}.")
    return arch


def _check_positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return value


class Encoder(nn.Module):
    """Convolutional Gaussian encoder: `x (n, C, 64, 64) -> (mean, logvar)`, each `(n, latent_dim)`."""

    def __init__(self, in_channels: int = 1, latent_dim: int = 10, arch: str = "paper") -> None:
        super().__init__()
        _check_positive(in_channels, "in_channels")
        _check_positive(latent_dim, "latent_dim")
        self.arch = _check_arch(arch)
        self.in_channels = in_channels
        self.latent_dim = latent_dim
        late_kernel, late_padding = (4, 1) if arch == "paper" else (2, 0)
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, late_kernel, stride=2, padding=late_padding),
            nn.ReLU(),
            nn.Conv2d(64, 64, late_kernel, stride=2, padding=late_padding),
            nn.ReLU(),
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 2 * latent_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.fc(self.convs(x))
        return h[:, : self.latent_dim], h[:, self.latent_dim :]


class Decoder(nn.Module):
    """Deconvolutional Bernoulli decoder: `z (n, latent_dim) -> logits (n, C, 64, 64)`."""

    def __init__(self, out_channels: int = 1, latent_dim: int = 10) -> None:
        super().__init__()
        _check_positive(out_channels, "out_channels")
        _check_positive(latent_dim, "latent_dim")
        self.fc = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 64 * 4 * 4), nn.ReLU())
        self.deconvs = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, out_channels, 4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconvs(self.fc(z).view(-1, 64, 4, 4))


def _mlp(in_features: int, hidden: int, depth: int, out_features: int, activation) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


class Critic(nn.Module):
    """WTC/WAE critic: MLP on z, three hidden layers of 256 with ReLU, a scalar output `(n,)`."""

    def __init__(self, latent_dim: int = 10, hidden: int = 256, depth: int = 3) -> None:
        super().__init__()
        self.net = _mlp(_check_positive(latent_dim, "latent_dim"), hidden, depth, 1, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1)


class Discriminator(nn.Module):
    """FactorVAE/RTC discriminator: MLP on z, six hidden layers of 1000 with LeakyReLU(0.2), two logits.

    Logit 0 is "a sample of q(z)", logit 1 "a sample of the product of its marginals"."""

    def __init__(self, latent_dim: int = 10, hidden: int = 1000, depth: int = 6) -> None:
        super().__init__()
        self.net = _mlp(_check_positive(latent_dim, "latent_dim"), hidden, depth, 2, lambda: nn.LeakyReLU(0.2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ChannelsLastEncoder(nn.Module):
    """An encoder taking observations as samplers give them, `(n, 64, 64, C)` floats in [0, 1].

    This is what a model dir exports (its config records `"channels_first": false`)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x.permute(0, 3, 1, 2))


def initialize_weights(module: nn.Module, scheme: str = DEFAULT_INIT) -> nn.Module:
    """Initialize every dense, convolution and transposed-convolution layer of `module` in place.

    Parameters
    ----------
    module : torch.nn.Module
        The network (its submodules are visited in registration order, so the draws from torch's global
        random generator are reproducible under `torch.manual_seed`).
    scheme : {"glorot_uniform", "torch_default"}, default "glorot_uniform"
        `"glorot_uniform"`: weights uniform on `[-b, b]`, `b = sqrt(6 / (fan_in + fan_out))`, biases zero
        (disentanglement_lib, i.e. TensorFlow's layer defaults; a convolution's fans are its input or output
        channels times the kernel area, as in TensorFlow). `"torch_default"`: leave the layers as PyTorch
        initialized them at construction.

    Returns
    -------
    torch.nn.Module
        `module` itself.

    References
    ----------
    Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks", AISTATS 2010.

    Examples
    --------
    >>> import torch
    >>> layer = initialize_weights(torch.nn.Linear(4, 2))
    >>> bool(layer.bias.abs().max() == 0) and bool(layer.weight.abs().max() <= (6 / (4 + 2)) ** 0.5)
    True
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {INIT_SCHEMES}; got {scheme!r}.")
    if scheme == "torch_default":
        return module
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, _INITIALIZED_LAYERS):
                nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
    return module

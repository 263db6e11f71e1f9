"""The representation adapters: numpy callables, torch modules, sampled mode, output checks."""

import subprocess
import sys

import numpy as np
import pytest

from dismetrics import Representation, as_representation


def identity(x):
    return np.asarray(x, dtype=np.float64)


def test_numpy_callable_gives_float64_codes():
    rep = as_representation(lambda x: x.astype(np.float32))
    out = rep(np.arange(12).reshape(6, 2))
    assert out.dtype == np.float64 and out.shape == (6, 2)
    np.testing.assert_array_equal(out, np.arange(12).reshape(6, 2))


def test_batching_gives_the_same_codes_and_calls_in_batches():
    sizes = []

    def encoder(x):
        sizes.append(len(x))
        return x * 2.0

    obs = np.random.default_rng(0).normal(size=(10, 3))
    out = as_representation(encoder, batch_size=4)(obs)
    np.testing.assert_array_equal(out, obs * 2.0)
    assert sizes == [4, 4, 2]


def test_mean_logvar_tuple_mean_mode_returns_the_mean():
    obs = np.random.default_rng(0).normal(size=(5, 3))
    rep = as_representation(lambda x: (x, np.zeros_like(x)))
    np.testing.assert_array_equal(rep(obs), obs)
    mean, logvar = rep.encode(obs)
    np.testing.assert_array_equal(logvar, np.zeros_like(obs))


def test_sampled_mode_draws_from_the_posterior_and_is_seeded():
    obs = np.zeros((20000, 2))
    logvar = np.log(np.array([4.0, 0.25]))
    encoder = lambda x: (x + 1.0, np.broadcast_to(logvar, x.shape))
    a = as_representation(encoder, mode="sampled", random_state=3)(obs)
    b = as_representation(encoder, mode="sampled", random_state=3)(obs)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.mean(axis=0), [1.0, 1.0], atol=0.05)
    np.testing.assert_allclose(a.std(axis=0), [2.0, 0.5], rtol=0.03)


def test_sampled_mode_without_logvar_is_a_clear_error():
    rep = as_representation(identity, mode="sampled", name="plain")
    with pytest.raises(ValueError, match="'plain'.*log-variance"):
        rep(np.zeros((3, 2)))


@pytest.mark.parametrize(
    "encoder, match",
    [
        (lambda x: x[:, 0], r"shape \(4,\).*codes\[:, None\]"),
        (lambda x: x[:2], r"shape \(2, 3\) for 4 observations"),
        (lambda x: np.full(x.shape, np.nan), "NaN or infinite codes for 4 of 4"),
        (lambda x: np.where(np.arange(4)[:, None] == 2, np.inf, x), "first at row 2"),
        (lambda x: (x, x[:, :1]), "log-variances of shape"),
        (lambda x: np.array([["a"] * 3] * 4), "non-numeric"),
        (lambda x: (), "empty tuple"),
    ],
)
def test_bad_outputs_give_errors_naming_the_representation(encoder, match):
    rep = as_representation(encoder, name="my_encoder")
    with pytest.raises(ValueError, match="my_encoder") as info:
        rep(np.ones((4, 3)))
    assert info.match(match)


def test_changing_number_of_dims_between_calls_is_an_error():
    calls = iter([2, 3])
    rep = as_representation(lambda x: np.zeros((len(x), next(calls))))
    rep(np.ones((4, 1)))
    with pytest.raises(ValueError, match="same number of dims"):
        rep(np.ones((4, 1)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        as_representation(identity, mode="median")
    with pytest.raises(ValueError, match="batch_size"):
        as_representation(identity, batch_size=0)
    with pytest.raises(ValueError, match="callable"):
        as_representation(42)
    with pytest.raises(ValueError, match="does not exist"):
        as_representation("some/model_dir")
    with pytest.raises(ValueError, match="non-empty"):
        as_representation(identity)(np.zeros((0, 2)))


def test_representation_passes_through_and_rewraps():
    rep = as_representation(identity)
    assert as_representation(rep) is rep
    sampled = as_representation(rep, mode="sampled", random_state=1)
    assert isinstance(sampled, Representation) and sampled.mode == "sampled" and rep.mode == "mean"


def test_importing_dismetrics_does_not_import_torch():
    code = "import sys, dismetrics, dismetrics.evaluate; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- torch ---------------------------------------------------------------------------------

torch = pytest.importorskip("torch", reason="torch is not installed: the torch adapter cannot be tested")
torch.set_num_threads(1)


class TinyConvEncoder(torch.nn.Module):
    """(n, C, H, W) -> (mean, logvar) of 2 dims; records what it saw."""

    def __init__(self, channels=1):
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, 2, kernel_size=4)
        self.seen = []

    def forward(self, x):
        self.seen.append((tuple(x.shape), x.dtype, self.training, torch.is_grad_enabled()))
        h = self.conv(x).mean(dim=(2, 3))
        return h, torch.zeros_like(h) - 1.0


def test_torch_module_runs_in_eval_mode_without_grad_channels_first():
    torch.manual_seed(0)
    module = TinyConvEncoder(channels=3)
    module.train()
    obs = np.random.default_rng(0).random((10, 8, 8, 3))
    rep = as_representation(module, batch_size=4)
    codes = rep(obs)
    assert codes.shape == (10, 2) and codes.dtype == np.float64
    assert [s[0] for s in module.seen] == [(4, 3, 8, 8), (4, 3, 8, 8), (2, 3, 8, 8)]
    assert all(dtype == torch.float32 and not training and not grad for _, dtype, training, grad in module.seen)
    assert module.training  # restored
    with torch.no_grad():
        expected = module(torch.as_tensor(np.moveaxis(obs, -1, 1), dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(codes, expected, rtol=1e-6)
    _, logvar = rep.encode(obs)
    np.testing.assert_array_equal(logvar, -1.0)


def test_torch_module_channels_first_false_passes_observations_unchanged():
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    obs = np.random.default_rng(0).random((5, 2, 2, 3))
    codes = as_representation(module, channels_first=False)(obs)
    with torch.no_grad():
        expected = module(torch.as_tensor(obs, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(codes, expected, rtol=1e-6)


def test_torch_module_sampled_mode():
    module = TinyConvEncoder()
    obs = np.random.default_rng(0).random((4000, 6, 6, 1))
    mean = as_representation(module)(obs)
    sampled = as_representation(module, mode="sampled", random_state=0)(obs)
    np.testing.assert_allclose((sampled - mean).std(axis=0), np.exp(-0.5), rtol=0.05)


def test_torch_module_returning_nan_is_a_clear_error():
    class Broken(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 2), float("nan"))

    with pytest.raises(ValueError, match="'Broken'.*NaN"):
        as_representation(Broken())(np.zeros((3, 4)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to check device placement")
def test_torch_module_on_cuda_gets_inputs_on_its_device():
    module = TinyConvEncoder().cuda()
    obs = np.random.default_rng(0).random((6, 8, 8, 1))
    codes = as_representation(module)(obs)
    with torch.no_grad():
        expected = module(torch.as_tensor(np.moveaxis(obs, -1, 1), dtype=torch.float32, device="cuda"))[0]
    np.testing.assert_allclose(codes, expected.cpu().numpy(), rtol=1e-5)
    # a module on a CUDA device gets large batches, through pinned memory
    assert as_representation(module).batch_size == 4096


def test_autocast_runs_the_forward_in_reduced_precision_and_keys_the_digest():
    # bfloat16 autocast on the CPU: the convolution runs in bfloat16 (codes within its ~3 significant
    # digits, not equal), the codes come back as float32, and the digest differs from float32's, so a
    # representation table on disk never mixes the two precisions.
    torch.manual_seed(0)
    module = TinyConvEncoder()
    obs = np.random.default_rng(0).random((64, 8, 8, 1))
    exact = as_representation(module)
    reduced = as_representation(module, autocast="bfloat16")
    codes_exact, codes_reduced = exact(obs), reduced(obs)
    assert reduced.output_dtype == np.float32
    assert not np.array_equal(codes_exact, codes_reduced)
    np.testing.assert_allclose(codes_reduced, codes_exact, atol=2e-2 * np.abs(codes_exact).max())
    assert reduced.digest() != exact.digest()
    assert reduced.digest() == as_representation(module, autocast="bfloat16").digest()
    assert as_representation(module, autocast="float16").digest() not in (exact.digest(), reduced.digest())


def test_autocast_is_refused_where_it_cannot_apply():
    with pytest.raises(ValueError, match="autocast must be one of 'bfloat16', 'float16'"):
        as_representation(TinyConvEncoder(), autocast="int8")
    with pytest.raises(ValueError, match="autocast applies to torch modules and model dirs"):
        as_representation(lambda x: x.reshape(len(x), -1), autocast="bfloat16")
    with pytest.raises(ValueError, match="already a Representation"):
        as_representation(as_representation(TinyConvEncoder()), autocast="bfloat16")

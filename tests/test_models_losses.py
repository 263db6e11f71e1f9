"""Each model's loss against a hand computation on fixed tensors; the TC estimators against brute force."""

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dismetrics_models import architectures as arch  # noqa: E402
from dismetrics_models import tc_estimators as tce  # noqa: E402
from dismetrics_models.base import kl_divergence, permute_dims, reconstruction_loss  # noqa: E402
from dismetrics_models.beta_tcvae import BetaTCVAE  # noqa: E402
from dismetrics_models.factor_vae import FactorVAE, discriminator_loss  # noqa: E402
from dismetrics_models.registry import MODELS, build_model, get_model_class  # noqa: E402
from dismetrics_models.vae import AnnealedVAE, BetaVAE, DIPVAEI, DIPVAEII, annealed_capacity, covariance  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")

torch.set_default_dtype(torch.float32)


# ---- basic terms -------------------------------------------------------------------------------
def test_kl_closed_form_by_hand():
    mean = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    expected0 = 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + 2 - math.log(2.0) - 1)
    kl = kl_divergence(mean, logvar)
    assert kl.shape == (2,)
    assert kl[0].item() == pytest.approx(expected0, rel=1e-6)
    assert kl[1].item() == pytest.approx(0.0, abs=1e-7)
    # against torch.distributions
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, torch.exp(0.5 * logvar)), torch.distributions.Normal(0.0, 1.0)
    ).sum(1)
    torch.testing.assert_close(kl_divergence(mean, logvar), reference)


def test_reconstruction_is_summed_bce_with_logits_averaged_over_batch():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 1, 4, 4, generator=g) * 3
    x = (torch.rand(3, 1, 4, 4, generator=g) > 0.5).float()
    p = torch.sigmoid(logits.double())
    by_hand = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum() / 3
    assert reconstruction_loss(logits, x).item() == pytest.approx(by_hand.item(), rel=1e-5)
    # logits of +-40: BCE with logits stays exact where clamped logs on sigmoid outputs would not
    big = torch.tensor([[40.0, -40.0]])
    assert reconstruction_loss(big, torch.tensor([[0.0, 1.0]])).item() == pytest.approx(80.0, rel=1e-6)


def test_permute_dims_permutes_each_column_independently():
    z = torch.arange(40, dtype=torch.float32).reshape(10, 4)
    out = permute_dims(z, torch.Generator().manual_seed(0))
    for k in range(4):
        assert sorted(out[:, k].tolist()) == z[:, k].tolist()
    # columns are not permuted together
    rows = {tuple((out[i] - out[i, 0]).tolist()) for i in range(10)}
    assert len(rows) > 1


# ---- objectives on fixed tensors ------------------------------------------------------------------
MEAN = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.0, -1.0], [2.0, 0.0]])
LOGVAR = torch.log(torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.5, 1.0], [1.5, 0.5]]))
Z = torch.tensor([[0.5, 1.0], [-1.0, 0.0], [0.2, -0.5], [1.0, 1.0]])


def _kl():
    return kl_divergence(MEAN, LOGVAR).mean()


def test_beta_vae_regularizer():
    model = BetaVAE(1, 2, beta=6)
    reg, terms = model.regularizer(MEAN, LOGVAR, Z, _kl(), 0, {})
    assert reg.item() == pytest.approx(6 * _kl().item(), rel=1e-6)
    assert terms["beta_kl"].item() == pytest.approx(reg.item())


def test_annealing_schedule():
    assert annealed_capacity(0, 25, 100_000) == 0.0
    assert annealed_capacity(50_000, 25, 100_000) == pytest.approx(12.5)
    assert annealed_capacity(100_000, 25, 100_000) == 25.0
    assert annealed_capacity(300_000, 25, 100_000) == 25.0
    model = AnnealedVAE(1, 2, gamma=1000, c_max=10, iteration_threshold=100)
    kl = _kl()
    for step, capacity in ((0, 0.0), (30, 3.0), (100, 10.0), (500, 10.0)):
        reg, terms = model.regularizer(MEAN, LOGVAR, Z, kl, step, {})
        assert terms["capacity"].item() == pytest.approx(capacity)
        assert reg.item() == pytest.approx(1000 * abs(kl.item() - capacity), rel=1e-5)


def test_dip_covariance_terms_by_hand():
    cov = MEAN.double().numpy()
    cov = np.cov(cov, rowvar=False, bias=True)  # 1/n normalisation
    torch.testing.assert_close(covariance(MEAN).double(), torch.from_numpy(cov), rtol=1e-6, atol=1e-6)
    off = 2 * cov[0, 1] ** 2
    diag = (cov[0, 0] - 1) ** 2 + (cov[1, 1] - 1) ** 2
    model = DIPVAEI(1, 2, lambda_od=2.0)
    assert model.hp["lambda_d"] == 20.0  # l_d = 10 l_od for DIP-VAE-I
    reg, terms = model.regularizer(MEAN, LOGVAR, Z, _kl(), 0, {})
    assert terms["dip_off_diagonal"].item() == pytest.approx(2.0 * off, rel=1e-5)
    assert terms["dip_diagonal"].item() == pytest.approx(20.0 * diag, rel=1e-5)
    assert reg.item() == pytest.approx(_kl().item() + 2.0 * off + 20.0 * diag, rel=1e-5)

    # DIP-VAE-II: E[diag(sigma^2)] is a diagonal matrix of per-dimension batch means (not a scalar)
    expected_sigma = np.exp(LOGVAR.double().numpy()).mean(axis=0)  # [1.5, 1.875]
    cov2 = cov + np.diag(expected_sigma)
    model2 = DIPVAEII(1, 2, lambda_od=3.0)
    assert model2.hp["lambda_d"] == 3.0
    reg2, terms2 = model2.regularizer(MEAN, LOGVAR, Z, _kl(), 0, {})
    assert terms2["dip_off_diagonal"].item() == pytest.approx(3.0 * 2 * cov2[0, 1] ** 2, rel=1e-5)
    assert terms2["dip_diagonal"].item() == pytest.approx(
        3.0 * ((cov2[0, 0] - 1) ** 2 + (cov2[1, 1] - 1) ** 2), rel=1e-5
    )
    # explicit lambda_d overrides the default ratio
    assert DIPVAEI(1, 2, lambda_od=1.0, lambda_d=7.0).hp["lambda_d"] == 7.0


def test_factor_vae_regularizer_uses_logit_difference():
    torch.manual_seed(0)
    model = FactorVAE(1, 2, gamma=10)
    logits = model.discriminator(Z)
    tc = (logits[:, 0] - logits[:, 1]).mean()
    reg, terms = model.regularizer(MEAN, LOGVAR, Z, _kl(), 0, {})
    assert terms["tc_discriminator"].item() == pytest.approx(tc.item(), rel=1e-5)
    assert reg.item() == pytest.approx(_kl().item() + 10 * tc.item(), rel=1e-5)
    # discriminator loss: 0.5 * (CE to label 0 on q(z), CE to label 1 on the permuted sample)
    a, b = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    by_hand = 0.5 * (math.log(1 + math.exp(-2.0)) + math.log(1 + math.exp(-1.0)))
    assert discriminator_loss(a, b).item() == pytest.approx(by_hand, rel=1e-6)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_beta_tcvae_regularizer(estimator):
    model = BetaTCVAE(1, 2, dataset_size=50, beta=6, estimator=estimator)
    reg, terms = model.regularizer(MEAN, LOGVAR, Z, _kl(), 0, {})
    tc = tce.total_correlation(Z, MEAN, LOGVAR, 50, estimator)
    assert terms[f"tc_{estimator}"].item() == pytest.approx(tc.item(), rel=1e-6)
    assert reg.item() == pytest.approx(_kl().item() + 5 * tc.item(), rel=1e-5)


def test_compute_loss_is_recon_plus_regularizer():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1, 64, 64, generator=g) > 0.7).float()
    torch.manual_seed(0)
    model = BetaVAE(1, 3, dataset_size=100, beta=2.0)
    out = model.compute_loss(x, 0, torch.Generator().manual_seed(5))
    mean, logvar, z = out.cache["mean"], out.cache["logvar"], out.cache["z"]
    eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(z, mean + torch.exp(0.5 * logvar) * eps)
    recon = reconstruction_loss(model.decoder(z), x)
    expected = recon + 2.0 * kl_divergence(mean, logvar).mean()
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    for key in ("loss", "recon", "kl", "regularizer", "beta_kl", "tc_mws", "tc_mss"):
        assert key in out.terms and not out.terms[key].requires_grad


def test_no_silent_warmup_and_named_warmup():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1, 64, 64, generator=g) > 0.7).float()
    torch.manual_seed(0)
    model = BetaVAE(1, 3, beta=4.0)
    out = model.compute_loss(x, 0, torch.Generator().manual_seed(1))
    assert out.loss.item() == pytest.approx((out.terms["recon"] + out.terms["regularizer"]).item(), rel=1e-6)
    warm = BetaVAE(1, 3, beta=4.0, warmup_steps=10)
    warm.load_state_dict(model.state_dict())
    out = warm.compute_loss(x, 5, torch.Generator().manual_seed(1))
    assert out.terms["warmup_weight"].item() == 0.5
    assert out.loss.item() == pytest.approx((out.terms["recon"] + 0.5 * out.terms["regularizer"]).item(), rel=1e-6)


# ---- TC estimators against brute force -----------------------------------------------------------
def _tiny_posteriors(n=6, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, d, generator=g, dtype=torch.float64)
    logvar = torch.randn(n, d, generator=g, dtype=torch.float64) * 0.5
    z = mean + torch.exp(0.5 * logvar) * torch.randn(n, d, generator=g, dtype=torch.float64)
    return z, mean, logvar


def _brute_force_q(z, mean, logvar):
    """q(z_n) = (1/N) sum_m q(z_n | m) over the whole data set, and the marginals q(z_nk)."""
    log_q = tce.pairwise_log_density(z, mean, logvar)  # (N, N, d)
    q_joint = log_q.sum(2).exp().mean(1)
    q_marginals = log_q.exp().mean(1)
    return q_joint, q_marginals


def test_pairwise_log_density_matches_scipy():
    from scipy.stats import norm

    z, mean, logvar = _tiny_posteriors(4, 3)
    out = tce.pairwise_log_density(z, mean, logvar).numpy()
    for i, j, k in itertools.product(range(4), range(4), range(3)):
        expected = norm.logpdf(z[i, k].item(), mean[j, k].item(), math.exp(0.5 * logvar[j, k].item()))
        assert out[i, j, k] == pytest.approx(expected, rel=1e-10)


def test_mss_weight_matrix_is_the_corrected_one():
    batch, n = 5, 20
    w = tce.mss_log_weight_matrix(batch, n, dtype=torch.float64).exp()
    m = batch - 1
    for i in range(batch):
        for j in range(batch):
            if j == i:
                expected = 1 / n
            elif j == (i + 1) % batch:
                expected = (n - m) / (n * m)
            else:
                expected = 1 / m
            assert w[i, j].item() == pytest.approx(expected)
    torch.testing.assert_close(w.sum(1), torch.ones(batch, dtype=torch.float64))
    with pytest.raises(ValueError, match="dataset_size >= batch_size - 1"):
        tce.mss_log_weight_matrix(10, 5)
    with pytest.raises(ValueError, match="at least 2"):
        tce.mss_log_weight_matrix(1, 5)


def _enumerate_mss(z, mean, logvar, batch, log_weights=None):
    """Average exp(MSS estimate) of row i over every ordered batch of distinct points with point n
    at row i: returns (mean joint estimate, mean marginal estimates) indexed [i, n] / [i, n, k]."""
    n_points, d = z.shape
    sums = torch.zeros(batch, n_points, dtype=torch.float64)
    sums_marginal = torch.zeros(batch, n_points, d, dtype=torch.float64)
    counts = torch.zeros(batch, n_points, dtype=torch.float64)
    for members in itertools.permutations(range(n_points), batch):
        idx = torch.tensor(members)
        if log_weights is None:
            log_qz, log_qz_marginals = tce.log_qz_mss(z[idx], mean[idx], logvar[idx], n_points)
        else:
            log_q = tce.pairwise_log_density(z[idx], mean[idx], logvar[idx])
            log_qz = torch.logsumexp(log_weights + log_q.sum(2), dim=1)
            log_qz_marginals = torch.logsumexp(log_weights.unsqueeze(2) + log_q, dim=1)
        rows = torch.arange(batch)
        sums[rows, idx] += log_qz.exp()
        sums_marginal[rows, idx] += log_qz_marginals.exp()
        counts[rows, idx] += 1
    return sums / counts, sums_marginal / counts.unsqueeze(2)


def test_mss_is_exact_in_expectation_against_brute_force():
    z, mean, logvar = _tiny_posteriors(6, 2)
    q_joint, q_marginals = _brute_force_q(z, mean, logvar)
    batch = 4
    est_joint, est_marginals = _enumerate_mss(z, mean, logvar, batch)
    for i in range(batch):  # every row, including the one whose next-diagonal wraps around
        torch.testing.assert_close(est_joint[i], q_joint, rtol=1e-10, atol=0)
        torch.testing.assert_close(est_marginals[i], q_marginals, rtol=1e-10, atol=0)


def test_mss0_weight_matrix_of_the_reference_code_is_not_exact():
    """The copied construction (flattened-stride writes) fails the same enumeration."""
    z, mean, logvar = _tiny_posteriors(6, 2)
    q_joint, _ = _brute_force_q(z, mean, logvar)
    batch, n = 4, 6
    m = batch - 1
    w = torch.full((batch, batch), 1 / m, dtype=torch.float64)
    w.view(-1)[:: m + 1] = 1 / n
    w.view(-1)[1 :: m + 1] = (n - m) / (n * m)
    w[m - 1, 0] = (n - m) / (n * m)
    est_joint, _ = _enumerate_mss(z, mean, logvar, batch, log_weights=w.log())
    torch.testing.assert_close(est_joint[0], q_joint, rtol=1e-10, atol=0)  # row 0 happens to be right
    for i in (2, 3):  # their own point gets weight 1/M instead of 1/N
        assert not torch.allclose(est_joint[i], q_joint, rtol=1e-2)


def test_mws_matches_its_formula_and_brute_force_expectation():
    z, mean, logvar = _tiny_posteriors(5, 2, seed=3)
    n_points, d = z.shape
    batch = 3
    # the formula, by loops, on one batch
    idx = torch.tensor([0, 3, 3])
    log_qz, log_qz_marginals = tce.log_qz_mws(z[idx], mean[idx], logvar[idx], n_points)
    from scipy.stats import norm

    zb, mb, sb = z[idx].numpy(), mean[idx].numpy(), np.exp(0.5 * logvar[idx].numpy())
    for i in range(batch):
        joint = sum(np.prod([norm.pdf(zb[i, k], mb[j, k], sb[j, k]) for k in range(d)]) for j in range(batch))
        assert log_qz[i].item() == pytest.approx(math.log(joint / (n_points * batch)), rel=1e-10)
        for k in range(d):
            marginal = sum(norm.pdf(zb[i, k], mb[j, k], sb[j, k]) for j in range(batch))
            assert log_qz_marginals[i, k].item() == pytest.approx(math.log(marginal / (n_points * batch)), rel=1e-10)
    # expectation over batches drawn with replacement, row 0 fixed at point n:
    # E[q_MWS(z_n)] = (q(z_n | n) + (B - 1) q(z_n)) / (N B)
    q_joint, q_marginals = _brute_force_q(z, mean, logvar)
    own = tce.pairwise_log_density(z, mean, logvar).diagonal(dim1=0, dim2=1).T  # (N, d): log q(z_nk | n)
    for n in range(n_points):
        total = 0.0
        for others in itertools.product(range(n_points), repeat=batch - 1):
            idx = torch.tensor((n, *others))
            total += tce.log_qz_mws(z[idx], mean[idx], logvar[idx], n_points)[0][0].exp().item()
        expected = (own[n].sum().exp().item() + (batch - 1) * q_joint[n].item()) / (n_points * batch)
        assert total / n_points ** (batch - 1) == pytest.approx(expected, rel=1e-10)


def test_total_correlation_estimators_on_a_known_gaussian():
    """Posteriors tight around a correlated Gaussian: MSS approaches the closed-form TC; MWS is
    shifted by its constants as documented (about (d - 1) log N minus log B for sharp posteriors)."""
    g = torch.Generator().manual_seed(0)
    n, d, rho = 2000, 2, 0.8
    cov = torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    mean = torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    logvar = torch.full((n, d), math.log(0.05**2), dtype=torch.float64)
    z = mean + 0.05 * torch.randn(n, d, generator=g, dtype=torch.float64)
    true_tc = -0.5 * math.log(1 - rho**2)
    mss = tce.total_correlation_mss(z, mean, logvar, n).item()
    assert mss == pytest.approx(true_tc, abs=0.15)
    mws = tce.total_correlation_mws(z, mean, logvar, n).item()
    naive_shift = (d - 1) * math.log(n)
    assert mws - naive_shift == pytest.approx(true_tc, abs=0.15)
    with pytest.raises(ValueError, match="estimator"):
        tce.total_correlation(z, mean, logvar, n, "bogus")


# ---- architectures and registry --------------------------------------------------------------------
@pytest.mark.parametrize("arch_name", ["paper", "dlib_released"])
@pytest.mark.parametrize("channels", [1, 3])
def test_architecture_shapes(arch_name, channels):
    enc = arch.Encoder(channels, 5, arch_name)
    dec = arch.Decoder(channels, 5)
    x = torch.rand(2, channels, 64, 64)
    mean, logvar = enc(x)
    assert mean.shape == (2, 5) and logvar.shape == (2, 5)
    assert dec(mean).shape == (2, channels, 64, 64)
    kernels = [m.kernel_size for m in enc.convs if isinstance(m, torch.nn.Conv2d)]
    assert kernels == ([(4, 4)] * 4 if arch_name == "paper" else [(4, 4), (4, 4), (2, 2), (2, 2)])
    assert arch.Critic(5)(mean).shape == (2,)
    disc = arch.Discriminator(5)
    assert disc(mean).shape == (2, 2)
    linears = [m for m in disc.net if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [1000] * 6 + [2]
    assert all(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in disc.net if not isinstance(m, torch.nn.Linear))
    critic_linears = [m for m in arch.Critic(5).net if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in critic_linears] == [256] * 3 + [1]


def test_architecture_and_registry_errors():
    with pytest.raises(ValueError, match="arch"):
        arch.Encoder(1, 10, "bogus")
    with pytest.raises(ValueError, match="latent_dim"):
        arch.Encoder(1, 0)
    with pytest.raises(ValueError, match="unknown model"):
        get_model_class("vae_of_doom")
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        build_model("beta_vae", gamma=3)
    with pytest.raises(ValueError, match="beta"):
        build_model("beta_vae", beta=-1)
    with pytest.raises(ValueError, match="estimator"):
        build_model("beta_tcvae", estimator="xyz")
    with pytest.raises(ValueError, match="iteration_threshold"):
        build_model("annealed_vae", iteration_threshold=0)
    with pytest.raises(ValueError, match="same_batch"):
        build_model("factor_vae", same_batch="yes")
    assert list(MODELS) == [
        "beta_vae", "annealed_vae", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii",
        "wae_mmd", "wae_mmd_random", "wae", "wtc_vae", "wtc_wae", "rtc_vae",
    ]

"""Minibatch TC estimators (MWS, MSS) and the density-ratio discriminator against the closed-form TC of
Gaussians (the RTC-VAE paper, Section 5.3 and its Figure 1).

Setup: ``mu ~ N(0, Sigma)`` with unit variances and equal correlations ``rho``, ``z | mu ~ N(mu, 0.1^2 I)``,
so ``z ~ N(0, Sigma + 0.01 I)`` and its TC is ``0.5 (sum log diag C - log det C)`` (Prop. 1). The
"data set" is ``N`` points drawn from ``N(0, Sigma)`` (default N = 737,280, the dSprites grid); a minibatch
drawn uniformly from it is, up to negligible collisions, ``B`` iid draws, so batches are drawn directly.
MWS and MSS (the corrected MSS_1) are averaged over ``--batches`` minibatches of ``--batch-size``. The
discriminator (FactorVAE's density-ratio trick, a small MLP: 3 hidden layers of 256, LeakyReLU(0.2),
much smaller than the 6x1000 of the models, to keep the whole benchmark to a few CPU minutes) is
trained ``--disc-steps`` steps with Adam(1e-4, (0.5, 0.9)) to tell z from permute_dims(z*) and read on
fresh batches.

    PYTHONPATH=. python benchmarks/tc_estimators.py            # writes docs/img/tc_estimators.png and a table
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from dismetrics.metrics.unsupervised import gaussian_tc_from_cov
from dismetrics_models.architectures import Discriminator
from dismetrics_models.base import permute_dims
from dismetrics_models.factor_vae import discriminator_loss
from dismetrics_models.tc_estimators import total_correlation_mss, total_correlation_mws

SIGMA = 0.1


def correlation_matrix(d: int, rho: float) -> np.ndarray:
    return (1 - rho) * np.eye(d) + rho * np.ones((d, d))


def sample(chol: torch.Tensor, n: int, generator: torch.Generator):
    d = chol.shape[0]
    mu = torch.randn(n, d, generator=generator, dtype=torch.float64) @ chol.T
    z = mu + SIGMA * torch.randn(n, d, generator=generator, dtype=torch.float64)
    return z, mu


def minibatch_estimates(chol, dataset_size, batch_size, batches, generator):
    logvar = None
    mws, mws_mean, mss = [], [], []
    for _ in range(batches):
        z, mu = sample(chol, batch_size, generator)
        if logvar is None:
            logvar = torch.full_like(mu, 2 * np.log(SIGMA))
        mws.append(float(total_correlation_mws(z, mu, logvar, dataset_size)))
        # the same without the constant log N offsets: log q(z) ~ log-mean-exp over the batch
        mws_mean.append(float(total_correlation_mws(z, mu, logvar, 1)))
        mss.append(float(total_correlation_mss(z, mu, logvar, dataset_size)))
    return float(np.mean(mws)), float(np.mean(mws_mean)), float(np.mean(mss))


def discriminator_estimate(chol, steps, batch_size, generator, seed):
    d = chol.shape[0]
    torch.manual_seed(seed)
    disc = Discriminator(d, hidden=256, depth=3)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.9))
    chol32 = chol  # sampled in float64, cast below
    for _ in range(steps):
        z = sample(chol32, batch_size, generator)[0].float()
        z_star = permute_dims(sample(chol32, batch_size, generator)[0].float(), generator)
        logits = disc(torch.cat([z, z_star]))
        loss = discriminator_loss(logits[:batch_size], logits[batch_size:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        z = sample(chol32, 8192, generator)[0].float()
        logits = disc(z)
        return float((logits[:, 0] - logits[:, 1]).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--rhos", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6, 0.8, 0.9])
    parser.add_argument("--dataset-size", type=int, default=737_280)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--disc-steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default="docs/img/tc_estimators.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    rows = []
    started = time.perf_counter()
    for d in args.dims:
        for rho in args.rhos:
            cov_mu = correlation_matrix(d, rho)
            truth = gaussian_tc_from_cov(cov_mu + SIGMA**2 * np.eye(d))
            chol = torch.linalg.cholesky(torch.as_tensor(cov_mu, dtype=torch.float64))
            mws, mws_mean, mss = minibatch_estimates(chol, args.dataset_size, args.batch_size, args.batches, generator)
            disc = discriminator_estimate(chol, args.disc_steps, args.batch_size, generator, args.seed) if args.disc_steps else float("nan")
            rows.append((d, rho, truth, mws, mws_mean, mss, disc))
            print(f"d={d:2d} rho={rho:.1f} truth={truth:8.3f} MWS={mws:9.3f} MWS(no log N)={mws_mean:8.3f} MSS={mss:9.3f} disc={disc:8.3f}", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")

    print("\n| d | rho | ground truth | MWS | MWS without log N | MSS | discriminator |\n|---|---|---|---|---|---|---|")
    for d, rho, truth, mws, mws_mean, mss, disc in rows:
        print(f"| {d} | {rho:.1f} | {truth:.2f} | {mws:.2f} | {mws_mean:.2f} | {mss:.2f} | {disc:.2f} |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.dims), figsize=(3.6 * len(args.dims), 3.6), squeeze=False)
    for ax, d in zip(axes[0], args.dims):
        sel = [r for r in rows if r[0] == d]
        truth = np.array([r[2] for r in sel])
        for column, label, marker in ((3, "MWS", "o"), (4, "MWS without log N", "x"), (5, "MSS", "s"), (6, "discriminator", "^")):
            ax.plot(truth, np.array([r[column] for r in sel]) - truth, marker=marker, label=label)
        ax.axhline(0.0, color="k", ls="--", lw=1, label="exact")
        ax.set_title(f"d = {d}")
        ax.set_xlabel("ground-truth TC (nats)")
        ax.set_ylabel("estimate - ground truth (nats)")
        ax.set_yscale("symlog", linthresh=1.0)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"TC estimators vs closed form; N = {args.dataset_size}, batch {args.batch_size}")
    fig.tight_layout()
    Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.figure, dpi=110)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()

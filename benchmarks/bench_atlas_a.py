"""The metric atlas, part A (issue 20): Flatness, Linearity, Distances (disent), Z-max variance (RF-VAE),
AAM (disvae) and W-Modularity (WTC paper code), each timed against its source computation on the same
arrays, with the largest difference between the two.

Sources and how they run here:

* disent (MIT; `metric_flatness`, `_metric_factored_components`): run itself when importable. It is on PyPI
  (`pip install --no-deps --target DIR disent==0.8.0`, the metric files are those of commit 8f061a87) and
  needs torch; pass `--disent-path DIR`. Its package imports torchvision at import time for data sets the
  metrics never use: when torchvision is missing an empty stand-in module is put on the path for the
  import only. disent's encoding step (`encode_all_along_factor` / `encode_all_factors`) and its triplet
  draws (`torch.randint`) are replaced by the codes, observations and triplets dismetrics drew, so both
  compute from identical arrays; disent's time therefore excludes encoding, dismetrics' includes drawing
  and encoding the (cheap, numpy) representation. Without disent the comparison is skipped (say so).
* Z-max variance: the Ubisoft review code (Apache-2.0) `z_max_var` is run when `--ubisoft-path` points at
  a checkout's `src/metrics` (its `utils` import is stood in for; only `get_bin_index` is used, for
  continuous factors). Its procedure draws from a finite (factors, codes) sample with numpy's global
  generator, so agreement is over seeds (mean and sd), not per array.
* AAM: disvae (MIT) is run when `--disvae-path` points at a checkout of disentangling-vae (its
  `disvae/evaluate.py` and `disvae/utils/math.py` are loaded, the rest of the package stood in for):
  `Evaluator.compute_metrics` on a Gaussian encoder over a small grid against `aam(estimator="disvae_code")`
  on the same (mean, logvar) arrays, `torch.randperm` replaced by the permutations dismetrics drew and
  disvae's `n_samples` set to the same value; and `_axis_aligned_metric` on the same MI matrices. The
  sample variant `aam_binned` is timed against the written-out binning + `sklearn.metrics.mutual_info_score`.
* W-Modularity: the released code has no licence and cannot be run here; it is transcribed below from
  its procedure (`scipy.stats.wasserstein_distance` per (dim, value), the permutations dismetrics draws).

    python benchmarks/bench_atlas_a.py [--quick] [--disent-path DIR] [--ubisoft-path DIR] [--disvae-path DIR]
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import sys
import tempfile
import time
import types
import warnings

import numpy as np
from scipy.stats import wasserstein_distance
from sklearn.metrics import mutual_info_score

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

from dismetrics.data import FactorGrid  # noqa: E402
from dismetrics.metrics import distances as distances_module  # noqa: E402
from dismetrics.metrics.aam import aam, aam_binned, aam_from_mutual_info  # noqa: E402
from dismetrics.metrics.distances import DISTANCE_SCORES, distances  # noqa: E402
from dismetrics.metrics.flatness import flatness  # noqa: E402
from dismetrics.metrics.linearity import LINEARITY_SCORES, linearity  # noqa: E402
from dismetrics.metrics.w_modularity import w_modularity  # noqa: E402
from dismetrics.metrics.z_max_variance import z_max_variance  # noqa: E402

DSPRITES_SIZES = [3, 6, 40, 32, 32]
MIXING = np.random.default_rng(0).standard_normal((5, 10))


def encoder(x):
    """A smooth, entangled 10-dim code of the (scaled) factors."""
    f = np.asarray(x, dtype=np.float64)
    f = f.reshape(len(f), -1)[:, :5] / (np.asarray(DSPRITES_SIZES) - 1)
    return np.tanh(f @ MIXING) + 0.3 * np.sin(3 * f[:, [2]])


def observe(factors, rng):
    """Small 'images': the scaled factors and a nonlinear view, 2 x 5 float32."""
    f = np.asarray(factors, dtype=np.float64) / (np.asarray(DSPRITES_SIZES) - 1)
    return np.stack([f, np.sin(3 * f)], axis=1).astype(np.float32)


# ---- disent ------------------------------------------------------------------------------------------


def load_disent(path):
    if path is None:
        return None
    sys.path.insert(0, path)
    try:
        importlib.import_module("torchvision")
    except ImportError:
        stub = tempfile.mkdtemp(prefix="torchvision_stub_")
        os.makedirs(os.path.join(stub, "torchvision", "transforms"))
        body = ("class _Missing:\n    def __init__(self, *a, **k):\n        raise ImportError('torchvision stand-in')\n"
                "def __getattr__(name):\n    if name.startswith('__'):\n        raise AttributeError(name)\n"
                "    return _Missing\n")
        for name in ("datasets.py", "models.py", os.path.join("transforms", "functional.py")):
            with open(os.path.join(stub, "torchvision", name), "w") as fh:
                fh.write(body)
        with open(os.path.join(stub, "torchvision", "__init__.py"), "w") as fh:
            fh.write("__version__ = '0.0.0'\nfrom . import datasets, models, transforms\n")
        with open(os.path.join(stub, "torchvision", "transforms", "__init__.py"), "w") as fh:
            fh.write("from . import functional\n")
        sys.path.insert(0, stub)
    warnings.simplefilter("ignore")
    import disent.metrics._factored_components as fc
    import disent.metrics._flatness as fl
    return fl, fc


class Recorder:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, x):
        z = self.fn(x)
        self.calls.append(z)
        return z


def traversal_codes(calls, sizes, repeats):
    import torch
    codes = np.concatenate(calls)
    out, start = {}, 0
    for f, m in enumerate(sizes):
        out[f] = [torch.from_numpy(codes[start + r * m: start + (r + 1) * m]) for r in range(repeats)]
        start += repeats * m
    return out


def bench_flatness_linearity(disent, repeats, grid):
    import torch  # noqa: F401
    rows = []
    for name, func, keys in (("flatness", flatness, None), ("linearity", linearity, LINEARITY_SCORES)):
        ours_time, result = best_time(lambda: func(encoder, grid, repeats=repeats, encoding="direct"), repeats=1)
        row = {"metric": name, "value": result.value, "ours_s": ours_time, "source_s": float("nan"),
               "max_abs_diff": float("nan"), "source": "disent not given"}
        if disent is not None:
            fl, fc = disent
            recorder = Recorder(encoder)
            mine = func(recorder, grid, repeats=repeats, encoding="direct")
            trav = traversal_codes(recorder.calls, DSPRITES_SIZES, repeats)
            sizes = types.SimpleNamespace(factor_sizes=DSPRITES_SIZES, num_factors=5)
            dataset = types.SimpleNamespace(gt_data=sizes)
            iters = {}

            def run():
                iters.update({f: iter(t) for f, t in trav.items()})
                if name == "flatness":
                    fl.encode_all_along_factor = lambda ds, rf, f_idx, batch_size, return_batch=False: next(
                        iters[f_idx])
                    return fl.metric_flatness(dataset, None, repeats=repeats)
                fc.encode_all_along_factor = lambda ds, rf, f_idx, batch_size, return_batch=False: (
                    next(iters[f_idx]), None)
                return fc._metric_factored_components(dataset, None, repeats=repeats, compute_distances=False,
                                                      compute_linearity=True)

            source_time, out = best_time(run, repeats=1)
            if name == "flatness":
                mine_all = {"flatness.ave_flatness": mine.value,
                            **{f"flatness.{k}": v for k, v in mine.details.items() if isinstance(v, float)}}
            else:
                mine_all = {f"linearity.{k}.var": mine.details[k] for k in keys}
            row.update(source_s=source_time, source="disent 0.8.0",
                       max_abs_diff=max(abs(float(out[k]) - mine_all[k]) for k in out))
        rows.append(row)
    return rows


def bench_distances(disent, repeats, grid):
    import torch
    ours_time, result = best_time(lambda: distances(encoder, grid, repeats=repeats), repeats=1)
    row = {"metric": "distances", "value": result.value, "ours_s": ours_time, "source_s": float("nan"),
           "max_abs_diff": float("nan"), "source": "disent not given"}
    if disent is None:
        return row
    _, fc = disent
    recorded = []
    original = distances_module._group_dists

    def spy(obs, codes, ground, triplets):
        for i in range(codes.shape[0]):
            recorded.append((obs[i], codes[i], None if ground is None else ground[i], triplets[i]))
        return original(obs, codes, ground, triplets)

    distances_module._group_dists = spy
    try:
        mine = distances(encoder, grid, repeats=repeats)
    finally:
        distances_module._group_dists = original
    per_factor = [item for item in recorded if item[2] is None]
    global_items = [item for item in recorded if item[2] is not None]
    state = {}

    def along(ds, rf, f_idx, batch_size, return_batch=False):
        obs, codes, _, trip = next(state["factor"][f_idx])
        state["t"] = trip
        return torch.from_numpy(codes), torch.from_numpy(obs)

    def sample_factors(size):
        item = next(state["global"])
        state["g"] = item
        return item[2]

    def encode_all(ds, rf, factors, batch_size, return_batch=False):
        obs, codes, _, trip = state["g"]
        state["t"] = trip
        return torch.from_numpy(codes), torch.from_numpy(obs)

    gt = types.SimpleNamespace(factor_sizes=DSPRITES_SIZES, num_factors=5, sample_factors=sample_factors)
    dataset = types.SimpleNamespace(gt_data=gt)
    real_randint = torch.randint

    def run():
        state["factor"] = {f: iter(per_factor[f * repeats:(f + 1) * repeats]) for f in range(5)}
        state["global"] = iter(global_items)
        fc.encode_all_along_factor, fc.encode_all_factors = along, encode_all
        torch.randint = lambda low, high, size, device=None: torch.from_numpy(np.asarray(state["t"], dtype=np.int64))
        try:
            return fc._metric_factored_components(dataset, None, repeats=repeats, num_samples=64, global_subset_size=32,
                                                  compute_distances=True, compute_linearity=False)
        finally:
            torch.randint = real_randint

    source_time, out = best_time(run, repeats=1)
    diffs = np.array([abs(float(out["distances." + k]) - mine.details[k]) for k in DISTANCE_SCORES])
    worst = DISTANCE_SCORES[int(np.nanargmax(diffs))]
    row.update(source_s=source_time, source=f"disent 0.8.0 (largest: {worst})", max_abs_diff=float(np.nanmax(diffs)))
    return row


# ---- Z-max variance ----------------------------------------------------------------------------------


def bench_z_max(ubisoft_path, seeds):
    sizes = [3, 4, 5, 6]

    def rep(x):
        f = np.asarray(x, float) / (np.asarray(sizes) - 1)
        return np.column_stack([f[:, 0] + 0.8 * f[:, 1], f[:, 2] + 0.7 * f[:, 3], f[:, 3] + 0.5 * f[:, 0],
                                np.sin(3 * f[:, 1]) * f[:, 2]])

    grid = FactorGrid(sizes)
    started = time.perf_counter()
    ours = [z_max_variance(rep, grid, random_state=s).value for s in range(seeds)]
    ours_time = (time.perf_counter() - started) / seeds
    row = {"metric": "z_max_variance", "value": float(np.mean(ours)), "ours_s": ours_time,
           "source_s": float("nan"), "max_abs_diff": float("nan"), "source": "ubisoft not given"}
    if ubisoft_path is None:
        return row, ours, None
    sys.modules.setdefault("utils", types.SimpleNamespace(get_bin_index=None))
    with open(os.path.join(ubisoft_path, "z_max_var.py")) as fh:
        text = fh.read().replace("from numpy.core.numeric import NaN", "NaN = float('nan')")
    namespace: dict = {}
    exec(compile(text, "z_max_var.py", "exec"), namespace)
    full = np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij"), -1).reshape(-1, 4)
    data_factors = np.tile(full, (30, 1))
    data_codes = rep(data_factors)
    started = time.perf_counter()
    source = []
    for s in range(seeds):
        np.random.seed(s)
        random.seed(s)
        source.append(namespace["z_max_var"](data_factors, data_codes, continuous_factors=False))
    source_time = (time.perf_counter() - started) / seeds
    row.update(source_s=source_time, source="ubisoft z_max_var (mean over seeds)",
               max_abs_diff=abs(float(np.mean(source)) - float(np.mean(ours))))
    return row, ours, source


# ---- AAM and W-Modularity ----------------------------------------------------------------------------


def load_disvae(path):
    """disvae's Evaluator class and its log_density_gaussian, from a checkout (None when not given)."""
    if path is None:
        return None
    for name in ("disvae", "disvae.models", "disvae.models.losses", "disvae.utils", "disvae.utils.math",
                 "disvae.utils.modelIO"):
        sys.modules.setdefault(name, types.ModuleType(name))
    math_namespace: dict = {}
    with open(os.path.join(path, "disvae", "utils", "math.py")) as fh:
        exec(compile(fh.read(), "disvae/utils/math.py", "exec"), math_namespace)
    sys.modules["disvae.models.losses"].get_loss_f = None
    sys.modules["disvae.utils.math"].log_density_gaussian = math_namespace["log_density_gaussian"]
    sys.modules["disvae.utils.modelIO"].save_metadata = None
    namespace: dict = {}
    with open(os.path.join(path, "disvae", "evaluate.py")) as fh:
        exec(compile(fh.read(), "disvae/evaluate.py", "exec"), namespace)
    return namespace["Evaluator"]


def disvae_aam_on_arrays(evaluator, means, logvars, sizes, permutations, n_samples):
    """disvae's compute_metrics on given (mean, logvar) arrays of the grid, its randperm replaced."""
    import logging

    import torch
    n, d = means.shape
    queue = iter(permutations)

    class Model:
        latent_dim = d

        def encoder(self, x):
            index = x.long().view(-1).numpy()
            return torch.from_numpy(means[index]), torch.from_numpy(logvars[index])

        def reparameterize(self, mean, logvar):
            return mean  # eval mode, as disvae's Evaluator puts the model in

    class Data:
        lat_sizes = np.asarray(sizes)
        lat_names = tuple(f"factor_{k}" for k in range(len(sizes)))

        def __len__(self):
            return n

    class Loader(list):
        dataset = Data()

    loader = Loader([(torch.arange(i, min(i + 256, n)).double().view(-1, 1), None) for i in range(0, n, 256)])
    fake = types.SimpleNamespace(model=Model(), device="cpu", logger=logging.getLogger("disvae"),
                                 is_progress_bar=True, save_dir=tempfile.mkdtemp())
    for name in ("_compute_q_zCx", "_estimate_latent_entropies", "_estimate_H_zCv", "_mutual_information_gap",
                 "_axis_aligned_metric"):
        setattr(fake, name, getattr(evaluator, name).__get__(fake))
    real_randperm, defaults = torch.randperm, evaluator._estimate_latent_entropies.__defaults__
    torch.randperm = lambda count, device=None: torch.from_numpy(next(queue))
    evaluator._estimate_latent_entropies.__defaults__ = (n_samples,)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aam_value = evaluator.compute_metrics(fake, loader)["AAM"]
        helpers = torch.load(os.path.join(fake.save_dir, "metric_helpers.pth"))
        mutual_info = (helpers["marginal_entropies"][None, :] - helpers["cond_entropies"]).numpy().T
        return aam_value, mutual_info
    finally:
        torch.randperm = real_randperm
        evaluator._estimate_latent_entropies.__defaults__ = defaults


def sample_codes(factors, rng):
    """A code of (n, 10) for the sample metrics: one dim per factor, a rotated pair (x, y), noise dims."""
    f = factors / (np.asarray(DSPRITES_SIZES) - 1)
    n = len(f)
    return np.column_stack([f[:, 0], f[:, 1], f[:, 2], (f[:, 3] + f[:, 4]) / 2, (f[:, 3] - f[:, 4]) / 2]
                           + [0.05 * rng.standard_normal(n) for _ in range(5)]) + 0.02 * rng.standard_normal((n, 10))


def written_out_aam(codes, factors, bins=20):
    mi = np.zeros((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        disc = np.digitize(codes[:, i], np.histogram(codes[:, i], bins)[1][:-1])
        for k in range(factors.shape[1]):
            mi[i, k] = mutual_info_score(factors[:, k], disc)
    ordered = np.clip(-np.sort(-mi, axis=0), 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.clip(ordered[0] - ordered[1:].sum(axis=0), 0, None) / ordered[0]
    return float(np.nan_to_num(per).mean())


def bench_aam(disvae_path, n):
    rng = np.random.default_rng(1)
    factors = np.column_stack([rng.integers(0, s, n) for s in DSPRITES_SIZES])
    codes = sample_codes(factors, rng)
    ours_time, result = best_time(lambda: aam_binned(codes, factors), repeats=3)
    ref_time, ref = best_time(lambda: written_out_aam(codes, factors), repeats=1)
    rows = [{"metric": "aam_binned", "value": result.value, "ours_s": ours_time, "source_s": ref_time,
             "max_abs_diff": abs(result.value - ref), "source": "written-out histogram MI + sklearn"}]
    evaluator = load_disvae(disvae_path)
    sizes, n_samples = [3, 6, 10, 8], 128
    mixing = np.random.default_rng(5).standard_normal((4, 6))

    def encoder(x):
        x = np.asarray(x, dtype=np.float64) / (np.asarray(sizes) - 1)
        return np.tanh(x @ mixing), np.log(0.02 + 0.05 * np.abs(np.sin(3 * x @ mixing)))

    grid = FactorGrid(sizes)
    ours_time, mine = best_time(lambda: aam(encoder, grid, estimator="disvae_code", n_samples=n_samples,
                                            random_state=7, encoding="direct"), repeats=1)
    row = {"metric": "aam (disvae_code), grid 3x6x10x8", "value": mine.value, "ours_s": ours_time,
           "source_s": float("nan"), "max_abs_diff": float("nan"), "source": "disvae not given"}
    if evaluator is not None:
        import torch
        points = np.array(list(np.ndindex(*sizes)))
        means, logvars = encoder(points)
        perm_rng = np.random.default_rng(7)
        counts = [len(points)] + [len(points) // m for m in sizes for _ in range(m)]
        permutations = [perm_rng.permutation(c) for c in counts]
        source_time, (theirs, their_mi) = best_time(lambda: disvae_aam_on_arrays(
            evaluator, means, logvars, sizes, permutations, n_samples), repeats=1)
        mi_diff = float(np.max(np.abs(their_mi - mine.details["mi_matrix"])))
        row.update(source_s=source_time, max_abs_diff=abs(theirs - mine.value),
                   source=f"disvae compute_metrics (float32 sums; MI matrix within {mi_diff:.1e})")
        matrices = [np.abs(rng.standard_normal((rng.integers(1, 11), rng.integers(1, 6)))) for _ in range(200)]
        for m in matrices:
            m[rng.random(m.shape) < 0.2] = 0.0
        t0 = time.perf_counter()
        ours_values = [aam_from_mutual_info(m).mean() for m in matrices]
        t_mine = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs_values = [evaluator._axis_aligned_metric(
            None, torch.sort(torch.from_numpy(m.T), dim=1, descending=True)[0].clamp(min=0)).item() for m in matrices]
        t_theirs = time.perf_counter() - t0
        rows.append({"metric": "aam formula (200 MI matrices)", "value": float(np.mean(ours_values)), "ours_s": t_mine,
                     "source_s": t_theirs,
                     "max_abs_diff": float(np.max(np.abs(np.subtract(ours_values, theirs_values)))),
                     "source": "disvae _axis_aligned_metric"})
    rows.append(row)
    return rows


def written_out_w_modularity(codes, factors, seed):
    """The released code's `wmod` procedure (range-normalized dims, W1 against a permuted copy on the same
    points, unweighted mean over values, modularity over all dims)."""
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(codes)) for _ in range(codes.shape[1])]
    zs = codes.T / (codes.max(axis=0) - codes.min(axis=0))[:, None]
    shuffled = [z[p] for z, p in zip(zs, perms)]
    wmis = []
    for yi in factors.T:
        wmi = [[wasserstein_distance(z[yi == y], s[yi == y]) for z, s in zip(zs, shuffled)] for y in np.unique(yi)]
        wmis.append(np.mean(wmi, axis=0))
    w = np.transpose(wmis)
    sq = w ** 2
    top = sq.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mod = 1.0 - (sq.sum(axis=1) - top) / (top * (sq.shape[1] - 1))
    mod[top == 0] = 0.0
    return float(mod.mean())


def bench_w_modularity(n):
    rng = np.random.default_rng(2)
    factors = np.column_stack([rng.integers(0, s, n) for s in DSPRITES_SIZES])
    codes = sample_codes(factors, rng)
    ours_time, result = best_time(lambda: w_modularity(codes, factors, random_state=3), repeats=3)
    ref_time, ref = best_time(lambda: written_out_w_modularity(codes, factors, 3), repeats=1)
    return {"metric": "w_modularity", "value": result.value, "ours_s": ours_time, "source_s": ref_time,
            "max_abs_diff": abs(result.value - ref), "source": "WTC wmod procedure (transcribed)"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 repeats (disent's 'fast'), n = 5,000, 5 seeds")
    parser.add_argument("--disent-path", default=None)
    parser.add_argument("--ubisoft-path", default=None, help="a checkout's src/metrics folder")
    parser.add_argument("--disvae-path", default=None, help="a checkout of disentangling-vae (its root)")
    args = parser.parse_args(argv)
    repeats = 128 if args.quick else 1024
    n = 5_000 if args.quick else 12_800
    seeds = 5 if args.quick else 20
    disent = load_disent(args.disent_path)
    grid = FactorGrid(DSPRITES_SIZES, observe=observe)
    rows = bench_flatness_linearity(disent, repeats, grid)
    rows.append(bench_distances(disent, repeats, grid))
    z_row, ours, source = bench_z_max(args.ubisoft_path, seeds)
    rows.append(z_row)
    rows.extend(bench_aam(args.disvae_path, n))
    rows.append(bench_w_modularity(n))
    for row in rows:
        row["speedup"] = row["source_s"] / row["ours_s"] if row["ours_s"] > 0 else float("nan")
    print(f"repeats={repeats} (flatness/linearity/distances, dSprites-shaped factors, 10-dim code), n={n} "
          f"(aam, w_modularity), {seeds} seeds (z_max_variance); load: {os.getloadavg()[0]:.2f}")
    print_table(rows, ["metric", "value", "ours_s", "source_s", "speedup", "max_abs_diff", "source"])
    if source is not None:
        print(f"z_max_variance over {seeds} seeds: dismetrics {np.mean(ours):.4f} +- {np.std(ours):.4f}, "
              f"source {np.mean(source):.4f} +- {np.std(source):.4f}")
    return rows


if __name__ == "__main__":
    main()

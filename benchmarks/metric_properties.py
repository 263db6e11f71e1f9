"""How every metric responds to controlled damage of a perfect representation.

After Carbonneau, Zaidi, Boilard, Gagnon, "Measuring disentanglement: a review of metrics" (IEEE TNNLS
2022): a good modularity metric falls when a code dim mixes several factors, a good compactness metric
falls when a factor is spread over several code dims, a good explicitness metric falls when the factors
cannot be read out. Each experiment starts from a perfect code and damages it by one parameter.

The damaged codes are the package's known answers (``dismetrics.data.synthetic``: ``damage_map``
defines the six damages, ``damage_sample`` draws factors and codes from a seed, ``damaged_sampler`` is
the same map as a ``FactorGrid``): a grid of K = 5 factors with sizes (3, 6, 10, 8, 8), scaled to
[-1, 1] plus a small jitter N(0, 0.02^2), damaged in one of six ways (``level`` is the swept parameter):
(a) ``noise`` a = 0, 0.2, ..., 1; (b) ``rotation`` of the first k = 0..5 dims; (c) ``cos_sin`` j = 0..5
factors spread over (cos t, sin t); (d) ``nonlinear`` p = 1, 2, 4, ..., 32; (e) ``missing`` j = 0..5
factors; (f) ``duplicate`` j = 0..5 dims.

Fixed parts of a damage (the rotation, the subsets) are drawn from the repeat's seed, so the sample
metrics and the intervention metrics (beta-VAE, FactorVAE) see the same map. The intervention
metrics get a ``FactorGrid`` whose observations are the damaged codes themselves and the identity
as representation (noise dims are then a stochastic encoder: fresh noise per observation).

The metrics of the study are named in ``SAMPLE``, ``INTERVENTION`` and ``UNSUPERVISED`` (DCI also
gives completeness and informativeness from its details; a metric added to the package joins the study
when it is named there and has a ``PROPERTY``). They run with the reduced sizes of ``SETTINGS``
(written to ``settings.json``). Output under ``--out``:

* ``raw_<experiment>.csv``: every value (written after each level, so a long run keeps its results),
* ``<experiment>.png``: value against damage per metric, mean and +- 1 sd band over repeats,
* ``monotonicity.md``: per metric and experiment the expected direction, the value at no and at full
  damage, the largest step against the expected direction, and the verdict,
* ``settings.json``.

    PYTHONPATH=. python benchmarks/metric_properties.py --repeats 5      # the docs run (~18 min, 2 shared cores)
    PYTHONPATH=. python benchmarks/metric_properties.py --quick --out /tmp/mp
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dismetrics.data.synthetic import (  # noqa: E402
    DAMAGE_FACTOR_SIZES as FACTOR_SIZES,
    DAMAGE_JITTER as JITTER,
    DAMAGE_NOISE_SD as NOISE_SD,
    damage_sample,
    damaged_sampler,
)
from dismetrics.evaluate import evaluate, evaluate_codes  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "img" / "metric_properties"

SETTINGS = {
    "n": 2500,
    "repeats": 3,
    "metric_params": {
        "dci": {"n_jobs": 1},
        "dci_es": {"n_estimators": 10, "capacities": [1, 2, 4, 8, 16], "n_jobs": 1},
        "sap": {"n_jobs": 1},
        "beta_vae": {"n_train": 2000, "n_eval": 1000},
        "factor_vae": {"n_train": 1000, "n_eval": 500, "n_variance": 2500},
    },
}

QUICK_SETTINGS = {
    "n": 200,
    "repeats": 2,
    "metric_params": {
        "dci": {"n_jobs": 1, "n_estimators": 5},
        "dci_es": {"n_estimators": 3, "capacities": [1, 2], "n_jobs": 1},
        "sap": {"n_jobs": 1},
        "explicitness": {"max_iter": 20},
        "infoe": {"max_iter": 20},
        "infom": {"mi_estimator": "histogram"},
        "infoc": {"mi_estimator": "histogram"},
        "beta_vae": {"n_train": 60, "n_eval": 30, "batch_size": 8},
        "factor_vae": {"n_train": 60, "n_eval": 30, "n_variance": 200, "batch_size": 8},
    },
}

#: Extra rows taken from DCI's details: (row name, detail column).
DCI_PARTS = (("dci.completeness", "detail.completeness"), ("dci.informativeness", "detail.informativeness_test"))
#: The metrics of the study (registry names), in the order of its tables.
SAMPLE = ("mig", "wdg", "modularity", "explicitness", "dci", "sap", "irs", "mig_sup", "dcimig", "jemmig", "infom",
          "infoc", "infoe", "dci_es", "dci_es_size")
INTERVENTION = ("beta_vae", "factor_vae")
UNSUPERVISED = ("gaussian_total_correlation", "gaussian_wasserstein_correlation",
                "gaussian_wasserstein_correlation_normalized", "mutual_info_score")


def metric_names() -> list[str]:
    """Every row of the study: the sample metrics (DCI = disentanglement, plus its C and I), the
    intervention metrics, then the unsupervised scores."""
    names = []
    for name in SAMPLE:
        names.append(name)
        if name == "dci":
            names += [part for part, _ in DCI_PARTS]
    return names + list(INTERVENTION) + list(UNSUPERVISED)


def _identity(observations):
    return observations


# --------------------------------------------------------------------------- experiments and expectations

#: name -> (title, damage axis label, levels)
EXPERIMENTS = {
    "noise": ("(a) codes = (1 - a) u + a noise", "a", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    "rotation": ("(b) random rotation of the first k code dims", "k (dims rotated)", [0, 1, 2, 3, 4, 5]),
    "cos_sin": ("(c) j factors spread over (cos t, sin t), t in [0, 3pi/2]", "j (factors spread)", [0, 1, 2, 3, 4, 5]),
    "nonlinear": ("(d) z = sign(u) |u|^p", "p", [1, 2, 4, 8, 16, 32]),
    "missing": ("(e) j factors replaced by noise dims", "j (factors missing)", [0, 1, 2, 3, 4, 5]),
    "duplicate": ("(f) j code dims duplicated", "j (dims duplicated)", [0, 1, 2, 3, 4, 5]),
}

#: What each metric is meant to measure, after Carbonneau et al. (their Table of properties):
#: M modularity (a code dim holds one factor), C compactness (a factor lives in one code dim),
#: E explicitness (the factors can be read out), U unsupervised dependence between code dims
#: (lower is better), S size.
PROPERTY = {
    "mig": "C", "wdg": "C", "sap": "C", "dci.completeness": "C", "infoc": "C",
    "modularity": "M", "dci": "M", "mig_sup": "M", "infom": "M", "irs": "M",
    "beta_vae": "M", "factor_vae": "M",
    "dcimig": "MC", "jemmig": "MCE",
    "explicitness": "E", "dci.informativeness": "E", "infoe": "E", "dci_es": "E",
    "dci_es_size": "S",
    "gaussian_total_correlation": "U", "gaussian_wasserstein_correlation": "U",
    "gaussian_wasserstein_correlation_normalized": "U", "mutual_info_score": "U",
}
LINEAR_PROBES = {"explicitness", "infoe"}


def expected_direction(metric: str, experiment: str) -> str:
    """``"down"``, ``"flat"``, ``"up"`` or ``"any"`` (no claim) for a metric under a damage.

    Supervised scores: noise (a) and missing factors (e) destroy information, so every one should
    fall. Rotation (b) mixes factors in every rotated dim: modularity and compactness fall;
    information is kept (an invertible linear map), so explicitness should stay. Spreading (c) and
    duplication (f) break compactness only: compactness metrics fall, modularity and explicitness
    metrics stay. A monotone invertible map (d) keeps all information and the one-to-one structure:
    an ideal metric stays; linear probes (explicitness, InfoE) may fall, so no claim for them.
    Size S = K / d falls when c and f add dims, else it is fixed. The unsupervised scores measure
    dependence between code dims (lower is better): rotation and duplication add dependence (up);
    noise and missing factors keep the dims independent (flat); no claim for c and d.
    """
    prop = PROPERTY[metric]
    if prop == "S":
        return "down" if experiment in ("cos_sin", "duplicate") else "flat"
    if prop == "U":
        return {"noise": "flat", "missing": "flat", "rotation": "up", "duplicate": "up"}.get(experiment, "any")
    if experiment in ("noise", "missing"):
        return "down"
    if experiment == "rotation":
        return "flat" if prop == "E" else "down"
    if experiment == "nonlinear":
        return "any" if metric in LINEAR_PROBES else "flat"
    # cos_sin, duplicate: only compactness is hurt
    return "down" if "C" in prop else "flat"


# --------------------------------------------------------------------------- running


def _sample_rows(frame) -> dict[str, tuple[float, str]]:
    """metric -> (value, error) from one ``evaluate_codes`` / ``evaluate`` table."""
    out = {}
    for _, row in frame.iterrows():
        out[row["metric"]] = (float(row["value"]), str(row["error"] or ""))
        if row["metric"] == "dci":
            for part, column in DCI_PARTS:
                out[part] = (float(row.get(column, np.nan)), str(row["error"] or ""))
    return out


def score_level(experiment: str, level: float, seed: int, settings: dict) -> list[dict]:
    """All metrics on one damaged representation (one seed): rows of the raw table."""
    codes, factors = damage_sample(experiment, level, settings["n"], seed)
    params = settings["metric_params"]
    sample_params = {k: v for k, v in params.items() if k not in INTERVENTION}
    start = time.perf_counter()
    values = _sample_rows(evaluate_codes(codes, factors, metrics=list(SAMPLE + UNSUPERVISED), repeats=1,
                                         random_state=seed, metric_params=sample_params, progress=False))
    inter = evaluate(_identity, damaged_sampler(experiment, level, seed), metrics=list(INTERVENTION), repeats=1,
                     random_state=seed, metric_params={k: params[k] for k in INTERVENTION if k in params},
                     progress=False)
    values.update(_sample_rows(inter))
    seconds = time.perf_counter() - start
    return [{"experiment": experiment, "level": level, "seed": seed, "metric": name, "value": values[name][0],
             "error": values[name][1], "n_dims": codes.shape[1], "seconds_level": seconds}
            for name in metric_names() if name in values]


def run_experiment(experiment: str, settings: dict, out: Path, seeds, levels=None, log=print):
    """Score every level x seed of one experiment; rewrite ``raw_<experiment>.csv`` after each level."""
    import pandas as pd

    rows: list[dict] = []
    levels = EXPERIMENTS[experiment][2] if levels is None else levels
    for level in levels:
        for seed in seeds:
            rows += score_level(experiment, level, seed, settings)
        pd.DataFrame(rows).to_csv(out / f"raw_{experiment}.csv", index=False)
        log(f"{experiment} level {level}: {rows[-1]['seconds_level']:.1f} s per seed")
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- analysis


def summarize(raw):
    """Mean and sd (ddof = 1; 0 with one repeat) over seeds per (experiment, metric, level)."""
    grouped = raw.groupby(["experiment", "metric", "level"], sort=False)["value"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    table["std"] = table["std"].fillna(0.0)
    return table


def monotonicity(means, direction: str, tol: float) -> dict:
    """Check a curve of means (ordered by damage level) against the expected direction.

    ``down``: the largest violation is the largest rise between consecutive levels,
    ``max_l (m_{l+1} - m_l)^+``; ``up`` the largest fall; ``flat`` the largest distance from the value
    at no damage, ``max_l |m_l - m_0|``. The verdict is "yes" when the violation is at most ``tol``
    (and, for down / up, the end differs from the start by more than ``tol`` in the right
    direction; a curve that does not move is "flat" instead). ``any``: no verdict.
    """
    m = np.asarray(means, dtype=np.float64)
    steps = np.diff(m)
    start, end = m[0], m[-1]
    rise, fall = max(0.0, float(np.max(steps, initial=0.0))), max(0.0, float(-np.min(steps, initial=0.0)))
    if not np.all(np.isfinite(m)):
        observed = "nan"
    elif np.max(np.abs(m - start)) <= tol:
        observed = "flat"
    elif rise <= tol and end < start:
        observed = "down"
    elif fall <= tol and end > start:
        observed = "up"
    else:
        observed = "non-monotone"
    if direction == "down":
        violation, ok = rise, rise <= tol and start - end > tol
    elif direction == "up":
        violation, ok = fall, fall <= tol and end - start > tol
    elif direction == "flat":
        violation = float(np.max(np.abs(m - start)))
        ok = violation <= tol
    else:
        violation, ok = float("nan"), None
    return {"start": float(start), "end": float(end), "violation": float(violation), "observed": observed,
            "ok": None if ok is None else bool(ok)}


def tolerance(metric: str, means) -> float:
    """0.03 on the [0, 1] scores; for the unbounded unsupervised scores (lower is better) 3 % of their
    largest |mean|, at least 0.005 (their values on independent dims are about 0.002)."""
    if PROPERTY[metric] == "U":
        finite = np.abs(np.asarray(means, dtype=np.float64))
        finite = finite[np.isfinite(finite)]
        return max(0.005, 0.03 * float(finite.max(initial=0.0)))
    return 0.03


def monotonicity_table(summary) -> list[dict]:
    records = []
    for experiment in EXPERIMENTS:
        for metric in metric_names():
            part = summary[(summary["experiment"] == experiment) & (summary["metric"] == metric)]
            if part.empty:
                continue
            part = part.sort_values("level")
            direction = expected_direction(metric, experiment)
            tol = tolerance(metric, part["mean"].to_numpy())
            record = monotonicity(part["mean"].to_numpy(), direction, tol)
            records.append({"experiment": experiment, "metric": metric, "expected": direction, "tol": tol,
                            "sd_max": float(part["std"].max()), **record})
    return records


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return str(x)
    return f"{x:.3g}" if abs(x) >= 100 else f"{x:.3f}"


def _verdict(ok) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def write_markdown(records, path: Path, settings: dict) -> None:
    """``monotonicity.md``: a metric x experiment overview, then one table per experiment."""
    experiments = list(dict.fromkeys(r["experiment"] for r in records))
    metrics = list(dict.fromkeys(r["metric"] for r in records))
    by = {(r["experiment"], r["metric"]): r for r in records}
    lines = [
        "# Monotonicity of every metric under controlled damage",
        "",
        f"Made by `benchmarks/metric_properties.py` (n = {settings['n']}, {settings['repeats']} repeats; "
        "settings in `settings.json`). Each cell: expected direction, the mean over repeats at no "
        "damage → at full damage, and whether the means follow the expected direction (yes / **no**; `-`: no "
        "expectation). down: no rise between consecutive "
        "levels above the tolerance and a fall of more than it overall; flat: never further than the "
        "tolerance from the undamaged value; up: the mirror of down. Tolerance 0.03 (unsupervised "
        "scores: 3 % of their largest value, at least 0.005).",
        "",
        "| metric | " + " | ".join(experiments) + " |",
        "|---|" + "---|" * len(experiments),
    ]
    for metric in metrics:
        cells = []
        for experiment in experiments:
            r = by.get((experiment, metric))
            cells.append("" if r is None else f"{r['expected']}: {_fmt(r['start'])} → {_fmt(r['end'])} {_verdict(r['ok'])}")
        lines.append(f"| `{metric}` | " + " | ".join(cells) + " |")
    for experiment in experiments:
        title, axis, levels = EXPERIMENTS[experiment]
        lines += [
            "",
            f"## {title}",
            "",
            f"Damage {axis} = {', '.join(str(x) for x in levels)}. Columns: value at no damage and at full "
            "damage (means over repeats), largest step against the expected direction (flat: largest "
            "distance from the undamaged value), largest sd over repeats, observed shape, verdict.",
            "",
            "| metric | expected | no damage | full damage | largest violation | max sd | observed | monotone as expected |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for metric in metrics:
            r = by.get((experiment, metric))
            if r is None:
                continue
            violation = "-" if r["expected"] == "any" else _fmt(r["violation"])
            lines.append(f"| `{metric}` | {r['expected']} | {_fmt(r['start'])} | {_fmt(r['end'])} | {violation} | "
                         f"{_fmt(r['sd_max'])} | {r['observed']} | {_verdict(r['ok'])} |")
    path.write_text("\n".join(lines) + "\n")


def plot_experiment(summary, experiment: str, path: Path, dpi: int = 80) -> None:
    """One figure: a small panel per metric, mean over repeats with a +- 1 sd band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title, axis, _ = EXPERIMENTS[experiment]
    part = summary[summary["experiment"] == experiment]
    metrics = [m for m in metric_names() if m in set(part["metric"])]
    cols = 6
    rows = int(np.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.1 * cols, 1.75 * rows), squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics):
        curve = part[part["metric"] == metric].sort_values("level")
        x, m, s = curve["level"].to_numpy(float), curve["mean"].to_numpy(float), curve["std"].to_numpy(float)
        direction = expected_direction(metric, experiment)
        color = {"down": "C0", "flat": "C2", "up": "C3", "any": "C7"}[direction]
        ax.plot(x, m, "o-", color=color, ms=3, lw=1.2)
        ax.fill_between(x, m - s, m + s, color=color, alpha=0.25, lw=0)
        ax.set_title(f"{metric.replace('gaussian_', 'g_').replace('wasserstein_correlation', 'wc')} ({direction})",
                     fontsize=7)
        ax.tick_params(labelsize=6)
        if experiment == "nonlinear":
            ax.set_xscale("log", base=2)
        if PROPERTY[metric] != "U":
            lo, hi = min(0.0, np.nanmin(m - s)), max(1.0, np.nanmax(m + s))
            if np.isfinite(lo) and np.isfinite(hi):
                ax.set_ylim(lo - 0.05, hi + 0.05)
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"{title}; x: {axis}; mean +- 1 sd; colour: expected direction", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


# --------------------------------------------------------------------------- CLI


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for figures, CSVs and the table")
    parser.add_argument("--repeats", type=int, default=None, help="seeds per level (default 3; quick: 2)")
    parser.add_argument("--n", type=int, default=None, help="points per evaluation (default 2500; quick: 200)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and two levels per experiment (a smoke test)")
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS), help="comma-separated subset")
    parser.add_argument("--analyse-only", action="store_true", help="redo figures and table from the raw CSVs in --out")
    args = parser.parse_args(argv)

    import warnings

    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # the quick sizes stop lbfgs early

    settings = json.loads(json.dumps(QUICK_SETTINGS if args.quick else SETTINGS))
    if args.repeats is not None:
        settings["repeats"] = args.repeats
    if args.n is not None:
        settings["n"] = args.n
    experiments = [e for e in args.experiments.split(",") if e]
    unknown = [e for e in experiments if e not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiments {unknown}; known: {list(EXPERIMENTS)}")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.analyse_only and (out / "settings.json").exists():
        settings = json.loads((out / "settings.json").read_text())
    seeds = list(range(settings["repeats"]))
    settings.update({"factor_sizes": list(FACTOR_SIZES), "jitter_sd": JITTER, "noise_sd": float(NOISE_SD),
                     "seeds": seeds, "quick": bool(args.quick),
                     "levels": {e: (EXPERIMENTS[e][2][:: len(EXPERIMENTS[e][2]) - 1] if args.quick else EXPERIMENTS[e][2])
                                for e in experiments},
                     "command": "python benchmarks/metric_properties.py " + " ".join(argv if argv is not None else sys.argv[1:])})
    raws = []
    for experiment in experiments:
        if args.analyse_only:
            raws.append(pd.read_csv(out / f"raw_{experiment}.csv"))
            continue
        start = time.perf_counter()
        raws.append(run_experiment(experiment, settings, out, seeds, levels=settings["levels"][experiment]))
        settings.setdefault("seconds", {})[experiment] = round(time.perf_counter() - start, 1)
        (out / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")
    raw = pd.concat(raws, ignore_index=True)
    summary = summarize(raw)
    summary.to_csv(out / "summary.csv", index=False)
    for experiment in experiments:
        plot_experiment(summary, experiment, out / f"{experiment}.png")
    records = monotonicity_table(summary)
    pd.DataFrame(records).to_csv(out / "monotonicity.csv", index=False)
    write_markdown(records, out / "monotonicity.md", settings)
    print(f"wrote {len(experiments)} figures, summary.csv, monotonicity.md to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

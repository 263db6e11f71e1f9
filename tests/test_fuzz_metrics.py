"""Fuzz every public metric with bad and odd input (docs/conventions.md, "Bad input").

Hypothesis draws the shape (0 to 60 rows, 0 to 5 code dims, 1 to 3 factors), the dtypes of codes and
factors, the scale and shift of the codes (1e-310 to 1.7e308), where NaN or infinities sit, the
cardinality of every factor (one value, two, a few, all distinct, huge labels, non-integral floats),
a test split or not, and the metric's keyword parameters (valid, invalid and absurd values, e.g.
``bins=10**9``). The metrics are not hand-picked: the test walks ``SAMPLE_METRICS``,
``UNSUPERVISED_METRICS`` and ``INTERVENTION_METRICS`` (the last on a tiny ``FactorGrid``; the metrics of
the encoder's posterior, :data:`POSTERIOR_METRICS`, with an encoder that returns ``(mean, logvar)``, the
log-variances fine or bad: absent, NaN, infinite, huge, of the wrong shape), and every keyword parameter
of every metric needs a strategy below (a new one fails ``test_every_parameter_has_a_strategy`` until it
gets one; :data:`METRIC_PARAM_STRATEGIES` holds those whose valid values depend on the metric).

Every call must end in one of two ways:

- a ``ValueError`` whose message names one of the call's arguments (``codes``, ``factors``,
  ``codes_test``, ``factors_test``, ``representation``, ``sampler`` or a parameter), or
- a finite value in the metric's documented range (:data:`RANGES`, from the docstrings and docs pages).

Anything else fails: another exception type (numba errors, ``ZeroDivisionError``, ``MemoryError``,
``LinAlgError``, sklearn's own messages that name no argument), NaN or infinity, a value out of range,
or an example slower than the deadline (a hang: ``faulthandler`` ends the run with a traceback after
:data:`HANG_SECONDS`). Hypothesis is derandomized here, so CI sees the same examples on every run.
"""

from __future__ import annotations

import collections
import faulthandler
import inspect
import math
import os
import re
import time
import warnings
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dismetrics.data import FactorGrid
from dismetrics.metrics import INTERVENTION_METRICS
from dismetrics.metrics import SAMPLE_METRICS, UNSUPERVISED_METRICS

INF = math.inf

#: The documented range of every metric's value (docstrings and docs pages), with its default
#: parameters; :func:`value_range` adjusts it where a parameter changes it.
RANGES = {
    "mig": (0.0, 1.0),
    "wdg": (0.0, 0.5),  # normalize "minmax" / "rank"; [0, inf) for "std" and None (value_range)
    "modularity": (0.0, 1.0),
    "explicitness": (0.0, 1.0),
    "dci": (0.0, 1.0),
    "sap": (0.0, 1.0),
    "irs": (-1.0, 1.0),
    "mig_sup": (0.0, 1.0),
    "dcimig": (0.0, 1.0),
    "jemmig": (0.0, 1.0),
    "infom": (0.0, 1.0),
    "infoc": (0.0, 1.0),
    "infoe": (-INF, 1.0),
    "dci_es": (0.0, 1.0),  # explicitness="paper"; [-1, 1] for "authors_code" (value_range)
    "dci_es_size": (0.0, INF),
    "gaussian_total_correlation": (0.0, INF),
    "gaussian_wasserstein_correlation": (0.0, INF),
    "gaussian_wasserstein_correlation_normalized": (0.0, 2.0),
    "mutual_info_score": (0.0, INF),  # at most log(bins) nats (value_range)
    "beta_vae": (0.0, 1.0),
    "factor_vae": (0.0, 1.0),
    # the metric atlas (issue 20): docs pages and the registry specs' value_range
    "w_modularity": (0.0, 1.0),
    "aam_binned": (0.0, 1.0),
    "aam": (0.0, 1.0),
    "chen_mig": (0.0, 1.0),
    "dmig": (-INF, INF),  # k-NN estimates: can leave [-1, 1] (docs/dmig.md; spec (-inf, None))
    "xmig": (-INF, INF),
    "dlig": (-INF, INF),
    "downstream_logistic_regression": (0.0, 1.0),  # a test accuracy
    "downstream_boosted_trees": (0.0, 1.0),
    "z_max_variance": (-1.0, 1.0),
    "flatness": (0.0, 1.0),
    "linearity": (0.0, 1.0),
    "distances": (-1.0, 1.0),
    "sepin": (-INF, INF),  # nats; the quantities are >= 0, their sampling estimates can be a little below
    "indin": (-INF, INF),  # (spec value_range (-inf, None), dismetrics/metrics/sepin_indin.py)
    "fairness": (0.0, 1.0),
}

#: Examples per metric (hypothesis ``max_examples``): many for the fast ones, fewer where one call
#: fits classifiers. A metric not listed gets DEFAULT_EXAMPLES.
EXAMPLES = {
    "dci": 60, "sap": 60, "explicitness": 40, "infoe": 30, "infom": 30, "infoc": 30, "dci_es": 40,
    "beta_vae": 30, "factor_vae": 40,
    # the metric atlas: fewer where one call fits classifiers or k-NN estimators (0.3 s and 0.8 s a call on
    # a loaded 2-core machine); the intervention ones on tiny grids take milliseconds (fairness: more
    # examples, most of its draws are refused: one factor, codes beyond float32)
    "dmig": 150, "xmig": 150, "dlig": 150, "downstream_logistic_regression": 80, "downstream_boosted_trees": 150,
    "aam_binned": 150, "w_modularity": 150,
    "aam": 200, "chen_mig": 200, "sepin": 200, "indin": 200, "z_max_variance": 200, "flatness": 200,
    "linearity": 200, "distances": 200, "fairness": 300,
}
DEFAULT_EXAMPLES = 100
#: The per-example time limit (hypothesis ``deadline``) and the hard hang guard (faulthandler).
DEADLINE = timedelta(seconds=20)
HANG_SECONDS = 120

#: Examples tried, per metric and outcome ("value" or "refused"); printed by the last test.
COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

SETTINGS = dict(deadline=DEADLINE, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# ---- parameter strategies, by parameter name --------------------------------------------------------

BAD = ["nope", None, -1, 2.5, float("nan")]


def values(good, bad=BAD):
    """One of the ``good`` values three times in four, else one of the ``bad`` (invalid or absurd) ones."""
    return st.integers(0, 3).flatmap(lambda i: st.sampled_from(bad) if i == 3 else st.sampled_from(good))


NAN = float("nan")
#: Every keyword parameter of every metric: the values to try (valid ones, and invalid or absurd ones).
#: Costly parameters (tree counts, iterations) stay small among the valid values: a slow but valid call
#: is not a bug; absurd sizes (bins=10**9, n_train=10**12) are among the bad ones.
PARAM_STRATEGIES = {
    "bins": values([20, 2, 3, 7, 1_000], [1, 0, 1_001, 10**9, 2.5, None, "20"]),
    "factor_bins": values([20, None, 2, 5], [1, 0, 10**9, 2.5]),
    "random_state": st.one_of(values([0, 1, 12345, 2**31], [-1, "seed", 1.5]), st.builds(np.random.default_rng, st.integers(0, 9))),
    "normalize": values(["minmax", "std", "rank", None]),
    "estimator": values(["exact", "paper_code"]),
    "codes_test": st.just(None),  # the drawn test sample is passed instead
    "factors_test": st.just(None),
    "logistic": values(["lbfgs", "liblinear_ovr"]),
    "max_iter": values([100, 1, 5], [0, -3, 2.0]),
    "backend": values(["numba", "sklearn", "xgboost"]),
    "factor_types": values(["discrete", "continuous", ("continuous", "discrete", "discrete")], ["both", 3, ["discrete"] * 7]),
    "n_estimators": values([5, 1, 2], [0, -1, 1.5]),
    "max_depth": values([3, 1, 2], [0, 2.0]),
    "learning_rate": values([0.1, 1.0, 0.5], [0.0, -0.5, NAN, "0.1"]),
    "tie_break": values(["random", "first"]),
    "n_jobs": values([None, 1, 2, -1], [0, -7, 1.5]),
    "discrete": values([True, False], [1, "yes"]),
    "dual": values([False, True, "auto"], ["primal"]),
    "diff_quantile": values([0.99, 0.0, 1.0, 0.5], [-0.1, 1.5, NAN, True]),
    "active_variance": values([None, 0.0, 0.01, 1e300], [-1.0, NAN, "x"]),
    "mi_estimator": values(["knn", "histogram", "discrete"]),
    "n_neighbors": values([10, 1, 3, 1_000], [0, -2]),
    "active_range_fraction": values([0.05, 0.0, 0.5, 0.999], [1.0, -0.1, NAN]),
    "discrete_latents": values([False, True], [1, "no"]),
    "probe": values(["random_forest", "mlp"]),
    "capacities": values([(1, 2), (1, 3, 8), (0, 4)], [(1,), (2, 2), (0, 10**6), ("a", "b")]),
    "mlp_max_iter": values([3, 1], [0]),
    "test_fraction": values([1 / 3, 0.5, 0.1], [0.0, 1.0, -1.0, NAN]),
    "lowest_loss": values([0.0, 0.5, 0.99], [1.0, -0.5]),
    "explicitness": values(["paper", "authors_code"]),
    "factor_kind": values([None, "classification", "regression"], ["both", 3, ["regression"] * 7]),  # deprecated
    # intervention metrics
    "factors": values([None, [0, 1], ["factor_0", 1], "factor_1", [0]], [["nope"], [7], [True]]),
    "preset": values(["disentanglement_lib", "wtc_paper"]),
    "batch_size": values([8, 2, 3], [1, 0, 10**9, 2.0]),
    "n_train": values([20, 2, 50], [1, 0, 10**12]),
    "n_eval": values([10, 1, 30], [0, 10**12]),
    "n_variance": values([50, 2, 100], [1, 10**12]),
    "active_threshold": values([0.05, 0.0, 1e300, 1e-300], [-1.0, NAN, float("inf")]),
    "active_on": values(["std", "variance"]),
    "chunk_size": values([64, 1, 7], [0, 10**12]),
    "progress": st.just(False),
    # the metric atlas (issue 20)
    "reg_dim": values([None, [0, 1], [1, 0], (0,)], ["0", 3, [0, 0], [99, 0], [-1, 1], [0.5, 1], [True, 0]]),
    "train_sizes": values([(10,), (5, 10), (2, 12), 10], [(), (1,), (5, 5), "10", (10**12,), (2.5,), None]),
    "shuffle": values([True, False], [1, "yes"]),
    "n_samples": values([50, 1, 12, 200], [0, -1, 10**12, 2.5]),
    "encoding": values(["auto", "direct", "table"]),
    "std_threshold": values([0.05, 0.0, 1e300], [-1.0, NAN, float("inf"), "0.05"]),
    "scale": values([True, False], [1, "yes"]),
    "repeats": values([8, 1, 3], [0, -1, 10**12, 2.5]),
    "num_samples": values([8, 1, 3], [0, 10**12]),
    "global_subset_size": values([8, 2, 5], [1, 0, 10**12]),
    "k": values([None, 1, 2], [0, -1, 99, 2.5, "all"]),
    "n_points": values([30, 2, 60], [1, 0, 10**12]),
    "mean": values([None], [np.zeros((5, 2)), "x"]),  # an encoded sample without its logvar (or junk)
    "logvar": values([None], [np.zeros((5, 2)), np.full((5, 2), NAN)]),
    "n_test_points_per_class": values([5, 1, 20], [0, 10**12]),
    "score": values(["x"]),  # by metric: METRIC_PARAM_STRATEGIES
}

#: Parameters whose valid values depend on the metric (metric -> parameter -> strategy); they replace
#: PARAM_STRATEGIES' entry for that metric only.
METRIC_PARAM_STRATEGIES = {
    "aam": {"estimator": values(["qzx", "disvae_code"], ["exact", "nope", None, 3])},
    "linearity": {"score": values(["linear_ratio", "axis_ratio", "axis_alignment", "axis_ratio_ave"],
                                  ["rsame_ground_latent.l1.global", "nope", None, 3])},
    "distances": {"score": values(["rcorr_ground_latent.l2.global", "rsame_ground_latent.l1.factor",
                                   "lcorr_latent_data.l2.global", "rcorr_ground_data.factor",
                                   "lcorr_ground_latent.l1.factor"],
                                  ["linear_ratio", "rcorr", "nope", None])},
}


def parameter_strategy(metric: str, parameter: str):
    return METRIC_PARAM_STRATEGIES.get(metric, {}).get(parameter, PARAM_STRATEGIES[parameter])

#: Small values the intervention metrics start from (their defaults draw 10,000 points of 64); only the
#: parameters a metric takes are passed.
INTERVENTION_BASE = {"batch_size": 8, "n_train": 20, "n_eval": 10, "n_variance": 50, "progress": False,
                     # the metric atlas (defaults: 10,000 samples or 1,024 repeats)
                     "n_samples": 50, "n_points": 30, "repeats": 8, "num_samples": 8, "global_subset_size": 8,
                     "n_test_points_per_class": 5}


def intervention_base(func) -> dict:
    return {key: value for key, value in INTERVENTION_BASE.items() if key in keyword_parameters(func)}
#: Costly parameters the sample metrics start from; the fuzz overrides them within PARAM_STRATEGIES.
SAMPLE_BASE = {"dci": {"n_estimators": 5, "n_jobs": 1},
               "dci_es": {"n_estimators": 3, "capacities": (1, 2, 4), "mlp_max_iter": 20, "n_jobs": 1},
               "sap": {"n_jobs": 1},
               "dmig": {"n_jobs": 1}, "xmig": {"n_jobs": 1}, "dlig": {"n_jobs": 1},
               "downstream_logistic_regression": {"train_sizes": (10,)},  # 2-4 s a call (a 5-fold CV per C)
               "downstream_boosted_trees": {"train_sizes": (10,)}}


def keyword_parameters(func) -> list[str]:
    return [p.name for p in inspect.signature(func).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def value_range(name: str, params: dict) -> tuple[float, float]:
    low, high = RANGES[name]
    if name == "wdg" and params.get("normalize", "minmax") in ("std", None):
        high = INF
    if name == "dci_es" and params.get("explicitness") == "authors_code":
        low = -INF  # no clipping: a probe worse than the baseline (1 - R^2 > 1) goes below -1
    if name == "mutual_info_score":
        high = math.log(params.get("bins", 20))
    return low, high


# ---- inputs ---------------------------------------------------------------------------------------

SCALES = [1e-310, 1e-300, 1e-100, 1e-30, 1e-8, 1e8, 1e30, 1e39, 1e100, 1e200, 1e300, 1.7e308]
SHIFTS = [1.0, -1e6, 1e20, 1e300]
#: The one oddity of an example (most examples have none, or one, so that the metric also computes).
FAULTS = ["none"] * 6 + ["scale", "scale", "shift", "dtype", "nonfinite", "cardinality", "labels", "structure",
                        "shape", "rows", "test_split"]
CARDINALITIES = ["binary", "few", "some", "all_distinct", "one_value", "mixed"]
STRUCTURES = ["constant_dim", "duplicate_dim", "ties", "constant_all", "noise"]


@st.composite
def samples(draw):
    """(codes, factors, codes_test, factors_test): a clean sample with at most one of the oddities of
    the module docstring (scale, shift, dtype, NaN/inf, cardinality, labels, structure, shape, row
    count, test split)."""
    fault = draw(st.sampled_from(FAULTS))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.sampled_from([0, 1, 2, 3, 5]) if fault == "rows" else st.sampled_from([12, 30, 60]))

    def pick(oddity, odd, normal):
        """One of ``odd`` when this example's oddity is ``oddity``, else one of ``normal``."""
        return draw(st.sampled_from(odd if fault == oddity else normal))

    d = draw(st.integers(0, 1) if fault == "shape" and draw(st.booleans()) else st.integers(2, 5))
    k = draw(st.sampled_from([2, 3, 1]))
    cardinality = pick("cardinality", CARDINALITIES, ["binary", "few", "some"])
    labels = pick("labels", ["negative", "huge", "float", "float_fractional", "bool", "uint8", "float_huge"], ["index"])
    structure = pick("structure", STRUCTURES, ["informative"])
    scale = pick("scale", SCALES + [-s for s in SCALES], [1.0, 3.0, -2.0])
    shift = pick("shift", SHIFTS, [0.0])
    dtype = pick("dtype", ["float32", "float16", "int64", "bool", "int8", "complex", "object"], ["float64"])
    nonfinite = pick("nonfinite", [np.nan, np.inf, -np.inf], [None])
    nonfinite_in = draw(st.sampled_from(["codes", "factors", "codes_test", "factors_test"]))

    def factor_columns(rows):
        columns = []
        for j in range(k):
            kind = cardinality if cardinality != "mixed" else CARDINALITIES[j % 5]
            m = {"binary": 2, "few": 4, "some": 12, "all_distinct": max(rows, 1), "one_value": 1}[kind]
            columns.append(rng.permutation(rows) % m if kind == "all_distinct" else rng.integers(0, m, size=rows))
        return np.stack(columns, axis=1)

    def relabel(f):
        return {"negative": lambda: f - 5, "huge": lambda: f * 10**15 + 7, "float": lambda: f.astype(np.float64),
                "float_fractional": lambda: f + 0.5, "bool": lambda: f.astype(bool), "uint8": lambda: f.astype(np.uint8),
                "float_huge": lambda: f * 1e300, "index": lambda: f}[labels]()

    def make_codes(f):
        z = rng.standard_normal((f.shape[0], d))
        if structure == "informative" and d:
            z[:, : min(d, k)] = f[:, : min(d, k)] + 0.1 * z[:, : min(d, k)]
        elif structure == "constant_dim" and d:
            z[:, 0] = 2.0
        elif structure == "duplicate_dim" and d >= 2:
            z[:, 1] = z[:, 0]
        elif structure == "ties":
            z = np.round(z)
        elif structure == "constant_all":
            z[:] = 1.0
        return z

    def finish(z, f, which):
        with np.errstate(all="ignore"):
            z = z * scale + shift
            if dtype in ("int64", "int8") and np.isfinite(z).all() and (np.abs(z) < 100).all():
                z = z.astype(dtype)
            elif dtype == "bool":
                z = z > np.median(z) if z.size else z.astype(bool)
            elif dtype in ("float32", "float16"):
                z = z.astype(dtype)
            elif dtype == "complex":
                z = z + 1j
            elif dtype == "object":
                z = z.astype(object)
        f = relabel(f)
        if nonfinite is not None and nonfinite_in.endswith(which or "s") and z.size and f.size:
            if nonfinite_in.startswith("codes"):
                z = z.astype(np.float64)
                z[rng.integers(0, z.shape[0]), rng.integers(0, z.shape[1])] = nonfinite
            else:
                f = f.astype(np.float64)
                f[rng.integers(0, f.shape[0]), rng.integers(0, f.shape[1])] = nonfinite
        return z, f

    factors = factor_columns(n)
    codes, factors = finish(make_codes(factors), factors, "")
    codes_test = factors_test = None
    if fault == "test_split" or (nonfinite_in.endswith("_test") and nonfinite is not None) or draw(st.integers(0, 3)) == 0:
        n_test = draw(st.sampled_from([0, 1, 2, 5])) if fault == "test_split" else 20
        f_test = factor_columns(n_test)
        codes_test, factors_test = finish(make_codes(f_test), f_test, "_test")
        if fault == "test_split" and draw(st.booleans()) and codes_test.shape[1]:
            codes_test = codes_test[:, :-1]  # one dim fewer than codes
        if fault == "test_split" and draw(st.integers(0, 3)) == 0:
            codes_test = None  # factors_test alone
    if fault == "shape":
        layout = draw(st.sampled_from(["codes_1d", "factors_1d", "codes_3d", "list", "factor_rows", "none"]))
        if layout == "codes_1d" and codes.shape[1]:
            codes = codes[:, 0]
        elif layout == "factors_1d":
            factors = factors[:, 0]
        elif layout == "codes_3d":
            codes = codes[..., None]
        elif layout == "list":
            codes, factors = codes.tolist(), factors.tolist()
        elif layout == "factor_rows":
            factors = factors[:-1]
        elif layout == "none":
            codes = None
    return codes, factors, codes_test, factors_test, fault


@st.composite
def overrides(draw, func, base: dict, metric: str = ""):
    """Keyword arguments: the base values, each parameter overridden with probability about 1/5."""
    params = dict(base)
    for name in keyword_parameters(func):
        if name in ("codes_test", "factors_test"):
            continue
        if draw(st.integers(0, 4)) == 0:
            params[name] = draw(parameter_strategy(metric, name))
    return params


# ---- the checks ----------------------------------------------------------------------------------

def names_an_argument(message: str, func, extra=()) -> bool:
    names = {"codes", "factors", "codes_test", "factors_test", *extra, *keyword_parameters(func)}
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z])", message) for name in names)


def check_call(name: str, func, call, params: dict, extra_names=(), count: bool = True):
    """Run one call; return its value (or None when it was refused)."""
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's and numpy's warnings are not the subject here
            result = call()
    except ValueError as error:
        message = str(error)
        assert names_an_argument(message, func, extra_names), f"{name}: ValueError naming no argument: {message}"
        COUNTS[name]["refused"] += count
        if os.environ.get("DISMETRICS_FUZZ_VERBOSE"):
            print(f"fuzz {name} refused: {message[:160]}")
        return None
    finally:
        faulthandler.cancel_dump_traceback_later()
        if os.environ.get("DISMETRICS_FUZZ_VERBOSE"):
            print(f"fuzz {name} took {time.perf_counter() - started:.2f} s with {params}")
    value = float(result)
    assert math.isfinite(value), f"{name} returned {value} (params {params})"
    low, high = value_range(name, params)
    tolerance = 1e-9
    covariance = result.details.get("covariance") if hasattr(result, "details") else None
    if covariance is not None:  # the Wasserstein correlation's rounding is relative to tr C
        tolerance = 1e-9 * max(1.0, float(np.trace(np.asarray(covariance, dtype=np.float64))))
    assert low - tolerance <= value <= high + tolerance, f"{name} = {value} outside its range [{low}, {high}] (params {params})"
    COUNTS[name]["value"] += count
    return value


#: Exponents k of the exact rescaling codes * 2**k of the invariance check (from far below to far
#: above the range where float64 arithmetic on the codes is safe).
EXPONENTS = [-1000, -700, -300, -4, 20, 100, 300, 700, 1000]


def invariant_to_common_scale(name: str, params: dict, exponent: int) -> bool:
    """Whether the docs promise ``metric(codes * s) == metric(codes)`` for this s = 2**exponent > 0
    (powers of two are exact, so the promise holds to rounding; a refusal is allowed too)."""
    if name in ("sap", "gaussian_wasserstein_correlation") or name in INTERVENTION_METRICS:
        return False  # SAP depends on the scale (docs/sap.md); the GWC grows with its square
    if name == "wdg" and params.get("normalize", "minmax") is None:
        return False
    if name == "mig_sup" and params.get("active_variance") is not None:
        return False
    if name == "dci_es" and params.get("probe", "random_forest") == "mlp":
        return False
    if name in ("dci", "dci_es") and exponent < -4:
        return False  # the trees ignore differences below 1e-7 (docs/dci.md)
    if name == "downstream_logistic_regression":
        return False  # the L2 penalty and the C grid depend on the scale (docs/downstream_task.md)
    if name == "downstream_boosted_trees" and exponent < -4:
        return False  # as the trees of DCI
    if name == "w_modularity" and params.get("normalize", "minmax") is None:
        return False  # as WDG
    return name in RANGES


def check_scale_invariance(name, func, call_with_scale, params, value, exponent):
    """The value of the codes times 2**exponent: refused, or the same value (to 1e-9)."""
    if value is None or not invariant_to_common_scale(name, params, exponent):
        return
    seed = params.get("random_state", inspect.signature(func).parameters.get("random_state", inspect.Parameter("x", 3)).default)
    deterministic = name == "wdg" and params.get("estimator", "exact") == "exact"  # random_state unused
    if (seed is None or isinstance(seed, np.random.Generator)) and not deterministic:
        return  # two calls would draw different random numbers
    scaled = check_call(name, func, lambda: call_with_scale(2.0**exponent), params, count=False)
    COUNTS[name]["scale checks"] += 1
    if scaled is not None:
        assert scaled == pytest.approx(value, rel=1e-9, abs=1e-12), \
            f"{name}: codes x 2**{exponent} gives {scaled}, codes give {value} (params {params})"
        COUNTS[name]["scale checks equal"] += 1


def _times(array, scale):
    return None if array is None else np.asarray(array, dtype=np.float64) * scale


def _warm(func, *args, **kwargs):
    """One valid call first, so numba's compilation does not count against the deadline."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            func(*args, **kwargs)
        except ValueError:
            pass


def _warm_sample(name):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 3, size=(60, 2))
    codes = np.hstack([factors + 0.1 * rng.standard_normal((60, 2)), rng.standard_normal((60, 1))])
    func = SAMPLE_METRICS.get(name) or UNSUPERVISED_METRICS[name]
    if name in SAMPLE_METRICS:
        _warm(func, codes, factors, **SAMPLE_BASE.get(name, {}))
    else:
        _warm(func, codes)


@pytest.mark.parametrize("name", sorted(SAMPLE_METRICS))
def test_sample_metric_fuzz(name):
    func = SAMPLE_METRICS[name]
    _warm_sample(name)
    takes_test = "codes_test" in keyword_parameters(func)

    @settings(max_examples=EXAMPLES.get(name, DEFAULT_EXAMPLES), **SETTINGS)
    @given(sample=samples(), params=overrides(func, SAMPLE_BASE.get(name, {}), name), exponent=st.sampled_from(EXPONENTS))
    def run(sample, params, exponent):
        codes, factors, codes_test, factors_test, fault = sample
        test = {}
        if takes_test and codes_test is not None:
            test = {"codes_test": codes_test, "factors_test": factors_test}
        elif takes_test and factors_test is not None:  # a test sample of factors only
            test = {"factors_test": factors_test}
        value = check_call(name, func, lambda: func(codes, factors, **params, **test), params)
        if fault == "none":
            def call_with_scale(scale):
                moved = {**test, "codes_test": _times(test["codes_test"], scale)} if "codes_test" in test else test
                return func(_times(codes, scale), factors, **params, **moved)

            check_scale_invariance(name, func, call_with_scale, params, value, exponent)

    run()


@pytest.mark.parametrize("name", sorted(UNSUPERVISED_METRICS))
def test_unsupervised_metric_fuzz(name):
    func = UNSUPERVISED_METRICS[name]
    _warm_sample(name)

    @settings(max_examples=EXAMPLES.get(name, DEFAULT_EXAMPLES), **SETTINGS)
    @given(sample=samples(), params=overrides(func, {}, name), exponent=st.sampled_from(EXPONENTS))
    def run(sample, params, exponent):
        codes, fault = sample[0], sample[-1]
        value = check_call(name, func, lambda: func(codes, **params), params)
        if fault == "none":
            check_scale_invariance(name, func, lambda scale: func(_times(codes, scale), **params), params, value, exponent)

    run()


@st.composite
def samplers(draw):
    """A tiny FactorGrid and an encoder: identity codes times a scale, plus noise or constant dims."""
    sizes = draw(st.sampled_from([[3, 4], [2, 2, 5], [4]]))
    scale = draw(st.sampled_from([1.0, 1.0, 1.0, 1e-30, 1e-8, 1e8, 1e39, 1e200, 1.7e308]))
    kind = draw(st.sampled_from(["identity", "identity", "noise", "constant", "nan", "wrong_rows"]))
    grid = FactorGrid(sizes, observe=lambda f, rng: f + rng.normal(0.0, 0.1, f.shape))

    def encoder(x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore"):
            if kind == "noise":
                return np.hstack([x * scale, np.random.default_rng(0).standard_normal((len(x), 1))])
            if kind == "constant":
                return np.hstack([x * scale, np.ones((len(x), 1))])
            if kind == "nan":
                return np.where(x > 1, np.nan, x)
            if kind == "wrong_rows":
                return x[:-1] * scale
            return x * scale

    return grid, encoder


#: Metrics of the encoder's posterior q(z|x): they need an encoder that returns (mean, logvar).
POSTERIOR_METRICS = {"chen_mig", "aam", "sepin", "indin"}
LOGVAR_KINDS = ["fine"] * 5 + ["varying"] * 3 + ["codes_only", "nan", "huge", "tiny", "wrong_shape", "one_dim", "inf"]


@st.composite
def posterior_samplers(draw):
    """A tiny FactorGrid and an encoder returning ``(mean, logvar)``: the mean as in :func:`samplers`,
    the log-variance fine (constant or varying per point), or bad: absent, NaN, infinite, huge
    (1e300 or 800), tiny (-800), of the wrong shape, or the code one-dimensional."""
    sizes = draw(st.sampled_from([[3, 4], [2, 2, 5], [3, 4], [4]]))
    scale = draw(st.sampled_from([1.0, 1.0, 1.0, 1.0, 1e-30, 1e-8, 1e8, 1e39, 1e200, 1.7e308]))
    kind = draw(st.sampled_from(["identity", "identity", "identity", "noise", "constant", "wrong_rows"]))
    logvar_kind = draw(st.sampled_from(LOGVAR_KINDS))
    huge = draw(st.sampled_from([1e300, 800.0, 701.0]))
    grid = FactorGrid(sizes, observe=lambda f, rng: f + rng.normal(0.0, 0.1, f.shape))

    def encoder(x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore"):
            mean = x * scale
            if kind == "noise":
                mean = np.hstack([mean, np.random.default_rng(0).standard_normal((len(x), 1))])
            elif kind == "constant":
                mean = np.hstack([mean, np.ones((len(x), 1))])
            elif kind == "wrong_rows":
                mean = mean[:-1]
        if logvar_kind == "one_dim":
            return mean[:, :1], np.zeros((len(mean), 1))
        logvar = np.full(mean.shape, np.log(0.25))
        if logvar_kind == "codes_only":
            return mean
        if logvar_kind == "varying":
            logvar = logvar + np.tanh(x.sum(axis=1, keepdims=True))[: len(mean)]
        elif logvar_kind == "nan" and logvar.size:
            logvar[0, 0] = np.nan
        elif logvar_kind == "inf" and logvar.size:
            logvar[-1, -1] = -np.inf
        elif logvar_kind == "huge":
            logvar[:, 0] = huge
        elif logvar_kind == "tiny":
            logvar[:, -1] = -huge
        elif logvar_kind == "wrong_shape":
            logvar = logvar[:, :-1]
        return mean, logvar

    return grid, encoder


def _posterior_identity(x):
    x = np.asarray(x, dtype=np.float64)
    return x, np.full(x.shape, np.log(0.25))


@pytest.mark.parametrize("name", sorted(INTERVENTION_METRICS))
def test_intervention_metric_fuzz(name):
    func = INTERVENTION_METRICS[name]
    posterior = name in POSTERIOR_METRICS
    identity = _posterior_identity if posterior else (lambda x: np.asarray(x, dtype=np.float64))
    _warm(func, identity, FactorGrid([3, 4]), **intervention_base(func))

    pairs = posterior_samplers() if posterior else samplers()

    @settings(max_examples=EXAMPLES.get(name, DEFAULT_EXAMPLES), **SETTINGS)
    @given(pair=pairs, params=overrides(func, intervention_base(func), name))
    def run(pair, params):
        grid, encoder = pair
        check_call(name, func, lambda: func(encoder, grid, **params), params, extra_names=("representation", "sampler"))

    run()


def test_every_metric_has_a_documented_range():
    registered = {*SAMPLE_METRICS, *UNSUPERVISED_METRICS, *INTERVENTION_METRICS}
    assert registered <= set(RANGES), f"give {sorted(registered - set(RANGES))} a documented range here and in its docs"


def test_every_parameter_has_a_strategy():
    functions = [*SAMPLE_METRICS.values(), *UNSUPERVISED_METRICS.values(), *INTERVENTION_METRICS.values()]
    missing = {name for func in functions for name in keyword_parameters(func)} - set(PARAM_STRATEGIES)
    assert not missing, f"add fuzz strategies for the parameters {sorted(missing)}"


def test_zz_examples_tried_per_metric():
    """Report (``pytest -s``) how many examples each metric saw, and check that every metric both
    computed values and refused input (the fuzz reached both outcomes)."""
    assert COUNTS, "this test summarizes the fuzz tests above: run the whole file (it sorts last)"
    for name in sorted(COUNTS):
        count = COUNTS[name]
        print(f"fuzz {name:45s} values {count['value']:4d}  refused {count['refused']:4d}  "
              f"scale checks {count['scale checks']:3d} (equal {count['scale checks equal']:3d}, "
              f"refused {count['scale checks'] - count['scale checks equal']:3d})")
    for name, count in COUNTS.items():
        assert count["value"] > 0 and count["refused"] > 0, (name, dict(count))

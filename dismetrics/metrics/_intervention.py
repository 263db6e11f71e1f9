"""Shared machinery of the intervention metrics (beta-VAE score, FactorVAE score).

The reference (disentanglement_lib) encodes one batch of 64 observations per call, 15,000 times for
one FactorVAE score. Here every intervention group is drawn first, then the codes of its observations are
obtained in chunks of `chunk_size` observations (from a representation table, each distinct observation
encoded once, when the data set is indexed; see [`dismetrics.table`][dismetrics.table]) and each chunk is
reduced to its per-group features at once, so the representation sees few large batches and memory stays
flat.
"""

from __future__ import annotations

import numbers
from typing import Callable, Sequence

import numpy as np

from .._validation import MAX_BATCH_SIZE, MAX_GROUP_OBSERVATIONS, MAX_SAMPLES, check_positive_int, describe_seed
from ..table import Encoding, resolve_encoding

__all__ = ["check_sampler", "resolve_factor_subset", "encode_groups", "encode_points", "describe_seed", "check_sizes"]

DEFAULT_CHUNK_SIZE = 8192
"""Observations per call of the representation (a multiple of the group size is used)."""


def check_sampler(sampler) -> None:
    missing = [
        attr
        for attr in ("factor_sizes", "sample_factors", "sample_observations_from_factors")
        if not hasattr(sampler, attr)
    ]
    if missing:
        raise ValueError(
            f"sampler must be a ground-truth sampler (dismetrics.data.GroundTruthSampler); "
            f"{type(sampler).__name__} lacks {', '.join(missing)}."
        )


def check_sizes(*, batch_size, minimum_batch: int, group_factor: int, **counts) -> tuple[int, dict[str, int]]:
    """Validate an intervention metric's sizes before anything is drawn.

    `batch_size` in [minimum_batch, MAX_BATCH_SIZE]; every count in `counts` (name -> (value,
    minimum)) in [minimum, MAX_SAMPLES]; and for the counts of points made of groups (every count but
    `n_variance`), points x `group_factor` x batch_size observations at most MAX_GROUP_OBSERVATIONS.
    Returns `(batch_size, {name: value})`.
    """
    batch_size = check_positive_int(
        batch_size, name="batch_size", minimum=minimum_batch, maximum=MAX_BATCH_SIZE,
        reason="Every point encodes a group of that many observations; the reference's group is 64 "
               "(dismetrics._validation.MAX_BATCH_SIZE).")
    values = {}
    for name, (value, minimum) in counts.items():
        values[name] = check_positive_int(
            value, name=name, minimum=minimum, maximum=MAX_SAMPLES,
            reason="The factors of all of them are drawn and held at once; the reference uses 10,000 "
                   "(dismetrics._validation.MAX_SAMPLES).")
        observations = values[name] * group_factor * batch_size
        if name != "n_variance" and observations > MAX_GROUP_OBSERVATIONS:
            raise ValueError(
                f"{name} x batch_size = {values[name]:,} x {group_factor * batch_size:,} = {observations:,} observations, "
                f"more than the {MAX_GROUP_OBSERVATIONS:,} drawn at once that are allowed "
                "(dismetrics._validation.MAX_GROUP_OBSERVATIONS: the factors of all of them are drawn before encoding; "
                "the reference needs 1.28 million). Use fewer points or a smaller batch_size."
            )
    return batch_size, values


def factor_names_of(sampler) -> list[str]:
    names = getattr(sampler, "factor_names", None)
    if names is None:
        return [f"factor_{k}" for k in range(len(sampler.factor_sizes))]
    return [str(n) for n in names]


def resolve_factor_subset(factors: Sequence | None, sampler, *, minimum: int = 1) -> np.ndarray:
    """`factors=` (None, or a list of indices and/or names) -> sorted unique int indices."""
    num_factors = len(sampler.factor_sizes)
    names = factor_names_of(sampler)
    if factors is None:
        subset = list(range(num_factors))
    else:
        if isinstance(factors, (str, numbers.Integral)):
            factors = [factors]
        subset = []
        for item in factors:
            if isinstance(item, str):
                if item not in names:
                    raise ValueError(f"factors: unknown factor name {item!r}; the sampler's factors are {names}.")
                subset.append(names.index(item))
            elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
                if not 0 <= int(item) < num_factors:
                    raise ValueError(
                        f"factors: index {item} is out of range; the sampler has {num_factors} factors {names}."
                    )
                subset.append(int(item))
            else:
                raise ValueError(f"factors must hold factor indices or names; got {item!r}.")
        subset = sorted(set(subset))
    if len(subset) < minimum:
        raise ValueError(f"factors must select at least {minimum} factor(s); got {subset}.")
    return np.asarray(subset, dtype=np.int64)


def _groups_per_chunk(chunk_size: int, group_size: int) -> int:
    return max(1, check_positive_int(chunk_size, name="chunk_size") // group_size)


def encode_groups(
    encoding: Encoding,
    group_factors: np.ndarray,
    rng: np.random.Generator,
    reduce: Callable[[np.ndarray], np.ndarray],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
    desc: str | None = None,
) -> np.ndarray:
    """Codes of `group_factors` (m, g, K), whole groups per chunk, each chunk's codes (c, g, d) reduced at once.

    Returns the concatenation over chunks of `reduce(codes)`, shape (m, ...).
    """
    m, g, k = group_factors.shape
    per_chunk = _groups_per_chunk(chunk_size, g)
    outputs = [
        reduce(codes.reshape(-1, g, codes.shape[1]))
        for codes in encoding.codes(group_factors.reshape(m * g, k), rng, chunk_size=per_chunk * g,
                                    progress=progress, desc=desc)
    ]
    return np.concatenate(outputs, axis=0)


def encode_points(
    encoding: Encoding,
    factors: np.ndarray,
    rng: np.random.Generator,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
    desc: str | None = None,
) -> np.ndarray:
    """Codes (n, d) of the points with the given factors, `chunk_size` at a time."""
    return np.concatenate(list(encoding.codes(factors, rng, chunk_size=chunk_size, progress=progress, desc=desc)),
                          axis=0)


def prepare(representation, sampler, encoding: str = "auto") -> Encoding:
    """Common checks: a sampler, and how its observations become codes (a representation table when the data
    set is indexed, see [`dismetrics.table`][dismetrics.table])."""
    check_sampler(sampler)
    return resolve_encoding(representation, sampler, encoding)



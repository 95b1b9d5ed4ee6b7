"""Percentile bootstrap intervals that resample whole questions.

Answers to one question share its rubric, its reference answer and its raters' habits, so they are not
independent: resampling single answers would give intervals that are too narrow. Each bootstrap sample draws
questions with replacement and takes every answer of each drawn question (a question drawn twice counts twice).
The seed is fixed, so a report's intervals reproduce exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from eval.scale import IntArray

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 7  # any fixed number: what matters is that a report reproduces


def group_rows(groups: ArrayLike) -> list[IntArray]:
    """Row indices of each distinct group, in order of first appearance."""
    labels = np.asarray(groups)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first)
    return [np.flatnonzero(inverse == g) for g in order]


def resample(rows_by_group: list[IntArray], rng: np.random.Generator) -> IntArray:
    """Row indices of one bootstrap sample: as many groups as there are, drawn with replacement, all rows of each."""
    drawn = rng.integers(0, len(rows_by_group), size=len(rows_by_group))
    return np.concatenate([rows_by_group[g] for g in drawn])


def bootstrap_ci(
    groups: ArrayLike,
    statistic: Callable[[IntArray], Mapping[str, float | None]],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict[str, list[float] | None]:
    """``[low, high]`` percentile interval of each value ``statistic(rows)`` returns, over question resamples.

    A value that is undefined in some samples (None) is summarised over the samples where it is defined; one
    defined in fewer than half of them gets no interval (None) rather than a misleading one.
    """
    rows_by_group = group_rows(groups)
    if resamples <= 0 or len(rows_by_group) < 2:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        for name, value in statistic(resample(rows_by_group, rng)).items():
            if value is not None:
                draws.setdefault(name, []).append(value)
            else:
                draws.setdefault(name, [])
    tail = (1 - confidence) / 2 * 100
    intervals: dict[str, list[float] | None] = {}
    for name, values in draws.items():
        if len(values) < resamples / 2:
            intervals[name] = None
            continue
        low, high = np.percentile(values, [tail, 100 - tail])
        intervals[name] = [float(low), float(high)]
    return intervals

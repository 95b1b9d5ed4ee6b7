"""Agreement between two sets of scores, as pure functions over arrays.

Kappa comes from scikit-learn, correlations from SciPy and Krippendorff's alpha from the ``krippendorff`` package;
this module decides only what they are computed on. Categorical measures (kappa, exact and adjacent agreement,
the confusion matrix) use scores snapped to the scale's steps; continuous ones (correlations, MAE, RMSE, bias) use
the scores as given. A measure that is undefined for the data (a correlation of a constant, kappa when both sides
put everything in one category, fewer than three pairs) is None, never a made-up 0 or 1.
"""

from __future__ import annotations

import math
from typing import Literal

import krippendorff
import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from eval.scale import FloatArray, IntArray, Scale

MIN_PAIRS = 3
"""Fewest pairs a correlation is reported for: with two, any correlation is exactly plus or minus one."""

Level = Literal["interval", "ordinal"]


def _pair(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"expected two 1-d arrays of the same length, got shapes {a.shape} and {b.shape}")
    return a, b


def _correlatable(a: FloatArray, b: FloatArray) -> bool:
    return a.size >= MIN_PAIRS and bool(np.ptp(a) > 0) and bool(np.ptp(b) > 0)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def pearson(x: ArrayLike, y: ArrayLike) -> float | None:
    """Pearson's r (None for fewer than three pairs or a constant side)."""
    a, b = _pair(x, y)
    return _finite(float(stats.pearsonr(a, b).statistic)) if _correlatable(a, b) else None


def spearman(x: ArrayLike, y: ArrayLike) -> float | None:
    """Spearman's rho, ties averaged."""
    a, b = _pair(x, y)
    return _finite(float(stats.spearmanr(a, b).statistic)) if _correlatable(a, b) else None


def kendall(x: ArrayLike, y: ArrayLike) -> float | None:
    """Kendall's tau-b, which corrects for the many ties of a short scale."""
    a, b = _pair(x, y)
    return _finite(float(stats.kendalltau(a, b).statistic)) if _correlatable(a, b) else None


def mae(predicted: ArrayLike, reference: ArrayLike) -> float | None:
    """Mean absolute error."""
    a, b = _pair(predicted, reference)
    return float(np.mean(np.abs(a - b))) if a.size else None


def rmse(predicted: ArrayLike, reference: ArrayLike) -> float | None:
    """Root mean squared error."""
    a, b = _pair(predicted, reference)
    return float(np.sqrt(np.mean((a - b) ** 2))) if a.size else None


def mean_bias(predicted: ArrayLike, reference: ArrayLike) -> float | None:
    """Mean of predicted minus reference: positive when the first side scores too high."""
    a, b = _pair(predicted, reference)
    return float(np.mean(a - b)) if a.size else None


def cohen_kappa(
    a: ArrayLike, b: ArrayLike, levels: int, weights: Literal["quadratic", "linear"] | None = None
) -> float | None:
    """Cohen's kappa of two step-index arrays over ``levels`` categories (None when chance agreement is total).

    ``weights="quadratic"`` gives QWK. Every category of the scale is passed as a label, so a category neither side
    used still counts in the quadratic weights' denominator (k - 1)^2, as it should on a declared scale.
    """
    ia, ib = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if ia.size == 0 or (np.unique(np.concatenate([ia, ib])).size < 2):
        return None  # both sides put everything in one category: expected disagreement is 0, kappa is 0/0
    value = cohen_kappa_score(ia, ib, labels=np.arange(levels), weights=weights)
    return _finite(float(value))


def exact_agreement(a: ArrayLike, b: ArrayLike) -> float | None:
    """Share of pairs on the same step."""
    ia, ib = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return float(np.mean(ia == ib)) if ia.size else None


def adjacent_agreement(a: ArrayLike, b: ArrayLike, within: int = 1) -> float | None:
    """Share of pairs at most ``within`` steps apart."""
    ia, ib = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return float(np.mean(np.abs(ia - ib) <= within)) if ia.size else None


def confusion(reference: ArrayLike, predicted: ArrayLike, levels: int) -> list[list[int]]:
    """Counts with the reference's step in rows and the predicted step in columns, every step of the scale."""
    matrix = np.zeros((levels, levels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(reference, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return [[int(v) for v in row] for row in matrix]


def krippendorff_alpha(ratings: ArrayLike, level: Level) -> float | None:
    """Krippendorff's alpha over a raters x units matrix of step indices, NaN where a rater gave no score.

    Any number of raters; units with fewer than two ratings are not pairable and drop out, as the coefficient
    defines. ``interval`` distances are squared differences; ``ordinal`` ones count how many ratings lie between two
    values, so only the order of the steps matters. None when fewer than two distinct values occur.
    """
    data = np.asarray(ratings, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError("ratings must be a raters x units matrix")
    present = data[~np.isnan(data)]
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if np.unique(present).size < 2 or not pairable.any():
        return None
    try:
        value = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except ValueError:  # e.g. every pairable unit has one value: the package refuses a one-value domain
        return None
    return _finite(float(value))


METRICS = ("pearson", "spearman", "kendall", "qwk", "kappa", "mae", "rmse", "exact", "adjacent", "bias")
"""The agreement measures of ``agreement``, in report order."""


def agreement(predicted: ArrayLike, reference: ArrayLike, scale: Scale) -> dict[str, float | None]:
    """Every agreement measure of predicted against reference scores on ``scale`` (plus ``n``)."""
    p, r = _pair(predicted, reference)
    ip: IntArray = scale.index(p)
    ir: IntArray = scale.index(r)
    return {
        "n": int(p.size),
        "pearson": pearson(p, r),
        "spearman": spearman(p, r),
        "kendall": kendall(p, r),
        "qwk": cohen_kappa(ip, ir, scale.levels, "quadratic"),
        "kappa": cohen_kappa(ip, ir, scale.levels),
        "mae": mae(p, r),
        "rmse": rmse(p, r),
        "exact": exact_agreement(ip, ir),
        "adjacent": adjacent_agreement(ip, ir),
        "bias": mean_bias(p, r),
    }

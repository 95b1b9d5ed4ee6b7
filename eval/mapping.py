"""Monotone mappings from grades in [0, 1] onto a human scale, fitted and cross-validated by question.

A mapping only re-labels the grader's scores: it is monotone (a better raw score never maps lower), so it cannot
change which answer ranks above which, only where on the human scale each lands. Two methods:

- ``isotonic``: scikit-learn's ``IsotonicRegression`` (non-decreasing, clipped to the scale), the most flexible
  monotone fit; between its knots a score is interpolated linearly, exactly as ``IsotonicRegression.predict`` does.
- ``linear``: least squares ``a + b * raw`` with ``b >= 0``; a fit with a negative slope (a grader that disagrees
  with the humans' order) falls back to the constant mean rather than inverting the grader.

Both are stored the same way, as knots of a piecewise-linear function (a line is two knots at 0 and 1), so
applying a stored profile needs no scikit-learn. Mapped scores are clipped to the scale and snapped to its step.

Cross-validation is grouped by question (``GroupKFold``): a question's answers are all in the training folds or
all in the test fold, so the reported "after" figures never come from a mapping that saw the question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import ArrayLike
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import GroupKFold

from eval.scale import FloatArray, IntArray, Scale

Method = Literal["isotonic", "linear"]
METHODS: tuple[str, ...] = get_args(Method)


@dataclass(frozen=True)
class Mapping:
    """A fitted monotone mapping from raw grades onto ``scale``: knots ``x`` -> ``y``, linear in between."""

    method: Method
    scale: Scale
    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.x or len(self.x) != len(self.y):
            raise ValueError("a mapping needs as many knot values as knot positions, and at least one")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)) or any(
            b < a - 1e-12 for a, b in zip(self.y, self.y[1:], strict=False)
        ):
            raise ValueError("a mapping's knots must be non-decreasing in both coordinates")

    def continuous(self, raw: ArrayLike) -> FloatArray:
        """Mapped scores before snapping to the step (clipped to the scale)."""
        values = np.interp(np.asarray(raw, dtype=np.float64), self.x, self.y)
        return np.clip(values, self.scale.min, self.scale.max)

    def apply_many(self, raw: ArrayLike) -> FloatArray:
        """Mapped scores on the scale's steps."""
        return self.scale.snap(self.continuous(raw))

    def apply(self, raw: float) -> float:
        """One raw grade in [0, 1] as a score on the human scale."""
        return float(self.apply_many([raw])[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in a calibration profile."""
        return {
            "method": self.method,
            "scale": self.scale.to_dict(),
            "x": [round(v, 6) for v in self.x],
            "y": [round(v, 6) for v in self.y],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        """Inverse of ``to_dict``."""
        method = data["method"]
        if method not in METHODS:
            raise ValueError(f"unknown mapping method {method!r}")
        return cls(
            method=method,
            scale=Scale.from_dict(data["scale"]),
            x=tuple(float(v) for v in data["x"]),
            y=tuple(float(v) for v in data["y"]),
        )


def fit(raw: ArrayLike, gold: ArrayLike, scale: Scale, method: Method) -> Mapping:
    """The monotone mapping of ``method`` that best predicts ``gold`` from ``raw``."""
    r = np.asarray(raw, dtype=np.float64)
    g = np.asarray(gold, dtype=np.float64)
    if r.size == 0:
        raise ValueError("cannot fit a mapping to no data")
    if method == "isotonic":
        model = IsotonicRegression(y_min=scale.min, y_max=scale.max, increasing=True, out_of_bounds="clip")
        model.fit(r, g)
        xs = np.asarray(model.X_thresholds_, dtype=np.float64)
        ys = np.asarray(model.y_thresholds_, dtype=np.float64)
        return Mapping(method, scale, tuple(float(v) for v in xs), tuple(float(v) for v in ys))
    if method == "linear":
        slope, intercept = np.polyfit(r, g, 1) if np.ptp(r) > 0 else (0.0, float(g.mean()))
        if slope < 0:
            slope, intercept = 0.0, float(g.mean())
        return Mapping(method, scale, (0.0, 1.0), (float(intercept), float(intercept + slope)))
    raise ValueError(f"unknown mapping method {method!r}; use one of {', '.join(METHODS)}")


def grouped_folds(groups: ArrayLike, k: int) -> list[tuple[IntArray, IntArray]]:
    """(train rows, test rows) of ``k`` folds in which every group is wholly in one test fold."""
    labels = np.asarray(groups)
    splitter = GroupKFold(n_splits=k)
    return [
        (np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64))
        for train, test in splitter.split(np.zeros((labels.size, 1)), groups=labels)
    ]


def cross_validate(
    raw: ArrayLike, gold: ArrayLike, groups: ArrayLike, scale: Scale, method: Method, k: int
) -> tuple[FloatArray, list[tuple[IntArray, IntArray]]]:
    """Out-of-fold mapped scores (each from a mapping fitted without its question) and the folds used."""
    r = np.asarray(raw, dtype=np.float64)
    g = np.asarray(gold, dtype=np.float64)
    folds = grouped_folds(groups, k)
    predicted = np.full(r.size, np.nan)
    for train, test in folds:
        predicted[test] = fit(r[train], g[train], scale, method).apply_many(r[test])
    return predicted, folds

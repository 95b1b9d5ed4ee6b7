"""A human scoring scale (minimum, maximum, step) and the snapping of scores onto its steps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from grader.errors import InvalidInput

MAX_LEVELS = 1001
"""Most steps a scale may have: kappa and the confusion matrix are per step, and 1,000 is already no longer ordinal."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Scale:
    """The scale human scores are on, e.g. 0 to 5 in steps of 0.5; grades in [0, 1] are mapped onto it."""

    min: float
    max: float
    step: float

    def __post_init__(self) -> None:
        values = (self.min, self.max, self.step)
        if not all(math.isfinite(v) for v in values):
            raise InvalidInput(f"The scale {self} must have finite bounds and step.")
        if self.max <= self.min:
            raise InvalidInput(f"The scale maximum {self.max:g} must be greater than its minimum {self.min:g}.")
        if self.step <= 0:
            raise InvalidInput(f"The scale step {self.step:g} must be positive.")
        steps = (self.max - self.min) / self.step
        if abs(steps - round(steps)) > 1e-6:
            raise InvalidInput(
                f"The scale step {self.step:g} does not divide the range {self.min:g} to {self.max:g} evenly."
            )
        if round(steps) + 1 > MAX_LEVELS:
            raise InvalidInput(f"The scale has {round(steps) + 1:,} steps; at most {MAX_LEVELS:,} are supported.")

    @classmethod
    def parse(cls, text: str) -> Scale:
        """A scale from 'MIN:MAX:STEP', e.g. '0:5:0.5'."""
        parts = text.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            low, high, step = (float(p) for p in parts)
        except ValueError:
            raise InvalidInput(f"The scale {text!r} is not MIN:MAX:STEP, e.g. 0:5:1.") from None
        return cls(low, high, step)

    @property
    def levels(self) -> int:
        """How many values the scale has (0:5:1 has 6)."""
        return round((self.max - self.min) / self.step) + 1

    def values(self) -> FloatArray:
        """Every value on the scale, lowest first."""
        return self.min + self.step * np.arange(self.levels, dtype=np.float64)

    def index(self, scores: ArrayLike) -> IntArray:
        """Step index of each score after snapping (0 = minimum); halves round up, so 3.5 on 0:5:1 is 4."""
        position = (np.asarray(scores, dtype=np.float64) - self.min) / self.step
        # floor(x + 0.5) rather than round(): numpy rounds halves to even, which would snap 2.5 down and 3.5 up.
        return np.clip(np.floor(position + 0.5 + 1e-9), 0, self.levels - 1).astype(np.int64)

    def snap(self, scores: ArrayLike) -> FloatArray:
        """Scores clipped to the scale and moved to the nearest step."""
        return np.round(self.min + self.step * self.index(scores), 10)

    def on_step(self, score: float) -> bool:
        """Whether a score lies on one of the scale's steps (within rounding error)."""
        position = (score - self.min) / self.step
        return self.min - 1e-9 <= score <= self.max + 1e-9 and abs(position - round(position)) < 1e-6

    def from_unit(self, scores: ArrayLike) -> FloatArray:
        """The plain linear mapping of [0, 1] onto the scale, before any calibration."""
        return self.min + np.asarray(scores, dtype=np.float64) * (self.max - self.min)

    def describe(self) -> str:
        """'MIN:MAX:STEP', the form the command line takes."""
        return f"{self.min:g}:{self.max:g}:{self.step:g}"

    def to_dict(self) -> dict[str, float]:
        """JSON form."""
        return {"min": self.min, "max": self.max, "step": self.step}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scale:
        """Inverse of ``to_dict``."""
        return cls(float(data["min"]), float(data["max"]), float(data["step"]))

"""Credit models: from stage-1 evidence to the credit each key point earns.

``RampModel`` is the hand-set fallback: credit rises linearly with the best sentence cosine from ``low`` to
``high``. ``FittedModel`` (``grader.fitted``) is the model fitted on human-scored answers and shipped as a file.
"""

from __future__ import annotations

from typing import Protocol

from grader.evidence import AnswerEvidence


class CreditModel(Protocol):
    """Turns the evidence of one answer into a credit in [0, 1] per key point."""

    @property
    def version(self) -> str:
        """Identifies the model and its parameters; stored on every grade."""
        ...

    def credits(self, evidence: AnswerEvidence, weights: list[float]) -> list[float]:
        """Credit per key point, in rubric order (``weights`` are the points' weights)."""
        ...


class RampModel:
    """Credit rises linearly with the best cosine, from 0 at ``low`` to 1 at ``high``."""

    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high

    @property
    def version(self) -> str:
        """'ramp-<low>-<high>'."""
        return f"ramp-{self.low}-{self.high}"

    def credits(self, evidence: AnswerEvidence, weights: list[float]) -> list[float]:
        """Each point's cosine on the ramp."""
        return [_ramp(p.cosine, self.low, self.high) for p in evidence.points]


def _ramp(x: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (x - low) / (high - low))))

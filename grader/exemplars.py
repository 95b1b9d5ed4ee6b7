"""Exemplars: human-scored answers of the same question pull a new answer's stage-1 score toward their scores.

The credit model is fitted on other questions; the raters of *this* question know better. For an answer with
stage-1 score s and human-scored exemplars e_1..e_n (human score h_k, stage-1 score s_k, cosine c_k between the
whole answers), the score becomes

    s + sum_k w_k (h_k - s_k) / (shrinkage + sum_k w_k),   w_k = exp(-((1 - c_k) / bandwidth)^2) if c_k >= min_sim

clamped to [0, 1]: the model's *errors* on similar answers are corrected, not its scores replaced (a neighbour
average of residuals beat a plain average of human scores in the feasibility run), and few or distant exemplars
move the score little because ``shrinkage`` stands for the model's own vote. Each exemplar's share of the shift is
reported on the grade. An answer's own human score is never its exemplar: callers exclude the answer itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from grader.fitted import ExemplarParams
from grader.result import ExemplarEffect, ExemplarUse

DEFAULT_PARAMS = ExemplarParams(bandwidth=0.3, shrinkage=1.0, min_similarity=0.3)
"""Used with the hand ramp (no fitted file); chosen with ``bench/accuracy.py --exemplars 10`` (docs/stage1.md)."""
SHOWN = 5
"""Exemplars listed on a grade: those that moved the score most."""


@dataclass(frozen=True)
class Exemplar:
    """A stored answer to the same question with its human score."""

    answer_id: str
    text: str
    score: float
    """Mean human score on [0, 1]."""


@dataclass(frozen=True)
class ScoredExemplar:
    """An exemplar as stage 1 sees it: its whole-answer vector and its own stage-1 score."""

    exemplar: Exemplar
    vector: NDArray[np.float32]
    stage1_score: float


def pull(
    score: float, vector: NDArray[np.float32], exemplars: Sequence[ScoredExemplar], params: ExemplarParams
) -> ExemplarEffect | None:
    """The score after exemplars, with each one's contribution; None when no exemplar is close enough."""
    if not exemplars:
        return None
    similarity = np.asarray([float(vector @ e.vector) for e in exemplars])
    weight = np.where(similarity >= params.min_similarity, np.exp(-(((1.0 - similarity) / params.bandwidth) ** 2)), 0.0)
    if weight.sum() <= 0:
        return None
    residual = np.asarray([e.exemplar.score - e.stage1_score for e in exemplars])
    shares = weight * residual / (params.shrinkage + weight.sum())
    after = float(min(1.0, max(0.0, score + shares.sum())))
    order = np.argsort(-np.abs(shares))[:SHOWN]
    used = [
        ExemplarUse(
            answer_id=exemplars[k].exemplar.answer_id,
            similarity=round(float(similarity[k]), 4),
            human_score=round(exemplars[k].exemplar.score, 4),
            stage1_score=round(exemplars[k].stage1_score, 4),
            shift=round(float(shares[k]), 4),
        )
        for k in order
        if weight[k] > 0
    ]
    return ExemplarEffect(
        before=round(score, 4),
        after=round(after, 4),
        considered=int((weight > 0).sum()),
        used=used,
    )

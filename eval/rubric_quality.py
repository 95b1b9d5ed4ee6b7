"""Does each rubric tell its own question's answer apart from answers to neighbouring questions?

For every rubric, its own reference answer (the positive) and the reference answers of the other questions in
the same topic (the negatives, written by the same authors on nearby material) are scored with the stage-1
scorer. A rubric discriminates when its positive outranks its negatives. Per rubric we report the AUC (the
share of negatives scored below the positive, ties counting half) and the margin to the closest negative; over
the whole bank, the AUC of all positives against all negatives, which also asks that one threshold separates
them everywhere.

Why these thresholds: stage 1 is only useful as a first pass if a full-mark answer to the question scores above
answers to the neighbouring questions almost always (bank AUC >= 0.95), and a rubric whose own reference answer
is outranked by more than one neighbour in five (per-rubric AUC < 0.8) has key points that do not say what is
specific to its question, which is a defect in the rubric to fix, not noise. A reference answer is written to
earn full marks, so its own stage-1 score must be near the top too (>= 0.75): below that, either the key points
and the reference answer say different things or a misconception fires on a correct sentence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from grader.stage1 import EmbeddingScorer
from rubrics.schema import Rubric

MIN_BANK_AUC = 0.95
MIN_RUBRIC_AUC = 0.80
MIN_OWN_SCORE = 0.75


@dataclass(frozen=True)
class RubricDiscrimination:
    """How one rubric scores its own reference answer against its neighbours'."""

    rubric_id: str
    own_score: float
    neighbour_scores: dict[str, float]
    auc: float
    margin: float
    """Own score minus the highest neighbour score (negative: some neighbour outranks it)."""

    @property
    def closest(self) -> str | None:
        """The neighbour whose reference answer scores highest on this rubric."""
        return max(self.neighbour_scores, key=self.neighbour_scores.__getitem__, default=None)


@dataclass(frozen=True)
class QualityReport:
    """Discrimination of every rubric and of the bank as a whole."""

    rubrics: list[RubricDiscrimination]
    bank_auc: float

    @property
    def failing(self) -> list[RubricDiscrimination]:
        """Rubrics below the per-rubric AUC threshold or whose own reference answer scores too low."""
        return [r for r in self.rubrics if r.auc < MIN_RUBRIC_AUC or r.own_score < MIN_OWN_SCORE]

    @property
    def passed(self) -> bool:
        """Whether the bank meets both thresholds."""
        return self.bank_auc >= MIN_BANK_AUC and not self.failing


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a positive outranks a negative, ties counting half (Mann-Whitney U / (|P| |N|))."""
    if not positives or not negatives:
        return 1.0
    p = np.asarray(positives)[:, None]
    n = np.asarray(negatives)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def check_bank(rubrics: list[Rubric], scorer: EmbeddingScorer) -> QualityReport:
    """Score every reference answer against every rubric of its topic and summarise the discrimination."""
    by_topic: dict[str, list[Rubric]] = defaultdict(list)
    for rubric in rubrics:
        by_topic[rubric.topic].append(rubric)
    scorer.warm(rubrics)
    # scores[rubric id][answer's rubric id] = stage-1 score of that reference answer on that rubric
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for group in by_topic.values():
        for author in group:
            for rubric, result in zip(group, scorer.score_against(author.reference_answer, group), strict=True):
                scores[rubric.id][author.id] = result.score
    results: list[RubricDiscrimination] = []
    positives: list[float] = []
    negatives: list[float] = []
    for rubric in rubrics:
        row = scores[rubric.id]
        own = row[rubric.id]
        others = {k: v for k, v in row.items() if k != rubric.id}
        results.append(
            RubricDiscrimination(
                rubric_id=rubric.id,
                own_score=own,
                neighbour_scores=others,
                auc=auc([own], list(others.values())),
                margin=own - max(others.values(), default=0.0),
            )
        )
        positives.append(own)
        negatives.extend(others.values())
    return QualityReport(results, auc(positives, negatives))


def format_report(report: QualityReport, worst: int = 15) -> str:
    """Plain-text summary: bank AUC, the rubrics with the thinnest margins, and any failures."""
    lines = [
        f"rubrics: {len(report.rubrics)}  bank AUC: {report.bank_auc:.4f} (min {MIN_BANK_AUC})  "
        f"failing: {len(report.failing)} (per-rubric AUC >= {MIN_RUBRIC_AUC}, own score >= {MIN_OWN_SCORE})",
        f"{'rubric':58} {'own':>5} {'auc':>5} {'margin':>7}  closest neighbour",
    ]
    shown = sorted(report.rubrics, key=lambda r: r.margin)[:worst]
    shown += [r for r in report.failing if r not in shown]
    for r in shown:
        flag = "  FAIL" if r in report.failing else ""
        closest = f"{r.closest} ({r.neighbour_scores[r.closest]:.3f})" if r.closest else "-"
        lines.append(f"{r.rubric_id:58} {r.own_score:5.3f} {r.auc:5.3f} {r.margin:+7.3f}  {closest}{flag}")
    return "\n".join(lines)

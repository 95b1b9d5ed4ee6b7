"""Combine stage 1 and the judge's verdicts into one grade. The score comes from verdicts and weights only."""

from __future__ import annotations

from dataclasses import dataclass

from grader.judge import CREDIT, JudgeOutcome
from grader.judge_reply import locate_quote
from grader.result import Evidence, MisconceptionResult, PointResult, Stage1Result, Verdict
from grader.stage1 import combine as weighted_score
from rubrics.schema import Rubric


@dataclass(frozen=True)
class Combined:
    """The judged parts of a grade."""

    points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    score: float
    confidence: float
    review_reasons: list[str]
    voided: list[str]


def combine_with_judge(
    rubric: Rubric, answer: str, stage1: Stage1Result, outcome: JudgeOutcome, review_threshold: float
) -> Combined:
    """Per-point credit from verdicts whose quotes occur in the answer; a voided verdict keeps stage 1's credit."""
    voided: list[str] = []
    by_id = {v.id: v for v in outcome.points}
    points: list[PointResult] = []
    for s1 in stage1.points:
        verdict = by_id[s1.id]
        evidence: Evidence | None = None
        problem: str | None = None
        if verdict.quote.strip():
            where = locate_quote(verdict.quote, answer)
            if where.problem is None and where.start is not None and where.end is not None:
                evidence = Evidence(quote=answer[where.start : where.end], start=where.start, end=where.end)
            elif verdict.verdict is not Verdict.MISSED:
                problem = where.problem
        elif verdict.verdict is not Verdict.MISSED:
            problem = "no quote given"
        if problem is not None:
            voided.append(f"{s1.id}: verdict '{verdict.verdict}' voided, {problem}: {verdict.quote!r}")
            points.append(s1.model_copy(update={"voided": problem, "reason": verdict.reason}))
            continue
        points.append(
            s1.model_copy(
                update={
                    "verdict": verdict.verdict,
                    "credit": CREDIT[verdict.verdict],
                    "evidence": evidence,
                    "reason": verdict.reason,
                }
            )
        )

    found = {m.id: m for m in outcome.misconceptions}
    misconceptions: list[MisconceptionResult] = []
    for s1m in stage1.misconceptions:
        claim = found.get(s1m.id)
        detected, evidence = False, None
        if claim is not None:
            where = locate_quote(claim.quote, answer)
            if where.problem is None and where.start is not None and where.end is not None:
                detected = True
                evidence = Evidence(quote=answer[where.start : where.end], start=where.start, end=where.end)
            else:
                voided.append(f"misconception {s1m.id} voided, {where.problem}: {claim.quote!r}")
        # With a judge, the judge decides misconceptions: embeddings cannot tell a claim from its denial.
        misconceptions.append(s1m.model_copy(update={"detected": detected, "evidence": evidence}))

    score = weighted_score(points, misconceptions, rubric.total_weight)
    reasons: list[str] = []
    gap = abs(score - stage1.score)
    if gap > review_threshold:
        reasons.append(f"stages disagree: embedding {stage1.score:.2f} vs judge {score:.2f}")
    if voided:
        reasons.append(f"{len(voided)} judge claim(s) voided for quotes not in the answer")
    if outcome.agreement < 0.67:
        reasons.append(f"judge samples disagree (agreement {outcome.agreement:.2f})")
    confidence = round(outcome.agreement * (1 - gap), 4)
    return Combined(points, misconceptions, score, confidence, reasons, voided)

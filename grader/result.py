"""The typed, frozen result of grading one answer. A failed grade is ``unscored``, never 0."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class Status(StrEnum):
    """How the grade was reached."""

    SCORED = "scored"
    """Every stage the policy asked for ran."""
    STAGE1_FALLBACK = "scored_stage1_fallback"
    """The judge failed and the settings allow falling back to the embedding stage."""
    UNSCORED = "unscored"
    """No score could be given; ``unscored_reason`` says why."""


class Stage(StrEnum):
    """Grading stages."""

    EMBEDDING = "embedding"
    JUDGE = "judge"


class Verdict(StrEnum):
    """The judge's verdict on one key point."""

    MET = "met"
    PARTIAL = "partial"
    MISSED = "missed"
    CONTRADICTED = "contradicted"


class Evidence(_Frozen):
    """A piece of the answer that supports a result, with character offsets into the answer."""

    quote: str
    start: int
    end: int


class PointResult(_Frozen):
    """How one key point fared."""

    id: str
    text: str
    """The key point as the rubric states it."""
    weight: float
    similarity: float | None = None
    """Stage 1: best cosine similarity between an answer sentence/window and the point (or its paraphrases)."""
    coverage: float | None = None
    """Stage 1: similarity mapped onto [0, 1]."""
    verdict: Verdict | None = None
    """Stage 2: the judge's verdict, when the judge ran and the verdict survived validation."""
    credit: float
    """Share of the point's weight that counts towards the score, in [0, 1]."""
    evidence: Evidence | None = None
    """Where the answer makes the point (best sentence in stage 1, the judge's quote in stage 2)."""
    reason: str | None = None
    """Stage 2: the judge's one-line reason."""
    voided: str | None = None
    """Why a judge verdict was discarded (e.g. its quote does not occur in the answer)."""


class MisconceptionResult(_Frozen):
    """A rubric misconception and whether the answer asserts it."""

    id: str
    text: str
    penalty: float
    detected: bool
    similarity: float | None = None
    evidence: Evidence | None = None
    correction: str | None = None


class NumericCheck(_Frozen):
    """Whether the answer states the rubric's exact value."""

    expected: str
    """The value as a person would write it."""
    matched: bool
    evidence: Evidence | None = None


class Versions(_Frozen):
    """Everything that can change a score, stored on every grade so it can be explained and recomputed."""

    rubric_id: str
    rubric_version: str
    pipeline_version: str
    embedding_model: str
    stage1_config: str
    judge_model: str | None = None
    prompt_version: str | None = None


class JudgeAudit(_Frozen):
    """What the judge was asked and said, so a grade can be explained and recomputed."""

    model: str
    prompt_version: str
    response_format: str
    samples: int
    agreement: float | None = None
    """Self-consistency: mean share of samples agreeing with each point's majority verdict."""
    raw_replies: list[str] = []
    voided: list[str] = []
    """Verdicts and misconception claims discarded, with the reason (e.g. a quote not in the answer)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    """Present when a price table is configured."""
    calls: int = 0
    latency_ms: float | None = None
    cached: bool = False
    """True when the verdicts came from the cache (no call was made for this grade)."""
    error: str | None = None
    """Why the judge failed, when it did."""


class Stage1Result(_Frozen):
    """Output of the embedding stage for one answer."""

    score: float
    confidence: float
    points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    numeric: NumericCheck | None = None


class GradeResult(_Frozen):
    """The grade of one answer: score, per-point results, feedback and the audit trail."""

    question_id: str
    status: Status
    score: float | None
    """In [0, 1]; None when unscored."""
    unscored_reason: str | None = None
    stages: list[Stage]
    """The stages that ran, in order."""
    points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    numeric: NumericCheck | None = None
    feedback: str
    confidence: float | None = None
    """How sure the grader is of the score, in [0, 1]."""
    stage1_score: float | None = None
    review: bool = False
    """True when a person should look at this grade (e.g. the stages disagree)."""
    review_reasons: list[str] = []
    versions: Versions
    judge: JudgeAudit | None = None
    """Audit trail of stage 2, when the judge ran or was attempted."""

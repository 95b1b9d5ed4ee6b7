"""API request and response models. Kept apart from the tables: a row is never a response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.guard import MAX_ANSWER_CHARS
from grader.result import (
    GradeResult,
)
from rubrics.schema import Difficulty, Kind, Rubric, Source


class _Model(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


class QuestionSummary(_Model):
    """A question in the bank."""

    id: str
    """Stable question id, '<topic>/<nn>-<slug>'."""
    question: str
    """The question as a candidate sees it."""
    topic: str
    difficulty: Difficulty
    kind: Kind
    practice: bool
    """False when the seed question lacks context it needs; such questions are listed but not offered by default."""
    follows: str | None = None
    """Id of the question this one continues, if any."""

    @classmethod
    def of(cls, rubric: Rubric) -> QuestionSummary:
        """Summary of a rubric."""
        return cls(
            id=rubric.id,
            question=rubric.prompt,
            topic=rubric.topic,
            difficulty=rubric.difficulty,
            kind=rubric.kind,
            practice=rubric.practice,
            follows=rubric.follows,
        )


class QuestionList(_Model):
    """One page of questions."""

    items: list[QuestionSummary]
    total: int
    """Questions matching the filters, over all pages."""
    limit: int
    offset: int


class QuestionDetail(QuestionSummary):
    """A question with its source and, on request, its full rubric."""

    source: Source
    rubric_version: str
    """Content hash of the rubric; stored on every grade made with it."""
    rubric: Rubric | None = None
    """The full rubric (key points, reference answer); only with ``?include=rubric``."""


class GradeRequest(_Model):
    """An answer to grade."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question_id": "vectors/01-dot-product-geometry",
                    "answer": "The dot product is |a||b|cos(theta): the length of a's projection onto b times |b|.",
                }
            ]
        }
    )

    question_id: Annotated[str, Field(min_length=1, max_length=120)]
    """Id of the question answered (see GET /v1/questions)."""
    answer: str = Field(
        description=f"The answer text, at most {MAX_ANSWER_CHARS:,} characters (longer ones get 413).",
        # Documented for clients and fuzzers; enforced by grader.guard with clearer messages (empty: 422, long: 413).
        json_schema_extra={"minLength": 1, "maxLength": MAX_ANSWER_CHARS, "pattern": r"[^\s\x00-\x1f\x7f-\x9f]"},
    )


class ScaleOut(_Model):
    """A human scoring scale."""

    min: float
    max: float
    step: float


class CalibratedScore(_Model):
    """A grade's score mapped onto a human scale by a calibration profile."""

    profile: str
    """The profile's name."""
    score: float | None
    """On the profile's scale, snapped to its step; None when the grade is unscored."""
    scale: ScaleOut


class GradeOut(GradeResult):
    """A stored grade of one answer: the grading result plus where and when it was stored."""

    id: str
    answer_id: str
    answer: str
    """The answer as stored (normalised)."""
    created_at: datetime
    latency_ms: float | None = None
    calibrated: CalibratedScore | None = None
    """With ``?profile=NAME``: the score mapped onto that profile's human scale (``score`` itself stays raw)."""

    @classmethod
    def of(
        cls,
        grade_id: str,
        answer_id: str,
        answer: str,
        result: GradeResult,
        created_at: datetime,
        latency_ms: float | None,
    ) -> GradeOut:
        """Response body from a stored grade."""
        return cls(
            id=grade_id,
            answer_id=answer_id,
            answer=answer,
            created_at=created_at,
            latency_ms=latency_ms,
            **dict(result),
        )


class Problem(_Model):
    """An RFC 9457 problem detail; every error response has this shape."""

    type: str = "about:blank"
    title: str
    """Short summary of the kind of problem."""
    status: int
    detail: str
    """What went wrong and what to do about it."""
    instance: str
    """The request path."""


class GradeList(_Model):
    """One page of grades, newest first."""

    items: list[GradeOut]
    total: int
    limit: int
    offset: int


class HumanScoreIn(_Model):
    """A human score for an answer, on the rater's own scale."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"rater": "alice", "score": 4, "scale_min": 0, "scale_max": 5, "scale_step": 1}]
        }
    )

    rater: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """Who scored; defaults to the API key's name."""
    score: float
    scale_min: float = 0.0
    scale_max: float = 1.0
    scale_step: Annotated[float, Field(gt=0)] | None = None
    """Granularity of the scale (e.g. 0.5); None for a continuous scale."""

    @model_validator(mode="after")
    def _on_scale(self) -> HumanScoreIn:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be greater than scale_min")
        if not self.scale_min <= self.score <= self.scale_max:
            raise ValueError(f"score {self.score} is outside the scale [{self.scale_min}, {self.scale_max}]")
        if self.scale_step is not None:
            steps = (self.score - self.scale_min) / self.scale_step
            if abs(steps - round(steps)) > 1e-9:
                raise ValueError(f"score {self.score} is not on the scale's step {self.scale_step}")
        return self


class HumanScoreOut(_Model):
    """A stored human score."""

    id: str
    answer_id: str
    rater: str
    score: float
    scale_min: float
    scale_max: float
    scale_step: float | None
    created_at: datetime


class AnswerOut(_Model):
    """A stored answer with its grade history (oldest first) and human scores."""

    id: str
    question_id: str
    answer: str
    owner: str
    created_at: datetime
    grades: list[GradeOut]
    human_scores: list[HumanScoreOut] | None = None
    """Present for raters and admins."""


class ImportProblem(_Model):
    """One CSV line that could not be imported."""

    line: int
    reason: str


class ImportResult(_Model):
    """Outcome of a CSV import: valid lines are stored, the rest reported by line."""

    imported: int
    errors: list[ImportProblem]


class BatchOut(_Model):
    """A batch of answers from a file and where its grading stands."""

    id: str
    source: str
    """The uploaded file's name."""
    stages: str
    """embedding (stage 1 only) or all (the judge too, when one is configured)."""
    status: str
    """queued, running, done or cancelled."""
    total: int
    """Rows in the file."""
    counts: dict[str, int]
    """Rows by state: pending, graded, error (could not be graded; see the results), cancelled."""
    statuses: dict[str, int]
    """Graded rows by grade status: scored, scored_stage1_fallback, unscored."""
    rate_per_s: float | None
    """Rows graded per second since the batch was queued."""
    eta_s: float | None
    """Seconds left at that rate."""
    created_at: datetime
    enqueued_at: datetime | None
    finished_at: datetime | None
    results: str
    """Where to download the results (?format=csv|jsonl)."""


class BatchList(_Model):
    """One page of batches, newest first."""

    items: list[BatchOut]
    total: int
    limit: int
    offset: int


class CalibrationFigures(_Model):
    """Headline agreement of a calibration run: the grader's mapped, out-of-fold scores against the humans'."""

    n: int | None = None
    """Answers compared."""
    pearson: float | None = None
    spearman: float | None = None
    qwk: float | None = None
    """Quadratic-weighted kappa on the scale's steps."""
    rmse: float | None = None
    mae: float | None = None
    exact: float | None = None
    """Share of answers on exactly the human's step."""
    bias: float | None = None
    """Mean of grader minus human."""


class CalibrationSummary(_Model):
    """A stored calibration run, without its full report."""

    id: str
    name: str
    created_at: datetime
    created_by: str
    scale: ScaleOut
    n: int
    """Answers scored and compared."""
    method: str
    """isotonic or linear."""
    stages: list[str]
    """The grading stages that ran."""
    profile: str | None
    """The profile this run stored, if any."""
    overall: CalibrationFigures


class CalibrationRunOut(CalibrationSummary):
    """A stored calibration run with its full JSON report (the HTML is at ``report.html``)."""

    report: dict[str, Any]


class CalibrationList(_Model):
    """One page of calibration runs, newest first."""

    items: list[CalibrationSummary]
    total: int
    limit: int
    offset: int


class ProfileOut(_Model):
    """A named mapping from grades in [0, 1] onto a human scale; apply it with ``?profile=NAME`` on grades."""

    name: str
    method: str
    scale: ScaleOut
    run_id: str
    """The calibration run that fitted it."""
    created_at: datetime
    mapping: dict[str, Any]
    """Knots ``x`` (raw score) -> ``y`` (scale), linear in between, clipped to the scale and snapped to its step."""

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
    content_similarity: float | None = None
    """Stage 1: the same between the content words' token vectors, with the question's words left out."""
    token_recall: float | None = None
    """Stage 1: mean best cosine of the point's content tokens with the answer's tokens (question words left out)."""
    word_recall: float | None = None
    """Stage 1: share of the point's content words (stemmed, question words left out) that the answer uses."""
    coverage: float | None = None
    """Stage 1: the credit model's estimate, in [0, 1], that the answer makes the point."""
    verdict: Verdict | None = None
    """The judge's verdict, when the judge ran and the verdict survived validation; stage 1 alone sets only
    ``contradicted``, when a sentence of the answer states the opposite of the point."""
    credit: float
    """Share of the point's weight that counts towards the score, in [0, 1]."""
    evidence: Evidence | None = None
    """Where the answer makes the point (best sentence in stage 1, the judge's quote in stage 2)."""
    reason: str | None = None
    """Stage 2: the judge's one-line reason."""
    voided: str | None = None
    """Why a judge verdict was discarded (e.g. its quote does not occur in the answer)."""
    contradiction: str | None = None
    """Stage 1: the rubric's statement contradicting the point that the evidence sentence matches."""
    hint: str | None = None
    """What to think about when the point is missed (the rubric's hint)."""


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
    stage1_model: str | None = None
    """Version of the stage-1 credit model (the fitted file's version, or the hand ramp's)."""
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


class AnswerSignals(_Frozen):
    """Stage-1 measurements of the whole answer (inputs of the credit model, shown for transparency)."""

    reference_cosine: float
    """Cosine between the whole answer and the whole reference answer."""
    reference_recall: float
    """Token alignment recall of the reference answer's content tokens by the answer's."""
    word_f1: float
    """F1 of the content words the answer shares with the reference answer (question words left out)."""
    question_cosine: float
    """Cosine between the whole answer and the question."""
    words: int
    """Content words in the answer."""


class ExemplarUse(_Frozen):
    """One human-scored answer of the same question that moved this answer's score."""

    answer_id: str | None
    """The exemplar answer's id (hidden from candidates: it is someone else's answer)."""
    similarity: float
    """Cosine between the two whole answers."""
    human_score: float
    """The exemplar's mean human score on [0, 1]."""
    stage1_score: float
    """What stage 1 alone gives the exemplar: the shift corrects stage 1's error on similar answers."""
    shift: float
    """This exemplar's share of the change in score."""


class ExemplarEffect(_Frozen):
    """How human-scored answers of the same question changed the stage-1 score."""

    before: float
    """Stage-1 score from the rubric alone."""
    after: float
    """Score after the exemplars' pull (the stage-1 score reported)."""
    considered: int
    """Exemplars similar enough to count."""
    used: list[ExemplarUse]
    """The exemplars that moved the score most, largest shift first."""


class Stage1Result(_Frozen):
    """Output of the embedding stage for one answer."""

    score: float
    confidence: float
    points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    numeric: NumericCheck | None = None
    signals: AnswerSignals | None = None
    model: str | None = None
    """Version of the credit model that turned evidence into credit ('ramp-...' for the hand ramp)."""
    exemplars: ExemplarEffect | None = None
    """Set when human-scored answers of the same question moved the score."""


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
    exemplars: ExemplarEffect | None = None
    """How human-scored answers of the same question moved the stage-1 score, when they did."""
    review: bool = False
    """True when a person should look at this grade (e.g. the stages disagree)."""
    review_reasons: list[str] = []
    versions: Versions
    judge: JudgeAudit | None = None
    """Audit trail of stage 2, when the judge ran or was attempted."""

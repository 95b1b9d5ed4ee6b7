"""Grade submitted answers: validate, store the answer, grade, store the grade; regrade; idempotent retries."""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import Conflict, UnknownQuestion
from grader.pipeline import Grader
from grader.result import GradeResult
from rubrics.loader import RubricBank
from rubrics.schema import Rubric
from service import repository
from service.observability import Metrics
from service.schemas import GradeOut
from service.tables import Answer, Grade

log = logging.getLogger(__name__)


def observe(metrics: Metrics, grade: Grade) -> None:
    """Record a new grade in the metrics: status, latency per stage, judge calls."""
    result = GradeResult.model_validate(grade.result)
    metrics.grades.labels(result.status.value).inc()
    judge_ms = result.judge.latency_ms if result.judge is not None and not result.judge.cached else None
    if result.judge is not None:
        metrics.judge_calls.inc(result.judge.calls)
    if judge_ms is not None:
        metrics.stage_seconds.labels("judge").observe(judge_ms / 1000)
    if grade.latency_ms is not None:
        metrics.stage_seconds.labels("embedding").observe(max(0.0, grade.latency_ms - (judge_ms or 0.0)) / 1000)


def grade_out(grade: Grade, staff: bool) -> GradeOut:
    """API view of a stored grade (its answer must be loaded). Exemplars are other people's answers: only staff
    (raters, admins) see which ones; a candidate sees how much each moved the score."""
    result = GradeResult.model_validate(grade.result)
    if not staff and result.exemplars is not None:
        hidden = [u.model_copy(update={"answer_id": None}) for u in result.exemplars.used]
        result = result.model_copy(update={"exemplars": result.exemplars.model_copy(update={"used": hidden})})
    return GradeOut.of(grade.id, grade.answer_id, grade.answer.text, result, grade.created_at, grade.latency_ms)


def _rubric(bank: RubricBank, question_id: str) -> Rubric:
    rubric = bank.get(question_id)
    if rubric is None:
        raise UnknownQuestion(f"No question has id {question_id!r}; list them with GET /v1/questions.")
    return rubric


async def _replay(answer: Answer, question_id: str, text: str) -> Grade:
    """The stored grade for a retried request, if the retry is really the same request."""
    if answer.question_id != question_id or answer.text != text:
        raise Conflict("This Idempotency-Key was already used for a different answer; use a new key.")
    if not answer.grades:
        raise Conflict("The request with this Idempotency-Key is still being graded; retry in a moment.")
    return answer.grades[-1]


async def submit(
    session: AsyncSession,
    bank: RubricBank,
    grader: Grader,
    question_id: str,
    answer: str,
    owner: str,
    idempotency_key: str | None = None,
) -> tuple[Grade, bool]:
    """Store the answer first, then grade it; returns the grade and whether it is new (False for a replay).

    A grading failure is stored as an unscored grade, never lost.
    """
    rubric = _rubric(bank, question_id)
    text = grader.clean(answer)
    if idempotency_key is not None:
        existing = await repository.find_by_idempotency_key(session, owner, idempotency_key)
        if existing is not None:
            return await _replay(existing, question_id, text), False
    try:
        stored = await repository.store_answer(session, rubric, text, owner, idempotency_key)
    except IntegrityError:
        # A concurrent retry with the same key won the insert.
        await session.rollback()
        assert idempotency_key is not None
        existing = await repository.find_by_idempotency_key(session, owner, idempotency_key)
        if existing is None:
            raise
        return await _replay(existing, question_id, text), False
    return await grade_stored(session, rubric, grader, stored), True


def grading_failed(grader: Grader, rubric: Rubric, exc: BaseException) -> GradeResult:
    """The unscored result of an answer whose grading raised: the answer is stored, the reason is shown."""
    return grader.unscored(rubric, f"internal error while grading: {type(exc).__name__}: {exc}")


async def grade_stored(session: AsyncSession, rubric: Rubric, grader: Grader, stored: Answer) -> Grade:
    """Grade an answer that is already stored and store the new grade (also used to regrade)."""
    started = time.perf_counter()
    try:
        exemplars = await repository.exemplars_for(session, [rubric.id], [stored.id], grader.exemplars_per_question)
        result = await grader.grade(rubric, stored.text, exemplars.get(rubric.id, []))
    except Exception as exc:  # the answer is stored; record why it has no score instead of failing the request
        log.exception("grading answer %s failed", stored.id)
        result = grading_failed(grader, rubric, exc)
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return await repository.store_grade(session, stored, result, latency_ms)


async def regrade(session: AsyncSession, bank: RubricBank, grader: Grader, answer: Answer) -> Grade:
    """A new grade for a stored answer with the current rubric and judge; earlier grades stay as they were."""
    rubric = _rubric(bank, answer.question_id)
    # The rubric may have changed since the answer was stored: snapshot the version this grade uses, so it can
    # still be explained. (A first grade uses the snapshot stored with the answer.)
    await repository.rubric_snapshot(session, rubric)
    return await grade_stored(session, rubric, grader, answer)

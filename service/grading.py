"""Grade one submitted answer: validate, store the answer, grade, store the grade."""

from __future__ import annotations

import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import UnknownQuestion
from grader.pipeline import Grader
from grader.result import GradeResult
from rubrics.loader import RubricBank
from service import repository
from service.schemas import GradeOut
from service.tables import Grade

log = logging.getLogger(__name__)


def grade_out(grade: Grade) -> GradeOut:
    """API view of a stored grade (its answer must be loaded)."""
    return GradeOut.of(
        grade.id,
        grade.answer_id,
        grade.answer.text,
        GradeResult.model_validate(grade.result),
        grade.created_at,
        grade.latency_ms,
    )


async def submit(session: AsyncSession, bank: RubricBank, grader: Grader, question_id: str, answer: str) -> Grade:
    """Store the answer first, then grade it; a grading failure is stored as an unscored grade, never lost."""
    rubric = bank.get(question_id)
    if rubric is None:
        raise UnknownQuestion(f"No question has id {question_id!r}; list them with GET /v1/questions.")
    text = grader.clean(answer)
    stored = await repository.store_answer(session, rubric, text)
    started = time.perf_counter()
    try:
        result = await grader.grade(rubric, text)
    except Exception as exc:  # the answer is stored; record why it has no score instead of failing the request
        log.exception("grading answer %s failed", stored.id)
        result = grader.unscored(rubric, f"internal error while grading: {type(exc).__name__}: {exc}")
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return await repository.store_grade(session, stored, result, latency_ms)

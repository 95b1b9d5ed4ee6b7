"""Storage operations on answers, grades and rubric snapshots."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from grader.result import GradeResult
from rubrics.schema import Rubric
from service.tables import Answer, Grade, RubricVersion


def new_id() -> str:
    """Random, unguessable id for answers and grades."""
    return uuid.uuid4().hex


async def rubric_snapshot(session: AsyncSession, rubric: Rubric) -> RubricVersion:
    """The stored snapshot of this rubric version, created on first use."""
    query = select(RubricVersion).where(RubricVersion.rubric_id == rubric.id, RubricVersion.version == rubric.version)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    snapshot = RubricVersion(rubric_id=rubric.id, version=rubric.version, content=rubric.model_dump(mode="json"))
    try:
        async with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:
        # Another request stored the same snapshot first.
        return (await session.execute(query)).scalar_one()
    return snapshot


async def store_answer(session: AsyncSession, rubric: Rubric, text: str) -> Answer:
    """Insert the answer and commit, so it survives whatever grading does next."""
    snapshot = await rubric_snapshot(session, rubric)
    answer = Answer(id=new_id(), question_id=rubric.id, rubric_version_id=snapshot.id, text=text)
    session.add(answer)
    await session.commit()
    return answer


async def store_grade(session: AsyncSession, answer: Answer, result: GradeResult, latency_ms: float | None) -> Grade:
    """Insert a grade for a stored answer and commit."""
    versions = result.versions
    grade = Grade(
        id=new_id(),
        answer_id=answer.id,
        status=result.status.value,
        score=result.score,
        unscored_reason=result.unscored_reason,
        result=result.model_dump(mode="json"),
        rubric_version=versions.rubric_version,
        pipeline_version=versions.pipeline_version,
        embedding_model=versions.embedding_model,
        judge_model=versions.judge_model,
        prompt_version=versions.prompt_version,
        latency_ms=latency_ms,
    )
    grade.answer = answer
    session.add(grade)
    await session.commit()
    return grade


async def get_grade(session: AsyncSession, grade_id: str) -> Grade | None:
    """A grade with its answer, or None."""
    query = select(Grade).where(Grade.id == grade_id).options(selectinload(Grade.answer))
    return (await session.execute(query)).scalar_one_or_none()

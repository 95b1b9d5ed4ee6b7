"""Storage operations on answers, grades and rubric snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from grader.exemplars import Exemplar
from grader.result import GradeResult
from rubrics.schema import Rubric
from service.tables import Answer, Grade, HumanScore, RubricVersion, utcnow


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


async def store_answer(
    session: AsyncSession, rubric: Rubric, text: str, owner: str, idempotency_key: str | None = None
) -> Answer:
    """Insert the answer and commit, so it survives whatever grading does next.

    Raises IntegrityError when ``idempotency_key`` was already used by this owner (a concurrent retry).
    """
    snapshot = await rubric_snapshot(session, rubric)
    answer = Answer(
        id=new_id(),
        question_id=rubric.id,
        rubric_version_id=snapshot.id,
        text=text,
        owner=owner,
        idempotency_key=idempotency_key,
    )
    session.add(answer)
    await session.commit()
    return answer


async def find_by_idempotency_key(session: AsyncSession, owner: str, key: str) -> Answer | None:
    """The answer this owner stored under ``key``, with its grades."""
    query = (
        select(Answer).where(Answer.owner == owner, Answer.idempotency_key == key).options(selectinload(Answer.grades))
    )
    return _link_grades((await session.execute(query)).scalar_one_or_none())


async def get_answer(session: AsyncSession, answer_id: str) -> Answer | None:
    """An answer with its grades and human scores."""
    query = (
        select(Answer)
        .where(Answer.id == answer_id)
        .options(selectinload(Answer.grades), selectinload(Answer.human_scores))
    )
    return _link_grades((await session.execute(query)).scalar_one_or_none())


def _link_grades(answer: Answer | None) -> Answer | None:
    """Point each loaded grade back at its answer without a query (async sessions cannot lazy-load)."""
    if answer is not None:
        for grade in answer.grades:
            set_committed_value(grade, "answer", answer)
    return answer


async def list_grades(
    session: AsyncSession,
    owner: str | None,
    question_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Grade], int]:
    """Grades, newest first, optionally of one owner, question or status; with the total count."""
    conditions = []
    if owner is not None:
        conditions.append(Answer.owner == owner)
    if question_id is not None:
        conditions.append(Answer.question_id == question_id)
    if status is not None:
        conditions.append(Grade.status == status)
    base = select(Grade).join(Grade.answer).where(*conditions)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    query = (
        base.options(selectinload(Grade.answer)).order_by(Grade.created_at.desc(), Grade.id).limit(limit).offset(offset)
    )
    return list((await session.execute(query)).scalars()), int(total)


async def answered_question_ids(session: AsyncSession, owner: str) -> set[str]:
    """Ids of the questions this owner has stored an answer to."""
    query = select(Answer.question_id).where(Answer.owner == owner).distinct()
    return set((await session.execute(query)).scalars())


async def add_human_score(
    session: AsyncSession,
    answer: Answer,
    *,
    rater: str,
    score: float,
    scale_min: float,
    scale_max: float,
    scale_step: float | None,
    created_by: str,
) -> HumanScore:
    """Record one human score and commit."""
    row = HumanScore(
        id=new_id(),
        answer_id=answer.id,
        rater=rater,
        score=score,
        scale_min=scale_min,
        scale_max=scale_max,
        scale_step=scale_step,
        created_by=created_by,
    )
    session.add(row)
    await session.commit()
    return row


async def exemplars_for(
    session: AsyncSession, question_ids: Collection[str], exclude: Collection[str], per_question: int
) -> dict[str, list[Exemplar]]:
    """Human-scored answers of these questions as exemplars: each answer's mean human score on [0, 1], the most
    recently scored ``per_question`` answers per question, never an answer in ``exclude`` (the ones being graded:
    an answer's own human score must not reach its grade)."""
    if per_question <= 0 or not question_ids:
        return {}
    unit = (HumanScore.score - HumanScore.scale_min) / (HumanScore.scale_max - HumanScore.scale_min)
    scored = (
        select(
            HumanScore.answer_id.label("answer_id"),
            func.avg(unit).label("score"),
            func.max(HumanScore.created_at).label("latest"),
        )
        .group_by(HumanScore.answer_id)
        .subquery()
    )
    ranked = (
        select(
            Answer.id.label("id"),
            Answer.question_id.label("question_id"),
            Answer.text.label("text"),
            scored.c.score,
            func.row_number()
            .over(partition_by=Answer.question_id, order_by=(scored.c.latest.desc(), Answer.id))
            .label("rank"),
        )
        .join(scored, scored.c.answer_id == Answer.id)
        .where(Answer.question_id.in_(list(question_ids)))
    )
    if exclude:
        ranked = ranked.where(Answer.id.not_in(list(exclude)))
    sub = ranked.subquery()
    query = select(sub.c.id, sub.c.question_id, sub.c.text, sub.c.score).where(sub.c.rank <= per_question)
    rows = await session.execute(query)
    found: dict[str, list[Exemplar]] = {}
    for answer_id, question_id, text, score in rows:
        found.setdefault(question_id, []).append(Exemplar(answer_id, text, float(score)))
    return found


def grade_values(answer_id: str, result: GradeResult, latency_ms: float | None) -> dict[str, Any]:
    """The column values of a new grade for a stored answer (bulk inserts take these directly)."""
    versions = result.versions
    return {
        "id": new_id(),
        "answer_id": answer_id,
        "status": result.status.value,
        "score": result.score,
        "unscored_reason": result.unscored_reason,
        "result": result.model_dump(mode="json"),
        "rubric_version": versions.rubric_version,
        "pipeline_version": versions.pipeline_version,
        "embedding_model": versions.embedding_model,
        "judge_model": versions.judge_model,
        "prompt_version": versions.prompt_version,
        "latency_ms": latency_ms,
        "created_at": utcnow(),
    }


def grade_row(answer_id: str, result: GradeResult, latency_ms: float | None) -> Grade:
    """A new grade row for a stored answer (not yet added to a session)."""
    return Grade(**grade_values(answer_id, result, latency_ms))


async def store_grade(session: AsyncSession, answer: Answer, result: GradeResult, latency_ms: float | None) -> Grade:
    """Insert a grade for a stored answer and commit."""
    grade = grade_row(answer.id, result, latency_ms)
    grade.answer = answer
    session.add(grade)
    await session.commit()
    return grade


async def get_grade(session: AsyncSession, grade_id: str) -> Grade | None:
    """A grade with its answer, or None."""
    query = select(Grade).where(Grade.id == grade_id).options(selectinload(Grade.answer))
    return (await session.execute(query)).scalar_one_or_none()

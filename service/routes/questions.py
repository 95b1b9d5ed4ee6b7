"""Questions and their rubrics."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from grader.errors import UnknownQuestion
from rubrics.schema import Difficulty
from service import repository
from service.auth import PrincipalDep, get_principal
from service.deps import BankDep, SessionDep
from service.problems import responses
from service.schemas import QuestionDetail, QuestionList, QuestionSummary

router = APIRouter(prefix="/v1/questions", tags=["questions"], dependencies=[Depends(get_principal)])


@router.get("", response_model=QuestionList, responses=responses(401, 422))
async def list_questions(
    bank: BankDep,
    session: SessionDep,
    principal: PrincipalDep,
    topic: Annotated[str | None, Query(description="Topic slug, e.g. 'vectors'.")] = None,
    difficulty: Annotated[Difficulty | None, Query()] = None,
    practice: Annotated[bool | None, Query(description="Only questions offered (or not) for practice.")] = None,
    answered: Annotated[
        bool | None, Query(description="Only questions the caller has (or has not) submitted an answer to.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> QuestionList:
    """List questions, filtered by topic, difficulty and whether the caller answered them, in bank order."""
    # "The caller" is the owner its answers are stored under, whatever its role: staff filter their own answers too.
    mine = await repository.answered_question_ids(session, principal.id) if answered is not None else set()
    matches = [
        r
        for r in bank
        if (topic is None or r.topic == topic)
        and (difficulty is None or r.difficulty is difficulty)
        and (practice is None or r.practice == practice)
        and (answered is None or (r.id in mine) == answered)
    ]
    page = matches[offset : offset + limit]
    return QuestionList(items=[QuestionSummary.of(r) for r in page], total=len(matches), limit=limit, offset=offset)


@router.get("/{question_id:path}", response_model=QuestionDetail, responses=responses(401, 404, 422))
def get_question(
    question_id: str,
    bank: BankDep,
    include: Annotated[Literal["rubric"] | None, Query(description="'rubric' adds the full rubric.")] = None,
) -> QuestionDetail:
    """One question; its rubric (key points, reference answer) only with ``?include=rubric``."""
    rubric = bank.get(question_id)
    if rubric is None:
        raise UnknownQuestion(f"No question has id {question_id!r}; list them with GET /v1/questions.")
    summary = QuestionSummary.of(rubric)
    return QuestionDetail(
        **summary.model_dump(),
        source=rubric.source,
        rubric_version=rubric.version,
        rubric=rubric if include == "rubric" else None,
    )

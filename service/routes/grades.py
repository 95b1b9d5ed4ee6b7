"""Grading answers and reading grades."""

from __future__ import annotations

from fastapi import APIRouter, Response

from grader.errors import UnknownGrade
from service import grading, repository
from service.deps import BankDep, GraderDep, JsonBody, SessionDep
from service.problems import responses
from service.schemas import GradeOut, GradeRequest

router = APIRouter(prefix="/v1/grades", tags=["grades"])


@router.post(
    "",
    response_model=GradeOut,
    status_code=201,
    dependencies=[JsonBody],
    responses=responses(400, 404, 413, 415, 422),
)
async def create_grade(
    body: GradeRequest, response: Response, session: SessionDep, bank: BankDep, grader: GraderDep
) -> GradeOut:
    """Store an answer, grade it, and return the grade (status 'unscored' with a reason if grading failed)."""
    grade = await grading.submit(session, bank, grader, body.question_id, body.answer)
    response.headers["Location"] = f"/v1/grades/{grade.id}"
    return grading.grade_out(grade)


@router.get("/{grade_id}", response_model=GradeOut, responses=responses(404))
async def read_grade(grade_id: str, session: SessionDep) -> GradeOut:
    """A stored grade."""
    grade = await repository.get_grade(session, grade_id)
    if grade is None:
        raise UnknownGrade(f"No grade has id {grade_id!r}.")
    return grading.grade_out(grade)

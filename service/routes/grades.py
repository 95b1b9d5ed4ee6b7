"""Grading answers and reading grades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from grader.errors import UnknownGrade
from grader.result import Status
from service import calibrations, grading, repository
from service.auth import PrincipalDep
from service.deps import BankDep, GraderDep, JsonBody, SessionDep, StateDep
from service.problems import responses
from service.schemas import GradeList, GradeOut, GradeRequest

router = APIRouter(prefix="/v1/grades", tags=["grades"])

ProfileQuery = Annotated[
    str | None,
    Query(
        pattern=calibrations.PROFILE_NAME_PATTERN,
        description="A calibration profile: adds 'calibrated', the score on that profile's human scale.",
    ),
]


@router.post(
    "",
    response_model=GradeOut,
    status_code=201,
    dependencies=[JsonBody],
    responses={**responses(400, 401, 404, 409, 413, 415, 422), 200: {"description": "Replay of an earlier request"}},
)
async def create_grade(
    body: GradeRequest,
    response: Response,
    session: SessionDep,
    bank: BankDep,
    grader: GraderDep,
    principal: PrincipalDep,
    state: StateDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retry-safe key: the same key and body return the first grade (200)."),
    ] = None,
    profile: ProfileQuery = None,
) -> GradeOut:
    """Store an answer, grade it, and return the grade (status 'unscored' with a reason if grading failed)."""
    # An unknown profile fails the request before the answer is stored.
    mapping = await calibrations.get_profile(session, profile) if profile else None
    grade, created = await grading.submit(
        session, bank, grader, body.question_id, body.answer, principal.id, idempotency_key
    )
    if created:
        grading.observe(state.metrics, grade)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/grades/{grade.id}"
    return calibrations.with_profile(grading.grade_out(grade, principal.can_see_everything()), mapping)


@router.get("", response_model=GradeList, responses=responses(401, 404, 422))
async def list_grades(
    session: SessionDep,
    principal: PrincipalDep,
    question_id: Annotated[str | None, Query(max_length=120)] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    profile: ProfileQuery = None,
) -> GradeList:
    """Grades, newest first; candidates see only grades of their own answers."""
    mapping = await calibrations.get_profile(session, profile) if profile else None
    owner = None if principal.can_see_everything() else principal.id
    rows, total = await repository.list_grades(
        session, owner, question_id, status.value if status else None, limit, offset
    )
    items = [calibrations.with_profile(grading.grade_out(g, principal.can_see_everything()), mapping) for g in rows]
    return GradeList(items=items, total=total, limit=limit, offset=offset)


@router.get("/{grade_id}", response_model=GradeOut, responses=responses(401, 404, 422))
async def read_grade(
    grade_id: str, session: SessionDep, principal: PrincipalDep, profile: ProfileQuery = None
) -> GradeOut:
    """A stored grade (candidates: only of their own answers; anyone else's is reported as not found)."""
    grade = await repository.get_grade(session, grade_id)
    if grade is None or not (principal.can_see_everything() or grade.answer.owner == principal.id):
        raise UnknownGrade(f"No grade has id {grade_id!r}.")
    mapping = await calibrations.get_profile(session, profile) if profile else None
    return calibrations.with_profile(grading.grade_out(grade, principal.can_see_everything()), mapping)

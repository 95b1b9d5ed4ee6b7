"""Stored answers: history, regrading, human scores."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import BadEncoding, InvalidInput, NotFound, UnsupportedMediaType
from service import grading, repository
from service.auth import Principal, PrincipalDep, Role, StaffDep, principal_with
from service.deps import BankDep, GraderDep, JsonBody, SessionDep, StateDep
from service.problems import responses
from service.schemas import AnswerOut, GradeOut, HumanScoreIn, HumanScoreOut, ImportProblem, ImportResult
from service.tables import Answer, HumanScore

router = APIRouter(prefix="/v1", tags=["answers"])


def _visible(answer: Answer | None, principal: Principal, answer_id: str) -> Answer:
    # Someone else's answer is reported exactly like a missing one, so ids cannot be probed.
    if answer is None or not (principal.can_see_everything() or answer.owner == principal.id):
        raise NotFound(f"No answer has id {answer_id!r}.")
    return answer


async def _store_score(session: AsyncSession, answer: Answer, body: HumanScoreIn, principal: Principal) -> HumanScore:
    """Store one validated human score; the rater defaults to the key's name."""
    return await repository.add_human_score(
        session,
        answer,
        rater=body.rater or principal.name,
        score=body.score,
        scale_min=body.scale_min,
        scale_max=body.scale_max,
        scale_step=body.scale_step,
        created_by=principal.id,
    )


def _human(row: HumanScore) -> HumanScoreOut:
    return HumanScoreOut.model_validate(row, from_attributes=True)


@router.get("/answers/{answer_id}", response_model=AnswerOut, responses=responses(401, 404))
async def read_answer(answer_id: str, session: SessionDep, principal: PrincipalDep) -> AnswerOut:
    """An answer with every grade it has had (oldest first) and, for raters and admins, its human scores."""
    answer = _visible(await repository.get_answer(session, answer_id), principal, answer_id)
    return AnswerOut(
        id=answer.id,
        question_id=answer.question_id,
        answer=answer.text,
        owner=answer.owner,
        created_at=answer.created_at,
        grades=[grading.grade_out(g, principal.can_see_everything()) for g in answer.grades],
        human_scores=[_human(h) for h in answer.human_scores] if principal.can_see_everything() else None,
    )


@router.post(
    "/answers/{answer_id}/regrade",
    response_model=GradeOut,
    status_code=201,
    dependencies=[principal_with(Role.ADMIN)],
    responses=responses(401, 403, 404),
)
async def regrade_answer(
    answer_id: str, response: Response, session: SessionDep, bank: BankDep, grader: GraderDep, state: StateDep
) -> GradeOut:
    """Grade a stored answer again with the current rubric and judge; earlier grades are kept unchanged."""
    answer = await repository.get_answer(session, answer_id)
    if answer is None:
        raise NotFound(f"No answer has id {answer_id!r}.")
    grade = await grading.regrade(session, bank, grader, answer)
    grading.observe(state.metrics, grade)
    response.headers["Location"] = f"/v1/grades/{grade.id}"
    return grading.grade_out(grade, staff=True)  # admins only


@router.post(
    "/answers/{answer_id}/human-scores",
    response_model=HumanScoreOut,
    status_code=201,
    dependencies=[JsonBody],
    responses=responses(400, 401, 403, 404, 413, 415, 422),
)
async def add_human_score(
    answer_id: str, body: HumanScoreIn, session: SessionDep, principal: StaffDep
) -> HumanScoreOut:
    """Record a human score for an answer (raters and admins)."""
    answer = await repository.get_answer(session, answer_id)
    if answer is None:
        raise NotFound(f"No answer has id {answer_id!r}.")
    return _human(await _store_score(session, answer, body, principal))


@router.get(
    "/answers/{answer_id}/human-scores",
    response_model=list[HumanScoreOut],
    dependencies=[principal_with(Role.ADMIN, Role.RATER)],
    responses=responses(401, 403, 404),
)
async def list_human_scores(answer_id: str, session: SessionDep) -> list[HumanScoreOut]:
    """Human scores of an answer, oldest first (raters and admins)."""
    answer = await repository.get_answer(session, answer_id)
    if answer is None:
        raise NotFound(f"No answer has id {answer_id!r}.")
    return [_human(h) for h in answer.human_scores]


CSV_COLUMNS = ("answer_id", "rater", "score", "scale_min", "scale_max")


@router.post(
    "/human-scores/import",
    response_model=ImportResult,
    responses={
        **responses(400, 401, 403, 413, 415, 422),
        200: {"content": {"text/csv": {"example": "answer_id,rater,score,scale_min,scale_max,scale_step\n"}}},
    },
)
async def import_human_scores(request: Request, session: SessionDep, principal: StaffDep) -> ImportResult:
    """Import human scores from a CSV body (columns answer_id, rater, score, scale_min, scale_max[, scale_step]).

    Valid lines are stored; every other line is reported with its number and reason.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise UnsupportedMediaType("Send the CSV as the request body with content type text/csv.")
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadEncoding(f"The CSV is not valid UTF-8 (byte {exc.start}).") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"The CSV lacks the column(s) {', '.join(missing)}; the header line needs them.")
    imported, errors = 0, []
    for row in reader:
        line = reader.line_num
        try:
            body = HumanScoreIn.model_validate(
                {
                    "rater": row["rater"] or None,
                    "score": row["score"],
                    "scale_min": row["scale_min"],
                    "scale_max": row["scale_max"],
                    "scale_step": row.get("scale_step") or None,
                }
            )
        except ValidationError as exc:
            errors.append(ImportProblem(line=line, reason="; ".join(e["msg"] for e in exc.errors())))
            continue
        answer = await repository.get_answer(session, row["answer_id"])
        if answer is None:
            errors.append(ImportProblem(line=line, reason=f"no answer has id {row['answer_id']!r}"))
            continue
        await _store_score(session, answer, body, principal)
        imported += 1
    return ImportResult(imported=imported, errors=errors)

"""Calibration runs (staff) and calibration profiles (anyone may read and apply them)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from eval.calibrate import Options
from eval.scale import Scale
from grader.errors import InvalidInput
from service import calibrations
from service.auth import Role, StaffDep, get_principal, principal_with
from service.deps import GraderDep, SessionDep
from service.problems import responses
from service.schemas import CalibrationList, CalibrationRunOut, CalibrationSummary, ProfileOut
from service.uploads import read_upload, upload_openapi

router = APIRouter(prefix="/v1", tags=["calibration"])

_UPLOAD_BODY = upload_openapi(
    "The data set: a multipart upload (field 'file', .jsonl or .csv), or the file itself as the body with content "
    "type application/x-ndjson (or application/jsonl) or text/csv. One answer a line, e.g. "
    '{"question_id": "1.1", "question": "What is the role of a prototype program in problem solving?", '
    '"reference_answer": "To simulate the behaviour of portions of the desired software product.", '
    '"answer": "To simulate portions of the final product.", "human_scores": [5, 4]}'
)
# Reports carry answers and human scores of real people: only staff read them.
_STAFF = [principal_with(Role.ADMIN, Role.RATER)]


@router.post(
    "/calibrations",
    response_model=CalibrationSummary,
    status_code=201,
    openapi_extra=_UPLOAD_BODY,
    responses=responses(400, 401, 403, 409, 413, 415, 422),
)
async def create_calibration(
    request: Request,
    response: Response,
    session: SessionDep,
    grader: GraderDep,
    principal: StaffDep,
    scale: Annotated[
        str,
        Query(
            pattern=r"^-?[0-9]+(\.[0-9]+)?:-?[0-9]+(\.[0-9]+)?:[0-9]+(\.[0-9]+)?$",
            max_length=60,
            description="The human scores' scale as MIN:MAX:STEP, e.g. 0:5:0.5.",
        ),
    ],
    cv: Annotated[int, Query(ge=2, le=20, description="Folds of the cross-validation grouped by question.")] = 5,
    method: Annotated[Literal["isotonic", "linear"], Query()] = "isotonic",
    stages: Annotated[
        Literal["embedding", "all"], Query(description="all: the judge too, when one is configured.")
    ] = "all",
    bootstrap: Annotated[int, Query(ge=0, le=2000, description="Resamples of questions for the 95% intervals.")] = 1000,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="Default: the file name.")] = None,
    profile: Annotated[
        str | None,
        Query(
            pattern=calibrations.PROFILE_NAME_PATTERN,
            description="Also store the fitted mapping as a profile of this name (names are never reused).",
        ),
    ] = None,
) -> CalibrationSummary:
    """Grade a human-scored data set, measure agreement, fit a mapping onto the humans' scale, and store the run.

    The data set's rows are ``question_id, question, reference_answer, answer, human_scores`` and/or ``score``
    (optional ``key_points``, ``max_score``; other fields are ignored). Every bad line is reported at once (422).
    This runs the grader over every answer before it answers: a few thousand answers take minutes.
    """
    parsed_scale = Scale.parse(scale)
    options = Options(method=method, cv=cv, bootstrap=bootstrap)
    upload = await read_upload(request, "data set")
    data, fmt, filename = upload.content, upload.format, upload.name
    if not data.strip():
        raise InvalidInput("The data set is empty.")
    if profile is not None:
        await calibrations.ensure_profile_name_free(session, profile)
    calibration, rendered = await calibrations.run(grader, data, fmt, filename, parsed_scale, options, stages)
    row, saved = await calibrations.store(
        session, calibration, rendered, name=name or filename, created_by=principal.id, profile=profile
    )
    response.headers["Location"] = f"/v1/calibrations/{row.id}"
    return calibrations.summary(row, saved.name if saved else None)


@router.get("/calibrations", response_model=CalibrationList, dependencies=_STAFF, responses=responses(401, 403, 422))
async def list_calibrations(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CalibrationList:
    """Calibration runs, newest first, with their headline figures (raters and admins)."""
    rows, total = await calibrations.list_runs(session, limit, offset)
    names = await calibrations.profiles_of(session, [r.id for r in rows])
    items = [calibrations.summary(r, names.get(r.id)) for r in rows]
    return CalibrationList(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/calibrations/{run_id}", response_model=CalibrationRunOut, dependencies=_STAFF, responses=responses(401, 403, 404)
)
async def read_calibration(run_id: str, session: SessionDep) -> CalibrationRunOut:
    """A calibration run with its full JSON report (raters and admins)."""
    row = await calibrations.get_run(session, run_id)
    names = await calibrations.profiles_of(session, [row.id])
    head = calibrations.summary(row, names.get(row.id))
    return CalibrationRunOut(**dict(head), report=row.report)


@router.get(
    "/calibrations/{run_id}/report.html",
    response_class=HTMLResponse,
    dependencies=_STAFF,
    responses={**responses(401, 403, 404), 200: {"content": {"text/html": {}}}},
)
async def read_calibration_html(run_id: str, session: SessionDep) -> HTMLResponse:
    """The run's self-contained HTML report, figures embedded (raters and admins)."""
    row = await calibrations.get_run(session, run_id)
    # The report shows answers written by others: allow nothing but its own inline styles and embedded images.
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return HTMLResponse(row.html, headers={"Content-Security-Policy": policy})


@router.get(
    "/calibration-profiles",
    response_model=list[ProfileOut],
    dependencies=[Depends(get_principal)],
    responses=responses(401),
)
async def list_profiles(session: SessionDep) -> list[ProfileOut]:
    """Every calibration profile, newest first; apply one to grades with ``?profile=NAME``."""
    return [calibrations.profile_out(p) for p in await calibrations.list_profiles(session)]


@router.get(
    "/calibration-profiles/{name}",
    response_model=ProfileOut,
    dependencies=[Depends(get_principal)],
    responses=responses(401, 404),
)
async def read_profile(name: str, session: SessionDep) -> ProfileOut:
    """One calibration profile."""
    return calibrations.profile_out(await calibrations.get_profile(session, name))

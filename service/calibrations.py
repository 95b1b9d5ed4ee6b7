"""Calibration runs and profiles: run a calibration for the API, store it, and apply a profile to grades.

A profile is written once and never changed: a grade read with ``?profile=NAME`` must mean the same thing
tomorrow, so reusing a name is a conflict and a new mapping needs a new name. The raw score of a grade is never
replaced; the mapped one is added beside it.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from eval.calibrate import Calibration, Options, Stages, calibrate
from eval.dataset import Format, parse_dataset
from eval.mapping import Mapping
from eval.report import Rendered, render
from eval.scale import Scale
from grader.errors import Conflict, UnknownCalibration, UnknownProfile
from grader.pipeline import Grader
from service.repository import new_id
from service.schemas import (
    CalibratedScore,
    CalibrationFigures,
    CalibrationSummary,
    GradeOut,
    ProfileOut,
    ScaleOut,
)
from service.tables import CalibrationProfile, CalibrationRun

PROFILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
"""Profile names travel in query strings: letters, digits, '.', '_' and '-'."""
FIGURES = set(CalibrationFigures.model_fields)


async def run(
    grader: Grader, data: bytes, fmt: Format, name: str, scale: Scale, options: Options, stages: Stages
) -> tuple[Calibration, Rendered]:
    """Check the data set, grade it, analyse it and draw the report, keeping the event loop free throughout."""
    dataset = await asyncio.to_thread(parse_dataset, data, fmt, scale, name)
    calibration = await calibrate(dataset, grader, options, stages)
    return calibration, await asyncio.to_thread(render, calibration)


async def ensure_profile_name_free(session: AsyncSession, name: str) -> None:
    """Raise Conflict when a profile already has this name (checked before a long run, not only after)."""
    found = (await session.execute(select(CalibrationProfile.id).where(CalibrationProfile.name == name))).first()
    if found is not None:
        raise Conflict(f"A calibration profile named {name!r} exists; profiles never change, so choose another name.")


async def store(
    session: AsyncSession,
    calibration: Calibration,
    rendered: Rendered,
    *,
    name: str,
    created_by: str,
    profile: str | None = None,
) -> tuple[CalibrationRun, CalibrationProfile | None]:
    """Store the run, then its profile; a profile name taken meanwhile leaves the run stored and says so."""
    report = rendered.report
    scale = calibration.mapping.scale
    row = CalibrationRun(
        id=new_id(),
        name=name,
        created_by=created_by,
        scale_min=scale.min,
        scale_max=scale.max,
        scale_step=scale.step,
        n=int(report["overall"]["n"]),
        method=calibration.mapping.method,
        stages=",".join(report["grader"]["stages"]),
        report=report,
        html=rendered.html,
    )
    session.add(row)
    await session.commit()
    if profile is None:
        return row, None
    saved = CalibrationProfile(
        name=profile,
        method=calibration.mapping.method,
        mapping=calibration.mapping.to_dict(),
        scale_min=scale.min,
        scale_max=scale.max,
        scale_step=scale.step,
        run_id=row.id,
    )
    session.add(saved)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            f"The run is stored as {row.id}, but a profile named {profile!r} was created meanwhile; "
            "profiles never change, so run again with another name."
        ) from None
    return row, saved


async def list_runs(session: AsyncSession, limit: int, offset: int) -> tuple[list[CalibrationRun], int]:
    """Runs, newest first, with the total count."""
    total = (await session.execute(select(func.count()).select_from(CalibrationRun))).scalar_one()
    query = select(CalibrationRun).order_by(CalibrationRun.created_at.desc(), CalibrationRun.id)
    return list((await session.execute(query.limit(limit).offset(offset))).scalars()), int(total)


async def get_run(session: AsyncSession, run_id: str) -> CalibrationRun:
    """One run, or UnknownCalibration."""
    row = await session.get(CalibrationRun, run_id)
    if row is None:
        raise UnknownCalibration(f"No calibration run has id {run_id!r}; list them with GET /v1/calibrations.")
    return row


async def profiles_of(session: AsyncSession, run_ids: list[str]) -> dict[str, str]:
    """Profile name by run id, for runs that stored one."""
    if not run_ids:
        return {}
    query = select(CalibrationProfile.run_id, CalibrationProfile.name).where(CalibrationProfile.run_id.in_(run_ids))
    return {row.run_id: row.name for row in await session.execute(query)}


async def list_profiles(session: AsyncSession) -> list[CalibrationProfile]:
    """Every profile, newest first."""
    query = select(CalibrationProfile).order_by(CalibrationProfile.created_at.desc(), CalibrationProfile.id)
    return list((await session.execute(query)).scalars())


async def get_profile(session: AsyncSession, name: str) -> CalibrationProfile:
    """One profile by name, or UnknownProfile."""
    query = select(CalibrationProfile).where(CalibrationProfile.name == name)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise UnknownProfile(f"No calibration profile is named {name!r}; list them with GET /v1/calibration-profiles.")
    return row


def _scale(row: CalibrationRun | CalibrationProfile) -> ScaleOut:
    return ScaleOut(min=row.scale_min, max=row.scale_max, step=row.scale_step)


def summary(row: CalibrationRun, profile: str | None) -> CalibrationSummary:
    """API view of a run without its full report."""
    overall = row.report.get("overall", {})
    return CalibrationSummary(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        scale=_scale(row),
        n=row.n,
        method=row.method,
        stages=row.stages.split(","),
        profile=profile,
        overall=CalibrationFigures.model_validate({k: v for k, v in overall.items() if k in FIGURES}),
    )


def profile_out(row: CalibrationProfile) -> ProfileOut:
    """API view of a profile."""
    return ProfileOut(
        name=row.name,
        method=row.method,
        scale=_scale(row),
        run_id=row.run_id,
        created_at=row.created_at,
        mapping=row.mapping,
    )


def with_profile(grade: GradeOut, profile: CalibrationProfile | None) -> GradeOut:
    """The grade with its score mapped by ``profile`` added as ``calibrated`` (its own ``score`` stays raw)."""
    if profile is None:
        return grade
    mapping = Mapping.from_dict(profile.mapping)
    score = None if grade.score is None else mapping.apply(grade.score)
    calibrated = CalibratedScore(profile=profile.name, score=score, scale=_scale(profile))
    return grade.model_copy(update={"calibrated": calibrated})

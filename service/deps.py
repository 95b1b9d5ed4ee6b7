"""FastAPI dependencies, as ``Annotated`` aliases used by every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import UnsupportedMediaType
from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.settings import Settings
from service.state import AppState


def get_state(request: Request) -> AppState:
    """The app's state object."""
    state: AppState = request.app.state.grader_state
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings_dep(state: StateDep) -> Settings:
    """Settings the app was built with."""
    return state.settings


def get_bank(state: StateDep) -> RubricBank:
    """The rubric bank."""
    return state.bank


def get_grader(state: StateDep) -> Grader:
    """The grading pipeline."""
    return state.grader


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """One database session per request."""
    async with state.sessions() as session:
        yield session


def require_json(request: Request) -> None:
    """Reject bodies that are not JSON with 415 rather than a confusing validation error."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        shown = media_type or "none"
        raise UnsupportedMediaType(f"Send the body as application/json (got content type {shown}).")


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BankDep = Annotated[RubricBank, Depends(get_bank)]
GraderDep = Annotated[Grader, Depends(get_grader)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
JsonBody = Depends(require_json)

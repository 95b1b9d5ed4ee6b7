"""What the app holds for its lifetime: engine, sessions, rubric bank and grading pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.observability import Metrics
from service.settings import Settings


@dataclass
class AppState:
    """Built once in the lifespan, reached from requests through ``service.deps``."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bank: RubricBank
    grader: Grader
    metrics: Metrics

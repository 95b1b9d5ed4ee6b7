"""What the app holds for its lifetime: engine, sessions, rubric bank and grading pipeline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.job_queue import ChunkJobs
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
    jobs: ChunkJobs
    """Where batch chunk jobs go: in-process workers or the PostgreSQL queue."""
    warm_up: asyncio.Task[None] | None = None
    """Background embedding of every rubric at start; the service is ready once it is done."""

    def warmed(self) -> bool:
        """Whether the start-up warm-up (if any) has finished successfully."""
        return self.warm_up is None or (
            self.warm_up.done() and not self.warm_up.cancelled() and self.warm_up.exception() is None
        )

"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from grader.pipeline import Grader
from rubrics.loader import RubricBank, default_bank
from service import problems
from service.db import make_async_engine, session_factory
from service.limits import BodySizeLimit
from service.observability import Metrics, RequestContext
from service.routes import answers, grades, health, questions
from service.settings import Settings, get_settings
from service.state import AppState

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, grader: Grader | None = None, bank: RubricBank | None = None
) -> FastAPI:
    """Build the app. The database must already be migrated (``grader serve`` does it on start)."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_async_engine(settings.resolved_database_url())
        pipeline = grader or Grader.from_settings(settings)
        app.state.grader_state = AppState(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            bank=bank or default_bank(),
            grader=pipeline,
            metrics=metrics,
        )
        # Load the model in the background so the first grade does not pay for it, without delaying start-up.
        state: AppState = app.state.grader_state
        if settings.warm_on_start:
            rubrics = list(state.bank)
            state.warm_up = asyncio.create_task(asyncio.to_thread(pipeline.scorer.warm, rubrics))
        try:
            yield
        finally:
            if state.warm_up is not None and not state.warm_up.done():
                state.warm_up.cancel()
            await engine.dispose()

    app = FastAPI(
        title="answer-grader",
        version="0.1.0",
        summary="Grades free-text answers to technical interview questions against a rubric.",
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(health.router)
    app.include_router(questions.router)
    app.include_router(grades.router)
    app.include_router(answers.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, metrics=metrics)
    return app

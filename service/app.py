"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from grader.pipeline import Grader
from rubrics.loader import RubricBank, default_bank
from service import problems, web
from service.db import make_async_engine, session_factory
from service.job_queue import ChunkJobs, InProcessJobs, JobContext, QueueJobs, make_queue_app, requeue_unfinished
from service.limits import BodySizeLimit
from service.observability import Metrics, RequestContext
from service.routes import answers, batches, calibrations, grades, health, questions
from service.settings import Settings, get_settings
from service.state import AppState

log = logging.getLogger(__name__)


@asynccontextmanager
async def batch_jobs(settings: Settings, context: JobContext) -> AsyncIterator[ChunkJobs]:
    """The batch job runner for this service, with unfinished batches queued again on start."""
    if settings.uses_queue():
        queue_app = make_queue_app(settings.resolved_database_url())
        async with queue_app.open_async():
            jobs: ChunkJobs = QueueJobs(queue_app)
            await requeue_unfinished(context.sessions, jobs, never_enqueued_only=True)
            yield jobs
        return
    # Two: the model takes one chunk at a time, while the other chunk's grades are written or judged.
    workers = InProcessJobs(context.run, workers=2, give_up=context.give_up)
    workers.start()
    try:
        # The in-memory queue died with the last process; the batch items say what is left.
        await requeue_unfinished(context.sessions, workers)
        yield workers
    finally:
        await workers.stop()


@asynccontextmanager
async def _warm(state: AppState) -> AsyncIterator[None]:
    # Load the model in the background so the first grade does not pay for it, without delaying start-up.
    if state.settings.warm_on_start:
        rubrics = list(state.bank)
        state.warm_up = asyncio.create_task(asyncio.to_thread(state.grader.scorer.warm, rubrics))
    try:
        yield
    finally:
        if state.warm_up is not None and not state.warm_up.done():
            state.warm_up.cancel()


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
        sessions = session_factory(engine)
        rubric_bank = bank or default_bank()
        async with batch_jobs(settings, JobContext(sessions, pipeline, rubric_bank)) as jobs:
            app.state.grader_state = AppState(
                settings=settings,
                engine=engine,
                sessions=sessions,
                bank=rubric_bank,
                grader=pipeline,
                metrics=metrics,
                jobs=jobs,
            )
            async with _warm(app.state.grader_state):
                yield
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
    app.include_router(batches.router)
    app.include_router(calibrations.router)
    web.install(app)  # the practice pages and their static files
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={"/v1/batches": settings.max_batch_bytes, "/v1/calibrations": settings.max_batch_bytes},
    )
    app.add_middleware(RequestContext, metrics=metrics)
    return app

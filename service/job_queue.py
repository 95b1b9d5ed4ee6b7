"""Where batch chunk jobs run: procrastinate on PostgreSQL (``grader worker`` processes), or in this process.

Both run the same job, ``service.batches.grade_chunk``. On PostgreSQL the jobs live in procrastinate's tables
(created by our migration 0003), so any number of ``grader worker`` processes on any number of machines can take
them. On the SQLite default there is no server to share, so an asyncio worker inside the service (or the CLI)
takes them from an in-memory queue; what is still pending after a restart is queued again from the batch items,
which are the record of truth on both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import procrastinate
from procrastinate.types import JSONValue
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service import batches

log = logging.getLogger(__name__)

QUEUE = "batches"
IN_PROCESS_ATTEMPTS = 3
RETRIES = 5
"""Retries of a chunk job on the queue after its first attempt; then its pending rows are reported as errors."""
TASK = "grade_chunk"


class ChunkJobs(Protocol):
    """Takes a batch's chunks as jobs."""

    async def enqueue(self, batch_id: str, chunks: list[int]) -> None: ...


@dataclass
class JobContext:
    """What a chunk job needs, built once per worker process (inside its event loop)."""

    sessions: async_sessionmaker[AsyncSession]
    grader: Grader
    bank: RubricBank
    model_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self, batch_id: str, chunk: int) -> int:
        return await batches.grade_chunk(self.sessions, self.grader, self.bank, batch_id, chunk, self.model_lock)

    async def give_up(self, batch_id: str, chunk: int, exc: BaseException, attempts: int) -> None:
        """Report the chunk's rows as errors once no attempt is left."""
        reason = f"grading failed after {attempts} attempts: {type(exc).__name__}: {exc}"
        log.error("batch %s chunk %s: %s", batch_id, chunk, reason)
        await batches.fail_chunk(self.sessions, batch_id, chunk, reason)


class InProcessJobs:
    """A FIFO of chunk jobs worked by asyncio tasks in this process."""

    def __init__(
        self,
        run: Callable[[str, int], Awaitable[int]],
        workers: int = 1,
        give_up: Callable[[str, int, BaseException, int], Awaitable[None]] | None = None,
        retry_wait: float = 1.0,
    ) -> None:
        self._run = run
        self._give_up = give_up
        self._retry_wait = retry_wait
        self._queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"chunk-worker-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def enqueue(self, batch_id: str, chunks: list[int]) -> None:
        for chunk in chunks:
            self._queue.put_nowait((batch_id, chunk))

    async def drain(self) -> None:
        """Wait until every queued job has run (the CLI's end of run)."""
        await self._queue.join()

    async def _work(self) -> None:
        while True:
            batch_id, chunk = await self._queue.get()
            try:
                await self._run_with_retries(batch_id, chunk)
            finally:
                self._queue.task_done()

    async def _run_with_retries(self, batch_id: str, chunk: int) -> None:
        # As procrastinate's retry does for the queue: a database blip should not leave a chunk behind. The job
        # is idempotent, so running it again is safe.
        for attempt in range(1, IN_PROCESS_ATTEMPTS + 1):
            try:
                await self._run(batch_id, chunk)
                return
            except Exception as exc:  # one failing chunk must not stop the worker
                log.exception("batch %s chunk %s failed (attempt %d)", batch_id, chunk, attempt)
                if attempt < IN_PROCESS_ATTEMPTS:
                    await asyncio.sleep(self._retry_wait * 2**attempt)
                elif self._give_up is not None:
                    with contextlib.suppress(Exception):  # the database may be what fails; then a restart resumes
                        await self._give_up(batch_id, chunk, exc, attempt)


def libpq_dsn(database_url: str) -> str:
    """The plain ``postgresql://`` DSN psycopg wants, from our SQLAlchemy-style URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue needs PostgreSQL; on SQLite batches run in-process")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_queue_app(database_url: str) -> procrastinate.App:
    """The procrastinate app with our one task; its context comes from ``additional_context['grading']``."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_dsn(database_url)))

    # retry: a database blip or a crash inside the job is worth another try; the job is idempotent.
    @app.task(
        name=TASK, queue=QUEUE, pass_context=True, retry=procrastinate.RetryStrategy(max_attempts=RETRIES, wait=2)
    )
    async def grade_chunk(context: procrastinate.JobContext, batch_id: str, chunk: int) -> int:
        grading: JobContext = context.additional_context["grading"]
        try:
            return await grading.run(batch_id, chunk)
        except Exception as exc:
            attempts = (context.job.attempts if context.job else 0) + 1
            if attempts > RETRIES:  # procrastinate will not run it again
                with contextlib.suppress(Exception):
                    await grading.give_up(batch_id, chunk, exc, attempts)
            raise

    return app


class QueueJobs:
    """Chunk jobs deferred to procrastinate, for ``grader worker`` processes to take."""

    def __init__(self, app: procrastinate.App) -> None:
        self.app = app

    async def enqueue(self, batch_id: str, chunks: list[int]) -> None:
        if chunks:
            task = self.app.tasks[TASK]
            kwargs: list[dict[str, JSONValue]] = [{"batch_id": batch_id, "chunk": c} for c in chunks]
            await task.batch_defer_async(*kwargs)


async def requeue_unfinished(
    sessions: async_sessionmaker[AsyncSession], jobs: ChunkJobs, never_enqueued_only: bool = False
) -> int:
    """Queue the pending chunks of unfinished batches again: all of them after an in-process restart (the
    in-memory queue is gone), or only batches stored but never handed to procrastinate (its queue survives).

    Harmless when a chunk's job is still queued: a chunk job with nothing pending does nothing.
    """
    count = 0
    async with sessions() as session:
        for batch_id in await batches.unfinished(session, never_enqueued_only):
            chunks = await batches.pending_chunks(session, batch_id)
            await jobs.enqueue(batch_id, chunks)
            await batches.mark_enqueued(session, batch_id)
            count += len(chunks)
    return count


async def retry_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> int:
    """Hand the jobs of workers that stopped sending heartbeats (killed, lost) back to the queue."""
    stalled = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=seconds_since_heartbeat)
    count = 0
    for job in stalled:
        log.warning("job %s (%s) belonged to a stalled worker; retrying it", job.id, job.task_kwargs)
        try:
            await app.job_manager.retry_job(job)
        except Exception:  # another worker retried it first (it is no longer 'doing'): nothing to do
            log.info("job %s was already retried", job.id)
            continue
        count += 1
    return count


async def run_worker(
    app: procrastinate.App,
    grading: JobContext,
    concurrency: int = 2,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    install_signal_handlers: bool = True,
) -> None:
    """Work the batch queue until stopped; meanwhile retry jobs of dead workers every heartbeat."""

    async def rescue() -> None:
        while True:
            try:
                await retry_stalled(app, stalled_after)
            except Exception:
                log.exception("could not look for stalled jobs")
            await asyncio.sleep(heartbeat)

    options: dict[str, Any] = {
        "queues": [QUEUE],
        "concurrency": concurrency,
        "additional_context": {"grading": grading},
        "install_signal_handlers": install_signal_handlers,
        "update_heartbeat_interval": heartbeat,
        "stalled_worker_timeout": stalled_after,
        "delete_jobs": "successful",
    }
    async with app.open_async():
        rescuer = asyncio.create_task(rescue(), name="retry-stalled-jobs")
        try:
            await app.run_worker_async(**options)
        finally:
            rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer

"""``grader batch``: grade a CSV or JSONL file in-process through the same batch items and chunk jobs as the API.

The file's rows are stored as a batch first (answers included), then its chunks are graded by in-process workers;
the database, not the output file, records what is done. So an interrupted run (Ctrl-C, a crash, SIGKILL)
resumes with ``--resume`` by grading only the items still pending, and the output files are written from the
database at the end: every row once, graded rows in ``OUT`` and unreadable ones in ``OUT.errors.jsonl``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grader.errors import InvalidInput
from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service import batches
from service.batch_input import check_file
from service.job_queue import InProcessJobs, JobContext
from service.tables import Batch
from service.uploads import format_of

CLI_OWNER = "cli"
ERROR_FIELDS = ["line", "answer_id", "reason"]


@dataclass
class Summary:
    """Counts of one run."""

    batch_id: str = ""
    graded_now: int = 0
    already_done: int = 0
    errors: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def errors_path(out: Path) -> Path:
    """Where the rows that could not be graded are reported."""
    return out.with_name(out.name + ".errors.jsonl")


async def _resumable(session: AsyncSession, source: Path) -> Batch | None:
    query = (
        select(Batch)
        .where(Batch.owner == CLI_OWNER, Batch.source == str(source.resolve())[:500], Batch.status != "cancelled")
        .order_by(Batch.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def run_file(
    sessions: async_sessionmaker[AsyncSession],
    grader: Grader,
    bank: RubricBank,
    source: Path,
    out: Path,
    resume: bool = False,
    stages: batches.Stages = "all",
    progress: Callable[[int], object] | None = None,
    started: Callable[[int, int], object] | None = None,
    chunk_size: int = batches.DEFAULT_CHUNK,
) -> Summary:
    """Grade every row of ``source`` (or, resuming, what an earlier run left) and write the results."""
    fmt = format_of(source.name)
    if fmt is None or format_of(out.name) is None:
        raise InvalidInput("The input and --out must end in .csv or .jsonl.")
    async with sessions() as session:
        batch = await _resumable(session, source) if resume else None
        if resume and batch is None:
            raise InvalidInput(f"There is no earlier run of {source} to resume; run it without --resume.")
        if batch is None:
            if out.exists() or errors_path(out).exists():
                raise InvalidInput(f"{out} or {errors_path(out)} exists; pass --resume to finish that run.")
            rows = check_file(source.read_bytes(), fmt, bank, grader)
            batch = await batches.create_batch(
                session, bank, rows, CLI_OWNER, str(source.resolve()), stages, chunk_size
            )
        chunks = await batches.pending_chunks(session, batch.id)
        before = await batches.progress(session, batch)
    summary = Summary(batch_id=batch.id, already_done=before.by_state["graded"])
    if started:
        started(batch.total, batch.total - before.by_state["pending"])

    context = JobContext(sessions, grader, bank)

    async def run(batch_id: str, chunk: int) -> int:
        graded = await context.run(batch_id, chunk)
        summary.graded_now += graded
        if progress:
            progress(graded)
        return graded

    # Two chunk workers: one chunk's database writes and judge calls overlap the next chunk's model call (the
    # model itself takes one chunk at a time, see JobContext.model_lock).
    jobs = InProcessJobs(run, workers=2, give_up=context.give_up)
    jobs.start()
    try:
        await jobs.enqueue(batch.id, chunks)
        await jobs.drain()
    finally:
        await jobs.stop()

    async with sessions() as session:
        after = await batches.progress(session, batch)
        summary.errors, summary.by_status = after.by_state["error"], after.by_status
        await write_results(session, batch.id, out)
    return summary


async def write_results(session: AsyncSession, batch_id: str, out: Path) -> None:
    """Write graded rows to ``out`` and the others to its errors file, each replaced atomically."""
    is_csv = format_of(out.name) == "csv"
    graded_tmp = out.with_name(out.name + ".partial")
    errors_tmp = errors_path(out).with_name(errors_path(out).name + ".partial")
    with graded_tmp.open("w", encoding="utf-8", newline="") as graded, errors_tmp.open("w", encoding="utf-8") as bad:
        writer = csv.DictWriter(graded, fieldnames=batches.RESULT_FIELDS) if is_csv else None
        if writer:
            writer.writeheader()
        async for page in batches.results(session, batch_id):
            for record in page:
                if record["state"] == "error":
                    bad.write(
                        _json({"line": record["line"], "answer_id": record["answer_id"], "reason": record["error"]})
                    )
                elif writer:
                    writer.writerow(record)
                else:
                    graded.write(_json(record))
        for handle in (graded, bad):
            handle.flush()
            os.fsync(handle.fileno())
    graded_tmp.replace(out)
    errors_tmp.replace(errors_path(out))


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"

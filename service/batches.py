"""Batches: a file's rows stored as items, graded chunk by chunk by jobs, each row exactly once.

The same ``grade_chunk`` job runs in-process (SQLite default, ``grader batch``) and in ``grader worker``
processes on PostgreSQL. A job may run twice (a killed worker's job is retried) or race another copy of itself;
exactly-once holds anyway because a chunk's grades are committed in the same transaction that moves its items
from ``pending`` to ``graded``, and that move only counts rows still pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from grader.exemplars import Exemplar
from grader.pipeline import Grader
from grader.result import GradeResult
from rubrics.loader import RubricBank
from service import repository
from service.batch_input import CheckedRow
from service.grading import grading_failed
from service.tables import Answer, Batch, BatchItem, Grade, utcnow

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 512
"""Answers per job. One model call embeds a whole chunk, and the model pads each of its internal batches to the
longest text in it, so bigger chunks sort texts by length better: on short answers chunks of 64 reached 0.67 of
raw encode throughput, 256 about 0.79, 512 about 0.85 (bench/batch.py). A worker killed mid-chunk loses that
chunk's stage 1 only: its judge verdicts are in the judge cache when the chunk runs again."""
Stages = Literal["embedding", "all"]
RESULT_FIELDS = [
    "line",
    "answer_id",
    "question_id",
    "state",
    "status",
    "score",
    "stage1_score",
    "human_score",
    "grade_id",
    "error",
]


async def create_batch(
    session: AsyncSession,
    bank: RubricBank,
    rows: list[CheckedRow],
    owner: str,
    source: str,
    stages: Stages,
    chunk_size: int = DEFAULT_CHUNK,
) -> Batch:
    """Store a batch with every row (answers included) in one transaction, before anything is graded.

    Chunks group answers of similar length: the model pads each internal batch to its longest text, so a chunk
    of alike lengths wastes almost nothing (results still come out in line order).
    """
    gradable_rows = [r for r in rows if r.error is None and r.answer is not None and r.question_id is not None]
    by_length = sorted(range(len(gradable_rows)), key=lambda i: len(gradable_rows[i].answer or ""))
    chunk_of = {gradable_rows[i].line: rank // chunk_size for rank, i in enumerate(by_length)}
    batch = Batch(id=repository.new_id(), owner=owner, source=source[:500], stages=stages, status="queued", total=0)
    snapshots: dict[str, int] = {}
    answers: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {
            "batch_id": batch.id,
            "line": row.line,
            "external_id": row.external_id,
            "human_score": row.human_score,
            "question_id": row.question_id,
        }
        if row.line not in chunk_of:
            item |= {"state": "error", "error": row.error, "chunk": -1, "answer_id": None}
        else:
            assert row.question_id is not None and row.answer is not None  # gradable, see above
            if row.question_id not in snapshots:
                rubric = bank.get(row.question_id)
                assert rubric is not None  # check_row found it
                snapshots[row.question_id] = (await repository.rubric_snapshot(session, rubric)).id
            answer_id = repository.new_id()
            answers.append(
                {
                    "id": answer_id,
                    "question_id": row.question_id,
                    "rubric_version_id": snapshots[row.question_id],
                    "text": row.answer,
                    "owner": owner,
                    "created_at": utcnow(),
                }
            )
            item |= {"state": "pending", "error": None, "chunk": chunk_of[row.line], "answer_id": answer_id}
        items.append(item)
    batch.total = len(items)
    batch.chunks = (len(gradable_rows) + chunk_size - 1) // chunk_size
    if not gradable_rows:
        batch.status, batch.finished_at = "done", utcnow()
    session.add(batch)
    await session.flush()
    for start in range(0, len(answers), 1000):
        await session.execute(insert(Answer), answers[start : start + 1000])
    for start in range(0, len(items), 1000):
        await session.execute(insert(BatchItem), items[start : start + 1000])
    await session.commit()
    return batch


async def pending_chunks(session: AsyncSession, batch_id: str) -> list[int]:
    """Chunks of a batch that still have pending items."""
    query = (
        select(BatchItem.chunk)
        .where(BatchItem.batch_id == batch_id, BatchItem.state == "pending")
        .distinct()
        .order_by(BatchItem.chunk)
    )
    return [int(c) for c in (await session.execute(query)).scalars()]


async def unfinished(session: AsyncSession, never_enqueued_only: bool = False) -> list[str]:
    """Batches that still have work (optionally only those whose jobs were never queued)."""
    query = select(Batch.id).where(Batch.status.in_(("queued", "running"))).order_by(Batch.created_at)
    if never_enqueued_only:
        query = query.where(Batch.enqueued_at.is_(None))
    return list((await session.execute(query)).scalars())


async def mark_enqueued(session: AsyncSession, batch_id: str) -> None:
    """Record that the batch's jobs are in the queue."""
    await session.execute(update(Batch).where(Batch.id == batch_id).values(enqueued_at=utcnow()))
    await session.commit()


async def _grade_answers(
    grader: Grader,
    stages: str,
    pairs: list[tuple[Any, str]],
    exemplars: list[list[Exemplar]],
    model_lock: asyncio.Lock,
) -> list[GradeResult]:
    """Stage 1 for the whole chunk in one model call, then the judge per answer with its own concurrency."""
    try:
        # One model call at a time: two at once only split the same cores, while the other chunk's judge calls
        # and database writes go on meanwhile.
        async with model_lock:
            stage1 = await asyncio.to_thread(grader.scorer.score_many, pairs, exemplars)
    except Exception as exc:  # the answers are stored; say why they have no score rather than losing the chunk
        log.exception("stage 1 failed for a chunk")
        return [grading_failed(grader, r, exc) for r, _ in pairs]
    if stages == "embedding":
        return [grader.from_stage1(r, s) for (r, _), s in zip(pairs, stage1, strict=True)]

    async def judged(rubric: Any, answer: str, s1: Any) -> GradeResult:
        try:
            return await grader.after_stage1(rubric, answer, s1)
        except Exception as exc:
            log.exception("grading an answer of a batch failed")
            return grading_failed(grader, rubric, exc)

    return list(await asyncio.gather(*(judged(r, a, s) for (r, a), s in zip(pairs, stage1, strict=True))))


async def _pending_items(session: AsyncSession, batch_id: str, chunk: int) -> list[tuple[BatchItem, str]]:
    query = (
        select(BatchItem, Answer.text)
        .join(Answer, Answer.id == BatchItem.answer_id)
        .where(BatchItem.batch_id == batch_id, BatchItem.chunk == chunk, BatchItem.state == "pending")
        .order_by(BatchItem.line)
    )
    return [(item, text) for item, text in (await session.execute(query)).all()]


async def grade_chunk(
    sessions: async_sessionmaker[AsyncSession],
    grader: Grader,
    bank: RubricBank,
    batch_id: str,
    chunk: int,
    model_lock: asyncio.Lock | None = None,
) -> int:
    """Grade the pending items of one chunk; returns how many this call graded (0 when already done)."""
    async with sessions() as session:
        batch = await session.get(Batch, batch_id)
        if batch is None or batch.status in ("cancelled", "done"):
            return 0
        stages = batch.stages
        items = await _pending_items(session, batch_id, chunk)
        if not items:
            await _finish_if_done(session, batch_id)
            return 0
        await session.execute(
            update(Batch).where(Batch.id == batch_id, Batch.status == "queued").values(status="running")
        )
        await session.commit()
        session.expunge_all()

    started = time.perf_counter()
    pairs, gradable = [], []
    for item, text in items:
        rubric = bank.get(item.question_id or "")
        if rubric is not None:  # the bank could have lost the question since the upload
            pairs.append((rubric, text))
            gradable.append(item)
    async with sessions() as session:
        exemplars = await repository.exemplars_for(
            session,
            {r.id for r, _ in pairs},
            [item.answer_id for item in gradable if item.answer_id is not None],
            grader.exemplars_per_question,
        )
    chosen = [exemplars.get(r.id, []) for r, _ in pairs]
    results = await _grade_answers(grader, stages, pairs, chosen, model_lock or asyncio.Lock())
    per_answer_ms = round((time.perf_counter() - started) * 1000 / max(len(pairs), 1), 2)
    outcome: dict[int, GradeResult | str] = {item.id: result for item, result in zip(gradable, results, strict=True)}
    for item, _ in items:
        outcome.setdefault(item.id, f"unknown question {item.question_id!r} (no longer in the rubric bank)")

    async with sessions() as session:
        graded = await _commit_outcomes(session, items, outcome, per_answer_ms)
        await _finish_if_done(session, batch_id)
    return graded


async def _commit_outcomes(
    session: AsyncSession,
    items: list[tuple[BatchItem, str]],
    outcome: dict[int, GradeResult | str],
    per_answer_ms: float,
) -> int:
    """Store grades and move items out of pending in one transaction; retry without items another job took.

    Set-based on purpose (one INSERT of all grades, one UPDATE per outcome kind): per-row ORM statements cost
    more of the event loop than the chunk's whole database work should.
    """
    todo = {item.id: item for item, _ in items}
    while todo:
        now = utcnow()
        grades: dict[int, dict[str, Any]] = {}
        for item_id, item in todo.items():
            result = outcome[item_id]
            if not isinstance(result, str):
                assert item.answer_id is not None
                grades[item_id] = repository.grade_values(item.answer_id, result, per_answer_ms)
        if grades:
            await session.execute(insert(Grade), list(grades.values()))
        errors = {i: r for i, r in outcome.items() if i in todo and isinstance(r, str)}
        moved = await _move_pending(session, "graded", "grade_id", {i: g["id"] for i, g in grades.items()}, now)
        moved += await _move_pending(session, "error", "error", errors, now)
        if moved == len(todo):
            await session.commit()
            return len(grades)
        # Another copy of this job (a retried one, say) finished some of these items first: drop ours and
        # try again with what is still pending, so no item ends with two grades.
        await session.rollback()
        still = select(BatchItem.id).where(BatchItem.id.in_(list(todo)), BatchItem.state == "pending")
        pending_ids = set((await session.execute(still)).scalars())
        todo = {i: item for i, item in todo.items() if i in pending_ids}
    return 0


async def _move_pending(
    session: AsyncSession, state: str, column: str, value_by_item: dict[int, str], now: datetime
) -> int:
    """Move the given items from pending to ``state``, each with its own value in ``column``; returns how many
    were still pending (the others were taken by another copy of the job)."""
    if not value_by_item:
        return 0
    result: Any = await session.execute(
        update(BatchItem)
        .where(BatchItem.id.in_(list(value_by_item)), BatchItem.state == "pending")
        .values({"state": state, column: case(value_by_item, value=BatchItem.id), "graded_at": now})
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def _finish_if_done(session: AsyncSession, batch_id: str) -> None:
    left = await session.scalar(
        select(func.count()).where(BatchItem.batch_id == batch_id, BatchItem.state == "pending")
    )
    if not left:
        await session.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.status.in_(("queued", "running")))
            .values(status="done", finished_at=utcnow())
        )
        await session.commit()


async def fail_chunk(sessions: async_sessionmaker[AsyncSession], batch_id: str, chunk: int, reason: str) -> None:
    """After the last attempt: the chunk's pending rows become errors with the reason, so every row still ends
    graded or reported and the batch can finish, rather than waiting forever."""
    async with sessions() as session:
        await session.execute(
            update(BatchItem)
            .where(BatchItem.batch_id == batch_id, BatchItem.chunk == chunk, BatchItem.state == "pending")
            .values(state="error", error=reason[:2000], graded_at=utcnow())
        )
        await session.commit()
        await _finish_if_done(session, batch_id)


async def cancel(session: AsyncSession, batch: Batch) -> None:
    """Stop a batch: its pending items become cancelled; what is graded stays graded."""
    if batch.status in ("done", "cancelled"):
        return
    await session.execute(
        update(BatchItem).where(BatchItem.batch_id == batch.id, BatchItem.state == "pending").values(state="cancelled")
    )
    batch.status, batch.finished_at = "cancelled", utcnow()
    await session.commit()


@dataclass
class Progress:
    """Where a batch stands."""

    by_state: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    rate_per_s: float | None = None
    eta_s: float | None = None
    last_graded_at: datetime | None = None


async def progress(session: AsyncSession, batch: Batch) -> Progress:
    """Counts by item state and grade status, rate since the batch was queued, and the time left at that rate."""
    states = await session.execute(
        select(BatchItem.state, func.count()).where(BatchItem.batch_id == batch.id).group_by(BatchItem.state)
    )
    result = Progress(by_state={"pending": 0, "graded": 0, "error": 0, "cancelled": 0})
    result.by_state.update({str(s): int(n) for s, n in states.all()})
    statuses = await session.execute(
        select(Grade.status, func.count())
        .join(BatchItem, BatchItem.grade_id == Grade.id)
        .where(BatchItem.batch_id == batch.id)
        .group_by(Grade.status)
    )
    result.by_status = {str(s): int(n) for s, n in statuses.all()}
    result.last_graded_at = await session.scalar(
        select(func.max(BatchItem.graded_at)).where(BatchItem.batch_id == batch.id)
    )
    start = batch.enqueued_at or batch.created_at
    graded = result.by_state["graded"]
    if result.last_graded_at is not None and graded:
        seconds = (result.last_graded_at - start).total_seconds()
        if seconds > 0:
            result.rate_per_s = round(graded / seconds, 3)
            result.eta_s = round(result.by_state["pending"] / result.rate_per_s, 1) if result.rate_per_s else None
    return result


async def results(
    session: AsyncSession, batch_id: str, states: Iterable[str] | None = None, page: int = 500
) -> AsyncIterator[list[dict[str, Any]]]:
    """Result records in line order, a page at a time (keyset by line), so any size streams in bounded memory."""
    wanted = list(states) if states is not None else None
    after = 0
    while True:
        query = (
            select(BatchItem, Grade.status, Grade.score, Grade.result)
            .outerjoin(Grade, Grade.id == BatchItem.grade_id)
            .where(BatchItem.batch_id == batch_id, BatchItem.line > after)
            .order_by(BatchItem.line)
            .limit(page)
        )
        if wanted is not None:
            query = query.where(BatchItem.state.in_(wanted))
        found = (await session.execute(query)).all()
        if not found:
            return
        yield [_record(item, status, score, result) for item, status, score, result in found]
        after = found[-1][0].line


def _record(item: BatchItem, status: str | None, score: float | None, result: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "line": item.line,
        "answer_id": item.external_id or item.answer_id,
        "question_id": item.question_id,
        "state": item.state,
        "status": status,
        "score": score,
        "stage1_score": (result or {}).get("stage1_score"),
        "human_score": item.human_score,
        "grade_id": item.grade_id,
        "error": item.error,
    }

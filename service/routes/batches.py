"""Batches: upload a CSV or JSONL file of answers, follow its progress, stream its results, cancel it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import InvalidInput, UnknownBatch
from service import batches
from service.auth import Principal, PrincipalDep
from service.batch_input import check_file
from service.deps import BankDep, GraderDep, SessionDep, StateDep
from service.problems import responses
from service.schemas import BatchList, BatchOut
from service.tables import Batch
from service.uploads import read_upload, upload_openapi

router = APIRouter(prefix="/v1/batches", tags=["batches"])

UPLOAD_DOC = upload_openapi(
    "The file: multipart field `file` (name ending .csv or .jsonl), or the raw body as text/csv or "
    "application/x-ndjson. Columns: question_id, answer, optional answer_id and human_score."
)


async def _visible(session: AsyncSession, batch_id: str, principal: Principal) -> Batch:
    batch = await session.get(Batch, batch_id)
    if batch is None or not (principal.can_see_everything() or batch.owner == principal.id):
        raise UnknownBatch(f"There is no batch {batch_id!r}.")
    return batch


async def _out(session: AsyncSession, batch: Batch) -> BatchOut:
    progress = await batches.progress(session, batch)
    return BatchOut(
        id=batch.id,
        source=batch.source,
        stages=batch.stages,
        status=batch.status,
        total=batch.total,
        counts=progress.by_state,
        statuses=progress.by_status,
        rate_per_s=progress.rate_per_s,
        eta_s=progress.eta_s,
        created_at=batch.created_at,
        enqueued_at=batch.enqueued_at,
        finished_at=batch.finished_at,
        results=f"/v1/batches/{batch.id}/results",
    )


@router.post(
    "",
    response_model=BatchOut,
    status_code=201,
    openapi_extra=UPLOAD_DOC,
    responses=responses(401, 413, 415, 422),
)
async def create_batch(
    request: Request,
    response: Response,
    session: SessionDep,
    bank: BankDep,
    grader: GraderDep,
    principal: PrincipalDep,
    state: StateDep,
    stages: Annotated[Literal["embedding", "all"], Query(description="embedding: never call the judge")] = "all",
    filename: Annotated[str | None, Query(max_length=200, description="Name to show for a raw-body upload")] = None,
) -> BatchOut:
    """Store every row of the file (rows that cannot be graded too, with their reason), then queue the grading.

    Returns at once with status 'queued'; follow it at ``GET /v1/batches/{id}``.
    """
    upload = await read_upload(request, "answers file", filename)
    rows = check_file(upload.content, upload.format, bank, grader)
    if not rows:
        raise InvalidInput("The file has no rows.")
    batch = await batches.create_batch(
        session, bank, rows, principal.id, upload.name, stages, state.settings.batch_chunk
    )
    # Stored first: if the queue is unreachable now, the batch is queued again when a worker or the service starts.
    chunks = await batches.pending_chunks(session, batch.id)
    await state.jobs.enqueue(batch.id, chunks)
    await batches.mark_enqueued(session, batch.id)
    await session.refresh(batch)
    response.headers["Location"] = f"/v1/batches/{batch.id}"
    return await _out(session, batch)


@router.get("", response_model=BatchList, responses=responses(401, 422))
async def list_batches(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> BatchList:
    """Batches, newest first; candidates see only their own."""
    query = select(Batch)
    if not principal.can_see_everything():
        query = query.where(Batch.owner == principal.id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = (await session.execute(query.order_by(Batch.created_at.desc()).limit(limit).offset(offset))).scalars()
    return BatchList(items=[await _out(session, b) for b in found], total=total, limit=limit, offset=offset)


@router.get("/{batch_id}", response_model=BatchOut, responses=responses(401, 404))
async def get_batch(batch_id: str, session: SessionDep, principal: PrincipalDep) -> BatchOut:
    """Counts by state and grade status, rate and ETA."""
    return await _out(session, await _visible(session, batch_id, principal))


@router.post("/{batch_id}/cancel", response_model=BatchOut, responses=responses(401, 404))
async def cancel_batch(batch_id: str, session: SessionDep, principal: PrincipalDep) -> BatchOut:
    """Stop grading: pending rows become cancelled; graded rows keep their grades. Cancelling twice is harmless."""
    batch = await _visible(session, batch_id, principal)
    await batches.cancel(session, batch)
    return await _out(session, batch)


def _lines(page: list[dict[str, Any]], fmt: str, header: bool) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in page)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=batches.RESULT_FIELDS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(page)
    return buffer.getvalue()


@router.get(
    "/{batch_id}/results",
    responses={
        **responses(401, 404, 422),
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "One record per row"},
    },
    response_class=StreamingResponse,
)
async def batch_results(
    batch_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    format: Annotated[Literal["jsonl", "csv"], Query(description="jsonl or csv")] = "jsonl",
    row_state: Annotated[
        Literal["graded", "error", "pending", "cancelled"] | None,
        Query(alias="state", description="only rows in this state"),
    ] = None,
) -> StreamingResponse:
    """Every row in line order (so far, while the batch runs), streamed: graded rows with their grade, rows that
    could not be graded with their reason."""
    batch = await _visible(session, batch_id, principal)
    states = [row_state] if row_state else None

    async def stream() -> AsyncIterator[str]:
        # Its own session: the request's is closed once the handler returns, before the body is streamed.
        async with state.sessions() as own:
            header = True
            async for page in batches.results(own, batch.id, states):
                yield _lines(page, format, header)
                header = False
            if header and format == "csv":
                yield _lines([], format, True)

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    stem = batch.source.rsplit(".", 1)[0] or "batch"
    disposition = f'attachment; filename="{stem}-results.{format}"'
    return StreamingResponse(stream(), media_type=media, headers={"Content-Disposition": disposition})

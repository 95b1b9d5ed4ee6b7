"""The batches API on both backends: upload, progress, streamed results, cancel, bad uploads, failing chunks."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service import batches
from service.batch_input import CheckedRow
from service.db import make_async_engine, session_factory
from service.job_queue import IN_PROCESS_ATTEMPTS, InProcessJobs, JobContext
from service.settings import Settings
from service.tables import Batch, BatchItem

CHUNK = 16
"""Small chunks, so a few dozen rows make several jobs."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """In-process chunk workers on both backends here; the PostgreSQL queue has its own tests."""
    return settings.model_copy(update={"batch_runner": "in-process", "batch_chunk": CHUNK})


def _jsonl(bank: RubricBank, n: int, bad: dict[int, dict[str, Any]] | None = None) -> bytes:
    rubrics = list(bank)
    lines = []
    for i in range(1, n + 1):
        row = (bad or {}).get(i) or {
            "question_id": rubrics[i % len(rubrics)].id,
            "answer": rubrics[i % len(rubrics)].reference_answer[:120],
            "answer_id": f"cand-{i}",
            "human_score": i % 6,
        }
        lines.append(json.dumps(row))
    return ("\n".join(lines) + "\n").encode()


def _wait_done(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        batch: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in ("done", "cancelled"):
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def test_upload_follow_and_stream_results(client: httpx.Client, bank: RubricBank) -> None:
    bad = {3: {"question_id": "nope/00-x", "answer": "hi"}, 7: {"question_id": "vectors/07-span-dimension"}}
    content = _jsonl(bank, CHUNK + 6, bad)
    created = client.post(
        "/v1/batches", params={"stages": "embedding"}, files={"file": ("answers.jsonl", content, "application/jsonl")}
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    assert created.headers["location"] == f"/v1/batches/{batch['id']}"
    assert batch["source"] == "answers.jsonl" and batch["total"] == CHUNK + 6 and batch["stages"] == "embedding"
    assert batch["counts"]["error"] == 2

    done = _wait_done(client, batch["id"])
    assert done["status"] == "done" and done["finished_at"] is not None
    assert done["counts"] == {"pending": 0, "graded": CHUNK + 4, "error": 2, "cancelled": 0}
    assert done["statuses"] == {"scored": CHUNK + 4}
    assert done["rate_per_s"] > 0 and done["eta_s"] == 0

    streamed = client.get(done["results"], params={"format": "jsonl"})
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in streamed.text.splitlines()]
    assert [r["line"] for r in records] == list(range(1, CHUNK + 7))
    by_line = {r["line"]: r for r in records}
    assert by_line[3]["state"] == "error" and "unknown question 'nope/00-x'" in by_line[3]["error"]
    assert by_line[7]["error"] == "missing column(s): answer"
    assert by_line[1]["answer_id"] == "cand-1" and by_line[1]["human_score"] == "1"
    grade = client.get(f"/v1/grades/{by_line[1]['grade_id']}").json()
    assert grade["score"] == by_line[1]["score"] and grade["question_id"] == by_line[1]["question_id"]

    as_csv = client.get(done["results"], params={"format": "csv", "state": "error"})
    assert (
        as_csv.headers["content-type"].startswith("text/csv") and "attachment" in as_csv.headers["content-disposition"]
    )
    assert [int(r["line"]) for r in csv.DictReader(io.StringIO(as_csv.text))] == [3, 7]
    assert client.get("/v1/batches").json()["items"][0]["id"] == batch["id"]


def test_raw_csv_body_and_cancel_keep_what_is_graded(client: httpx.Client, bank: RubricBank) -> None:
    rubric = next(iter(bank))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["question_id", "answer"])
    writer.writerows([rubric.id, f"{rubric.reference_answer[:80]} ({i})"] for i in range(3 * CHUNK))
    created = client.post(
        "/v1/batches",
        params={"stages": "embedding", "filename": "class.csv"},
        content=buffer.getvalue().encode(),
        headers={"content-type": "text/csv"},
    )
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    cancelled = client.post(f"/v1/batches/{batch_id}/cancel").json()
    assert cancelled["status"] in ("cancelled", "done")
    final = _wait_done(client, batch_id)
    counts = final["counts"]
    assert counts["pending"] == 0 and counts["graded"] + counts["cancelled"] == 3 * CHUNK
    assert final["statuses"].get("scored", 0) == counts["graded"]
    assert client.post(f"/v1/batches/{batch_id}/cancel").status_code == 200  # harmless twice


@pytest.mark.parametrize(
    ("kwargs", "status", "detail"),
    [
        ({"content": b"question_id,answer\n", "headers": {"content-type": "text/csv"}}, 422, "no rows"),
        ({"content": b"{}", "headers": {"content-type": "application/json"}}, 415, "multipart/form-data"),
        ({"files": {"file": ("answers.txt", b"x", "text/plain")}}, 422, "must end in .csv or .jsonl"),
        ({"files": {"other": ("a.csv", b"x", "text/csv")}}, 422, "multipart field 'file'"),
    ],
)
def test_bad_uploads_are_clear_problems(client: httpx.Client, kwargs: dict[str, Any], status: int, detail: str) -> None:
    response = client.post("/v1/batches", **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json" and detail in response.json()["detail"]


def test_unknown_batch_is_404(client: httpx.Client) -> None:
    for path in ("/v1/batches/nope", "/v1/batches/nope/results"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["title"] == "Unknown batch"


def test_a_chunk_that_keeps_failing_ends_as_errors_not_pending(
    settings: Settings, grader: Grader, bank: RubricBank
) -> None:
    """Every row ends graded or reported: after the last attempt, a failing chunk's rows become errors."""
    rubric = next(iter(bank))
    rows = [CheckedRow(line, rubric.id, f"answer {line}", None, None, None) for line in range(1, 4)]

    async def scenario() -> tuple[str, list[tuple[str, str | None]]]:
        engine = make_async_engine(settings.resolved_database_url())
        sessions = session_factory(engine)
        context = JobContext(sessions, grader, bank)
        calls = 0

        async def database_gone(batch_id: str, chunk: int) -> int:
            nonlocal calls
            calls += 1
            raise ConnectionError("server closed the connection unexpectedly")

        try:
            async with sessions() as session:
                batch = await batches.create_batch(session, bank, rows, "test", "three.jsonl", "embedding")
            jobs = InProcessJobs(database_gone, give_up=context.give_up, retry_wait=0.01)
            jobs.start()
            await jobs.enqueue(batch.id, [0])
            await jobs.drain()
            await jobs.stop()
            assert calls == IN_PROCESS_ATTEMPTS
            async with sessions() as session:
                status = (await session.get(Batch, batch.id)).status  # type: ignore[union-attr]
                found = await session.execute(select(BatchItem.state, BatchItem.error).order_by(BatchItem.line))
                return status, [(str(s), e) for s, e in found.all()]
        finally:
            await engine.dispose()

    status, items = asyncio.run(scenario())
    assert status == "done"
    assert [s for s, _ in items] == ["error"] * 3
    assert all(
        e == "grading failed after 3 attempts: ConnectionError: server closed the connection unexpectedly"
        for _, e in items
    )

"""Scale-out on PostgreSQL: batch chunks become procrastinate jobs for `grader worker` processes.

A worker is killed with SIGKILL mid-batch; another one takes over its stalled job, and every row still ends with
exactly one grade.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.migrate import upgrade
from service.settings import Settings
from tests.conftest import LiveServer
from tests.databases import postgres_database, rows

CHUNK = 32
"""Small chunks, so a couple of hundred rows make several jobs."""
GRADER = str(Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "grader")


@pytest.fixture
def queued(tmp_path: Path, grader: Grader) -> Iterator[tuple[str, httpx.Client]]:
    """A service on a fresh PostgreSQL database that hands batch chunks to the job queue (and grades none itself)."""
    with postgres_database() as url:
        settings = Settings(
            data_dir=tmp_path, database_url=url, warm_on_start=False, batch_runner="queue", batch_chunk=CHUNK
        )
        upgrade(url)
        with LiveServer(settings, grader) as server, httpx.Client(base_url=server.base_url, timeout=60) as client:
            yield url, client


def _worker(url: str, tmp_path: Path, log_name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    log = (tmp_path / log_name).open("wb")
    return subprocess.Popen(
        [GRADER, "worker", "--heartbeat", "0.5", "--stalled-after", "2"], stdout=log, stderr=log, env=env
    )


def _count(url: str, sql: str) -> int:
    return int(rows(url, sql)[0][0])


def _upload(client: httpx.Client, bank: RubricBank, n: int) -> str:
    rubrics = list(bank)
    lines = [
        json.dumps({"question_id": rubrics[i % len(rubrics)].id, "answer": rubrics[i % len(rubrics)].question})
        for i in range(n)
    ]
    response = client.post(
        "/v1/batches",
        params={"stages": "embedding"},
        files={"file": ("many.jsonl", "\n".join(lines).encode(), "application/x-ndjson")},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _wait(predicate: object, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_worker_loses_nothing_and_grades_nothing_twice(
    queued: tuple[str, httpx.Client], tmp_path: Path, bank: RubricBank
) -> None:
    url, client = queued
    total = 12 * CHUNK
    batch_id = _upload(client, bank, total)
    assert _count(url, "select count(*) from procrastinate_jobs where status = 'todo'") == 12
    assert client.get(f"/v1/batches/{batch_id}").json()["counts"]["pending"] == total  # the service grades none

    graded = f"select count(*) from batch_items where batch_id = '{batch_id}' and state = 'graded'"
    first = _worker(url, tmp_path, "worker-1.log")
    try:
        _wait(lambda: _count(url, graded) >= CHUNK, "the first worker to finish a chunk")
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    assert _count(url, graded) < total, "the first worker finished everything before it could be killed"

    second = _worker(url, tmp_path, "worker-2.log")
    try:
        _wait(lambda: client.get(f"/v1/batches/{batch_id}").json()["status"] == "done", "the batch to finish")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)

    batch = client.get(f"/v1/batches/{batch_id}").json()
    assert batch["counts"] == {"pending": 0, "graded": total, "error": 0, "cancelled": 0}
    assert _count(url, "select count(*) from grades") == total
    assert (
        _count(url, "select count(*) from (select answer_id from grades group by answer_id having count(*) > 1) t") == 0
    )
    assert _count(url, "select count(distinct grade_id) from batch_items") == total
    assert _count(url, "select count(*) from procrastinate_jobs where status in ('todo', 'doing')") == 0
    records = client.get(f"/v1/batches/{batch_id}/results").text.splitlines()
    assert len(records) == total and all(json.loads(r)["status"] == "scored" for r in records)


def test_cancel_on_the_queue_stops_pending_work(queued: tuple[str, httpx.Client], bank: RubricBank) -> None:
    _, client = queued
    batch_id = _upload(client, bank, 2 * CHUNK + 1)
    cancelled = client.post(f"/v1/batches/{batch_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 2 * CHUNK + 1
    results = [json.loads(r) for r in client.get(f"/v1/batches/{batch_id}/results").text.splitlines()]
    assert {r["state"] for r in results} == {"cancelled"} and len(results) == 2 * CHUNK + 1


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "GRADER_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("GRADER_DATABASE_URL", None)
    run = subprocess.run([GRADER, "worker"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and "needs GRADER_DATABASE_URL on PostgreSQL" in run.stderr

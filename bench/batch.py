"""Batch throughput, stage 1 only: the embedded default in-process, and PostgreSQL with 1 and 2 workers.

    python bench/batch.py [--answers 10000] [--workers 1,2] [--skip-postgres]

Short answers (first sentences of the bank's reference answers, key points and paraphrases, cycled to N) are
graded as one batch through the same code as `grader batch` (stored as items, chunk jobs, results written from
the database). The baseline, measured in the same run, is raw `model.encode` of the same texts with the same
model: the ratio says how much of the model's throughput a batch delivers (target >= 0.8). The model and the
rubric vectors are warmed first, as in a running service or worker. On PostgreSQL, `grader worker` processes
are started and warmed before the batch is queued; the time runs from queueing to the last grade.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grader.embedding import SentenceTransformerEmbedder  # noqa: E402
from grader.pipeline import Grader  # noqa: E402
from grader.text import sentences  # noqa: E402
from rubrics.loader import default_bank  # noqa: E402
from service import batches  # noqa: E402
from service.batch_file import run_file  # noqa: E402
from service.batch_input import check_file  # noqa: E402
from service.db import make_async_engine, session_factory  # noqa: E402
from service.job_queue import QueueJobs, make_queue_app  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.databases import postgres_database, rows  # noqa: E402

GRADER = str(Path(sys.executable).parent / "grader")


def short_answers(n: int) -> list[dict[str, str]]:
    """n short answers, each the first sentence of some text a rubric contains, paired with that rubric."""
    pool = []
    for rubric in default_bank():
        texts = [rubric.reference_answer] + [p.text for p in rubric.key_points]
        texts += [q for p in rubric.key_points for q in p.paraphrases]
        pool += [{"question_id": rubric.id, "answer": sentences(t)[0].text[:200]} for t in texts if sentences(t)]
    return [pool[i % len(pool)] for i in range(n)]


def raw_encode(embedder: SentenceTransformerEmbedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.load().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return time.perf_counter() - started


async def embedded(grader: Grader, source: Path, work: Path) -> float:
    """Seconds for `grader batch`'s code path on a fresh SQLite file."""
    engine = make_async_engine(f"sqlite:///{work / 'grader.db'}")
    upgrade(f"sqlite:///{work / 'grader.db'}")
    try:
        started = time.perf_counter()
        summary = await run_file(
            session_factory(engine), grader, default_bank(), source, work / "out.jsonl", stages="embedding"
        )
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    assert summary.errors == 0, summary
    return elapsed


async def _queue_batch(url: str, grader: Grader, content: bytes) -> str:
    engine = make_async_engine(url)
    sessions = session_factory(engine)
    app = make_queue_app(url)
    try:
        async with sessions() as session, app.open_async():
            batch = await batches.create_batch(
                session,
                default_bank(),
                check_file(content, "jsonl", default_bank(), grader),
                "bench",
                "bench.jsonl",
                "embedding",
            )
            await QueueJobs(app).enqueue(batch.id, await batches.pending_chunks(session, batch.id))
            await batches.mark_enqueued(session, batch.id)
            return batch.id
    finally:
        await engine.dispose()


def postgres(workers: int, grader: Grader, content: bytes, work: Path) -> float:
    """Seconds from queueing the batch to its last grade, with `workers` warmed `grader worker` processes."""
    with postgres_database() as url:
        upgrade(url)
        env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_DATA_DIR": str(work)}
        threads = str(max(1, (os.cpu_count() or 1) // workers))  # workers on one machine share its cores
        procs = [
            subprocess.Popen(
                [GRADER, "worker", "--threads", threads], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(workers)
        ]
        try:
            while rows(url, "select count(*) from procrastinate_workers")[0][0] < workers:
                time.sleep(0.5)  # each worker registers once its model and rubric vectors are loaded
            started = time.perf_counter()
            batch_id = asyncio.run(_queue_batch(url, grader, content))
            while rows(url, f"select status from batches where id = '{batch_id}'")[0][0] != "done":
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            graded = rows(url, f"select count(*) from batch_items where batch_id = '{batch_id}' and state = 'graded'")
            assert graded[0][0] == len(content.splitlines()), graded
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=60)
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to measure on PostgreSQL")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    answers = short_answers(args.answers)
    content = "".join(json.dumps(a) + "\n" for a in answers).encode()
    embedder = SentenceTransformerEmbedder()
    grader = Grader.from_settings(Settings(judge_model=None), embedder=embedder)
    grader.scorer.warm(list(default_bank()))
    texts = [a["answer"] for a in answers]
    raw_encode(embedder, texts[:256])  # first-call warm-up

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "answers.jsonl"
        source.write_bytes(content)
        raw = raw_encode(embedder, texts)
        ours = asyncio.run(embedded(grader, source, work))
        print(f"answers: {len(answers)}  (mean {sum(map(len, texts)) / len(texts):.0f} characters)")
        print(f"raw model.encode          : {len(texts) / raw:8.1f} answers/s  ({raw:.1f} s)")
        print(
            f"batch, embedded (SQLite)  : {len(texts) / ours:8.1f} answers/s  ({ours:.1f} s)  "
            f"ratio {raw / ours:.2f} (target >= 0.8)"
        )
        if args.skip_postgres:
            return
        for count in (int(w) for w in args.workers.split(",")):
            took = postgres(count, grader, content, work)
            print(
                f"batch, PostgreSQL, {count} worker{'s' if count > 1 else ' '}: {len(texts) / took:8.1f} answers/s  "
                f"({took:.1f} s)  ratio {raw / took:.2f}"
            )


if __name__ == "__main__":
    main()

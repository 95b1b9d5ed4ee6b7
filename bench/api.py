"""HTTP throughput of POST /v1/grades on the embedded default (SQLite, stage 1 only).

    python bench/api.py [--seconds 30] [--clients 16]

Starts `grader serve` in its own process on a fresh data directory, waits until /readyz says the model is
loaded, then 16 concurrent clients post answers for the given time. Reports requests/s, p50 and p99 latency,
and, measured in the same run after the load, the throughput of stage 1 alone grading the same answers one at a
time in this process: the ratio says how much of the model's capacity the HTTP service delivers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grader.embedding import SentenceTransformerEmbedder  # noqa: E402
from grader.stage1 import EmbeddingScorer  # noqa: E402
from rubrics.loader import default_bank  # noqa: E402
from tests.servers import free_port  # noqa: E402


def _answers() -> list[tuple[str, str]]:
    bank = list(default_bank())
    return [(r.id, r.reference_answer[: max(80, len(r.reference_answer) // 2)]) for r in bank]


async def _load(base_url: str, clients: int, seconds: float, answers: list[tuple[str, str]]) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            i = offset
            while time.perf_counter() < deadline:
                qid, answer = answers[i % len(answers)]
                started = time.perf_counter()
                response = await http.post("/v1/grades", json={"question_id": qid, "answer": answer})
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                i += clients

    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies


def main() -> None:
    """Run the load, then the stage-1 baseline, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    answers = _answers()

    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="grader-bench-")
    env = {**os.environ, "GRADER_DATA_DIR": data_dir, "HF_HUB_OFFLINE": "1"}
    env.pop("GRADER_DATABASE_URL", None)
    env.pop("GRADER_JUDGE_MODEL", None)
    grader_bin = Path(sys.executable).with_name("grader")
    server = subprocess.Popen(
        [str(grader_bin), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("service did not become ready")
            time.sleep(0.5)
        started = time.perf_counter()
        latencies = asyncio.run(_load(base_url, args.clients, args.seconds, answers))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    scorer = EmbeddingScorer(SentenceTransformerEmbedder())
    bank = default_bank()
    items = [(bank.get(qid), a) for qid, a in answers]
    scorer.warm([r for r, _ in items if r is not None])
    n = min(len(latencies), len(items) * 2)
    started = time.perf_counter()
    for i in range(n):
        rubric, answer = items[i % len(items)]
        assert rubric is not None
        scorer.score(rubric, answer)
    stage1_rate = n / (time.perf_counter() - started)

    rps = len(latencies) / elapsed
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    print(f"clients: {args.clients}  seconds: {args.seconds:.0f}  requests: {len(latencies)}")
    print(f"HTTP: {rps:.1f} requests/s  p50 {statistics.median(ordered) * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms")
    print(f"stage 1 alone, one answer per call, same answers: {stage1_rate:.1f} answers/s")
    print(f"requests/s over stage-1 answers/s: {rps / stage1_rate:.2f}")


if __name__ == "__main__":
    main()

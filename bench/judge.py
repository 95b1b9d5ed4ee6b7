"""Stage-2 throughput: N answers through the judge against a fake OpenAI-compatible server with fixed latency.

    python bench/judge.py [--answers 1000] [--latency 0.3] [--concurrency 32]

The fake server runs in its own process on loopback; the judge talks to it through the real ``openai`` client.
The ideal wall time is calls x latency / concurrency; the report gives the measured time as a ratio of it
(target: within 1.2x). A second run over the same answers must make zero calls (the cache).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.judge import Judge, JudgeConfig  # noqa: E402
from grader.openai_chat import OpenAIChatClient  # noqa: E402
from rubrics.loader import default_bank  # noqa: E402
from tests.servers import free_port  # noqa: E402


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/chat/completions", timeout=1)  # 405 once it listens
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("fake server did not start")


async def _run(judge: Judge, items: list[tuple[object, str]]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(judge.judge(rubric, answer) for rubric, answer in items))  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    """Run both passes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--port", str(port), "--delay", str(args.latency)], cwd=ROOT
    )
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        _wait_until_up(base_url)
        bank = list(default_bank())
        items = [
            (bank[i % len(bank)], f"{bank[i % len(bank)].reference_answer} (answer {i})") for i in range(args.answers)
        ]
        client = OpenAIChatClient("fake-judge", base_url, None, timeout=30)
        judge = Judge(client, JudgeConfig(concurrency=args.concurrency))

        first = asyncio.run(_run(judge, items))
        calls_first = judge.calls
        second = asyncio.run(_run(judge, items))
        calls_second = judge.calls - calls_first
    finally:
        server.terminate()
        server.wait(timeout=10)

    ideal = calls_first * args.latency / args.concurrency
    print(f"answers: {args.answers}  latency: {args.latency * 1000:.0f} ms  concurrency: {args.concurrency}")
    ratio = first / ideal
    print(f"first pass : {calls_first} calls in {first:.2f} s; ideal {ideal:.2f} s; ratio {ratio:.3f} (target <= 1.2)")
    print(f"second pass: {calls_second} calls in {second:.2f} s (target: 0 calls)")


if __name__ == "__main__":
    main()

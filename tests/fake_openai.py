"""A fake OpenAI-compatible chat server: a real HTTP server on loopback, driven through the real ``openai`` client.

Tests enqueue canned behaviours (a reply, a status with headers, latency, malformed or truncated JSON); with an
empty queue the server answers like a plausible judge: it reads the key-point ids and the answer out of the
prompt and marks every point met, quoting the answer's first words. Every request body is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import ThreadedServer


@dataclass
class Canned:
    """One scripted response."""

    content: str | None = None
    """Message content for a 200 reply; None means 'answer like the default judge'."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (latency, or a timeout when longer than the client's)."""
    body: dict[str, Any] | None = None
    """Error body for non-200 statuses."""


def verdicts(
    points: dict[str, tuple[str, str]], misconceptions: tuple[tuple[str, str], ...] = (), feedback: str = "ok"
) -> str:
    """A reply JSON string: ``points`` maps id -> (verdict, quote)."""
    return json.dumps(
        {
            "points": [{"id": i, "verdict": v, "quote": q, "reason": f"{v} because"} for i, (v, q) in points.items()],
            "misconceptions": [{"id": i, "quote": q} for i, q in misconceptions],
            "feedback": feedback,
        }
    )


_ANSWER = re.compile(r"<answer>\n(?P<answer>.*)\n</answer>", re.DOTALL)
_POINT = re.compile(r"^- (?P<id>[a-z0-9-]+): ", re.MULTILINE)


def default_reply(request: dict[str, Any]) -> str:
    """All key points met, each quoting the first words of the answer."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    answer = _ANSWER.search(user)
    quote = " ".join((answer["answer"] if answer else "").split()[:4])
    points_block = user.split("Key points (id: statement):", 1)[1].split("Misconceptions (id: statement):", 1)[0]
    ids = [m["id"] for m in _POINT.finditer(points_block)]
    return verdicts(dict.fromkeys(ids, ("met", quote)))


class FakeOpenAI:
    """The server, its queue of canned responses and its record of requests."""

    def __init__(self, responder: Callable[[dict[str, Any]], str] = default_reply) -> None:
        self.queue: deque[Canned] = deque()
        self.requests: list[dict[str, Any]] = []
        self.responder = responder
        self.default_delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        self._server = ThreadedServer(app)
        self.base_url = f"{self._server.base_url}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def enqueue(self, *items: Canned) -> None:
        """Script the next responses, in order."""
        self.queue.extend(items)

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            self.request_times.append(time.monotonic())
            canned = self.queue.popleft() if self.queue else Canned(delay=self.default_delay)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if canned.delay:
                await asyncio.sleep(canned.delay)
            if canned.status != 200:
                error = canned.body or {"error": {"message": f"fake error {canned.status}", "type": "fake"}}
                return JSONResponse(error, status_code=canned.status, headers=canned.headers)
            content = canned.content if canned.content is not None else self.responder(body)
            prompt_chars = sum(len(m["content"]) for m in body["messages"])
            return JSONResponse(
                {
                    "id": f"chatcmpl-{next(self._ids)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {
                        "prompt_tokens": prompt_chars // 4,
                        "completion_tokens": len(content) // 4,
                        "total_tokens": prompt_chars // 4 + len(content) // 4,
                    },
                },
                headers=canned.headers,
            )
        finally:
            with self._lock:
                self.in_flight -= 1


def main() -> None:
    """Serve the fake on a port until killed (benchmarks run it in its own process)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="fake OpenAI-compatible chat server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of latency per call")
    args = parser.parse_args()
    fake = FakeOpenAI()
    fake.default_delay = args.delay
    app = Starlette(routes=[Route("/v1/chat/completions", fake._chat, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", backlog=4096)


if __name__ == "__main__":
    main()

"""Stage 2: the rubric-constrained LLM judge, wrapped once with retries, concurrency, caching and repair.

One call per answer (``samples`` calls with self-consistency). Transient failures (429, 5xx, timeouts, lost
connections) are retried with exponential backoff and jitter, honouring Retry-After; an invalid reply gets one
repair request; anything else raises ``JudgeUnavailable`` with a reason a person can read.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections import Counter
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from grader.chat import ChatClient, ChatReply, Message, PermanentChatError, TransientChatError
from grader.errors import JudgeUnavailable
from grader.judge_cache import JudgeCache, MemoryJudgeCache, cache_key
from grader.judge_reply import (
    FoundMisconception,
    JudgeReply,
    PointVerdict,
    ReplyError,
    ResponseFormat,
    parse_reply,
    response_format,
    rubric_problems,
)
from grader.prompt import PROMPT_VERSION, build_messages, repair_message
from grader.result import Verdict
from rubrics.schema import Rubric

log = logging.getLogger(__name__)

CREDIT = {Verdict.MET: 1.0, Verdict.PARTIAL: 0.5, Verdict.MISSED: 0.0, Verdict.CONTRADICTED: 0.0}


@dataclass(frozen=True)
class JudgeConfig:
    """How the judge calls the model."""

    response_format: ResponseFormat = ResponseFormat.JSON_SCHEMA
    temperature: float = 0.0
    samples: int = 1
    max_retries: int = 4
    backoff_base: float = 0.5
    """First retry waits about this long (seconds); each retry doubles it, with jitter."""
    backoff_cap: float = 30.0
    concurrency: int = 8
    prompt_version: str = PROMPT_VERSION


class JudgeOutcome(BaseModel):
    """The judge's verdicts for one answer (majority over samples), with what it took to get them."""

    model_config = ConfigDict(frozen=True)

    points: list[PointVerdict]
    misconceptions: list[FoundMisconception]
    feedback: str
    agreement: float
    """Mean share of samples agreeing with each point's majority verdict (1.0 with one sample)."""
    raw_replies: list[str]
    prompt_tokens: int
    completion_tokens: int
    calls: int
    latency_ms: float
    cached: bool = False


class Judge:
    """Judges answers through a ``ChatClient``; share one instance per process."""

    def __init__(self, client: ChatClient, config: JudgeConfig | None = None, cache: JudgeCache | None = None) -> None:
        self.client = client
        self.config = config or JudgeConfig()
        self.cache = cache if cache is not None else MemoryJudgeCache()
        self.calls = 0
        """Model calls made by this instance (cache hits make none)."""
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def model(self) -> str:
        """The model name."""
        return self.client.model

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.config.concurrency)
        return semaphore

    def _key(self, rubric: Rubric, answer: str) -> str:
        cfg = self.config
        params: dict[str, object] = {
            "format": cfg.response_format.value,
            "temperature": cfg.temperature,
            "samples": cfg.samples,
        }
        return cache_key(rubric.version, answer, self.model, cfg.prompt_version, params)

    async def judge(self, rubric: Rubric, answer: str) -> JudgeOutcome:
        """Verdicts for every key point of ``rubric``; raises JudgeUnavailable when no valid reply can be had."""
        key = self._key(rubric, answer)
        hit = self.cache.get(key)
        if hit is not None:
            return JudgeOutcome.model_validate_json(hit).model_copy(update={"cached": True})
        started = time.perf_counter()
        results = await asyncio.gather(
            *(self._sample(rubric, answer) for _ in range(self.config.samples)), return_exceptions=True
        )
        samples = [r for r in results if isinstance(r, _Sample)]
        if not samples:
            first = results[0]
            if isinstance(first, JudgeUnavailable):
                raise first
            raise JudgeUnavailable(f"judge failed: {type(first).__name__}: {first}")
        outcome = _aggregate(rubric, samples, latency_ms=(time.perf_counter() - started) * 1000)
        self.cache.put(key, outcome.model_dump_json())
        return outcome

    async def _sample(self, rubric: Rubric, answer: str) -> _Sample:
        messages = build_messages(rubric, answer, self.config.prompt_version)
        first = await self._call(messages)
        replies = [first]
        try:
            parsed = _parse_for(rubric, first.content)
        except ReplyError as problem:
            log.info("judge reply invalid (%s); asking for one repair", problem)
            repair = [*messages, {"role": "assistant", "content": first.content}, repair_message(str(problem))]
            second = await self._call(repair)
            replies.append(second)
            try:
                parsed = _parse_for(rubric, second.content)
            except ReplyError as again:
                raise JudgeUnavailable(f"the judge's reply was invalid twice: {again}") from again
        return _Sample(parsed, replies)

    async def _call(self, messages: list[Message]) -> ChatReply:
        cfg = self.config
        for attempt in range(cfg.max_retries + 1):
            try:
                async with self._semaphore():
                    self.calls += 1
                    return await self.client.complete(
                        messages, response_format=response_format(cfg.response_format), temperature=cfg.temperature
                    )
            except PermanentChatError as exc:
                raise JudgeUnavailable(f"the judge endpoint refused the request: {exc}") from exc
            except TransientChatError as exc:
                if attempt == cfg.max_retries:
                    raise JudgeUnavailable(f"the judge failed after {attempt + 1} attempts: {exc}") from exc
                delay = _backoff(attempt, cfg.backoff_base, cfg.backoff_cap, exc.retry_after)
                log.info("judge call failed (%s); retry %d in %.2fs", exc, attempt + 1, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def _backoff(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it asks for longer."""
    delay = random.uniform(0.5, 1.0) * min(cap, base * 2.0**attempt)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


@dataclass(frozen=True)
class _Sample:
    reply: JudgeReply
    calls: list[ChatReply]


def _parse_for(rubric: Rubric, text: str) -> JudgeReply:
    reply = parse_reply(text)
    problems = rubric_problems(reply, rubric)
    if problems:
        raise ReplyError("; ".join(problems))
    return reply


def _aggregate(rubric: Rubric, samples: list[_Sample], latency_ms: float) -> JudgeOutcome:
    """Per-point majority vote (ties go to the lower credit), misconceptions found by a majority."""
    points: list[PointVerdict] = []
    agreements: list[float] = []
    for key_point in rubric.key_points:
        votes = [next(v for v in s.reply.points if v.id == key_point.id) for s in samples]
        counts = Counter(v.verdict for v in votes)
        top = max(counts.values())
        winner = min((v for v, c in counts.items() if c == top), key=lambda v: CREDIT[v])
        points.append(next(v for v in votes if v.verdict is winner))
        agreements.append(top / len(votes))
    found = Counter(m.id for s in samples for m in {m.id: m for m in s.reply.misconceptions}.values())
    misconceptions = [
        next(m for s in samples for m in s.reply.misconceptions if m.id == mid)
        for mid, count in found.items()
        if count * 2 > len(samples)
    ]
    winners = {p.id: p.verdict for p in points}
    best = max(samples, key=lambda s: sum(winners[v.id] is v.verdict for v in s.reply.points))
    return JudgeOutcome(
        points=points,
        misconceptions=misconceptions,
        feedback=best.reply.feedback,
        agreement=round(sum(agreements) / len(agreements), 4),
        raw_replies=[c.content for s in samples for c in s.calls],
        prompt_tokens=sum(c.prompt_tokens for s in samples for c in s.calls),
        completion_tokens=sum(c.completion_tokens for s in samples for c in s.calls),
        calls=sum(len(s.calls) for s in samples),
        latency_ms=round(latency_ms, 2),
    )

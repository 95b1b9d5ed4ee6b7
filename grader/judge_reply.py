"""The judge's reply schema, response formats, strict parsing and validation against rubric and answer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from grader.result import Verdict
from rubrics.schema import Rubric


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointVerdict(_Strict):
    """The judge's verdict on one key point."""

    id: str
    verdict: Verdict
    quote: str
    reason: str


class FoundMisconception(_Strict):
    """A rubric misconception the judge says the answer asserts."""

    id: str
    quote: str


class JudgeReply(_Strict):
    """The whole reply. No score field on purpose: the score is computed from verdicts and weights."""

    points: list[PointVerdict]
    misconceptions: list[FoundMisconception]
    feedback: str


class ResponseFormat(StrEnum):
    """How the reply's JSON shape is enforced by the endpoint."""

    JSON_SCHEMA = "json_schema"
    """OpenAI-style structured outputs (OpenAI, vLLM, Ollama, LM Studio)."""
    JSON_OBJECT = "json_object"
    """``{"type": "json_object", "schema": ...}``: llama.cpp server, which rejects json_schema."""
    PLAIN = "plain"
    """No enforcement: the schema is in the prompt and the reply is parsed strictly."""


@lru_cache(maxsize=1)
def reply_schema() -> dict[str, Any]:
    """JSON Schema of ``JudgeReply`` (strict-mode compatible: closed objects, every field required). Read-only."""
    return JudgeReply.model_json_schema()


@lru_cache(maxsize=4)
def response_format(mode: ResponseFormat) -> dict[str, Any] | None:
    """The ``response_format`` request parameter for a mode (cached: built once, never mutated)."""
    if mode is ResponseFormat.JSON_SCHEMA:
        return {"type": "json_schema", "json_schema": {"name": "grading", "strict": True, "schema": reply_schema()}}
    if mode is ResponseFormat.JSON_OBJECT:
        return {"type": "json_object", "schema": reply_schema()}
    return None


class ReplyError(ValueError):
    """The reply is not valid JSON of the right shape, or does not fit the rubric."""


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*)\n\s*```\s*$", re.DOTALL)


def parse_reply(text: str) -> JudgeReply:
    """Parse strictly: one JSON object (optionally inside a single ```json fence), matching the schema."""
    fenced = _FENCE.match(text)
    body = fenced["body"] if fenced else text
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ReplyError(f"reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    try:
        return JudgeReply.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReplyError(f"reply does not match the schema: {where}: {first['msg']}") from exc


def rubric_problems(reply: JudgeReply, rubric: Rubric) -> list[str]:
    """Every key-point id exactly once, no unknown point or misconception ids."""
    expected = [p.id for p in rubric.key_points]
    given = [p.id for p in reply.points]
    problems = []
    missing = [i for i in expected if i not in given]
    if missing:
        problems.append(f"missing verdicts for key points {', '.join(missing)}")
    repeated = sorted({i for i in given if given.count(i) > 1})
    if repeated:
        problems.append(f"more than one verdict for {', '.join(repeated)}")
    unknown = [i for i in given if i not in expected]
    if unknown:
        problems.append(f"unknown key point ids {', '.join(unknown)}")
    known_misconceptions = {m.id for m in rubric.misconceptions}
    stray = [m.id for m in reply.misconceptions if m.id not in known_misconceptions]
    if stray:
        problems.append(f"unknown misconception ids {', '.join(stray)}")
    return problems


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class QuoteCheck:
    """Where a quote sits in the answer, or why it was rejected."""

    start: int | None
    end: int | None
    problem: str | None


def locate_quote(quote: str, answer: str) -> QuoteCheck:
    """Find ``quote`` in ``answer`` ignoring case and whitespace differences; map back to answer offsets."""
    needle = _normalise(quote.strip().strip("\"'“”‘’").rstrip("."))
    if not needle:
        return QuoteCheck(None, None, "empty quote")
    # Build the normalised answer with a map from each normalised character to its original offset.
    chars: list[str] = []
    offsets: list[int] = []
    prev_space = True
    for i, ch in enumerate(answer):
        if ch.isspace():
            if not prev_space:
                chars.append(" ")
                offsets.append(i)
            prev_space = True
            continue
        for folded in ch.casefold():
            chars.append(folded)
            offsets.append(i)
        prev_space = False
    haystack = "".join(chars)
    at = haystack.find(needle)
    if at < 0:
        return QuoteCheck(None, None, "quote does not occur in the answer")
    return QuoteCheck(offsets[at], offsets[at + len(needle) - 1] + 1, None)

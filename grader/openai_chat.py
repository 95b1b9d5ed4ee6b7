"""``ChatClient`` over the ``openai`` package: OpenAI, vLLM, Ollama, LM Studio, llama.cpp server (any base URL)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import openai

from grader.chat import ChatReply, Message, PermanentChatError, TransientChatError


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


class OpenAIChatClient:
    """Async client; its own retries are off because ``Judge`` retries with backoff, jitter and Retry-After."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float) -> None:
        self._model = model
        # Local servers need no key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )

    @property
    def model(self) -> str:
        """The configured model name."""
        return self._model

    async def complete(
        self, messages: list[Message], *, response_format: dict[str, Any] | None, temperature: float
    ) -> ChatReply:
        """One chat completion."""
        extra: dict[str, Any] = {}
        if response_format is not None:
            extra["response_format"] = response_format
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=messages,  # type: ignore[arg-type]
                temperature=temperature,
                **extra,
            )
        except openai.APITimeoutError as exc:
            raise TransientChatError(f"timed out: {exc}") from exc
        except openai.APIConnectionError as exc:
            raise TransientChatError(f"connection failed: {exc}") from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            message = f"HTTP {status}: {_short(exc.message)}"
            if status == 429 or status >= 500 or status == 408:
                raise TransientChatError(message, _retry_after(exc.response.headers)) from exc
            raise PermanentChatError(message) from exc
        if not response.choices:
            raise TransientChatError("reply had no choices")
        content = response.choices[0].message.content or ""
        usage = response.usage
        return ChatReply(
            content=content,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"

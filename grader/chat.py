"""The one interface to a chat model: messages in, reply out. Providers implement it; nothing else does.

Retries, concurrency limits, caching and logging live once, in ``grader.judge.Judge``, which uses this
interface; a provider only translates its own errors into ``TransientChatError`` (worth retrying) or
``PermanentChatError`` (not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, str]


@dataclass(frozen=True)
class ChatReply:
    """What the model said, and what it cost."""

    content: str
    prompt_tokens: int
    completion_tokens: int


class ChatError(Exception):
    """A chat call failed."""


class TransientChatError(ChatError):
    """Rate limit, server error, timeout or lost connection: retrying may help."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentChatError(ChatError):
    """The request itself is wrong (bad model name, unsupported option, auth): retrying cannot help."""


class ChatClient(Protocol):
    """A chat-completion endpoint."""

    @property
    def model(self) -> str:
        """The model name, stored on every grade."""
        ...

    async def complete(
        self, messages: list[Message], *, response_format: dict[str, Any] | None, temperature: float
    ) -> ChatReply:
        """One chat completion; raises TransientChatError or PermanentChatError."""
        ...

"""Whether the service requires API keys (kept apart so settings need not import the auth machinery)."""

from __future__ import annotations

from enum import StrEnum


class AuthMode(StrEnum):
    """``open``: no keys, loopback only by default; ``keys``: a Bearer API key on every request."""

    OPEN = "open"
    KEYS = "keys"

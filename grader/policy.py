"""When the judge runs, and what happens when it fails."""

from __future__ import annotations

from enum import StrEnum


class JudgePolicy(StrEnum):
    """When stage 2 runs."""

    ALWAYS = "always"
    WHEN_UNCERTAIN = "when-uncertain"
    NEVER = "never"


class FailureMode(StrEnum):
    """What a grade becomes when the judge fails after retries."""

    UNSCORED = "unscored"
    STAGE1 = "stage1"

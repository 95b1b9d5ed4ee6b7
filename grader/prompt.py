"""Build the judge's messages from the versioned prompt template and the rubric, with the answer as data."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from string import Template

from grader.chat import Message
from grader.judge_reply import reply_schema
from rubrics.schema import Rubric

PROMPT_VERSION = "judge-v1"
"""Name of the template file in grader/prompts; stored on every grade the judge makes."""

_PROMPTS = Path(__file__).resolve().parent / "prompts"
_SECTION = re.compile(r"^=== (system|user) ===\n", re.MULTILINE)
# Our delimiters, in any case and spacing, and lookalikes a model may read as them.
_DELIMITER = re.compile(r"<\s*/?\s*answer\s*>", re.IGNORECASE)


@lru_cache(maxsize=4)
def _template(version: str) -> dict[str, Template]:
    text = (_PROMPTS / f"{version}.txt").read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    # split gives ['', 'system', body, 'user', body]
    return {parts[i]: Template(parts[i + 1].rstrip("\n")) for i in range(1, len(parts), 2)}


def neutralise(answer: str) -> str:
    """Make the answer unable to close (or reopen) our answer block: '</answer>' becomes '[/answer]'."""
    return _DELIMITER.sub(lambda m: "[" + m.group(0).strip("<> ").replace(" ", "") + "]", answer)


@lru_cache(maxsize=4)
def _system(version: str) -> str:
    return _template(version)["system"].substitute(schema=json.dumps(reply_schema()))


def build_messages(rubric: Rubric, answer: str, version: str = PROMPT_VERSION) -> list[Message]:
    """System and user messages for judging ``answer`` against ``rubric``."""
    template = _template(version)
    key_points = "\n".join(f"- {p.id}: {p.text}" for p in rubric.key_points)
    misconceptions = "\n".join(f"- {m.id}: {m.text}" for m in rubric.misconceptions) or "(none listed)"
    exact = ""
    if rubric.answer is not None:
        exact = f"\nThe exact expected result is {rubric.answer.display}.\n"
    return [
        {"role": "system", "content": _system(version)},
        {
            "role": "user",
            "content": template["user"].substitute(
                question=rubric.prompt,
                key_points=key_points,
                misconceptions=misconceptions,
                exact_value=exact,
                answer=neutralise(answer),
            ),
        },
    ]


def repair_message(problem: str) -> Message:
    """The one follow-up asking the model to fix an invalid reply."""
    return {
        "role": "user",
        "content": (
            f"Your reply could not be used: {problem}. Reply again with one JSON object only, matching the schema, "
            "with exactly one verdict for every key point id listed, and quotes copied exactly from the answer."
        ),
    }

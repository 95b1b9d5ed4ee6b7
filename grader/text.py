"""Splitting an answer into the units the embedding stage compares with key points."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? or ; followed by space, or at a line break. Decimal points ("0.5") and
# abbreviations like "e.g." are protected by requiring whitespace after the mark.
_BOUNDARY = re.compile(r"(?<=[.!?;])\s+|\n+")
_MIN_UNIT_CHARS = 3


@dataclass(frozen=True)
class Span:
    """A piece of the answer with its character offsets, so evidence can be highlighted."""

    text: str
    start: int
    end: int


def sentences(answer: str) -> list[Span]:
    """Sentences (and lines) of the answer with their offsets; empty pieces are dropped."""
    spans: list[Span] = []
    pos = 0
    for match in [*_BOUNDARY.finditer(answer), None]:
        end = match.start() if match else len(answer)
        piece = answer[pos:end]
        stripped = piece.strip(" \t\r-*•")
        if len(stripped) >= _MIN_UNIT_CHARS:
            offset = pos + piece.find(stripped)
            spans.append(Span(stripped, offset, offset + len(stripped)))
        if match:
            pos = match.end()
    return spans


_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|neither|nor|without|cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|"
    r"wasn't|weren't|shouldn't|wouldn't|couldn't|hasn't|haven't|mustn't|false|wrong|myth|incorrect|misconception)\b",
    re.IGNORECASE,
)


def negation_parity(text: str) -> int:
    """Parity of negation cues in ``text``; two texts of different parity tend to assert opposite things.

    Sentence embeddings place "X is Y" and "X is not Y" close together, so a match on a misconception is only
    believed when the answer's sentence and the misconception negate the same number of times (mod 2).
    """
    return len(_NEGATION.findall(text.replace("’", "'"))) % 2

"""Splitting an answer into the units the embedding stage compares with key points.

Candidates type fast: "use it.It works", bullets without full stops, numbered lists, and LaTeX whose dots and
line breaks are not sentence ends. A sentence ends at . ! ? or ; followed by space (unless the word before is an
abbreviation such as "e.g." or a single initial), at a full stop glued to a capitalised word ("it.It"), at a line
break, or before an inline bullet; never inside inline or display math.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MIN_UNIT_CHARS = 3

# Math regions: $$...$$, $...$, \[...\], \(...\), and \begin{..}...\end{..}. Their insides never end a sentence.
_MATH = re.compile(
    r"\$\$.+?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<!\s)\$|\\\[.+?\\\]|\\\(.+?\\\)|\\begin\{(\w+\*?)\}.+?\\end\{\1\}",
    re.DOTALL,
)
# A mark followed by whitespace; a full stop glued to a capitalised word ("it.It", but not "e.g" or "np.dot");
# line breaks; an inline bullet character between two pieces of text.
_BOUNDARY = re.compile(r"(?<=[.!?;])\s+|(?<=[a-z)\]]{2}[.!?])(?=[A-Z][a-z])|\n+|\s+(?=[•▪●◦‣]\s)")
_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs cf approx resp al fig eq eqs no nos dr mr mrs ms prof st sec ch vol incl esp wrt".split()  # noqa: SIM905
)
_NUMBERED = re.compile(r"^\s*\(?\d{1,2}\.$")  # "12." opening a numbered line
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
# Leading bullet markers followed by a space: -, *, •, "1.", "2)", "(a)", "a)" ("a." would eat initials).
_BULLET = re.compile(r"^(?:[-*•▪●◦‣+]+|\(?\d{1,2}[.)]|\(?[a-z]\))(?=\s)\s*")


@dataclass(frozen=True)
class Span:
    """A piece of the answer with its character offsets, so evidence can be highlighted."""

    text: str
    start: int
    end: int


def _protected(answer: str) -> list[tuple[int, int]]:
    return [m.span() for m in _MATH.finditer(answer)]


def _is_abbreviation(before: str) -> bool:
    """Whether the text before a '. ' ends with an abbreviation or an initial, which does not end a sentence."""
    match = _WORD_BEFORE.search(before)
    if match is None:
        return False
    word = match.group(1).lower()
    return word in _ABBREVIATIONS or len(word) == 1


def sentences(answer: str) -> list[Span]:
    """Sentences (and lines, and bullets) of the answer with their offsets; empty pieces are dropped."""
    math = _protected(answer)
    cuts: list[tuple[int, int]] = []
    for match in _BOUNDARY.finditer(answer):
        start, end = match.span()
        if any(lo < start < hi for lo, hi in math):
            continue
        mark = answer[start - 1] if start > 0 else ""
        if mark == "." and "\n" not in answer[start:end]:
            line = answer[answer.rfind("\n", 0, start) + 1 : start]
            if _is_abbreviation(line) or _NUMBERED.match(line):
                continue
        cuts.append((start, end))
    spans: list[Span] = []
    pos = 0
    for start, end in [*cuts, (len(answer), len(answer))]:
        piece = answer[pos:start]
        bullet = _BULLET.match(piece.lstrip())
        lead = len(piece) - len(piece.lstrip()) + (bullet.end() if bullet else 0)
        stripped = piece[lead:].strip(" \t\r")
        if len(stripped) >= _MIN_UNIT_CHARS and any(c.isalnum() for c in stripped):
            offset = pos + lead + piece[lead:].find(stripped)
            spans.append(Span(stripped, offset, offset + len(stripped)))
        pos = end
    return spans


_HEADING = re.compile(r"^(?:#{1,6}\s+.*|\*\*[^*]+\*\*:?|__[^_]+__:?|[^.!?;]{1,60}:)$")


def is_heading(text: str) -> bool:
    """Whether a unit is a heading ("Advantages:", "## Cost", "**Summary**") rather than a claim."""
    stripped = text.strip()
    return bool(_HEADING.match(stripped)) and len(stripped.split()) <= 8


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

"""Plain-language feedback from per-point results (used when no judge wrote any)."""

from __future__ import annotations

from grader.result import MisconceptionResult, NumericCheck, PointResult

_COVERED = 0.75
_PARTLY = 0.25


def stage1_feedback(
    points: list[PointResult], misconceptions: list[MisconceptionResult], numeric: NumericCheck | None
) -> str:
    """Say what the answer covered, what it only touched on, and what it missed, in rubric order."""
    covered = [p for p in points if p.credit >= _COVERED]
    partly = [p for p in points if _PARTLY <= p.credit < _COVERED]
    missed = [p for p in points if p.credit < _PARTLY]
    parts: list[str] = []
    if covered:
        parts.append("Covered: " + "; ".join(_clip(p.text) for p in covered) + ".")
    if partly:
        parts.append("Only partly: " + "; ".join(_clip(p.text) for p in partly) + ".")
    if missed:
        parts.append("Missing: " + "; ".join(_clip(p.text) for p in missed) + ".")
    if numeric is not None and not numeric.matched:
        parts.append(f"The expected value ({numeric.expected}) does not appear in the answer.")
    for m in misconceptions:
        if m.detected:
            parts.append(
                f"Looks like a common mistake: {_clip(m.text)}." + (f" {m.correction}" if m.correction else "")
            )
    return " ".join(parts)


def _clip(text: str) -> str:
    return text.rstrip(". ")

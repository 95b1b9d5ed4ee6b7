"""Plain-language feedback from per-point results (used when no judge wrote any).

It teaches rather than repeats the rubric: a contradicted point quotes what the candidate wrote and gives the
correction; a missed or partly made point gets its hint (what to think about, not the answer); covered points are
counted, not listed again (the points themselves are in the grade).
"""

from __future__ import annotations

from grader.result import MisconceptionResult, NumericCheck, PointResult, Verdict

_COVERED = 0.75
_PARTLY = 0.25


def _hint(point: PointResult) -> str:
    return _clip(point.hint) if point.hint else point.id.replace("-", " ")


def stage1_feedback(
    points: list[PointResult], misconceptions: list[MisconceptionResult], numeric: NumericCheck | None
) -> str:
    """Say what the answer got wrong (with the correction), what it missed (as hints), and how much it covered."""
    parts: list[str] = []
    for p in points:
        if p.verdict is Verdict.CONTRADICTED and p.evidence is not None:
            parts.append(f'You wrote "{_clip(p.evidence.quote)}", but: {_clip(p.text)}.')
    for m in misconceptions:
        if m.detected:
            said = f' ("{_clip(m.evidence.quote)}")' if m.evidence is not None else ""
            parts.append(f"A common mistake{said}." + (f" {m.correction}" if m.correction else ""))
    if numeric is not None and not numeric.matched:
        parts.append("Work out the exact value and state it as your result.")
    open_points = [p for p in points if p.verdict is not Verdict.CONTRADICTED]
    covered = [p for p in open_points if p.credit >= _COVERED]
    partly = [p for p in open_points if _PARTLY <= p.credit < _COVERED]
    missed = [p for p in open_points if p.credit < _PARTLY]
    if partly:
        parts.append("Say more about: " + "; ".join(_hint(p) for p in partly) + ".")
    if missed:
        parts.append("Not covered yet: " + "; ".join(_hint(p) for p in missed) + ".")
    parts.append(f"Covered {len(covered)} of {len(points)} key points.")
    return " ".join(parts)


def _clip(text: str) -> str:
    return text.strip().rstrip(".?! ")

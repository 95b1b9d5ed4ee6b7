"""Stage-1 feedback teaches: corrections for contradictions, hints for what is missing, no copy of the rubric."""

from __future__ import annotations

from grader.feedback import stage1_feedback
from grader.result import Evidence, MisconceptionResult, NumericCheck, PointResult, Verdict


def _point(pid: str, credit: float, **extra: object) -> PointResult:
    return PointResult(id=pid, text=f"The full rubric text of {pid}.", weight=1.0, credit=credit, **extra)  # type: ignore[arg-type]


def test_feedback_corrects_hints_and_counts() -> None:
    said = Evidence(quote="L2 gives sparse weights.", start=0, end=24)
    points = [
        _point("sparsity", 0.0, verdict=Verdict.CONTRADICTED, evidence=said),
        _point("prior", 0.5, hint="Which prior does each penalty match?"),
        _point("geometry", 0.0),
        _point("shrinkage", 1.0),
    ]
    wrong = MisconceptionResult(
        id="l2-sparse",
        text="L2 makes weights exactly zero.",
        penalty=0.2,
        detected=True,
        evidence=said,
        correction="L1's corner at zero, not L2, gives exact zeros.",
    )
    text = stage1_feedback(points, [wrong], NumericCheck(expected="1/3", matched=False))
    assert text == (
        'You wrote "L2 gives sparse weights", but: The full rubric text of sparsity. '
        'A common mistake ("L2 gives sparse weights"). L1\'s corner at zero, not L2, gives exact zeros. '
        "Work out the exact value and state it as your result. "
        "Say more about: Which prior does each penalty match. "
        "Not covered yet: geometry. "
        "Covered 1 of 4 key points."
    )
    # The covered point's rubric text is not repeated back.
    assert "rubric text of shrinkage" not in text

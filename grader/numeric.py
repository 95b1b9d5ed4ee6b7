"""Find the numbers an answer states and compare them with a rubric's exact value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from grader.result import Evidence, NumericCheck
from rubrics.schema import ExactAnswer

# Integers, decimals, scientific notation (1e4, 3 × 10^4), simple fractions (1/3) and percentages (33.3%).
_NUMBER = re.compile(
    r"(?<![\w.])(?P<num>[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"(?:\s*[×x*]\s*10\s*(?:\^|\*\*)\s*\(?(?P<exp>[-−+]?\d+)\)?)?"
    r"(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?(?P<pct>\s*%)?"
)


@dataclass(frozen=True)
class StatedNumber:
    """A number found in the answer, with where it stands."""

    value: float
    start: int
    end: int
    percent: bool


def stated_numbers(text: str) -> list[StatedNumber]:
    """Every number written in ``text``, fractions evaluated and percentages kept as written (33.3% -> 33.3)."""
    found: list[StatedNumber] = []
    for m in _NUMBER.finditer(text):
        raw = m["num"].replace(",", "").replace("−", "-")
        try:
            value = float(Fraction(raw)) if "e" not in raw.lower() else float(raw)
            if m["exp"]:
                value *= 10.0 ** int(m["exp"].replace("−", "-"))
            if m["den"]:
                den = float(m["den"])
                if den == 0:
                    continue
                value = value / den
        except (ValueError, ZeroDivisionError):
            continue
        found.append(StatedNumber(value, m.start(), m.end(), bool(m["pct"])))
    return found


def _flatten(value: float | list[float] | list[list[float]]) -> list[float]:
    if isinstance(value, list):
        flat: list[float] = []
        for item in value:
            flat.extend(_flatten(item))
        return flat
    return [float(value)]


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol + 1e-12 * max(1.0, abs(b))


def _matched(answer: str, exact: ExactAnswer, start: int, end: int) -> NumericCheck:
    return NumericCheck(
        expected=exact.display, matched=True, evidence=Evidence(quote=answer[start:end], start=start, end=end)
    )


def check_exact(answer: str, exact: ExactAnswer) -> NumericCheck | None:
    """Compare the answer's numbers with the exact value; None when the value is symbolic (a formula)."""
    if isinstance(exact.value, str):
        return None
    numbers = stated_numbers(answer)
    targets = _flatten(exact.value)
    tol = exact.tolerance
    if len(targets) == 1:
        candidates = [targets[0], *exact.accept]
        for n in numbers:
            as_written = n.value
            as_fraction = n.value / 100 if n.percent else n.value
            if any(_close(as_written, c, tol) or _close(as_fraction, c, tol) for c in candidates):
                return _matched(answer, exact, n.start, n.end)
        return NumericCheck(expected=exact.display, matched=False)
    # A vector or matrix: its entries must appear in order among the stated numbers.
    i = 0
    first: StatedNumber | None = None
    last: StatedNumber | None = None
    for n in numbers:
        if i < len(targets) and _close(n.value, targets[i], tol):
            first = first or n
            last = n
            i += 1
    if i == len(targets) and first is not None and last is not None:
        return _matched(answer, exact, first.start, last.end)
    return NumericCheck(expected=exact.display, matched=False)

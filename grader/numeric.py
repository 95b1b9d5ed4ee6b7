"""Does the answer state the rubric's exact value as its result?

A scalar value must be stated as the result, not be any number in the answer: "0.5 each, so 0.5 + 0.5 = 1.0"
states 1.0, "1/2, not 1/3" states 1/2, and "4 letters differ, so the distance is 3" states 3. A number counts when
it is presented as a value ("= 0.5", "is 4", "about 1%") or opens the answer, is not denied and is not an operand
of further arithmetic, and no concluding value later in its sentence says otherwise (``_stated_as_result``).

A vector value must have all its entries among the answer's (undenied) numbers: in order, or in any order where
the rubric says order is not part of the question, with each labelled entry's number stated after its label when
the candidate names it ("det = -18, trace = 7"). Numbers are read as candidates write them
(``grader.numbers``); a number also matches when the value rounds to it at the precision it is written with (two
significant digits at least, or hedged: "about 1%" for 1/102).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from grader.numbers import StatedNumber, stated_numbers
from grader.result import Evidence, NumericCheck
from rubrics.schema import ExactAnswer

MIN_SIGNIFICANT = 2
"""A rounded number stands for the value only with this many significant digits, unless hedged ("about 1%")."""


def _flatten(value: float | list[float] | list[list[float]]) -> list[float]:
    if isinstance(value, list):
        flat: list[float] = []
        for item in value:
            flat.extend(_flatten(item))
        return flat
    return [float(value)]


def _rounds_to(value: float, written: float, decimals: int) -> bool:
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return float(rounded) == written


def _means(n: StatedNumber, target: float, tolerance: float) -> bool:
    """Whether the stated number can mean ``target`` (as written, as a fraction of a percentage, or rounded)."""
    for written in n.values:
        forms = [(written, 1.0)] + ([(written / 100, 100.0)] if n.percent else [])
        for value, unit in forms:
            if abs(value - target) <= tolerance + 1e-12 * max(1.0, abs(target)):
                return True
            rounding = n.decimals is not None and (n.significant >= MIN_SIGNIFICANT or n.hedged)
            if rounding and n.decimals is not None and _rounds_to(target * unit, written, n.decimals):
                return True
    return False


def _stated_as_result(numbers: Sequence[StatedNumber], target: list[float], tolerance: float) -> StatedNumber | None:
    """The first number stated as a result that means the target and that its own sentence does not overturn.

    A number counts when it is presented as a value ("= 0.5", "is 4", "about 1%"), opens the answer, or is the
    answer's only number, and is neither denied nor an operand ("15 times 4"). A later concluding value in the same
    sentence that means something else overturns it ("4 letters differ, so the distance is 3").
    """
    live = [n for n in numbers if not n.negated]
    for k, n in enumerate(live):
        presented = n.result or n.hedged or (n.start == numbers[0].start) or len(live) == 1
        if n.operand or not presented or not any(_means(n, t, tolerance) for t in target):
            continue
        later = [m for m in live[k + 1 :] if m.sentence == n.sentence and m.result and m.concluding and not m.operand]
        if any(not any(_means(m, t, tolerance) for t in target) for m in later):
            continue
        return n
    return None


def _evidence(answer: str, exact: ExactAnswer, start: int, end: int) -> NumericCheck:
    return NumericCheck(
        expected=exact.display, matched=True, evidence=Evidence(quote=answer[start:end], start=start, end=end)
    )


def check_exact(answer: str, exact: ExactAnswer) -> NumericCheck | None:
    """Compare the answer's stated result with the exact value; None when the value is symbolic (a formula)."""
    if isinstance(exact.value, str):
        return None
    numbers = stated_numbers(answer)
    if not isinstance(exact.value, list):
        targets = [float(exact.value), *(float(a) for a in exact.accept if not isinstance(a, list))]
        result = _stated_as_result(numbers, targets, exact.tolerance)
        if result is not None:
            return _evidence(answer, exact, result.start, result.end)
        return NumericCheck(expected=exact.display, matched=False)
    live = [n for n in numbers if not n.negated]
    for candidate in [exact.value, *(a for a in exact.accept if isinstance(a, list))]:
        targets = _flatten(candidate)
        found = (
            _in_order(live, targets, exact.tolerance)
            if exact.ordered
            else _any_order(answer, live, targets, exact.tolerance, exact.labels)
        )
        if found:
            return _evidence(answer, exact, min(n.start for n in found), max(n.end for n in found))
    return NumericCheck(expected=exact.display, matched=False)


def _in_order(numbers: Sequence[StatedNumber], targets: list[float], tolerance: float) -> list[StatedNumber]:
    found: list[StatedNumber] = []
    for n in numbers:
        if len(found) < len(targets) and _means(n, targets[len(found)], tolerance):
            found.append(n)
    return found if len(found) == len(targets) else []


def _any_order(
    answer: str, numbers: Sequence[StatedNumber], targets: list[float], tolerance: float, labels: list[str]
) -> list[StatedNumber]:
    """One distinct number per target entry; a number right after another entry's label is not this entry's."""
    owner = _label_owners(answer, numbers, labels) if labels else {}
    used: set[int] = set()
    found: list[StatedNumber] = []
    for k, target in enumerate(targets):
        pool = [i for i in range(len(numbers)) if owner.get(i, k) == k]  # its own and unnamed numbers
        match = next((i for i in pool if i not in used and _means(numbers[i], target, tolerance)), None)
        if match is None:
            return []
        used.add(match)
        found.append(numbers[match])
    return found


def _label_owners(answer: str, numbers: Sequence[StatedNumber], labels: list[str]) -> dict[int, int]:
    """Number index -> label index, for numbers stated within a few words after a label ("trace = 7", "D3: 0.96")."""
    patterns = [
        re.compile(r"(?<!\w)(?:" + "|".join(re.escape(name.strip()) for name in label.split("|")) + r")(?!\w)", re.I)
        for label in labels
    ]
    owners: dict[int, int] = {}
    for i, n in enumerate(numbers):
        window = answer[max(0, n.start - 30) : n.start]
        best: tuple[int, int] | None = None  # (end of the label mention, label index)
        for k, pattern in enumerate(patterns):
            for m in pattern.finditer(window):
                if best is None or m.end() > best[0]:
                    best = (m.end(), k)
        if best is not None and not re.search(r"[,;.]\s", window[best[0] :]):
            owners[i] = best[1]
    return owners

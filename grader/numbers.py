"""Numbers as candidates write them: digits, words, fractions, percentages, odds, "1 in 102".

Each number found carries what matching needs: the values it may mean (odds "8 to 1" may mean 8 or 8/9), how
precisely it was written (so "0.33" can stand for 1/3 and "about 1%" for 1/102), whether the candidate hedged it
("about", "≈"), whether it is denied ("1/2, not 1/3"), whether it is an operand of further arithmetic ("15 times 4"),
whether it is presented as a value ("= 0.5", "is 4") and whether its sentence concludes ("so", "the answer is").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class StatedNumber:
    """A number found in a text."""

    values: tuple[float, ...]
    """What it may mean, most likely first (a percentage as written; its fraction is tried by the matcher)."""
    start: int
    end: int
    decimals: int | None
    """Decimal places as written (None for exact forms: fractions, words, odds)."""
    significant: int
    """Significant digits as written (exact forms count as many)."""
    percent: bool
    hedged: bool
    negated: bool
    operand: bool
    """Followed by an operator: an intermediate of a calculation, not its result."""
    result: bool
    """Right after '=', '≈', 'is', 'equals', 'gives', 'so' and the like: presented as a value of something."""
    concluding: bool
    """In a sentence that concludes ('so', 'therefore', 'the answer', 'in total' before it)."""
    sentence: int
    """Index of the sentence it stands in."""


_UNIT_WORDS = """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen"""
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS.split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(_TEN_WORDS.split())}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
    "hundredth": 100,
    "hundredths": 100,
}
_CARDINAL = r"(?:" + "|".join(sorted([*_UNITS, *_TENS, *_SCALES, "a", "an"], key=len, reverse=True)) + r")"
_WORD_NUMBER = re.compile(
    rf"\b(?P<words>{_CARDINAL}(?:[\s-]+(?:and[\s-]+)?{_CARDINAL})*)"
    rf"(?:[\s-]+(?P<ordinal>{'|'.join(sorted(_ORDINALS, key=len, reverse=True))}))?\b",
    re.IGNORECASE,
)
_DIGITS = (
    r"[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"(?:\s*[×x*]\s*10\s*(?:\^|\*\*)\s*\(?[-−+]?\d+\)?)?"
)
_NUMBER = re.compile(
    rf"(?<![\w.])(?P<a>{_DIGITS})"
    rf"(?:\s*/\s*(?P<den>\d+(?:\.\d+)?)|\s+(?:in|out\s+of)\s+(?P<of>\d[\d,]*)\b)?"
    rf"(?P<pct>\s*(?:%|percent\b|per\s+cent\b))?",
    re.IGNORECASE,
)
# Odds only where the text says so: "odds of 8 to 1", "8:1 odds", "8 to 1 against" ("from 1 to 3" is a range).
_ODDS = re.compile(
    r"\bodds\s+(?:are\s+|of\s+)?(?P<a>\d+(?:\.\d+)?)\s*(?::|\bto\b)\s*(?P<b>\d+(?:\.\d+)?)\b"
    r"|\b(?P<a2>\d+(?:\.\d+)?)\s*(?::|\bto\b)\s*(?P<b2>\d+(?:\.\d+)?)\s+(?:odds|against|on)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"(?:about|around|roughly|approximately|approx\.?|nearly|almost|circa|ca\.|just\s+(?:under|over)|~|≈|≃)\s*$",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"(?:\bnot|\bnever|\bisn't|\baren't|\brather\s+than|\binstead\s+of|≠|!=|\bwrong|\bincorrect(?:ly)?|\bnor)"
    r"\s*(?:be\s+|equal\s+to\s+|equals?\s+|just\s+)?$",
    re.IGNORECASE,
)
_ANSWER_CUE = re.compile(
    r"(?:\banswer|\bresult|\bso|\btherefore|\bthus|\bhence|\btotal|\boverall|\baltogether|\bin\s+all|\bfinal(?:ly)?"
    r"|\bcomes?\s+(?:out\s+)?to|\bworks?\s+out(?:\s+to)?)\b(?:[^.;!?\n]|\.(?=\d)){0,40}$",
    re.IGNORECASE,
)
_RESULT_CUE = re.compile(
    r"(?:=|≈|≃|:|\bis|\bare|\bwas|\bequals?|\bgives?|\bget|\bbecomes?|\bof|\bso|\bthus|\btherefore|\bhence|"
    r"\bneeds?|\btakes?|\btotal(?:\s+of)?|\bin\s+all|\baltogether)\s*(?:about|around|roughly|approximately|exactly|"
    r"only|just|~)?\s*$",
    re.IGNORECASE,
)
_OPERATOR_AFTER = re.compile(
    r"^\s*,?\s*(?:[×*+/÷^·]|x\s*\d|-\s*\d|−|times\b|plus\b|minus\b|divided\b|multiplied\b|over\b)"
)


def _words_value(words: str) -> int | None:
    total, current = 0, 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word == "and":
            continue
        if word in ("a", "an"):
            current += 1
        elif word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        else:
            return None
    return total + current


def _digits_value(text: str) -> float:
    text = text.replace(",", "").replace("−", "-")
    power = re.search(r"[×x*]\s*10\s*(?:\^|\*\*)\s*\(?([-−+]?\d+)\)?", text)
    mantissa = text[: power.start()].strip() if power else text
    value = float(Fraction(mantissa)) if "e" not in mantissa.lower() else float(mantissa)
    return value * 10.0 ** int(power.group(1).replace("−", "-")) if power else value


def _precision(text: str) -> tuple[int, int]:
    """Decimal places and significant digits of a number as written."""
    mantissa = re.split(r"[eE×x*]", text.replace(",", "").lstrip("-−"))[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    significant = len(mantissa.replace(".", "").lstrip("0")) or 1
    return decimals, significant


_SENTENCE_END = re.compile(r"[.;!?](?=\s)|\n")


def _context(text: str, start: int, end: int) -> tuple[bool, bool, bool, bool, bool, int]:
    """hedged, negated, operand, result, concluding, sentence index."""
    # Only within the sentence: a full stop inside a number ("0.5") is no sentence end.
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    before = text[max(ends[-1] if ends else 0, start - 60) : start]
    after = text[end : end + 16]
    return (
        bool(_HEDGE.search(before)),
        bool(_NEGATION.search(before)),
        bool(_OPERATOR_AFTER.match(after)),
        bool(_RESULT_CUE.search(before)),
        bool(_ANSWER_CUE.search(before)),
        len(ends),
    )


def stated_numbers(text: str) -> list[StatedNumber]:
    """Every number written in ``text``, in order."""
    found: list[StatedNumber] = []
    taken: list[tuple[int, int]] = []
    for m in _ODDS.finditer(text):
        a, b = float(m["a"] or m["a2"]), float(m["b"] or m["b2"])
        start, end = m.start("a") if m["a"] else m.start("a2"), m.end("b") if m["b"] else m.end("b2")
        if b > 0:
            found.append(StatedNumber((a / b, a / (a + b)), start, end, None, 12, False, *_context(text, start, end)))
            taken.append((start, end))
    for m in _NUMBER.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        try:
            a = _digits_value(m["a"])
        except (ValueError, ZeroDivisionError):
            continue
        values: tuple[float, ...]
        decimals: int | None
        decimals, significant = _precision(m["a"])
        if m["den"] or m["of"]:
            den = float((m["den"] or m["of"]).replace(",", ""))
            if den == 0:
                continue
            values, decimals, significant = (a / den,), None, 12
        else:
            values = (a,)
        context = _context(text, m.start(), m.end())
        found.append(StatedNumber(values, m.start(), m.end(), decimals, significant, bool(m["pct"]), *context))
        taken.append((m.start(), m.end()))
    for m in _WORD_NUMBER.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        count = _words_value(m["words"])
        if count is None:
            continue
        if m["ordinal"]:
            value = count / _ORDINALS[m["ordinal"].lower()]
        elif m["words"].lower() in ("a", "an"):
            continue  # the article alone is no number
        else:
            value = float(count)
        context = _context(text, m.start(), m.end())
        hedged, result = context[0], context[3]
        if m["words"].lower() == "one" and not m["ordinal"] and not (result or hedged):
            continue  # "one of the", "each one": a pronoun far more often than a number
        found.append(StatedNumber((value,), m.start(), m.end(), None, 12, False, *context))
    return sorted(found, key=lambda n: n.start)

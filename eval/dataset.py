"""Import a data set of human-scored answers (JSONL or CSV) and build a rubric for each of its questions.

One row per answer. Fields (others are ignored, so ``../shared/data/mohler.jsonl`` reads as it is):

- ``question_id`` (required), ``question`` and ``reference_answer`` (required on a question's first row; later
  rows may repeat them but must not contradict them);
- ``key_points`` (optional, per question): a list of strings or of ``{"id", "text", "weight"}`` objects; in CSV a
  JSON array or texts separated by ``|``;
- ``answer`` (required; an empty answer is kept and reported as unscored, as the grader would);
- ``human_scores`` (a list with one score per rater, ``null`` where a rater gave none; in CSV a JSON array or
  numbers separated by ``;``) and/or ``score`` (the agreed score; by default the mean of ``human_scores``);
- ``max_score`` (optional; when present it must equal the declared scale's maximum).

Every bad line is reported with its number, all at once. A question without key points gets key points derived
from its reference answer, one per sentence (consecutive sentences merged beyond eight), with ids ``derived-1``,
``derived-2``, ... and ``derived=True``: they are the reference answer cut up, not a rubric a person wrote, and
every report says so.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from eval.scale import Scale
from grader.errors import InvalidDataset
from grader.text import is_heading, sentences
from rubrics.schema import Difficulty, KeyPoint, Kind, Rubric, Source, slugify

Format = Literal["jsonl", "csv"]
MAX_KEY_POINTS = 8
"""As in the bank's schema: more points than this stop being atomic claims."""
SHOWN_PROBLEMS = 20
"""Bad lines listed in an error message; the count of the rest follows."""


class ImportedKeyPoint(KeyPoint):
    """A key point of an imported question; unlike the bank's, it may be as short as the data set's answers."""

    text: Annotated[str, Field(min_length=1)]
    """The claim, from the data set or cut from its reference answer."""
    derived: bool = False
    """True when the point was cut from the reference answer's sentences, not given by the data set."""


class ImportedRubric(Rubric):
    """A rubric built in memory from a data set's question, never stored in the bank.

    The bank's authoring rules are relaxed only where a data set cannot meet them: a reference answer of one
    short sentence (Mohler's are often a phrase such as "push and pop") gives one key point, and questions
    and reference answers may be short. ``difficulty``, ``kind`` and ``source`` are placeholders: data sets do not
    say, and neither stage reads them.
    """

    key_points: Annotated[list[KeyPoint], Field(min_length=1, max_length=MAX_KEY_POINTS)]
    question: Annotated[str, Field(min_length=1)]
    reference_answer: Annotated[str, Field(min_length=1)]
    difficulty: Difficulty = Difficulty.MEDIUM
    kind: Kind = Kind.CONCEPTUAL

    @property
    def derived(self) -> bool:
        """Whether the key points were derived from the reference answer."""
        return any(isinstance(p, ImportedKeyPoint) and p.derived for p in self.key_points)


@dataclass(frozen=True)
class Item:
    """One human-scored answer."""

    line: int
    question_id: str
    answer: str
    gold: float
    """The score the grader is compared with: ``score`` when given, else the mean of the raters' scores."""
    ratings: tuple[float | None, ...]
    """Each rater's score by position (None where that rater gave none); empty when only ``score`` was given."""
    answer_id: str | None = None


@dataclass(frozen=True)
class Question:
    """One question of the data set with the rubric built for it."""

    id: str
    """The data set's question id."""
    rubric: ImportedRubric
    line: int
    """The line the question first appears on."""


@dataclass(frozen=True)
class Dataset:
    """Questions (with rubrics) and their human-scored answers, on one declared scale."""

    name: str
    scale: Scale
    questions: dict[str, Question]
    items: list[Item]

    @property
    def max_raters(self) -> int:
        """Most ratings any answer has."""
        return max((len(i.ratings) for i in self.items), default=0)


@dataclass
class _QuestionDraft:
    line: int
    question: str | None = None
    reference: str | None = None
    key_points: list[Any] | None = None
    key_points_line: int = 0
    lines: dict[str, int] = field(default_factory=dict)


class _LineProblem(Exception):
    pass


def format_of(name: str) -> Format:
    """'jsonl' or 'csv' from a file name (``.json`` counts as JSON lines)."""
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InvalidDataset(f"{name}: the data set must be a .jsonl or .csv file.")


def load_dataset(path: Path, scale: Scale, limit: int | None = None) -> Dataset:
    """Read and check a data set file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidDataset(f"{path}: cannot read it ({exc.strerror}).") from exc
    return parse_dataset(data, format_of(path.name), scale, name=path.name, limit=limit)


def parse_dataset(data: bytes, fmt: Format, scale: Scale, name: str, limit: int | None = None) -> Dataset:
    """Check every row and build the questions' rubrics; raises InvalidDataset listing every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidDataset(f"{name}: line {line}: not valid UTF-8 (byte {exc.start}).") from exc
    problems: list[str] = []
    items: list[Item] = []
    drafts: dict[str, _QuestionDraft] = {}
    for line, row in _rows(text, fmt, problems) if limit is None or limit > 0 else ():
        try:
            items.append(_item(line, row, scale, drafts))
        except _LineProblem as exc:
            problems.append(f"line {line}: {exc}")
        if limit is not None and len(items) >= limit:
            break  # before the next line is even read
    questions = _questions(drafts, name, problems)
    if not problems and not items:
        problems.append("no rows: the data set needs at least one scored answer")
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
        raise InvalidDataset(f"{name}: {len(problems)} problem(s): {shown}{more}")
    return Dataset(name=name, scale=scale, questions=questions, items=items)


def _rows(text: str, fmt: Format, problems: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs, lazily, so a ``limit`` leaves the rest of the file unread; bad lines go to problems."""
    if fmt == "jsonl":
        for number, raw in enumerate(text.split("\n"), start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: not valid JSON ({exc.msg})")
                continue
            if isinstance(value, dict):
                yield number, value
            else:
                problems.append(f"line {number}: not a JSON object")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        end = reader.line_num
        for record in reader:
            # A quoted field may span lines: report the line the record starts on.
            start, end = end + 1, reader.line_num
            if None in record:
                problems.append(f"line {start}: more values than the header has columns")
                continue
            yield start, {k.strip(): v for k, v in record.items() if k is not None}
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not valid CSV ({exc})")


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _LineProblem(f"{key} must be text")
    return str(value).strip()


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise _LineProblem(f"{what} must be a number, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _LineProblem(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise _LineProblem(f"{what} must be finite, not {value!r}")
    return number


def _list(value: Any, what: str, separator: str) -> list[Any]:
    """A JSON list, or (from CSV) a JSON array string or a ``separator``-separated string."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped)
            except json.JSONDecodeError:
                raise _LineProblem(f"{what} is not a valid JSON array") from None
            if isinstance(parsed, list):
                return parsed
        return [part.strip() or None for part in stripped.split(separator)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    raise _LineProblem(f"{what} must be a list")


def _ratings(row: dict[str, Any], scale: Scale) -> tuple[float | None, ...]:
    raw = row.get("human_scores")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ()
    ratings: list[float | None] = []
    for k, value in enumerate(_list(raw, "human_scores", ";"), start=1):
        if value is None:
            ratings.append(None)
            continue
        number = _number(value, f"human_scores[{k}]")
        if not scale.on_step(number):
            raise _LineProblem(f"human_scores[{k}] = {number:g} is not on the scale {scale.describe()} (MIN:MAX:STEP)")
        ratings.append(number)
    return tuple(ratings)


def _item(line: int, row: dict[str, Any], scale: Scale, drafts: dict[str, _QuestionDraft]) -> Item:
    qid = _text(row, "question_id")
    if qid is None:
        raise _LineProblem("question_id is missing")
    answer = row.get("answer")
    if not isinstance(answer, str):
        raise _LineProblem("answer is missing" if answer is None else "answer must be text")
    ratings = _ratings(row, scale)
    given = [r for r in ratings if r is not None]
    raw_score = row.get("score")
    if raw_score is not None and not (isinstance(raw_score, str) and not raw_score.strip()):
        gold = _number(raw_score, "score")
        if not scale.min - 1e-9 <= gold <= scale.max + 1e-9:
            raise _LineProblem(f"score {gold:g} is outside the scale {scale.min:g} to {scale.max:g}")
    elif given:
        gold = float(np.mean(given))
    else:
        raise _LineProblem("needs a score or at least one human score in human_scores")
    max_score = row.get("max_score")
    if max_score is not None and not (isinstance(max_score, str) and not max_score.strip()):
        declared = _number(max_score, "max_score")
        if abs(declared - scale.max) > 1e-9:
            raise _LineProblem(
                f"max_score {declared:g} differs from the declared scale's maximum {scale.max:g}; "
                "declare the data set's own scale"
            )
    _note_question(line, qid, row, drafts)
    answer_id = _text(row, "answer_id")
    return Item(line=line, question_id=qid, answer=answer, gold=gold, ratings=ratings, answer_id=answer_id)


def _note_question(line: int, qid: str, row: dict[str, Any], drafts: dict[str, _QuestionDraft]) -> None:
    """Record the question's text, reference answer and key points, checking later rows agree with earlier ones."""
    draft = drafts.setdefault(qid, _QuestionDraft(line=line))
    for key, attribute in (("question", "question"), ("reference_answer", "reference")):
        value = _text(row, key)
        if value is None:
            continue
        known = getattr(draft, attribute)
        if known is None:
            setattr(draft, attribute, value)
            draft.lines[key] = line
        elif known != value:
            raise _LineProblem(f"{key} of question {qid!r} differs from the one on line {draft.lines[key]}")
    points = row.get("key_points")
    if points is None or (isinstance(points, str) and not points.strip()):
        return
    parsed = _list(points, "key_points", "|")
    if draft.key_points is None:
        draft.key_points, draft.key_points_line = parsed, line
    elif draft.key_points != parsed:
        raise _LineProblem(f"key_points of question {qid!r} differ from those on line {draft.key_points_line}")


def _questions(drafts: dict[str, _QuestionDraft], name: str, problems: list[str]) -> dict[str, Question]:
    questions: dict[str, Question] = {}
    for number, (qid, draft) in enumerate(drafts.items(), start=1):
        if draft.question is None or draft.reference is None:
            missing = " and ".join(
                k for k, v in (("question", draft.question), ("reference_answer", draft.reference)) if v is None
            )
            problems.append(f"line {draft.line}: question {qid!r} has no {missing} on any of its rows")
            continue
        try:
            points = _given_points(draft.key_points) if draft.key_points is not None else derive_points(draft.reference)
            slug = slugify(qid)[:40].strip("-")
            rubric = ImportedRubric(
                id=f"imported/{number:03d}" + (f"-{slug}" if slug else ""),
                topic="imported",
                source=Source(section=f"imported data set {name}", number=number, seeded=False),
                question=draft.question,
                key_points=points,
                reference_answer=draft.reference,
            )
        except (_LineProblem, ValidationError) as exc:
            line = draft.key_points_line or draft.line
            problems.append(f"line {line}: question {qid!r}: {_reason(exc)}")
            continue
        questions[qid] = Question(id=qid, rubric=rubric, line=draft.line)
    return questions


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _given_points(raw: list[Any]) -> list[KeyPoint]:
    if not raw:
        raise _LineProblem("key_points is empty; leave it out to derive points from the reference answer")
    if len(raw) > MAX_KEY_POINTS:
        raise _LineProblem(f"has {len(raw)} key points; at most {MAX_KEY_POINTS} are allowed")
    points: list[KeyPoint] = []
    for k, value in enumerate(raw, start=1):
        if isinstance(value, str):
            points.append(ImportedKeyPoint(id=f"point-{k}", text=value))
        elif isinstance(value, dict):
            points.append(ImportedKeyPoint.model_validate({"id": f"point-{k}", **value}))
        else:
            raise _LineProblem(f"key point {k} must be text or an object with 'text'")
    return points


def derive_points(reference_answer: str) -> list[KeyPoint]:
    """Key points cut from a reference answer: one per sentence, consecutive ones merged beyond eight.

    Headings ("Advantages:", "## Cost") are not claims and would be points no answer can make: they are skipped.
    """
    spans = [s for s in sentences(reference_answer) if not is_heading(s.text)]
    texts = [s.text for s in spans] or [reference_answer.strip()]
    groups = np.array_split(np.arange(len(texts)), min(len(texts), MAX_KEY_POINTS))
    return [
        ImportedKeyPoint(id=f"derived-{k}", text=" ".join(texts[i] for i in group), derived=True)
        for k, group in enumerate(groups, start=1)
    ]

"""Reading a batch file: CSV or JSONL rows by line number, and what is wrong with each bad row.

Each row needs ``question_id`` and ``answer``; ``answer_id`` and ``human_score`` are optional and carried through
to the results. A row that cannot be read or graded is kept with its reason, never dropped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from grader.errors import InvalidInput
from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.uploads import FileFormat


@dataclass(frozen=True)
class Row:
    """One input row, by its line number in the file."""

    line: int
    data: dict[str, Any] | None
    problem: str | None = None


@dataclass(frozen=True)
class CheckedRow:
    """A row ready to store: either gradable (question and cleaned answer) or with the reason it is not."""

    line: int
    question_id: str | None
    answer: str | None
    external_id: str | None
    human_score: str | None
    error: str | None


def read_rows(content: bytes, fmt: FileFormat) -> Iterator[Row]:
    """Rows of a CSV or JSONL file with line numbers; undecodable or malformed lines become problems."""
    raw_lines = content.split(b"\n")
    if fmt == "jsonl":
        for number, raw in enumerate(raw_lines, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield Row(number, None, f"not valid UTF-8 (byte {exc.start})")
                continue
            except json.JSONDecodeError as exc:
                yield Row(number, None, f"not valid JSON: {exc.msg}")
                continue
            yield Row(number, data, None) if isinstance(data, dict) else Row(number, None, "not a JSON object")
        return
    header: list[str] | None = None
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            yield Row(number, None, f"not valid UTF-8 (byte {exc.start})")
            continue
        # One physical line per row keeps line numbers meaningful; quoted newlines are not supported.
        values = next(csv.reader(io.StringIO(text)))
        if header is None:
            header = values
            continue
        if len(values) != len(header):
            yield Row(number, None, f"has {len(values)} fields, the header has {len(header)}")
            continue
        yield Row(number, dict(zip(header, values, strict=True)))


def _optional(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    return str(value)[:limit]


def check_row(row: Row, bank: RubricBank, grader: Grader) -> CheckedRow:
    """Validate a row against the bank and the answer guard; a bad row carries its reason."""

    def bad(reason: str) -> CheckedRow:
        data = row.data or {}
        return CheckedRow(row.line, None, None, _optional(data, "answer_id", 200), None, reason)

    if row.problem is not None or row.data is None:
        return bad(row.problem or "empty row")
    data = row.data
    missing = [c for c in ("question_id", "answer") if c not in data]
    if missing:
        return bad(f"missing column(s): {', '.join(missing)}")
    rubric = bank.get(str(data["question_id"]))
    if rubric is None:
        return bad(f"unknown question {data['question_id']!r}")
    try:
        answer = grader.clean(str(data["answer"]))
    except InvalidInput as exc:
        return bad(exc.detail)
    return CheckedRow(
        row.line, rubric.id, answer, _optional(data, "answer_id", 200), _optional(data, "human_score", 50), None
    )


def check_file(content: bytes, fmt: FileFormat, bank: RubricBank, grader: Grader) -> list[CheckedRow]:
    """Every row of a file, checked."""
    return [check_row(row, bank, grader) for row in read_rows(content, fmt)]

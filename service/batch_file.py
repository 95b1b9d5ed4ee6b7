"""Grade a CSV or JSONL file of answers in-process: chunked, resumable, every row graded or reported once.

Each input row needs ``question_id`` and ``answer`` (``answer_id`` and ``human_score`` are optional and carried
through). Rows that cannot be graded go to ``<out>.errors.jsonl`` with their line number and reason; graded rows
go to ``<out>`` (CSV or JSONL by extension), written and flushed chunk by chunk. ``resume`` skips every line
already in either file, so an interrupted run (Ctrl-C or a crash) finishes only what is left.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import InvalidInput
from grader.pipeline import Grader
from rubrics.loader import RubricBank
from rubrics.schema import Rubric
from service import repository

CHUNK = 64
OUTPUT_FIELDS = ["line", "answer_id", "question_id", "status", "score", "stage1_score", "human_score", "grade_id"]


@dataclass(frozen=True)
class Row:
    """One input row, by its line number in the file."""

    line: int
    data: dict[str, Any] | None
    problem: str | None = None


@dataclass
class Summary:
    """Counts of one run."""

    graded: int = 0
    errors: int = 0
    skipped: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of a CSV or JSONL file with line numbers; undecodable or malformed lines become problems."""
    raw_lines = path.read_bytes().split(b"\n")
    if path.suffix.lower() == ".jsonl":
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
        values = next(csv.reader(io.StringIO(text)))
        if header is None:
            header = values
            continue
        if len(values) != len(header):
            yield Row(number, None, f"has {len(values)} fields, the header has {len(header)}")
            continue
        yield Row(number, dict(zip(header, values, strict=True)))


def _done_lines(path: Path) -> set[int]:
    """Line numbers already written to an output or errors file (a torn last line is cut off first)."""
    if not path.exists():
        return set()
    content = path.read_bytes()
    if content and not content.endswith(b"\n"):
        content = content[: content.rfind(b"\n") + 1]
        path.write_bytes(content)
    done: set[int] = set()
    if path.suffix.lower() == ".csv":
        for record in csv.DictReader(io.StringIO(content.decode("utf-8"))):
            done.add(int(record["line"]))
    else:
        for raw in content.splitlines():
            if raw.strip():
                done.add(int(json.loads(raw)["line"]))
    return done


class _Writer:
    """Appends records to a CSV or JSONL file and makes each chunk durable."""

    def __init__(self, path: Path, fields: list[str]) -> None:
        self.path = path
        self.fields = fields
        self.csv = path.suffix.lower() == ".csv"
        new = not path.exists() or path.stat().st_size == 0
        self.handle = path.open("a", encoding="utf-8", newline="")
        if self.csv and new:
            csv.writer(self.handle).writerow(fields)

    def write(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            if self.csv:
                csv.writer(self.handle).writerow([record.get(f, "") for f in self.fields])
            else:
                self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def _validate(row: Row, bank: RubricBank, grader: Grader) -> tuple[Rubric, str] | str:
    if row.problem is not None or row.data is None:
        return row.problem or "empty row"
    missing = [c for c in ("question_id", "answer") if c not in row.data]
    if missing:
        return f"missing column(s): {', '.join(missing)}"
    rubric = bank.get(str(row.data["question_id"]))
    if rubric is None:
        return f"unknown question {row.data['question_id']!r}"
    try:
        return rubric, grader.clean(str(row.data["answer"]))
    except InvalidInput as exc:
        return exc.detail


async def run_batch(
    session: AsyncSession,
    bank: RubricBank,
    grader: Grader,
    source: Path,
    out: Path,
    resume: bool = False,
    progress: Callable[[int], object] | None = None,
) -> Summary:
    """Grade every row of ``source`` not yet in ``out`` or its errors file."""
    errors_path = out.with_name(out.name + ".errors.jsonl")
    if not resume and (out.exists() or errors_path.exists()):
        raise InvalidInput(f"{out} or {errors_path} exists; pass --resume to continue it, or choose another --out.")
    done = _done_lines(out) | _done_lines(errors_path)
    writer, errors = _Writer(out, OUTPUT_FIELDS), _Writer(errors_path, ["line", "reason"])
    summary = Summary()
    pending: list[tuple[Row, Rubric, str]] = []

    async def flush() -> None:
        if not pending:
            return
        # Answers are stored before they are graded, as everywhere else.
        stored = [await repository.store_answer(session, r, a, owner="batch") for _, r, a in pending]
        stage1 = await asyncio.to_thread(grader.scorer.score_many, [(r, a) for _, r, a in pending])
        results = await asyncio.gather(
            *(grader.after_stage1(r, a, s) for (_, r, a), s in zip(pending, stage1, strict=True))
        )
        records = []
        for (row, rubric, _), answer, result in zip(pending, stored, results, strict=True):
            grade = await repository.store_grade(session, answer, result, latency_ms=None)
            assert row.data is not None
            records.append(
                {
                    "line": row.line,
                    "answer_id": row.data.get("answer_id") or answer.id,
                    "question_id": rubric.id,
                    "status": result.status.value,
                    "score": result.score,
                    "stage1_score": result.stage1_score,
                    "human_score": row.data.get("human_score"),
                    "grade_id": grade.id,
                }
            )
            summary.by_status[result.status.value] = summary.by_status.get(result.status.value, 0) + 1
        writer.write(records)
        summary.graded += len(records)
        if progress:
            progress(len(records))
        pending.clear()

    try:
        for row in read_rows(source):
            if row.line in done:
                summary.skipped += 1
                continue
            checked = _validate(row, bank, grader)
            if isinstance(checked, str):
                errors.write([{"line": row.line, "reason": checked}])
                summary.errors += 1
                if progress:
                    progress(1)
                continue
            pending.append((row, *checked))
            if len(pending) >= CHUNK:
                await flush()
        await flush()
    finally:
        writer.close()
        errors.close()
    return summary


def count_rows(path: Path) -> int:
    """Number of data rows (for the progress bar's total)."""
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    return len(lines) - (1 if path.suffix.lower() == ".csv" and lines else 0)

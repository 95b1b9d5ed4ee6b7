"""`grader batch` on a file: bad rows reported by line, interrupted runs resume, every row exactly once."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.batch_file import CHUNK, run_batch
from service.db import make_async_engine, session_factory
from service.settings import Settings
from tests.databases import rows

GRADER = str(Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "grader")
BAD = {
    5: ({"question_id": "nope/01-missing", "answer": "hi"}, "unknown question 'nope/01-missing'"),
    9: ({"question_id": "vectors/07-span-dimension", "answer": "  "}, "The answer is empty"),
    12: ({"answer": "no question"}, "missing column(s): question_id"),
}


def _write_input(path: Path, bank: RubricBank, n: int) -> int:
    """n JSONL rows, three of them bad and one undecodable; returns how many are valid."""
    rubrics = list(bank)
    lines: list[bytes] = []
    for i in range(1, n + 1):
        if i in BAD:
            lines.append(json.dumps(BAD[i][0]).encode())
        elif i == 15:
            lines.append(b'{"question_id": "vectors/07-span-dimension", "answer": "caf\xe9"}')
        else:
            r = rubrics[i % len(rubrics)]
            lines.append(
                json.dumps({"question_id": r.id, "answer": r.reference_answer[:160], "human_score": i % 5}).encode()
            )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return n - len(BAD) - 1


def test_cli_batch_reports_bad_rows_by_line(tmp_path: Path, bank: RubricBank) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    valid = _write_input(source, bank, 20)
    env = {**os.environ, "GRADER_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("GRADER_DATABASE_URL", None)
    run = subprocess.run(
        [GRADER, "batch", str(source), "--out", str(out), "--stages", "embedding"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert f"graded {valid} (scored {valid}); errors 4; already done 0" in run.stdout
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(g["line"] for g in graded) == [i for i in range(1, 21) if i not in BAD and i != 15]
    errors = {
        e["line"]: e["reason"] for e in map(json.loads, (tmp_path / "out.jsonl.errors.jsonl").read_text().splitlines())
    }
    assert set(errors) == {5, 9, 12, 15}
    assert all(BAD[line][1] in errors[line] for line in BAD) and "not valid UTF-8" in errors[15]
    again = subprocess.run(
        [GRADER, "batch", str(source), "--out", str(out)], capture_output=True, text=True, env=env, timeout=600
    )
    assert again.returncode == 2 and "--resume" in again.stderr


def test_interrupted_batch_resumes_and_grades_every_row_once(
    tmp_path: Path, settings: Settings, grader: Grader, bank: RubricBank
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    valid = _write_input(source, bank, CHUNK + 30)

    class Interrupted(Exception):
        pass

    def stop_after_first_chunk(advance: int) -> None:
        if advance == CHUNK:  # a whole chunk was graded and written (bad rows advance the bar one by one)
            raise Interrupted

    async def run(resume: bool, progress: object = None) -> object:
        engine = make_async_engine(settings.resolved_database_url())
        try:
            async with session_factory(engine)() as session:
                return await run_batch(session, bank, grader, source, out, resume=resume, progress=progress)  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    with pytest.raises(Interrupted):
        asyncio.run(run(False, stop_after_first_chunk))
    with out.open("a") as handle:
        handle.write("999,torn-line-from-a-crash")  # a crash mid-write leaves half a line
    summary = asyncio.run(run(True))
    lines = [int(r["line"]) for r in csv.DictReader(out.open())]
    assert len(lines) == len(set(lines)) == valid
    assert summary.skipped == CHUNK + 4 and summary.graded == valid - CHUNK  # type: ignore[attr-defined]
    grades = rows(settings.resolved_database_url(), "select count(*) from grades")[0][0]
    assert grades == valid

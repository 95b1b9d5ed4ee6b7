"""`grader batch` on a file: bad rows reported by line, a killed run resumes, every row exactly once."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from rubrics.loader import RubricBank
from tests.databases import rows

CHUNK = 32
"""Small chunks (GRADER_BATCH_CHUNK), so a hundred rows make several jobs."""
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
    assert f"graded {valid} now, 0 earlier (scored {valid}); rows with errors 4" in run.stdout
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(g["state"] == "graded" and g["status"] == "scored" and 0 <= g["score"] <= 1 for g in graded)
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


def _count(url: str, sql: str) -> int:
    return int(rows(url, sql)[0][0])


def test_batch_killed_mid_run_resumes_and_grades_every_row_once(
    tmp_path: Path, database_url: str, bank: RubricBank
) -> None:
    """SIGKILL the CLI after its first chunk is committed, resume, and find every row exactly once."""
    source, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    valid = _write_input(source, bank, 6 * CHUNK + 10)
    env = {
        **os.environ,
        "GRADER_DATA_DIR": str(tmp_path),
        "GRADER_DATABASE_URL": database_url,
        "GRADER_BATCH_CHUNK": str(CHUNK),
        "HF_HUB_OFFLINE": "1",
    }
    command = [GRADER, "batch", str(source), "--out", str(out), "--stages", "embedding"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    graded_items = "select count(*) from batch_items where state = 'graded'"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            if _has_tables(database_url) and _count(database_url, graded_items) >= CHUNK:
                break
            time.sleep(0.2)
        assert first.poll() is None, "the first run finished before it could be killed"
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    done_before = _count(database_url, graded_items)
    assert CHUNK <= done_before < valid and not out.exists()

    again = subprocess.run([*command, "--resume"], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"graded {valid - done_before} now, {done_before} earlier" in again.stdout
    lines = [int(r["line"]) for r in csv.DictReader(out.open())]
    assert len(lines) == len(set(lines)) == valid
    assert _count(database_url, "select count(*) from grades") == valid
    assert _count(database_url, "select count(*) from answers") == valid  # stored once, at the start
    assert _count(database_url, "select count(*) from batch_items where state = 'graded' and grade_id is null") == 0
    errors = [json.loads(x)["line"] for x in (tmp_path / "out.csv.errors.jsonl").read_text().splitlines()]
    assert sorted(errors) == [5, 9, 12, 15]
    nothing_left = subprocess.run([*command, "--resume"], capture_output=True, text=True, env=env, timeout=600)
    assert nothing_left.returncode == 0 and f"graded 0 now, {valid} earlier" in nothing_left.stdout


def _has_tables(url: str) -> bool:
    try:
        _count(url, "select count(*) from batch_items")
    except Exception:  # the run has not migrated the database yet
        return False
    return True

"""The `grader` console script, run as a subprocess against a temporary data directory."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

from tests.databases import rows

GRADER = str(Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "grader")


def _run(
    args: list[str], data_dir: Path, stdin: str | None = None, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADER_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("GRADER_DATABASE_URL", None)
    if database_url:
        env["GRADER_DATABASE_URL"] = database_url
    return subprocess.run([GRADER, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def test_grade_prints_a_readable_result_and_stores_it(tmp_path: Path) -> None:
    answer = "It is the 3x3 matrix with entries a_i b_j: [[-3, 0, 3], [-2, 0, 2], [-1, 0, 1]]."
    run = _run(["grade", "vectors/03-outer-product", answer], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("vectors/03-outer-product: score ")
    assert "[met ] result" in run.stdout and "exact value [[-3, 0, 3], [-2, 0, 2], [-1, 0, 1]]: stated" in run.stdout
    with sqlite3.connect(tmp_path / "grader.db") as conn:
        assert conn.execute("select text from answers").fetchall() == [(answer,)]


def test_grade_json_from_stdin(tmp_path: Path) -> None:
    run = _run(["grade", "vectors/05-linear-independence", "-", "--json"], tmp_path, stdin="Neither is a multiple.")
    assert run.returncode == 0, run.stderr
    grade = json.loads(run.stdout)
    assert grade["question_id"] == "vectors/05-linear-independence" and grade["status"] == "scored"
    assert 0 <= grade["score"] <= 1 and grade["stages"] == ["embedding"]


def test_grade_errors_are_clear(tmp_path: Path) -> None:
    unknown = _run(["grade", "vectors/77-nothing", "an answer"], tmp_path)
    assert unknown.returncode == 2 and "Unknown question" in unknown.stderr
    empty = _run(["grade", "vectors/01-dot-product-geometry", "  "], tmp_path)
    assert empty.returncode == 2 and "answer is empty" in empty.stderr


def test_db_upgrade_and_check(tmp_path: Path, database_url: str) -> None:
    assert _run(["db", "upgrade"], tmp_path, database_url=database_url).returncode == 0
    check = _run(["db", "check"], tmp_path, database_url=database_url)
    assert check.returncode == 0 and "agree" in check.stdout
    grade = _run(["grade", "vectors/07-span-dimension", "At most min(n, d)."], tmp_path, database_url=database_url)
    assert grade.returncode == 0, grade.stderr
    assert rows(database_url, "select question_id from answers") == [("vectors/07-span-dimension",)]


def test_keys_create_prints_the_key_once_and_list_hides_it(tmp_path: Path, database_url: str) -> None:
    made = _run(["keys", "create", "--role", "rater", "--name", "rita"], tmp_path, database_url=database_url)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("ag_") and len(key) > 40
    listed = _run(["keys", "list"], tmp_path, database_url=database_url)
    assert "rater" in listed.stdout and "rita" in listed.stdout and key not in listed.stdout
    key_id = listed.stdout.split()[0]
    revoked = _run(["keys", "revoke", key_id], tmp_path, database_url=database_url)
    assert revoked.returncode == 0 and "revoked" in _run(["keys", "list"], tmp_path, database_url=database_url).stdout


def test_serve_refuses_an_open_service_on_the_network(tmp_path: Path) -> None:
    run = _run(["serve", "--host", "0.0.0.0", "--port", "1"], tmp_path)
    assert run.returncode == 2 and "GRADER_AUTH=keys" in run.stderr

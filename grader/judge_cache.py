"""Cache of judge outcomes, so the same answer is never sent to the model twice.

Keyed by (rubric version, normalised answer, model, prompt version, parameters). Two implementations: in memory,
and a SQLite file (stdlib ``sqlite3``, safe across processes) so a rerun of a batch makes no calls at all.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Protocol


def cache_key(rubric_version: str, answer: str, model: str, prompt_version: str, params: dict[str, object]) -> str:
    """Stable key; the answer is normalised for whitespace and case, which cannot change a verdict."""
    normalised = " ".join(answer.split()).casefold()
    material = json.dumps([rubric_version, normalised, model, prompt_version, params], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


class JudgeCache(Protocol):
    """Stores serialised judge outcomes by key."""

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        ...

    def put(self, key: str, value: str) -> None:
        """Store a value (last write wins)."""
        ...


class MemoryJudgeCache:
    """Per-process cache."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        return self._data.get(key)

    def put(self, key: str, value: str) -> None:
        """Store a value."""
        self._data[key] = value


class SqliteJudgeCache:
    """Cache in a SQLite file, shared by every process that points at it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()
        with self._connect() as conn:
            conn.execute("create table if not exists judge_cache (key text primary key, value text not null)")

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("pragma journal_mode=wal")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> str | None:
        """The stored value, or None."""
        row = self._connect().execute("select value from judge_cache where key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        """Store a value."""
        self._connect().execute("insert or replace into judge_cache (key, value) values (?, ?)", (key, value))

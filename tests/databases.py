"""Throwaway databases for tests: a SQLite file, or a fresh database on the local PostgreSQL server.

PostgreSQL is not optional in this suite: when it is unreachable the tests that need it fail with a message,
rather than being skipped, unless GRADER_TEST_BACKENDS=sqlite says so explicitly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import sync_url

POSTGRES_ADMIN_URL = os.environ.get("GRADER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def backends() -> list[str]:
    """Backends the suite runs on: both by default."""
    chosen = os.environ.get("GRADER_TEST_BACKENDS", "sqlite,postgres")
    return [b.strip() for b in chosen.split(",") if b.strip()]


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create an empty database on the local server, yield its URL, drop it afterwards."""
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"grader_test_{uuid.uuid4().hex[:12]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is unreachable at {admin.render_as_string()}: {exc}. Start it (see .ci/run), point "
            "GRADER_TEST_POSTGRES_URL at a server, or set GRADER_TEST_BACKENDS=sqlite to run SQLite only."
        ) from exc
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database URL of the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'grader.db'}"
    else:
        with postgres_database() as url:
            yield url


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """Run a query through a short-lived synchronous engine (backend-agnostic inspection for tests)."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()

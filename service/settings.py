"""Service settings: the grading settings plus storage and server options, from ``GRADER_*`` variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from grader.settings import GraderSettings
from service.auth_mode import AuthMode


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "answer-grader"


class Settings(GraderSettings):
    """Everything the service reads from the environment."""

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the embedded SQLite database lives (default ``$XDG_DATA_HOME/answer-grader``)."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/grader.db``. PostgreSQL: ``postgresql+psycopg://...``."""
    host: str = "127.0.0.1"
    """Interface ``grader serve`` binds by default."""
    port: int = 8000
    """Port ``grader serve`` listens on by default."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted, in bytes."""
    auth: AuthMode = AuthMode.OPEN
    """open: no keys (the embedded default, loopback only) | keys: every request needs a Bearer API key."""
    allow_open_network: bool = False
    """Allow ``grader serve`` to bind a non-loopback interface while auth is open (anyone could then grade)."""
    max_batch_bytes: int = 64 * 1_048_576
    """Largest batch file accepted by ``POST /v1/batches``, in bytes."""
    batch_chunk: int = Field(default=512, ge=1, le=10_000)
    """Answers per batch job (one model call each); see ``service.batches.DEFAULT_CHUNK``."""
    batch_runner: Literal["auto", "in-process", "queue"] = "auto"
    """Who grades batch chunks: ``in-process`` (asyncio workers in the service), ``queue`` (procrastinate jobs on
    PostgreSQL for ``grader worker`` processes), ``auto`` = queue on PostgreSQL, in-process on SQLite."""
    warm_on_start: bool = True
    """Load the embedding model and embed every rubric in the background when the service starts."""

    @model_validator(mode="after")
    def _judge_cache_in_data_dir(self) -> Settings:
        # Verdicts cost money and time: keep them across restarts next to the database by default.
        if self.judge_cache_path is None:
            self.judge_cache_path = self.data_dir / "judge-cache.sqlite3"
        return self

    def uses_queue(self) -> bool:
        """Whether batch chunks go to the PostgreSQL job queue rather than in-process workers."""
        postgres = self.resolved_database_url().startswith("postgresql")
        if self.batch_runner == "queue" and not postgres:
            raise ValueError("GRADER_BATCH_RUNNER=queue needs GRADER_DATABASE_URL on PostgreSQL")
        return self.batch_runner == "queue" or (self.batch_runner == "auto" and postgres)

    def resolved_database_url(self) -> str:
        """The configured URL, or the SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'grader.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()

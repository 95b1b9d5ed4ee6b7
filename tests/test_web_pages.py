"""The practice pages over HTTP, and the API pieces they rely on: browser identities and the 'answered' filter.

Runs on both backends: who owns an answer and which questions count as answered are storage questions.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service import keys
from service.auth import Role
from service.auth_mode import AuthMode
from service.db import make_async_engine, session_factory
from service.settings import Settings
from service.web.render import CONTENT_SECURITY_POLICY, REPORT_VIEWER_POLICY
from tests.conftest import LiveServer
from tests.databases import rows

QID = "vectors/05-linear-independence"
ANSWER = "Two vectors are linearly independent when neither is a scalar multiple of the other."
ALICE = {"X-Practice-Identity": "alice-browser-0123456"}
BOB = {"X-Practice-Identity": "bob_browser_6543210xyz"}


def candidate_key(settings: Settings, name: str) -> str:
    """A new candidate API key in the settings' database."""

    async def create() -> str:
        engine = make_async_engine(settings.resolved_database_url())
        try:
            async with session_factory(engine)() as session:
                return (await keys.create_key(session, Role.CANDIDATE, name))[1]
        finally:
            await engine.dispose()

    # In a thread of its own: a running Playwright (tests/test_web.py) owns this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, create()).result()


def _question_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-question-id="([^"]+)">', html)


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/", CONTENT_SECURITY_POLICY),
        (f"/practice/{QID}", CONTENT_SECURITY_POLICY),
        ("/history", CONTENT_SECURITY_POLICY),
        ("/calibrations", REPORT_VIEWER_POLICY),
    ],
)
def test_pages_render_as_html_with_a_strict_policy(client: httpx.Client, path: str, policy: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    # Only this server's own files may load: the pages work offline and nothing injected can run.
    assert response.headers["content-security-policy"] == policy
    assert "script-src 'self';" in policy and "default-src 'self';" in policy
    assert '<main id="main"' in response.text and '<nav aria-label="Main">' in response.text
    assert re.search(r'<script src="/static/practice\.js\?v=[0-9a-f]{12}" defer></script>', response.text)
    assert "https://" not in response.text and "http://" not in response.text


def test_static_files_are_served_from_the_package(client: httpx.Client) -> None:
    script = client.get("/static/practice.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "X-Practice-Identity" in script.text
    style = client.get("/static/style.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_home_filters_by_topic_and_difficulty(client: httpx.Client) -> None:
    everything = _question_rows(client.get("/").text)
    offered = client.get("/v1/questions", params={"practice": True, "limit": 500}).json()
    assert everything == [q["id"] for q in offered["items"]]
    page = client.get("/", params={"topic": "vectors", "difficulty": "easy", "hide_answered": "true"}).text
    easy_vectors = client.get("/v1/questions", params={"topic": "vectors", "difficulty": "easy"}).json()["items"]
    assert _question_rows(page) == [q["id"] for q in easy_vectors if q["practice"]]
    assert '<option value="vectors" selected>Vectors</option>' in page
    assert '<option value="easy" selected>Easy</option>' in page
    assert re.search(r'id="hide-answered"[^>]* checked', page)
    # The form sends "" for "any"; an unknown level is no filter rather than an error page.
    assert _question_rows(client.get("/", params={"difficulty": "", "topic": ""}).text) == everything
    assert _question_rows(client.get("/", params={"difficulty": "impossible"}).text) == everything


def test_practice_page_shows_the_question_but_not_the_rubric(client: httpx.Client) -> None:
    page = client.get(f"/practice/{QID}").text
    detail = client.get(f"/v1/questions/{QID}", params={"include": "rubric"}).json()
    assert "<h1>Vectors: question 5</h1>" in page
    assert detail["question"] in page
    assert f'data-question-id="{QID}"' in page
    # The reference answer is revealed by the script after submitting, never sent with the page.
    assert detail["rubric"]["reference_answer"][:60] not in page
    assert '<label for="answer">Your answer</label>' in page


def test_code_in_a_question_is_shown_as_code(client: httpx.Client, bank: RubricBank) -> None:
    fenced = next(r for r in bank if "```" in r.prompt)
    page = client.get(f"/practice/{fenced.id}").text
    assert "<pre><code>" in page and "```" not in page


def test_unknown_question_page_is_a_404_page(client: httpx.Client) -> None:
    response = client.get("/practice/vectors/99-nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Question not found</h1>" in response.text and "vectors/99-nothing" in response.text


def test_browser_identities_own_their_answers_in_open_mode(client: httpx.Client, settings: Settings) -> None:
    created = client.post("/v1/grades", json={"question_id": QID, "answer": ANSWER}, headers=ALICE)
    assert created.status_code == 201, created.text
    answer_id = created.json()["answer_id"]
    assert rows(settings.resolved_database_url(), f"SELECT owner FROM answers WHERE id = '{answer_id}'") == [
        ("browser:alice-browser-0123456",)
    ]
    assert client.get("/v1/grades", headers=ALICE).json()["total"] == 1
    # Each browser is a candidate: another one sees none of it, and the answer is 'not found' to it.
    assert client.get("/v1/grades", headers=BOB).json()["total"] == 0
    assert client.get(f"/v1/answers/{answer_id}", headers=BOB).status_code == 404
    # Without the header the open default is unchanged: the anonymous admin sees everything.
    assert client.get("/v1/grades").json()["total"] == 1


def test_answered_filter_is_per_caller(client: httpx.Client) -> None:
    client.post("/v1/grades", json={"question_id": QID, "answer": ANSWER}, headers=ALICE)
    answered = client.get("/v1/questions", params={"answered": True}, headers=ALICE).json()
    assert [q["id"] for q in answered["items"]] == [QID]
    unanswered = client.get("/v1/questions", params={"answered": False, "limit": 500}, headers=ALICE).json()
    everything = client.get("/v1/questions", params={"limit": 500}).json()
    assert unanswered["total"] == everything["total"] - 1 and QID not in {q["id"] for q in unanswered["items"]}
    assert client.get("/v1/questions", params={"answered": True}, headers=BOB).json()["total"] == 0


@pytest.mark.parametrize("identity", ["short", "x" * 25, "has space in it 1234", "ünïcode-identity-12345", ""])
def test_malformed_identity_is_refused(client: httpx.Client, identity: str) -> None:
    response = client.get("/v1/grades", headers={"X-Practice-Identity": identity.encode()})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Practice-Identity must be 16 to 24 characters" in response.json()["detail"]


@pytest.fixture
def keyed_server(settings: Settings, grader: Grader) -> Iterator[tuple[LiveServer, str]]:
    key = candidate_key(settings, "carol")
    with LiveServer(settings.model_copy(update={"auth": AuthMode.KEYS}), grader) as server:
        yield server, key


def test_identity_header_is_no_credential_when_keys_are_on(
    keyed_server: tuple[LiveServer, str], settings: Settings
) -> None:
    server, key = keyed_server
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        refused = client.post("/v1/grades", json={"question_id": QID, "answer": ANSWER}, headers=ALICE)
        assert refused.status_code == 401
        with_key = {"Authorization": f"Bearer {key}", **ALICE}
        created = client.post("/v1/grades", json={"question_id": QID, "answer": ANSWER}, headers=with_key)
        assert created.status_code == 201
        # The key decides the owner; the browser's header is ignored.
        owner = rows(settings.resolved_database_url(), "SELECT owner FROM answers")[0][0]
        assert owner == rows(settings.resolved_database_url(), "SELECT id FROM api_keys")[0][0]
        page = client.get("/")
        assert page.status_code == 200 and 'data-auth="keys"' in page.text
        assert '<label for="api-key">API key</label>' in page.text

"""The REST API over a real server on loopback and a temporary SQLite file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from grader.embedding import SentenceTransformerEmbedder
from grader.pipeline import Grader
from service.settings import Settings
from tests.conftest import LiveServer
from tests.databases import rows

DOT = "vectors/01-dot-product-geometry"
GOOD = (
    "The dot product a·b equals |a||b|cos θ, where θ is the angle between the vectors. "
    "Geometrically it is the length of the projection of a onto b, multiplied by the length of b. "
    "It is zero exactly when the vectors are orthogonal."
)


def _db_rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    return rows(settings.resolved_database_url(), sql)


def _assert_problem(response: httpx.Response, status: int, needle: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert needle.lower() in body["detail"].lower(), body


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_list_questions_filters_and_pages(client: httpx.Client) -> None:
    everything = client.get("/v1/questions", params={"limit": 500}).json()
    assert everything["total"] == len(everything["items"]) >= 24
    vectors = client.get("/v1/questions", params={"topic": "vectors"}).json()
    assert vectors["total"] == 9
    assert {q["topic"] for q in vectors["items"]} == {"vectors"}
    assert set(vectors["items"][0]) >= {"id", "question", "topic", "difficulty"}
    easy = client.get("/v1/questions", params={"topic": "matrices", "difficulty": "easy"}).json()
    assert easy["total"] > 0 and {q["difficulty"] for q in easy["items"]} == {"easy"}
    page = client.get("/v1/questions", params={"topic": "vectors", "limit": 4, "offset": 8}).json()
    assert [q["id"] for q in page["items"]] == [vectors["items"][8]["id"]]
    assert page["total"] == 9


def test_question_detail_hides_rubric_unless_asked(client: httpx.Client) -> None:
    plain = client.get(f"/v1/questions/{DOT}").json()
    assert plain["id"] == DOT and plain["rubric"] is None and len(plain["rubric_version"]) == 16
    full = client.get(f"/v1/questions/{DOT}", params={"include": "rubric"}).json()
    assert full["rubric"]["key_points"][0]["id"] == "cosine-formula"
    assert full["rubric"]["reference_answer"]


def test_grade_round_trip_stores_answer_and_grade(client: httpx.Client, settings: Settings) -> None:
    response = client.post("/v1/grades", json={"question_id": DOT, "answer": GOOD})
    assert response.status_code == 201, response.text
    grade = response.json()
    assert response.headers["location"] == f"/v1/grades/{grade['id']}"
    assert grade["status"] == "scored" and grade["stages"] == ["embedding"]
    assert 0.6 <= grade["score"] <= 1.0
    by_id = {p["id"]: p for p in grade["points"]}
    assert by_id["cosine-formula"]["coverage"] == 1.0
    assert by_id["projection"]["evidence"]["quote"].startswith("Geometrically it is the length of the projection")
    assert grade["feedback"] and grade["versions"]["embedding_model"] == "all-MiniLM-L6-v2"

    again = client.get(f"/v1/grades/{grade['id']}").json()
    assert again == grade
    assert _db_rows(settings, "select question_id, text from answers") == [(DOT, GOOD)]
    assert _db_rows(settings, "select id, status from grades") == [(grade["id"], "scored")]


@pytest.mark.parametrize(
    ("payload", "status", "needle"),
    [
        ({"question_id": "nope/01-missing", "answer": "an answer"}, 404, "no question has id"),
        ({"question_id": DOT, "answer": "   \n\t "}, 422, "empty"),
        ({"question_id": DOT, "answer": "x" * 20_001}, 413, "limit is 20,000"),
        ({"question_id": DOT}, 422, "answer: field required"),
    ],
)
def test_bad_input_is_problem_json_and_stores_nothing(
    client: httpx.Client, settings: Settings, payload: dict[str, str], status: int, needle: str
) -> None:
    _assert_problem(client.post("/v1/grades", json=payload), status, needle)
    assert _db_rows(settings, "select count(*) from answers") == [(0,)]


def test_invalid_utf8_and_wrong_content_type(client: httpx.Client) -> None:
    raw = b'{"question_id": "' + DOT.encode() + b'", "answer": "caf\xe9"}'
    _assert_problem(client.post("/v1/grades", content=raw, headers={"content-type": "application/json"}), 400, "utf-8")
    _assert_problem(
        client.post("/v1/grades", content=b"hello", headers={"content-type": "text/plain"}), 415, "application/json"
    )
    _assert_problem(
        client.post("/v1/grades", content=b"{not json", headers={"content-type": "application/json"}), 422, "json"
    )


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    huge = '{"question_id": "x", "answer": "' + "y" * 1_100_000 + '"}'
    _assert_problem(
        client.post("/v1/grades", content=huge, headers={"content-type": "application/json"}), 413, "exceeds"
    )


def test_unknown_grade_and_route(client: httpx.Client) -> None:
    _assert_problem(client.get("/v1/grades/doesnotexist"), 404, "no grade")
    _assert_problem(client.get("/v1/nothing-here"), 404, "not found")


def test_failing_model_leaves_stored_answer_unscored(settings: Settings, tmp_path: Path) -> None:
    """A model that cannot load must not lose the answer or pretend it scored 0."""
    broken = Grader.from_settings(settings, embedder=SentenceTransformerEmbedder(tmp_path / "no-such-model"))
    with LiveServer(settings, broken) as server, httpx.Client(base_url=server.base_url) as c:
        response = c.post("/v1/grades", json={"question_id": DOT, "answer": GOOD})
    assert response.status_code == 201
    grade = response.json()
    assert grade["status"] == "unscored" and grade["score"] is None
    assert "no-such-model" in grade["unscored_reason"]
    assert _db_rows(settings, "select text from answers") == [(GOOD,)]
    assert _db_rows(settings, "select status, score from grades") == [("unscored", None)]


def test_openapi_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/questions", "/v1/questions/{question_id}", "/v1/grades", "/v1/grades/{grade_id}"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200

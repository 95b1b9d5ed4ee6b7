"""API keys and roles, idempotent retries, regrading with history, and human scores, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from grader.pipeline import Grader
from rubrics.loader import RubricBank, default_bank
from service import keys
from service.app import create_app
from service.auth import Role
from service.auth_mode import AuthMode
from service.db import make_async_engine, session_factory
from service.settings import Settings
from tests.conftest import LiveServer
from tests.databases import rows
from tests.servers import ThreadedServer

QID = "vectors/07-span-dimension"


def _create_key(settings: Settings, role: Role, name: str) -> str:
    async def run() -> str:
        engine = make_async_engine(settings.resolved_database_url())
        try:
            async with session_factory(engine)() as session:
                _, key = await keys.create_key(session, role, name)
                return key
        finally:
            await engine.dispose()

    return asyncio.run(run())


@dataclass
class Clients:
    admin: httpx.Client
    rater: httpx.Client
    alice: httpx.Client
    bob: httpx.Client
    nobody: httpx.Client


@pytest.fixture
def keyed(settings: Settings, grader: Grader) -> Iterator[tuple[Settings, Clients]]:
    keyed_settings = settings.model_copy(update={"auth": AuthMode.KEYS})
    tokens = {
        "admin": _create_key(settings, Role.ADMIN, "root"),
        "rater": _create_key(settings, Role.RATER, "rita"),
        "alice": _create_key(settings, Role.CANDIDATE, "alice"),
        "bob": _create_key(settings, Role.CANDIDATE, "bob"),
    }
    with LiveServer(keyed_settings, grader) as server:
        made = {
            name: httpx.Client(base_url=server.base_url, timeout=60, headers={"Authorization": f"Bearer {token}"})
            for name, token in tokens.items()
        }
        made["nobody"] = httpx.Client(base_url=server.base_url, timeout=60)
        try:
            yield keyed_settings, Clients(**made)
        finally:
            for c in made.values():
                c.close()


def _grade(client: httpx.Client, answer: str, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/v1/grades", json={"question_id": QID, "answer": answer}, headers=headers)


def test_keys_are_required_and_checked(keyed: tuple[Settings, Clients]) -> None:
    _, c = keyed
    missing = c.nobody.get("/v1/questions")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = c.nobody.get("/v1/questions", headers={"Authorization": "Bearer ag_not-a-key"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]
    assert c.alice.get("/v1/questions").status_code == 200
    assert c.nobody.get("/healthz").status_code == 200  # liveness needs no key


def test_only_the_key_hash_is_stored(keyed: tuple[Settings, Clients]) -> None:
    settings, c = keyed
    token = c.alice.headers["authorization"].removeprefix("Bearer ")
    stored = rows(settings.resolved_database_url(), "select key_hash from api_keys")
    assert len(stored) == 4 and all(token not in str(r[0]) and len(str(r[0])) == 64 for r in stored)


def test_candidates_see_only_their_own(keyed: tuple[Settings, Clients]) -> None:
    _, c = keyed
    mine = _grade(c.alice, "The span has dimension at most min(n, d), equal to the rank.").json()
    assert c.alice.get(f"/v1/grades/{mine['id']}").status_code == 200
    theirs = c.bob.get(f"/v1/grades/{mine['id']}")
    assert theirs.status_code == 404 and theirs.json()["detail"] == f"No grade has id {mine['id']!r}."
    assert c.bob.get(f"/v1/answers/{mine['answer_id']}").status_code == 404
    assert c.bob.get("/v1/grades").json()["total"] == 0
    assert [g["id"] for g in c.alice.get("/v1/grades").json()["items"]] == [mine["id"]]
    assert c.rater.get(f"/v1/grades/{mine['id']}").status_code == 200
    assert c.admin.get("/v1/grades", params={"question_id": QID}).json()["total"] == 1


def test_idempotent_retry_returns_the_same_grade(keyed: tuple[Settings, Clients]) -> None:
    settings, c = keyed
    first = _grade(c.alice, "Its dimension is the rank of the matrix of the vectors.", key="try-1")
    again = _grade(c.alice, "Its dimension is the rank of the matrix of the vectors.", key="try-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert rows(settings.resolved_database_url(), "select count(*) from answers") == [(1,)]
    clash = _grade(c.alice, "A different answer.", key="try-1")
    assert clash.status_code == 409 and "different answer" in clash.json()["detail"]
    # Keys are per caller: Bob's "try-1" is his own request.
    assert _grade(c.bob, "Its dimension is the rank.", key="try-1").status_code == 201


def test_regrade_keeps_history_and_roles(keyed: tuple[Settings, Clients]) -> None:
    _, c = keyed
    graded = _grade(c.alice, "At most min(n, d): the rank of the n vectors.").json()
    assert c.alice.post(f"/v1/answers/{graded['answer_id']}/regrade").status_code == 403
    regraded = c.admin.post(f"/v1/answers/{graded['answer_id']}/regrade")
    assert regraded.status_code == 201 and regraded.json()["id"] != graded["id"]
    history = c.alice.get(f"/v1/answers/{graded['answer_id']}").json()
    assert [g["id"] for g in history["grades"]] == [graded["id"], regraded.json()["id"]]
    assert history["grades"][0] == graded  # the first grade is unchanged
    assert history["human_scores"] is None  # candidates do not see human scores


def test_human_scores(keyed: tuple[Settings, Clients]) -> None:
    _, c = keyed
    graded = _grade(c.alice, "The dimension of the span is the rank, at most min(n, d).").json()
    path = f"/v1/answers/{graded['answer_id']}/human-scores"
    score = {"score": 4, "scale_min": 0, "scale_max": 5, "scale_step": 1}
    assert c.alice.post(path, json=score).status_code == 403
    made = c.rater.post(path, json=score)
    assert made.status_code == 201 and made.json()["rater"] == "rita"
    assert c.admin.post(path, json={**score, "rater": "amir", "score": 3}).status_code == 201
    off_scale = c.rater.post(path, json={**score, "score": 7})
    assert off_scale.status_code == 422 and "outside the scale" in off_scale.json()["detail"]
    off_step = c.rater.post(path, json={**score, "score": 2.5})
    assert off_step.status_code == 422 and "step" in off_step.json()["detail"]
    assert [(h["rater"], h["score"]) for h in c.rater.get(path).json()] == [("rita", 4.0), ("amir", 3.0)]

    csv_body = (
        "answer_id,rater,score,scale_min,scale_max,scale_step\n"
        f"{graded['answer_id']},carol,5,0,5,1\n"
        f"{graded['answer_id']},dave,9,0,5,1\n"
        "nope,erin,1,0,5,1\n"
    )
    imported = c.rater.post("/v1/human-scores/import", content=csv_body, headers={"content-type": "text/csv"}).json()
    assert imported["imported"] == 1
    assert [
        (e["line"], "outside the scale" in e["reason"] or "no answer" in e["reason"]) for e in imported["errors"]
    ] == [
        (3, True),
        (4, True),
    ]
    assert len(c.admin.get(path).json()) == 3


def test_human_scores_become_exemplars_but_never_of_their_own_answer(keyed: tuple[Settings, Clients]) -> None:
    _, c = keyed
    rated = _grade(c.bob, "The span's dimension equals the rank of the matrix with these vectors as columns.").json()
    path = f"/v1/answers/{rated['answer_id']}/human-scores"
    assert c.rater.post(path, json={"score": 5, "scale_min": 0, "scale_max": 5}).status_code == 201

    # A new, similar answer is pulled toward the rater's score, and the grade says by which answer and how much.
    mine = _grade(c.alice, "Its dimension is the rank of the matrix whose columns are the vectors.").json()
    pulled = mine["exemplars"]
    assert pulled is not None and pulled["after"] == mine["score"] == mine["stage1_score"]
    assert pulled["after"] > pulled["before"]
    assert pulled["used"][0]["human_score"] == 1.0 and pulled["used"][0]["answer_id"] is None  # not bob's id
    staff_view = c.rater.get(f"/v1/grades/{mine['id']}").json()
    assert staff_view["exemplars"]["used"][0]["answer_id"] == rated["answer_id"]

    # Regrading the rated answer itself: its own human score never reaches its grade.
    regraded = c.admin.post(f"/v1/answers/{rated['answer_id']}/regrade").json()
    assert regraded["exemplars"] is None
    assert regraded["score"] == rated["score"]


def test_a_rubric_edit_never_changes_a_stored_grade(settings: Settings, grader: Grader) -> None:
    original = default_bank()
    rubric = original.get(QID)
    assert rubric is not None
    edited = rubric.model_copy(
        update={"key_points": [p.model_copy(update={"weight": p.weight + 1}) for p in rubric.key_points]}
    )
    assert edited.version != rubric.version
    bank = RubricBank([edited if r.id == QID else r for r in original])
    with LiveServer(settings, grader) as server, httpx.Client(base_url=server.base_url, timeout=60) as c:
        first = c.post("/v1/grades", json={"question_id": QID, "answer": "At most min(n, d), the rank."}).json()
    app = create_app(settings, grader=grader, bank=bank)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.base_url, timeout=60) as c:
        assert c.get(f"/v1/grades/{first['id']}").json() == first
        again = c.post(f"/v1/answers/{first['answer_id']}/regrade").json()
        history = c.get(f"/v1/answers/{first['answer_id']}").json()["grades"]
    assert first["versions"]["rubric_version"] == rubric.version
    assert again["versions"]["rubric_version"] == edited.version
    assert history == [first, again]
    versions = rows(settings.resolved_database_url(), "select version from rubric_versions order by id")
    assert [v[0] for v in versions] == [rubric.version, edited.version]


def test_batches_are_their_owners(keyed: tuple[Settings, Clients]) -> None:
    _, c = keyed
    body = f'{{"question_id": "{QID}", "answer": "The rank."}}\n'.encode()
    created = c.alice.post("/v1/batches", params={"stages": "embedding"}, files={"file": ("a.jsonl", body)})
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    assert c.nobody.get(f"/v1/batches/{batch_id}").status_code == 401
    for path in (f"/v1/batches/{batch_id}", f"/v1/batches/{batch_id}/results"):
        assert c.bob.get(path).status_code == 404
    assert c.bob.post(f"/v1/batches/{batch_id}/cancel").status_code == 404
    assert c.bob.get("/v1/batches").json()["total"] == 0
    assert c.rater.get(f"/v1/batches/{batch_id}").status_code == 200
    assert [b["id"] for b in c.alice.get("/v1/batches").json()["items"]] == [batch_id]

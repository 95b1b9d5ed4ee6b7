"""Calibration end to end: data set import, the real stage-1 grader, reports, the CLI, storage and the API.

The data set is synthetic but graded for real: questions from the bank, where a good answer is the question's
reference answer (or its key points written out), a poor one is unrelated text or another question's reference
answer, and two raters score them accordingly, not always agreeing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command

from eval.calibrate import Options, calibrate
from eval.dataset import ImportedKeyPoint, derive_points, parse_dataset
from eval.report import render, write
from eval.scale import Scale
from grader.errors import InvalidDataset
from grader.pipeline import Grader
from rubrics.loader import default_bank
from service import keys
from service.auth import Role
from service.auth_mode import AuthMode
from service.db import make_async_engine, session_factory
from service.migrate import alembic_config, check, upgrade
from service.settings import Settings
from tests.conftest import LiveServer
from tests.databases import rows

GRADER = str(Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "grader")
QUESTIONS = [
    "classical-ml/01-knn-choice-of-k",
    "deep-learning/01-autoencoder-uses",
    "fundamentals/01-learning-paradigms",
    "nlp/01-motivation-for-rnn",
    "statistics/01-frequentist-vs-bayesian",
    "vectors/01-dot-product-geometry",
]
UNRELATED = [
    "The weather was lovely so we walked along the river and had lunch in the park.",
    "I am not sure. Maybe it depends on the computer and how fast it is.",
]


def synthetic_rows(with_key_points: int = 3) -> list[dict[str, Any]]:
    """Six answers to each of six bank questions, rated by two raters on 0 to 5.

    The first ``with_key_points`` questions carry the bank's key points; the others leave them out, so theirs
    are derived from the reference answer.
    """
    bank = default_bank()
    rubrics = [bank.get(q) for q in QUESTIONS]
    out: list[dict[str, Any]] = []
    for k, rubric in enumerate(rubrics):
        assert rubric is not None
        neighbour = rubrics[(k + 1) % len(rubrics)]
        assert neighbour is not None
        points = [p.text for p in rubric.key_points]
        answers = [
            (rubric.reference_answer, [5, 5]),
            (" ".join(points), [5, 4]),
            (" ".join(points[: len(points) // 2]), [3, 2]),
            (neighbour.reference_answer, [0, 1]),
            (UNRELATED[0], [0, 0]),
            (UNRELATED[1], [1, 0]),
        ]
        for n, (answer, scores) in enumerate(answers):
            row: dict[str, Any] = {
                "question_id": f"Q{k + 1}",
                "answer_id": f"Q{k + 1}.{n}",
                "question": rubric.question,
                "reference_answer": rubric.reference_answer,
                "answer": answer,
                "human_scores": scores,
                "max_score": 5,
                "note": "extra fields are ignored",
            }
            if k < with_key_points:
                row["key_points"] = points
            out.append(row)
    return out


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# --- import -------------------------------------------------------------------------------------------------


def test_every_bad_line_is_reported_with_its_number() -> None:
    good = {"question_id": "1", "question": "What is a stack?", "reference_answer": "A LIFO list.", "answer": "LIFO"}
    lines = [
        json.dumps({**good, "human_scores": [4, 5]}),  # 1: fine
        "{not json",  # 2
        json.dumps({**good}),  # 3: no score at all
        json.dumps({**good, "score": 7}),  # 4: off the scale
        json.dumps({**good, "human_scores": [4.5]}),  # 5: not on the step
        json.dumps({**good, "human_scores": [4], "max_score": 10}),  # 6: another scale
        json.dumps({**good, "reference_answer": "Something else.", "score": 3}),  # 7: contradicts line 1
        json.dumps([1, 2]),  # 8: not an object
        json.dumps({"question_id": "2", "answer": "x", "score": 1}),  # 9: question 2 never gets its texts
    ]
    with pytest.raises(InvalidDataset) as caught:
        parse_dataset("\n".join(lines).encode(), "jsonl", Scale(0, 5, 1), "bad.jsonl")
    detail = caught.value.detail
    assert detail.startswith("bad.jsonl: 8 problem(s)")
    for expected in (
        "line 2: not valid JSON",
        "line 3: needs a score or at least one human score",
        "line 4: score 7 is outside the scale",
        "line 5: human_scores[1] = 4.5 is not on the scale 0:5:1",
        "line 6: max_score 10 differs",
        "line 7: reference_answer of question '1' differs from the one on line 1",
        "line 8: not a JSON object",
        "line 9: question '2' has no question and reference_answer",
    ):
        assert expected in detail, detail


def test_a_limit_reads_only_the_first_answers() -> None:
    records = synthetic_rows()
    text = jsonl(records[:7]) + "{not json\n"
    dataset = parse_dataset(text.encode(), "jsonl", Scale(0, 5, 1), "big.jsonl", limit=7)
    assert len(dataset.items) == 7 and list(dataset.questions) == ["Q1", "Q2"]  # line 8 is never read


def test_undecodable_bytes_name_their_line() -> None:
    data = b'{"question_id": "1"}\n{"answer": "caf\xe9"}\n'
    with pytest.raises(InvalidDataset, match=r"line 2: not valid UTF-8"):
        parse_dataset(data, "jsonl", Scale(0, 5, 1), "latin1.jsonl")


def test_csv_with_given_key_points_and_missing_ratings() -> None:
    text = (
        "question_id,question,reference_answer,key_points,answer,human_scores\n"
        '7,What do push and pop do?,Push adds on top. Pop removes the top.,"adds on top|removes the top",'
        '"Push adds, pop removes.","4;"\n'
        '7,,,,"Adds and removes, in a queue.",2;3\n'
    )
    dataset = parse_dataset(text.encode(), "csv", Scale(0, 5, 1), "stack.csv")
    question = dataset.questions["7"]
    assert [(p.id, p.text) for p in question.rubric.key_points] == [
        ("point-1", "adds on top"),
        ("point-2", "removes the top"),
    ]
    assert not question.rubric.derived
    first, second = dataset.items
    assert first.ratings == (4.0, None) and first.gold == 4.0  # a missing rating is missing, not 0
    assert second.ratings == (2.0, 3.0) and second.gold == 2.5 and second.line == 3


def test_derived_key_points_are_marked_and_capped_at_eight() -> None:
    points = derive_points("Push adds an element on top. Pop removes the top element.")
    assert [(p.id, p.text) for p in points] == [
        ("derived-1", "Push adds an element on top."),
        ("derived-2", "Pop removes the top element."),
    ]
    assert all(isinstance(p, ImportedKeyPoint) and p.derived for p in points)
    assert [p.text for p in derive_points("push")] == ["push"]  # Mohler has one-word reference answers
    long = " ".join(f"Sentence number {k} says one thing." for k in range(1, 12))
    merged = derive_points(long)
    assert len(merged) == 8 and merged[0].text.startswith("Sentence number 1 says one thing. Sentence number 2")


# --- the analysis with the real grader ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibrated(grader: Grader) -> Any:
    dataset = parse_dataset(jsonl(synthetic_rows()).encode(), "jsonl", Scale(0, 5, 0.5), "synthetic.jsonl")
    calibration = asyncio.run(calibrate(dataset, grader, Options(cv=3, bootstrap=100), stages="embedding"))
    return calibration, render(calibration)


def test_calibration_report_figures(calibrated: Any) -> None:
    calibration, rendered = calibrated
    report = rendered.report
    overall = report["overall"]
    assert overall["n"] == 36 and report["dataset"]["questions"] == 6
    # Good answers are reference answers and poor ones unrelated text: stage 1 must follow the raters closely.
    assert overall["pearson"] > 0.8 and overall["qwk"] > 0.7 and overall["rmse"] < 1.2
    for key in ("pearson", "qwk", "rmse"):
        low, high = overall["ci"][key]
        assert low <= overall[key] <= high
    assert report["before"]["n"] == 36 and report["raw"]["n"] == 36
    assert report["raw"]["pearson"] > 0.8 and 0 <= report["raw"]["at_zero"] < 0.5
    assert report["human_vs_human"]["pairs"] == 36 and report["grader_vs_rater"]["pairs"] == 72
    assert report["alpha"]["humans"]["interval"] > 0.8
    assert sum(map(sum, overall["confusion"]["counts"])) == 36
    assert [f["questions"] for f in report["mapping"]["folds"]] == [2, 2, 2]
    assert set(report["mapping"]["cv_comparison"]) == {"isotonic", "linear"}
    # The mapping is monotone and lands on the scale's steps.
    mapped = [calibration.mapping.apply(x / 20) for x in range(21)]
    assert mapped == sorted(mapped) and all((2 * m).is_integer() for m in mapped)


def test_breakdowns_mark_derived_key_points(calibrated: Any) -> None:
    report = calibrated[1].report
    assert report["dataset"]["derived_key_points"]["questions"] == 3
    by_question = {q["question_id"]: q for q in report["per_question"]}
    assert not by_question["Q1"]["derived_key_points"] and by_question["Q4"]["derived_key_points"]
    assert by_question["Q1"]["n"] == 6 and by_question["Q1"]["human_vs_human"]["pearson"] > 0.8
    points = report["per_key_point"]
    assert {p["point_id"] for p in points if p["question_id"] == "Q1"} == {
        "point-1",
        "point-2",
        "point-3",
        "point-4",
        "point-5",
    }
    assert all(-1 <= p["similarity_pearson"] <= 1 for p in points if p["question_id"] == "Q1")
    derived = [p for p in points if p["question_id"] == "Q4"]
    assert derived and all(p["derived"] and p["point_id"].startswith("derived-") for p in derived)
    assert len(report["disagreements"]) == 15 and "answer" in report["disagreements"][0]


def test_report_files_are_self_contained(calibrated: Any, tmp_path: Path) -> None:
    rendered = calibrated[1]
    written = write(rendered, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == [
        "bland_altman.png",
        "confusion.png",
        "per_question.png",
        "report.html",
        "report.json",
        "scatter.png",
    ]
    for png in (tmp_path / "out").glob("*.png"):
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 4
    assert "http://" not in html and "https://" not in html  # nothing fetched from anywhere
    assert "derived-1" in html and "Rater vs rater" in html
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["plots"] == ["scatter.png", "confusion.png", "per_question.png", "bland_altman.png"]


def test_answer_text_is_escaped_in_the_html(calibrated: Any) -> None:
    calibration = calibrated[0]
    shown = [dict(d) for d in calibration.report["disagreements"]]
    shown[0]["answer"] = "<script>alert('x')</script> not an answer"
    rendered = render(replace(calibration, report={**calibration.report, "disagreements": shown}))
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(" in rendered.html


# --- command line ---------------------------------------------------------------------------------------------


def test_cli_calibrate_writes_the_report_and_stores_a_profile(tmp_path: Path) -> None:
    data = tmp_path / "scored.jsonl"
    data.write_text(jsonl(synthetic_rows()), encoding="utf-8")
    out = tmp_path / "report"
    env = {**os.environ, "GRADER_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("GRADER_DATABASE_URL", None)
    args = [GRADER, "calibrate", str(data), "--scale", "0:5:1", "--cv", "3", "--out", str(out), "--bootstrap", "50"]
    run = subprocess.run(
        [*args, "--stages", "embedding", "--profile", "team-0to5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {"pearson", "spearman", "qwk", "rmse", "n"} <= set(report["overall"]) and report["overall"]["n"] == 36
    assert report["scale"] == {"min": 0.0, "max": 5.0, "step": 1.0}
    assert (out / "report.html").stat().st_size > 10_000 and len(list(out.glob("*.png"))) == 4
    assert "grader mapped, out-of-fold" in run.stdout and "rater vs rater" in run.stdout
    assert f"{report['overall']['pearson']:.3f}" in run.stdout
    assert "stored calibration run" in run.stdout and "team-0to5" in run.stdout
    url = f"sqlite:///{tmp_path / 'data' / 'grader.db'}"
    assert rows(url, "select name, method, scale_max from calibration_profiles") == [("team-0to5", "isotonic", 5.0)]

    # Profiles never change: the same name again fails before any grading, with a clear message.
    again = subprocess.run([*args, "--profile", "team-0to5"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 2 and "team-0to5" in again.stderr and "exists" in again.stderr


# --- storage and the API ------------------------------------------------------------------------------------


def test_migration_0004_downgrades_and_upgrades_again(database_url: str) -> None:
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0003")
    upgrade(database_url)
    check(database_url)


def _post_calibration(client: httpx.Client, body: str, **params: Any) -> httpx.Response:
    return client.post(
        "/v1/calibrations",
        params={"scale": "0:5:0.5", "cv": 3, "bootstrap": 50, "stages": "embedding", **params},
        content=body.encode(),
        headers={"Content-Type": "application/jsonl"},
    )


def test_api_stores_a_run_and_applies_its_profile(client: httpx.Client, settings: Settings) -> None:
    created = _post_calibration(client, jsonl(synthetic_rows()), profile="team-half-points", name="pilot")
    assert created.status_code == 201, created.text
    run = created.json()
    assert created.headers["location"] == f"/v1/calibrations/{run['id']}"
    assert run["name"] == "pilot" and run["profile"] == "team-half-points" and run["n"] == 36
    assert run["overall"]["pearson"] > 0.8 and run["scale"] == {"min": 0.0, "max": 5.0, "step": 0.5}

    listed = client.get("/v1/calibrations").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == run["id"]
    full = client.get(f"/v1/calibrations/{run['id']}").json()
    assert full["report"]["overall"]["pearson"] == run["overall"]["pearson"]
    assert full["report"]["dataset"]["derived_key_points"]["questions"] == 3
    html = client.get(f"/v1/calibrations/{run['id']}/report.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "img-src data:" in html.headers["content-security-policy"] and "data:image/png;base64," in html.text

    profiles = client.get("/v1/calibration-profiles").json()
    assert [p["name"] for p in profiles] == ["team-half-points"] and profiles[0]["run_id"] == run["id"]
    profile = client.get("/v1/calibration-profiles/team-half-points").json()

    answer = default_bank().get(QUESTIONS[-1])
    assert answer is not None
    grade = client.post(
        "/v1/grades",
        params={"profile": "team-half-points"},
        json={"question_id": answer.id, "answer": answer.reference_answer},
    )
    assert grade.status_code == 201, grade.text
    body = grade.json()
    calibrated = body["calibrated"]
    assert calibrated["profile"] == "team-half-points" and calibrated["scale"]["step"] == 0.5
    assert 0 <= body["score"] <= 1  # the raw score stays as it was
    assert (2 * calibrated["score"]).is_integer() and calibrated["score"] >= 4.0  # a full answer maps high
    knots = profile["mapping"]
    assert knots["method"] == "isotonic" and len(knots["x"]) == len(knots["y"])
    read = client.get(f"/v1/grades/{body['id']}", params={"profile": "team-half-points"}).json()
    assert read["calibrated"] == calibrated and read["score"] == body["score"]
    assert client.get(f"/v1/grades/{body['id']}").json()["calibrated"] is None
    listed_grades = client.get("/v1/grades", params={"profile": "team-half-points"}).json()
    assert listed_grades["items"][0]["calibrated"] == calibrated

    stored = rows(settings.resolved_database_url(), "select name, n, method, stages from calibration_runs")
    assert stored == [("pilot", 36, "isotonic", "embedding")]

    # Profiles never change: the name is refused before the upload is graded.
    reused = client.post(
        "/v1/calibrations",
        params={"scale": "0:5:1", "profile": "team-half-points"},
        files={"file": ("scores.jsonl", jsonl(synthetic_rows()).encode(), "application/octet-stream")},
    )
    assert reused.status_code == 409 and "choose another name" in reused.json()["detail"]


def test_api_errors_are_problems(client: httpx.Client, settings: Settings) -> None:
    bad = _post_calibration(client, '{"question_id": "1", "answer": "x"}\n{broken\n')
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "line 1: needs a score" in bad.json()["detail"] and "line 2: not valid JSON" in bad.json()["detail"]
    wrong_type = client.post(
        "/v1/calibrations", params={"scale": "0:5:1"}, content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    too_few = _post_calibration(client, jsonl(synthetic_rows()[:12]), cv=3)  # two questions, three folds
    assert too_few.status_code == 422 and "at least 3 questions" in too_few.json()["detail"]
    unknown = client.post("/v1/grades", params={"profile": "nobody"}, json={"question_id": QUESTIONS[0], "answer": "k"})
    assert unknown.status_code == 404 and "GET /v1/calibration-profiles" in unknown.json()["detail"]
    # An unknown profile fails before the answer is stored.
    assert rows(settings.resolved_database_url(), "select count(*) from answers") == [(0,)]
    assert client.get("/v1/calibrations/nope").status_code == 404


def _key(settings: Settings, role: Role) -> str:
    async def create() -> str:
        engine = make_async_engine(settings.resolved_database_url())
        try:
            async with session_factory(engine)() as session:
                return (await keys.create_key(session, role, role.value))[1]
        finally:
            await engine.dispose()

    return asyncio.run(create())


@pytest.fixture
def keyed_clients(settings: Settings, grader: Grader) -> Iterator[dict[str, httpx.Client]]:
    tokens = {role: _key(settings, role) for role in Role}
    with LiveServer(settings.model_copy(update={"auth": AuthMode.KEYS}), grader) as server:
        made = {
            role.value: httpx.Client(base_url=server.base_url, timeout=60, headers={"Authorization": f"Bearer {t}"})
            for role, t in tokens.items()
        }
        yield made
        for c in made.values():
            c.close()


def test_only_staff_run_and_read_calibrations_but_anyone_applies_a_profile(
    keyed_clients: dict[str, httpx.Client],
) -> None:
    candidate, rater = keyed_clients["candidate"], keyed_clients["rater"]
    body = jsonl(synthetic_rows())
    assert _post_calibration(candidate, body).status_code == 403
    made = rater.post(
        "/v1/calibrations",
        params={"scale": "0:5:1", "cv": 2, "bootstrap": 0, "stages": "embedding", "profile": "raters"},
        files={"file": ("scores.jsonl", body.encode(), "application/octet-stream")},
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "scores.jsonl"  # a multipart upload is named after its file
    assert candidate.get("/v1/calibrations").status_code == 403
    assert candidate.get(f"/v1/calibrations/{made.json()['id']}/report.html").status_code == 403
    assert keyed_clients["admin"].get(f"/v1/calibrations/{made.json()['id']}").status_code == 200
    assert [p["name"] for p in candidate.get("/v1/calibration-profiles").json()] == ["raters"]
    grade = candidate.post(
        "/v1/grades", params={"profile": "raters"}, json={"question_id": QUESTIONS[0], "answer": "Use k-fold CV."}
    )
    assert grade.status_code == 201 and grade.json()["calibrated"]["profile"] == "raters"

"""The practice site's HTML pages: server-rendered shells whose personal data come from the JSON API.

The server renders only what the shipped question bank makes public anyway (question prompts, topics,
difficulties). Anything tied to a caller (grades, history, answered questions, reference answers revealed after
submitting, calibration reports) is fetched by ``static/practice.js`` from the ``/v1`` API with the caller's key or
browser identity, so the API's access rules stay the only ones and the pages need no session of their own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from rubrics.schema import Difficulty, Rubric
from service.deps import StateDep
from service.web.render import REPORT_VIEWER_POLICY, render, topic_label

router = APIRouter(include_in_schema=False)


def _difficulty(value: str) -> Difficulty | None:
    # The form sends "" for "any difficulty"; anything else that is not a level also means no filter.
    return Difficulty(value) if value in {d.value for d in Difficulty} else None


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    state: StateDep,
    topic: Annotated[str, Query(max_length=120)] = "",
    difficulty: Annotated[str, Query(max_length=20)] = "",
    hide_answered: bool = False,
) -> HTMLResponse:
    """Practice home: the questions offered for practice, filtered by topic and difficulty."""
    level = _difficulty(difficulty)
    questions = [
        r
        for r in state.bank
        if r.practice and (not topic or r.topic == topic) and (level is None or r.difficulty is level)
    ]
    return render(
        request,
        "home.html",
        page="home",
        questions=questions,
        topics=state.bank.topics(),
        difficulties=list(Difficulty),
        topic=topic,
        difficulty=level.value if level else "",
        hide_answered=hide_answered,
    )


@router.get("/practice/{question_id:path}", response_class=HTMLResponse)
def practice(request: Request, question_id: str, state: StateDep) -> HTMLResponse:
    """One question with an answer box; the grade and the reference answer appear after submitting."""
    rubric = state.bank.get(question_id)
    if rubric is None:
        return render(request, "not_found.html", status_code=404, page="not-found", question_id=question_id)
    previous: Rubric | None = state.bank.get(rubric.follows) if rubric.follows else None
    return render(request, "practice.html", page="practice", rubric=rubric, previous=previous)


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, state: StateDep) -> HTMLResponse:
    """The caller's attempts and a small chart of scores over time per topic (drawn by the script)."""
    labels: dict[str, Any] = {t: topic_label(t) for t in state.bank.topics()}
    return render(request, "history.html", page="history", topic_labels=labels)


@router.get("/calibrations", response_class=HTMLResponse)
def calibrations(request: Request) -> HTMLResponse:
    """Stored calibration runs with their overall figures, and their reports (listed by the script from the API)."""
    return render(request, "calibrations.html", page="calibrations", policy=REPORT_VIEWER_POLICY)

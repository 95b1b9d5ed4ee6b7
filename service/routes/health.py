"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from service.deps import StateDep
from service.problems import problem, responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness answer."""

    status: str = "ok"


class Ready(BaseModel):
    """Readiness answer."""

    status: str
    database: str
    model: str


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up and serving requests."""
    return Health()


@router.get("/readyz", response_model=Ready, responses=responses(503))
async def readyz(request: Request, state: StateDep) -> Response:
    """Ready to grade: the database answers, the model is loaded and every rubric embedded (503 otherwise)."""
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("select 1"))
        database = "ok"
    except Exception as exc:  # any failure to reach the database means not ready
        database = f"unreachable: {type(exc).__name__}"
    loaded = bool(getattr(state.grader.scorer.embedder, "loaded", True)) and state.warmed()
    model = "loaded" if loaded else "loading"
    if database == "ok" and loaded:
        return JSONResponse(Ready(status="ready", database=database, model=model).model_dump())
    return problem(503, "Not ready", f"database: {database}; embedding model: {model}", request)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(state: StateDep) -> Response:
    """Prometheus metrics: requests, latency, grades by status, grading latency per stage, judge calls, errors."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness answer."""

    status: str = "ok"


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up and serving requests."""
    return Health()

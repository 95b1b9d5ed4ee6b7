"""The practice site: HTML pages for candidates, served by the API's own app (no build step, no CDN)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.web.render import STATIC_DIR
from service.web.routes import router

__all__ = ["install", "router"]


def install(app: FastAPI) -> None:
    """Serve the pages and their script and stylesheet (under ``/static``) from ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)

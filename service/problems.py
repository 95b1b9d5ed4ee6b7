"""The one place where errors become HTTP: RFC 9457 ``application/problem+json`` for every error response."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from grader import errors
from service.schemas import Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Most specific class first; the first isinstance match wins.
STATUS_BY_ERROR: list[tuple[type[errors.GraderError], int]] = [
    (errors.AnswerTooLong, 413),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.BadEncoding, 400),
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.JudgeUnavailable, 503),
    (errors.GraderError, 500),
]


def status_of(exc: errors.GraderError) -> int:
    """HTTP status for one of our errors."""
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def problem(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def _grader_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GraderError)
    response = problem(status_of(exc), exc.title, exc.detail, request)
    if isinstance(exc, errors.Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _validation_message(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON: " + str(err.get("ctx", {}).get("error", err.get("msg")))
    return f"{loc or 'body'}: {err.get('msg')}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = [dict(e) for e in exc.errors()]
    detail = "; ".join(_validation_message(e) for e in errs) or "The request is not valid."
    fields = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errs]
    return problem(422, "Invalid request", detail, request, errors=fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 400 and "parsing the body" in detail:
        detail = "The request body could not be read: send UTF-8 encoded JSON."
    response = problem(exc.status_code, title, detail, request)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    if exc.status_code == 405:
        # Starlette lists only the first route that matched the path; GET and POST often are separate routes.
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal Server Error", "Something went wrong on our side; it has been logged.", request)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(errors.GraderError, _grader_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json errors."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        s: {"model": Problem, "description": HTTPStatus(s).phrase, "content": {PROBLEM_JSON: {"schema": ref}}}
        for s in statuses
    }
